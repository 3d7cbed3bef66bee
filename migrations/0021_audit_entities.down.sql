-- healthgraph:no-transaction
-- Dropping the columns loses which entities multi-entity events named;
-- their actor, action and time stay.
DROP INDEX CONCURRENTLY IF EXISTS audit_events_patients_idx;
DROP VIEW IF EXISTS audit_disclosures;
ALTER TABLE audit_events DROP COLUMN IF EXISTS entity_ids, DROP COLUMN IF EXISTS patient_ids;
