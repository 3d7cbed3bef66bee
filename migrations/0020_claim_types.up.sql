-- Claim types beyond professional (issue 15): a claim is professional,
-- institutional, pharmacy, dental or vision, and keeps what its type
-- carries beyond the invoice (per-line teeth and days supply, an
-- institutional stay, a vision prescription) so a resubmission carries it
-- again. Existing claims were all professional.
--
-- The column has a constant default, so adding it rewrites nothing, and
-- every existing row holds that default, which satisfies the constraint: it
-- is added NOT VALID, sparing a scan of the table under the exclusive lock,
-- and holds for every row written from now on.

ALTER TABLE claims
    ADD COLUMN claim_type   text NOT NULL DEFAULT 'PROFESSIONAL',
    ADD COLUMN type_details jsonb,
    ADD CONSTRAINT claims_claim_type CHECK (claim_type IN
        ('PROFESSIONAL', 'INSTITUTIONAL', 'PHARMACY', 'DENTAL', 'VISION')) NOT VALID,
    ADD CONSTRAINT claims_type_details CHECK (type_details IS NULL OR jsonb_typeof(type_details) = 'object') NOT VALID;
