-- healthgraph:no-transaction
DROP TRIGGER IF EXISTS claims_counted_truncate ON claims;
DROP TRIGGER IF EXISTS claims_counted_delete ON claims;
DROP TRIGGER IF EXISTS claims_counted_update ON claims;
DROP TRIGGER IF EXISTS claims_counted_insert ON claims;
DROP FUNCTION IF EXISTS claim_status_counted();
DROP TABLE IF EXISTS claim_status_counts;
