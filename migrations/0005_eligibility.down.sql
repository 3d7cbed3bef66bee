DROP INDEX nphies_messages_eligibility_idx;
-- In-flight synchronous requests left by a crash get a verdict the outbox
-- will not act on, so the original constraint holds again.
UPDATE nphies_messages SET delivery = 'FAILED', last_error = 'the answer was never recorded'
    WHERE delivery = 'PENDING' AND next_attempt_at IS NULL;
ALTER TABLE nphies_messages DROP CONSTRAINT nphies_messages_pending_due;
ALTER TABLE nphies_messages ADD CONSTRAINT nphies_messages_pending_due
    CHECK (delivery IS DISTINCT FROM 'PENDING' OR next_attempt_at IS NOT NULL);
ALTER TABLE nphies_messages DROP CONSTRAINT nphies_messages_one_owner;
ALTER TABLE nphies_messages DROP COLUMN eligibility_check_id;
ALTER TABLE eligibility_checks
    DROP CONSTRAINT eligibility_checks_verdict,
    DROP CONSTRAINT eligibility_checks_answered,
    DROP COLUMN checked_at,
    DROP COLUMN error_codes,
    DROP COLUMN inforce,
    DROP COLUMN payer_name,
    DROP COLUMN payer_license;
