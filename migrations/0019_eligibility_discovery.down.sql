-- A discovery has no coverage, which the older schema requires: drop them.
UPDATE eligibility_checks SET request_message_id = NULL, response_message_id = NULL WHERE purpose = 'DISCOVERY';
DELETE FROM nphies_messages WHERE eligibility_check_id IN (SELECT id FROM eligibility_checks WHERE purpose = 'DISCOVERY');
DELETE FROM eligibility_checks WHERE purpose = 'DISCOVERY';
ALTER TABLE eligibility_checks
    DROP CONSTRAINT eligibility_checks_nullified,
    DROP CONSTRAINT eligibility_checks_coverage,
    DROP CONSTRAINT eligibility_checks_purpose,
    DROP COLUMN nullify_reason,
    DROP COLUMN nullified_at,
    DROP COLUMN purpose;
