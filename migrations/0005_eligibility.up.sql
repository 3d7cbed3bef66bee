-- Eligibility checks are synchronous: the request that stores a check sends
-- its bundle itself while the desk waits, and records the answer. The
-- check keeps the payer it asked, the in-force flag, the error codes and
-- when the answer came; its outgoing bundle is PENDING with no due time
-- while it is in flight, so the outbox worker never takes it.

ALTER TABLE eligibility_checks
    ADD COLUMN payer_license text NOT NULL DEFAULT '' CHECK (length(payer_license) <= 100),
    ADD COLUMN payer_name    text NOT NULL DEFAULT '' CHECK (length(payer_name) <= 200),
    ADD COLUMN inforce       boolean,
    ADD COLUMN error_codes   text[] NOT NULL DEFAULT '{}',
    ADD COLUMN checked_at    timestamptz,
    ADD CONSTRAINT eligibility_checks_answered CHECK ((status = 'QUEUED') = (checked_at IS NULL)),
    ADD CONSTRAINT eligibility_checks_verdict CHECK (status = 'COMPLETE' OR eligible IS NULL);

-- Which check a bundle belongs to, so the sent and received bundles of a
-- check can be listed from the message side too. A bundle belongs to a
-- claim or to a check, never both.
ALTER TABLE nphies_messages
    ADD COLUMN eligibility_check_id uuid REFERENCES eligibility_checks (id),
    ADD CONSTRAINT nphies_messages_one_owner CHECK (claim_id IS NULL OR eligibility_check_id IS NULL);

-- A synchronous request is PENDING with no due time while it is in flight:
-- the worker only takes rows due at or before now.
ALTER TABLE nphies_messages DROP CONSTRAINT nphies_messages_pending_due;
ALTER TABLE nphies_messages ADD CONSTRAINT nphies_messages_pending_due
    CHECK (delivery IS DISTINCT FROM 'PENDING' OR next_attempt_at IS NOT NULL OR eligibility_check_id IS NOT NULL);

CREATE INDEX nphies_messages_eligibility_idx ON nphies_messages (eligibility_check_id, created_at)
    WHERE eligibility_check_id IS NOT NULL;
