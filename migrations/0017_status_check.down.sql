-- healthgraph:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS claims_status_check_due_idx;
ALTER TABLE claims DROP COLUMN IF EXISTS status_checked_at;
