-- healthgraph:no-transaction
-- The orders connections take besides creation time (orderBy): patients by
-- name and claims by total. Each page is a range read of one of these
-- indexes, forward or backward, from the cursor's (key, id); without them
-- every page sorts all matching rows. Built concurrently, statement by
-- statement, so registrations and claims keep being written meanwhile; a
-- build that failed half-way leaves an invalid index, dropped first on the
-- next try.
DROP INDEX CONCURRENTLY IF EXISTS patients_name_idx;
CREATE INDEX CONCURRENTLY patients_name_idx ON patients (family_name, first_name, id);

DROP INDEX CONCURRENTLY IF EXISTS claims_total_idx;
CREATE INDEX CONCURRENTLY claims_total_idx ON claims (total, id);
