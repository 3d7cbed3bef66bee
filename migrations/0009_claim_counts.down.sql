DROP TRIGGER claims_counted_truncate ON claims;
DROP TRIGGER claims_counted_delete ON claims;
DROP TRIGGER claims_counted_update ON claims;
DROP TRIGGER claims_counted_insert ON claims;
DROP FUNCTION claim_status_counted();
DROP TABLE claim_status_counts;
