-- healthgraph:no-transaction
-- Denial figures kept per item as claims change, so denialSummary and the
-- denial metrics read one narrow table instead of recomputing every
-- adjudicated claim's submission time, first payment and best
-- resubmission (25-30 s over the large dataset's 209k claims).
--
-- claim_denial_facts has a row per item of each original claim (use claim,
-- no resubmission_of) the payer decided (APPROVED, PARTIAL, REJECTED):
-- what was asked, whether and how much was denied, what the best approved
-- resubmission won back on the same item, when the claim was submitted and
-- when it was first paid. claim_denial_facts_of computes them from the
-- tables; statement triggers on claims, claim_items, claim_status_history
-- and claim_payments rewrite the rows of the claims a statement touched
-- (and of the originals of the resubmissions it touched) in the same
-- transaction. The first payment is kept zone-free, as the earliest
-- payment date and the earliest receipt without one; the store takes the
-- earlier in the clinic's zone.
--
-- Statement by statement, outside a transaction, each safe to run again:
-- the triggers first, then the claims already there, 2,000 at a time, each
-- batch its own transaction (ON CONFLICT DO NOTHING: rows a trigger wrote
-- meanwhile are newer).
CREATE TABLE IF NOT EXISTS claim_denial_facts (
    claim_id           uuid NOT NULL REFERENCES claims (id) ON DELETE CASCADE,
    sequence           integer NOT NULL,
    payer_license      text NOT NULL,
    practitioner_id    uuid,
    created_at         timestamptz NOT NULL,
    service_code       text NOT NULL,
    -- The first reason code, 'UNSPECIFIED' (hg.NoReason) when none.
    reason             text NOT NULL,
    -- The insurer share asked, and whether the item was rejected or cut.
    claimed            bigint NOT NULL,
    denied             boolean NOT NULL,
    -- The insurer share not granted, and what a resubmission won back.
    shortfall          bigint NOT NULL,
    gained             bigint NOT NULL,
    submitted_at       timestamptz,
    first_payment_date date,
    first_received_at  timestamptz,
    PRIMARY KEY (claim_id, sequence)
);
CREATE INDEX IF NOT EXISTS claim_denial_facts_created_idx ON claim_denial_facts (created_at);

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

-- Rewrites the rows of the claims ids and of the originals they resubmit,
-- in (claim, sequence) order so concurrent rewrites lock rows alike.
CREATE OR REPLACE FUNCTION claim_denial_facts_refresh(ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    touched uuid[];
BEGIN
    SELECT array_agg(DISTINCT x) INTO touched FROM (
        SELECT unnest(ids) AS x
        UNION SELECT c.resubmission_of FROM claims c WHERE c.id = ANY (ids) AND c.resubmission_of IS NOT NULL) t;
    IF touched IS NULL THEN
        RETURN;
    END IF;
    -- One statement: the rows of items no longer decided go, the others
    -- are written (disjoint rows, so the two never meet).
    WITH fresh AS MATERIALIZED (SELECT * FROM claim_denial_facts_of(touched)),
    gone AS (
        DELETE FROM claim_denial_facts f WHERE f.claim_id = ANY (touched)
            AND NOT EXISTS (SELECT 1 FROM fresh n WHERE n.claim_id = f.claim_id AND n.sequence = f.sequence))
    INSERT INTO claim_denial_facts SELECT * FROM fresh ORDER BY claim_id, sequence
    ON CONFLICT (claim_id, sequence) DO UPDATE SET payer_license = EXCLUDED.payer_license,
        practitioner_id = EXCLUDED.practitioner_id, created_at = EXCLUDED.created_at, service_code = EXCLUDED.service_code,
        reason = EXCLUDED.reason, claimed = EXCLUDED.claimed, denied = EXCLUDED.denied, shortfall = EXCLUDED.shortfall,
        gained = EXCLUDED.gained, submitted_at = EXCLUDED.submitted_at, first_payment_date = EXCLUDED.first_payment_date,
        first_received_at = EXCLUDED.first_received_at;
END
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

CREATE OR REPLACE TRIGGER claims_denial_facts_insert AFTER INSERT ON claims
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_claims();
CREATE OR REPLACE TRIGGER claims_denial_facts_update AFTER UPDATE ON claims
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_claims();
CREATE OR REPLACE TRIGGER claim_items_denial_facts_insert AFTER INSERT ON claim_items
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_children();
CREATE OR REPLACE TRIGGER claim_items_denial_facts_update AFTER UPDATE ON claim_items
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_children();
CREATE OR REPLACE TRIGGER claim_status_history_denial_facts_insert AFTER INSERT ON claim_status_history
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_children();
CREATE OR REPLACE TRIGGER claim_status_history_denial_facts_update AFTER UPDATE ON claim_status_history
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_children();
CREATE OR REPLACE TRIGGER claim_payments_denial_facts_insert AFTER INSERT ON claim_payments
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_children();

-- The claims already there, in id order.
DO $$
DECLARE
    done_to uuid := '00000000-0000-0000-0000-000000000000';
    upto    uuid;
BEGIN
    LOOP
        SELECT id INTO upto FROM (
            SELECT id FROM claims WHERE id > done_to ORDER BY id LIMIT 2000) batch
        ORDER BY id DESC LIMIT 1;
        EXIT WHEN upto IS NULL;
        INSERT INTO claim_denial_facts
        SELECT * FROM claim_denial_facts_of(ARRAY(SELECT id FROM claims WHERE id > done_to AND id <= upto))
        ON CONFLICT (claim_id, sequence) DO NOTHING;
        COMMIT;
        done_to := upto;
    END LOOP;
END
$$;
ANALYZE claim_denial_facts;
