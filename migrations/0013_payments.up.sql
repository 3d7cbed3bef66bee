-- Money the payers send (PaymentReconciliation, delivered by poll) applied
-- to the claims it names, resubmissions linked to the claims they correct,
-- and the practitioner a claim bills for (denial analytics group by it).
--
-- New columns carry no default that needs a rewrite and no constraint that
-- scans the table under an exclusive lock: the foreign keys are added NOT
-- VALID and validated afterwards, which only takes a share update lock.
ALTER TABLE claims
    ADD COLUMN practitioner_id uuid,
    -- The claim this one corrects and resubmits (Claim.related, "prior").
    ADD COLUMN resubmission_of uuid,
    -- A claim that was corrected and resubmitted stops holding its invoice;
    -- its resubmission does (see 0014).
    ADD COLUMN resubmitted boolean NOT NULL DEFAULT false,
    -- What the payer has paid on the claim so far (gross, before the fees
    -- NPHIES deducts), the sum of its claim_payments.
    ADD COLUMN paid bigint NOT NULL DEFAULT 0;
ALTER TABLE claims ADD CONSTRAINT claims_practitioner_fk
    FOREIGN KEY (practitioner_id) REFERENCES practitioners (id) NOT VALID;
ALTER TABLE claims ADD CONSTRAINT claims_resubmission_fk
    FOREIGN KEY (resubmission_of) REFERENCES claims (id) NOT VALID;
ALTER TABLE claims VALIDATE CONSTRAINT claims_practitioner_fk;
ALTER TABLE claims VALIDATE CONSTRAINT claims_resubmission_fk;

-- One row per PaymentReconciliation.identifier: a reconciliation delivered
-- again (in another bundle) is counted in duplicates and applied never
-- again.
CREATE TABLE payment_reconciliations (
    id                uuid PRIMARY KEY,
    -- PaymentReconciliation.identifier as "system|value".
    identifier        text NOT NULL UNIQUE CHECK (length(identifier) BETWEEN 1 AND 500),
    payer_license     text NOT NULL DEFAULT '' CHECK (length(payer_license) <= 100),
    -- The bank transfer or cheque reference (paymentIdentifier).
    payment_reference text NOT NULL DEFAULT '' CHECK (length(payment_reference) <= 500),
    payment_date      date,
    -- paymentAmount: what the payer transferred, after NPHIES's fees.
    amount            bigint NOT NULL,
    duplicates        integer NOT NULL DEFAULT 0 CHECK (duplicates >= 0),
    -- The received bundle, and the payment notice acknowledging it.
    message_id        uuid REFERENCES nphies_messages (id),
    notice_message_id uuid REFERENCES nphies_messages (id),
    received_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_reconciliations_received_idx ON payment_reconciliations (received_at DESC, id DESC);

-- One row per PaymentReconciliation.detail. A line naming a claim we do not
-- have is kept with its anomaly, linked to no claim.
CREATE TABLE claim_payments (
    reconciliation_id uuid NOT NULL REFERENCES payment_reconciliations (id),
    line              integer NOT NULL CHECK (line >= 1),
    claim_id          uuid REFERENCES claims (id),
    -- detail.request.identifier as the payer named it ("system|value").
    claim_identifier  text NOT NULL CHECK (length(claim_identifier) <= 500),
    kind              text NOT NULL DEFAULT '' CHECK (length(kind) <= 50),
    -- amount = gross + fee (BV-00479): gross is what the payer pays for the
    -- claim, fee the NPHIES and early-payment fees (zero or negative).
    gross             bigint NOT NULL,
    fee               bigint NOT NULL DEFAULT 0 CHECK (fee <= 0),
    amount            bigint NOT NULL,
    paid_on           date,
    anomaly           text NOT NULL DEFAULT '' CHECK (length(anomaly) <= 500),
    PRIMARY KEY (reconciliation_id, line),
    CONSTRAINT claim_payments_amount CHECK (amount = gross + fee),
    CONSTRAINT claim_payments_linked CHECK (claim_id IS NOT NULL OR anomaly <> '')
);
CREATE INDEX claim_payments_claim_idx ON claim_payments (claim_id) WHERE claim_id IS NOT NULL;
