-- healthgraph:no-transaction
-- One audit event per read, however many entities it disclosed: a listed
-- page of 50 appointments is one row naming the 50 appointments and their
-- patients (as FHIR's AuditEvent carries many entities), not 50 rows.
-- entity_ids[i] concerns patient_ids[i]; single-entity events keep
-- entity_id and patient_id and leave the arrays NULL. Adding nullable
-- columns without a default rewrites nothing.
ALTER TABLE audit_events ADD COLUMN IF NOT EXISTS entity_ids uuid[],
    ADD COLUMN IF NOT EXISTS patient_ids uuid[];

-- The trail read entity by entity, as it was before: one row per entity
-- an event names, with the event's id and columns.
CREATE OR REPLACE VIEW audit_disclosures AS
SELECT e.id, e.actor_id, e.actor_role, e.action, e.entity_type,
    coalesce(s.entity_id, e.entity_id) AS entity_id,
    coalesce(s.patient_id, e.patient_id) AS patient_id,
    e.ip, e.trace_id, e.detail, e.created_at
FROM audit_events e
LEFT JOIN LATERAL unnest(e.entity_ids, e.patient_ids) AS s (entity_id, patient_id) ON true;

-- "Who saw this patient" over multi-entity events. Built concurrently so
-- the trail keeps being written meanwhile.
DROP INDEX CONCURRENTLY IF EXISTS audit_events_patients_idx;
CREATE INDEX CONCURRENTLY audit_events_patients_idx ON audit_events USING gin (patient_ids)
    WHERE patient_ids IS NOT NULL;
