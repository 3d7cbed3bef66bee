-- The denial facts of migration 0024, kept exactly and cheaply:
--
-- * A resubmission's items are paired with the original's by the service
--   they bill (code system and service code), not by position, so a
--   correction that reorders, replaces, adds or leaves out lines still
--   credits what it won back to the service that was denied. Per service,
--   what the best approved resubmission was granted beyond what the
--   original was granted is shared out over the original's denied items of
--   that service in sequence order, each up to its shortfall; a service
--   the resubmission dropped wins nothing back, one it added is not a
--   recovery. `gained` is therefore at most `shortfall`.
-- * Deletes are followed: deleting a claim (its facts go by the foreign
--   key; the original it resubmits is rewritten), an item, a history step
--   or a payment rewrites the claim's facts, and so does a payment moved
--   to another claim or a reconciliation whose dates change.
-- * An UPDATE of claims rewrites only the claims whose facts can change
--   (use, status, payer, practitioner, creation time, the claim it
--   resubmits), found by comparing the statement's old and new rows, so
--   the outbox's bookkeeping (updated_at, status_checked_at, paid,
--   attempts) no longer rewrites facts.
--
-- The facts of the claims that have resubmissions are rewritten at the end
-- under the new pairing.

CREATE OR REPLACE FUNCTION claim_denial_facts_of(ids uuid[]) RETURNS SETOF claim_denial_facts
LANGUAGE sql STABLE AS $$
    WITH items AS (
        SELECT c.id, i.sequence, c.payer_license, c.practitioner_id, c.created_at, i.code_system, i.service_code,
            coalesce(nullif(i.reasons[1], ''), 'UNSPECIFIED') AS reason,
            greatest(i.net - i.patient_share, 0) AS claimed,
            coalesce(i.outcome IN ('rejected', 'partial') OR c.status = 'REJECTED', false) AS denied,
            greatest(i.net - i.patient_share - coalesce(i.approved, 0), 0) AS shortfall,
            coalesce(i.approved, 0) AS approved
        FROM claims c JOIN claim_items i ON i.claim_id = c.id
        WHERE c.id = ANY (ids) AND c.use = 'claim' AND c.resubmission_of IS NULL
            AND c.status IN ('APPROVED', 'PARTIAL', 'REJECTED')
    ),
    -- Per original and service, the most an approved resubmission granted.
    granted AS (
        SELECT id, code_system, service_code, max(approved) AS approved FROM (
            SELECT r.resubmission_of AS id, r.id AS resubmission, ri.code_system, ri.service_code,
                sum(coalesce(ri.approved, 0)) AS approved
            FROM claims r JOIN claim_items ri ON ri.claim_id = r.id
            WHERE r.resubmission_of = ANY (ids) AND r.status IN ('APPROVED', 'PARTIAL')
            GROUP BY 1, 2, 3, 4) per_resubmission
        GROUP BY 1, 2, 3
    ),
    -- Per item, the service's gain and the denied shortfall of the
    -- service's earlier items, which take their share first.
    shared AS (
        SELECT it.*, greatest(coalesce(g.approved, 0) - sum(it.approved) OVER service, 0) AS gain,
            coalesce(sum(it.shortfall) FILTER (WHERE it.denied) OVER (service ORDER BY it.sequence
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS taken
        FROM items it LEFT JOIN granted g
            ON g.id = it.id AND g.code_system = it.code_system AND g.service_code = it.service_code
        WINDOW service AS (PARTITION BY it.id, it.code_system, it.service_code)
    )
    SELECT s.id, s.sequence, s.payer_license, s.practitioner_id, s.created_at, s.service_code, s.reason, s.claimed,
        s.denied, s.shortfall,
        CASE WHEN s.denied THEN greatest(least(s.shortfall, s.gain - s.taken), 0) ELSE 0 END,
        (SELECT min(h.at) FROM claim_status_history h WHERE h.claim_id = s.id AND h.status = 'SUBMITTED'),
        (SELECT min(pr.payment_date) FROM claim_payments cp JOIN payment_reconciliations pr ON pr.id = cp.reconciliation_id
            WHERE cp.claim_id = s.id AND cp.gross > 0),
        (SELECT min(pr.received_at) FROM claim_payments cp JOIN payment_reconciliations pr ON pr.id = cp.reconciliation_id
            WHERE cp.claim_id = s.id AND cp.gross > 0 AND pr.payment_date IS NULL)
    FROM shared s
$$;

-- Claims: inserted rows; updated rows whose facts can change, and the
-- originals they stopped resubmitting; deleted resubmissions' originals.
CREATE OR REPLACE FUNCTION claim_denial_facts_claims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM claim_denial_facts_refresh(ARRAY(SELECT id FROM changed));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM claim_denial_facts_refresh(ARRAY(
            SELECT n.id FROM changed n LEFT JOIN previous o ON o.id = n.id
            WHERE (o.use, o.status, o.payer_license, o.practitioner_id, o.created_at, o.resubmission_of)
                IS DISTINCT FROM (n.use, n.status, n.payer_license, n.practitioner_id, n.created_at, n.resubmission_of)
            UNION
            SELECT o.resubmission_of FROM previous o LEFT JOIN changed n ON n.id = o.id
            WHERE o.resubmission_of IS NOT NULL AND o.resubmission_of IS DISTINCT FROM n.resubmission_of));
    ELSE
        PERFORM claim_denial_facts_refresh(ARRAY(
            SELECT DISTINCT resubmission_of FROM previous WHERE resubmission_of IS NOT NULL));
    END IF;
    RETURN NULL;
END
$$;

-- Items, history steps and payments: the claims of the rows written, and
-- of the rows removed or moved away.
CREATE OR REPLACE FUNCTION claim_denial_facts_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM claim_denial_facts_refresh(ARRAY(SELECT DISTINCT claim_id FROM changed WHERE claim_id IS NOT NULL));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM claim_denial_facts_refresh(ARRAY(
            SELECT claim_id FROM changed WHERE claim_id IS NOT NULL
            UNION SELECT claim_id FROM previous WHERE claim_id IS NOT NULL));
    ELSE
        PERFORM claim_denial_facts_refresh(ARRAY(SELECT DISTINCT claim_id FROM previous WHERE claim_id IS NOT NULL));
    END IF;
    RETURN NULL;
END
$$;

-- Reconciliations: the claims paid by one whose payment date or receipt
-- time changed (the first payment is read from them).
CREATE OR REPLACE FUNCTION claim_denial_facts_reconciliations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM claim_denial_facts_refresh(ARRAY(
        SELECT DISTINCT cp.claim_id FROM changed n JOIN previous o ON o.id = n.id
            JOIN claim_payments cp ON cp.reconciliation_id = n.id
        WHERE cp.claim_id IS NOT NULL
            AND (o.payment_date, o.received_at) IS DISTINCT FROM (n.payment_date, n.received_at)));
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER claims_denial_facts_update AFTER UPDATE ON claims
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_claims();
CREATE OR REPLACE TRIGGER claims_denial_facts_delete AFTER DELETE ON claims
    REFERENCING OLD TABLE AS previous FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_claims();
CREATE OR REPLACE TRIGGER claim_items_denial_facts_update AFTER UPDATE ON claim_items
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_children();
CREATE OR REPLACE TRIGGER claim_items_denial_facts_delete AFTER DELETE ON claim_items
    REFERENCING OLD TABLE AS previous FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_children();
CREATE OR REPLACE TRIGGER claim_status_history_denial_facts_update AFTER UPDATE ON claim_status_history
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_children();
CREATE OR REPLACE TRIGGER claim_status_history_denial_facts_delete AFTER DELETE ON claim_status_history
    REFERENCING OLD TABLE AS previous FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_children();
CREATE OR REPLACE TRIGGER claim_payments_denial_facts_update AFTER UPDATE ON claim_payments
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_children();
CREATE OR REPLACE TRIGGER claim_payments_denial_facts_delete AFTER DELETE ON claim_payments
    REFERENCING OLD TABLE AS previous FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_children();
CREATE OR REPLACE TRIGGER payment_reconciliations_denial_facts_update AFTER UPDATE ON payment_reconciliations
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_denial_facts_reconciliations();

SELECT claim_denial_facts_refresh(ARRAY(SELECT DISTINCT resubmission_of FROM claims WHERE resubmission_of IS NOT NULL));
