-- Back to migration 0024's denial facts: items paired with a
-- resubmission's by sequence, deletes not followed, every claim update
-- rewriting the claim's facts.
DROP TRIGGER IF EXISTS claims_denial_facts_delete ON claims;
DROP TRIGGER IF EXISTS claim_items_denial_facts_delete ON claim_items;
DROP TRIGGER IF EXISTS claim_status_history_denial_facts_delete ON claim_status_history;
DROP TRIGGER IF EXISTS claim_payments_denial_facts_update ON claim_payments;
DROP TRIGGER IF EXISTS claim_payments_denial_facts_delete ON claim_payments;
DROP TRIGGER IF EXISTS payment_reconciliations_denial_facts_update ON payment_reconciliations;
DROP FUNCTION IF EXISTS claim_denial_facts_reconciliations();

CREATE OR REPLACE FUNCTION claim_denial_facts_of(ids uuid[]) RETURNS SETOF claim_denial_facts
LANGUAGE sql STABLE AS $$
    SELECT c.id, i.sequence, c.payer_license, c.practitioner_id, c.created_at, i.service_code,
        coalesce(nullif(i.reasons[1], ''), 'UNSPECIFIED'),
        greatest(i.net - i.patient_share, 0),
        coalesce(i.outcome IN ('rejected', 'partial') OR c.status = 'REJECTED', false),
        greatest(i.net - i.patient_share - coalesce(i.approved, 0), 0),
        greatest(coalesce((SELECT max(ri.approved) FROM claims r
            JOIN claim_items ri ON ri.claim_id = r.id AND ri.sequence = i.sequence
            WHERE r.resubmission_of = c.id AND r.status IN ('APPROVED', 'PARTIAL')), 0) - coalesce(i.approved, 0), 0),
        (SELECT min(h.at) FROM claim_status_history h WHERE h.claim_id = c.id AND h.status = 'SUBMITTED'),
        (SELECT min(pr.payment_date) FROM claim_payments cp JOIN payment_reconciliations pr ON pr.id = cp.reconciliation_id
            WHERE cp.claim_id = c.id AND cp.gross > 0),
        (SELECT min(pr.received_at) FROM claim_payments cp JOIN payment_reconciliations pr ON pr.id = cp.reconciliation_id
            WHERE cp.claim_id = c.id AND cp.gross > 0 AND pr.payment_date IS NULL)
    FROM claims c JOIN claim_items i ON i.claim_id = c.id
    WHERE c.id = ANY (ids) AND c.use = 'claim' AND c.resubmission_of IS NULL
        AND c.status IN ('APPROVED', 'PARTIAL', 'REJECTED')
$$;

CREATE OR REPLACE FUNCTION claim_denial_facts_claims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM claim_denial_facts_refresh(ARRAY(SELECT id FROM changed));
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION claim_denial_facts_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM claim_denial_facts_refresh(ARRAY(SELECT DISTINCT claim_id FROM changed WHERE claim_id IS NOT NULL));
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER claims_denial_facts_update AFTER UPDATE ON claims
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_claims();
CREATE OR REPLACE TRIGGER claim_items_denial_facts_update AFTER UPDATE ON claim_items
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_children();
CREATE OR REPLACE TRIGGER claim_status_history_denial_facts_update AFTER UPDATE ON claim_status_history
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_children();

SELECT claim_denial_facts_refresh(ARRAY(SELECT DISTINCT resubmission_of FROM claims WHERE resubmission_of IS NOT NULL));
