-- healthgraph:no-transaction
-- Plans measured on 200k patients / ~1.2M appointments (docs/performance-plans.md).
-- Statement by statement, outside a transaction: the index is built
-- concurrently, so bookings keep being written while it builds (a plain
-- CREATE INDEX blocked inserts for 8 s on 2M appointments). A build that
-- failed half-way leaves an invalid index, dropped first on the next try.

-- appointments(filter: {status}) pages by start time. Without this index
-- the planner walks appointments_starts_idx from the oldest appointment and
-- filters out every past COMPLETED / NO_SHOW row before the first BOOKED
-- one (171k rows removed, 0.85 s); with it the page is an index range read
-- and the count a range of one status.
DROP INDEX CONCURRENTLY IF EXISTS appointments_status_starts_idx;
CREATE INDEX CONCURRENTLY appointments_status_starts_idx ON appointments (status, starts_at, id);

-- The patient search is LIKE '% term%' on search_names, served by the
-- trigram index. At the default statistics target the planner guessed 40
-- rows for a prefix matching 9,572 and chose a bitmap scan plus a sort of
-- every match over walking patients_created_idx; sampling 1,000 values
-- brings the estimate to within 1% and the plan to the index walk.
ALTER TABLE patients ALTER COLUMN search_names SET STATISTICS 1000;
