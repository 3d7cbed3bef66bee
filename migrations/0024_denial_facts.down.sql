-- healthgraph:no-transaction
-- Back to computing the denial figures from the tables on every read.
DROP TRIGGER IF EXISTS claims_denial_facts_insert ON claims;
DROP TRIGGER IF EXISTS claims_denial_facts_update ON claims;
DROP TRIGGER IF EXISTS claim_items_denial_facts_insert ON claim_items;
DROP TRIGGER IF EXISTS claim_items_denial_facts_update ON claim_items;
DROP TRIGGER IF EXISTS claim_status_history_denial_facts_insert ON claim_status_history;
DROP TRIGGER IF EXISTS claim_status_history_denial_facts_update ON claim_status_history;
DROP TRIGGER IF EXISTS claim_payments_denial_facts_insert ON claim_payments;
DROP FUNCTION IF EXISTS claim_denial_facts_claims();
DROP FUNCTION IF EXISTS claim_denial_facts_children();
DROP FUNCTION IF EXISTS claim_denial_facts_refresh(uuid[]);
DROP FUNCTION IF EXISTS claim_denial_facts_of(uuid[]);
DROP TABLE IF EXISTS claim_denial_facts;
