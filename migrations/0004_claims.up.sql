-- Claims and prior authorizations sent through NPHIES, their items and
-- history, every bundle sent or received (the outbox and the inbox), and
-- eligibility checks. The database enforces the states and the links so a
-- bug in the worker can never store a claim that contradicts itself.

CREATE TABLE claims (
    id            uuid PRIMARY KEY,
    use           text NOT NULL CHECK (use IN ('claim', 'preauthorization')),
    invoice_id    uuid REFERENCES invoices (id),
    patient_id    uuid NOT NULL REFERENCES patients (id),
    coverage_id   uuid NOT NULL REFERENCES coverages (id),
    payer_license text NOT NULL CHECK (length(payer_license) BETWEEN 1 AND 100),
    payer_name    text NOT NULL DEFAULT '' CHECK (length(payer_name) <= 200),
    status        text NOT NULL
                  CHECK (status IN ('DRAFT','QUEUED','SUBMITTED','PENDING','APPROVED','PARTIAL','REJECTED','ERROR','CANCELLED')),
    total         bigint NOT NULL CHECK (total > 0),
    approved      bigint CHECK (approved >= 0),
    disposition   text NOT NULL DEFAULT '' CHECK (length(disposition) <= 2000),
    preauth_ref   text NOT NULL DEFAULT '' CHECK (length(preauth_ref) <= 200),
    last_error    text NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
    -- refused: NPHIES answered and refused this claim identifier for good
    -- (an adjudication error or a rejected message). Only then may the
    -- invoice be claimed again under a new identifier; a claim that failed
    -- in transport may have reached the payer, so it keeps the invoice and
    -- is resent with the same identity by retryClaim.
    refused       boolean NOT NULL DEFAULT false,
    -- The payer's ClaimResponse.identifier ("system|value"), once known.
    response_key  text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT claims_claim_has_invoice CHECK (use <> 'claim' OR invoice_id IS NOT NULL),
    CONSTRAINT claims_error_explained CHECK (status <> 'ERROR' OR last_error <> ''),
    CONSTRAINT claims_refused_is_error CHECK (NOT refused OR status = 'ERROR'),
    CONSTRAINT claims_approved_decided CHECK (approved IS NULL OR status IN ('APPROVED','PARTIAL','REJECTED','CANCELLED'))
);
-- One live claim per invoice. A claim stops holding its invoice when the
-- payer rejected it, it was cancelled, or NPHIES refused its identifier; an
-- ERROR from failed delivery still holds it (see refused above).
CREATE UNIQUE INDEX claims_live_per_invoice ON claims (invoice_id)
    WHERE use = 'claim' AND status NOT IN ('CANCELLED', 'REJECTED') AND NOT refused;
CREATE INDEX claims_created_idx ON claims (created_at DESC, id DESC);
CREATE INDEX claims_patient_idx ON claims (patient_id, created_at DESC, id DESC);
CREATE INDEX claims_status_idx ON claims (status, created_at DESC, id DESC);

CREATE TABLE claim_items (
    claim_id      uuid NOT NULL REFERENCES claims (id),
    sequence      integer NOT NULL CHECK (sequence >= 1),
    service_code  text NOT NULL CHECK (length(service_code) BETWEEN 1 AND 32),
    description   text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
    quantity      integer NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    unit_price    bigint NOT NULL CHECK (unit_price > 0),
    vat           bigint NOT NULL CHECK (vat >= 0),
    net           bigint NOT NULL,
    patient_share bigint NOT NULL CHECK (patient_share >= 0 AND patient_share <= net),
    -- Adjudication, once the payer decided.
    approved      bigint CHECK (approved >= 0),
    outcome       text NOT NULL DEFAULT '' CHECK (length(outcome) <= 50),
    reasons       text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (claim_id, sequence),
    CONSTRAINT claim_items_net CHECK (net = quantity * unit_price + vat)
);

-- A claim's total must equal the sum of its item nets (NPHIES rule 1601),
-- checked at commit so claim and items are written in one transaction.
CREATE FUNCTION claim_total_matches() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c_id uuid;
    c_total bigint;
    s bigint;
