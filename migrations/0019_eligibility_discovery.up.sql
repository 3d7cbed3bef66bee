-- Eligibility discovery and nullify. A discovery asks a payer which
-- coverages it holds for a patient and names no coverage; the coverages it
-- found are kept in result->'coverages'. A nullified check is one the
-- clinic voided (asked about the wrong patient or coverage): NPHIES has no
-- message for it, so it is recorded here only. The new columns carry
-- constant defaults (no table rewrite); the constraints are added NOT
-- VALID, so adding them does not scan the table under its lock: every
-- existing row is a validation of a coverage, never nullified.
ALTER TABLE eligibility_checks
    ADD COLUMN purpose        text NOT NULL DEFAULT 'VALIDATION',
    ADD COLUMN nullified_at   timestamptz,
    ADD COLUMN nullify_reason text NOT NULL DEFAULT '',
    ADD CONSTRAINT eligibility_checks_purpose CHECK (purpose IN ('VALIDATION', 'DISCOVERY')) NOT VALID,
    ADD CONSTRAINT eligibility_checks_coverage
        CHECK ((purpose = 'DISCOVERY') = (coverage_id IS NULL)) NOT VALID,
    ADD CONSTRAINT eligibility_checks_nullified
        CHECK ((nullified_at IS NULL) = (nullify_reason = '') AND nullify_reason IN ('', 'WRONG_INFORMATION', 'SERVICE_NOT_PERFORMED', 'TRANSACTION_ALREADY_SUBMITTED')) NOT VALID;
