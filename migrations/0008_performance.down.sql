-- healthgraph:no-transaction
ALTER TABLE patients ALTER COLUMN search_names SET STATISTICS -1;
DROP INDEX CONCURRENTLY IF EXISTS appointments_status_starts_idx;