BEGIN
    IF TG_TABLE_NAME = 'claims' THEN
        c_id := NEW.id;
    ELSE
        c_id := NEW.claim_id;
    END IF;
    SELECT total INTO c_total FROM claims WHERE id = c_id;
    SELECT coalesce(sum(net), 0) INTO s FROM claim_items WHERE claim_id = c_id;
    IF c_total IS DISTINCT FROM s THEN
        RAISE EXCEPTION 'claim total does not equal the sum of its items'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'claims_items_sum';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER claims_items_sum AFTER INSERT ON claims
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION claim_total_matches();
CREATE CONSTRAINT TRIGGER claim_items_sum AFTER INSERT OR UPDATE OF net ON claim_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION claim_total_matches();

CREATE TABLE claim_status_history (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    claim_id uuid NOT NULL REFERENCES claims (id),
    status   text NOT NULL
             CHECK (status IN ('DRAFT','QUEUED','SUBMITTED','PENDING','APPROVED','PARTIAL','REJECTED','ERROR','CANCELLED')),
    note     text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX claim_status_history_claim_idx ON claim_status_history (claim_id, id);

-- Every bundle sent (OUT: the outbox) or received (IN) exactly as it went
-- over the wire. Outbound rows carry their delivery state; inbound rows
-- point at the outbound message they answer when there is one.
CREATE TABLE nphies_messages (
    id                uuid PRIMARY KEY,
    claim_id          uuid REFERENCES claims (id),
    direction         text NOT NULL CHECK (direction IN ('OUT', 'IN')),
    event             text NOT NULL DEFAULT '' CHECK (length(event) <= 100),
    bundle_id         text NOT NULL DEFAULT '' CHECK (length(bundle_id) <= 200),
    message_header_id text NOT NULL DEFAULT '' CHECK (length(message_header_id) <= 200),
    in_response_to    uuid REFERENCES nphies_messages (id),
    body              bytea NOT NULL,
    delivery          text CHECK (delivery IN ('PENDING', 'SENT', 'FAILED')),
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   timestamptz,
    sent_at           timestamptz,
    http_status       integer CHECK (http_status BETWEEN 0 AND 599),
    last_error        text NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
    trace_parent      text NOT NULL DEFAULT '' CHECK (length(trace_parent) <= 200),
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT nphies_messages_delivery_out CHECK ((direction = 'OUT') = (delivery IS NOT NULL)),
    CONSTRAINT nphies_messages_pending_due CHECK (delivery IS DISTINCT FROM 'PENDING' OR next_attempt_at IS NOT NULL),
    CONSTRAINT nphies_messages_out_identity CHECK (direction = 'IN' OR (bundle_id <> '' AND message_header_id <> ''))
);
-- A bundle id is sent under one row only (its retries reuse the row), and a
-- received bundle that answers no request of ours (a polled message) is
-- stored once however often it is delivered: the inbox de-duplicates by
-- this index. Direct answers are kept per request, even a stray copy of
-- another request's answer, so each request's timeline shows what came back.
CREATE UNIQUE INDEX nphies_messages_bundle_idx ON nphies_messages (direction, bundle_id)
    WHERE bundle_id <> '' AND in_response_to IS NULL;
-- The worker's query: due outbound messages, oldest due first.
CREATE INDEX nphies_messages_due_idx ON nphies_messages (next_attempt_at) WHERE delivery = 'PENDING';
CREATE INDEX nphies_messages_claim_idx ON nphies_messages (claim_id, created_at);

CREATE TABLE eligibility_checks (
    id                  uuid PRIMARY KEY,
    patient_id          uuid NOT NULL REFERENCES patients (id),
    coverage_id         uuid REFERENCES coverages (id),
    status              text NOT NULL CHECK (status IN ('QUEUED', 'COMPLETE', 'ERROR')),
    -- outcome is the remittance outcome (complete, error); eligible the
    -- verdict once known; site_eligibility the NPHIES code.
    outcome             text NOT NULL DEFAULT '' CHECK (length(outcome) <= 50),
    eligible            boolean,
    site_eligibility    text NOT NULL DEFAULT '' CHECK (length(site_eligibility) <= 50),
    disposition         text NOT NULL DEFAULT '' CHECK (length(disposition) <= 2000),
    result              jsonb,
    last_error          text NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
    request_message_id  uuid REFERENCES nphies_messages (id),
    response_message_id uuid REFERENCES nphies_messages (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT eligibility_checks_complete CHECK (status <> 'COMPLETE' OR eligible IS NOT NULL),
    CONSTRAINT eligibility_checks_error CHECK (status <> 'ERROR' OR last_error <> '')
);
CREATE INDEX eligibility_checks_patient_idx ON eligibility_checks (patient_id, created_at DESC);
