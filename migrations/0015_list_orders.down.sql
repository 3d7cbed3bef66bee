-- healthgraph:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS claims_total_idx;
DROP INDEX CONCURRENTLY IF EXISTS patients_name_idx;
