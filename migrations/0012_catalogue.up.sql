-- The clinic's chargeable-item catalogue: every service, test, procedure,
-- drug or device it bills, under the NPHIES code system it belongs to, so a
-- claim item goes out under its own system (a lab test under laboratory, a
-- drug under medication-codes), never a free-text code under services.
CREATE TABLE catalogue_items (
    id          uuid PRIMARY KEY,
    system      text NOT NULL CHECK (system IN ('services', 'procedures', 'laboratory', 'imaging',
                    'medication-codes', 'medical-devices', 'oral-health-op', 'oral-health-ip', 'transportation-srca')),
    code        text NOT NULL CHECK (length(code) BETWEEN 1 AND 32),
    display     text NOT NULL CHECK (length(display) BETWEEN 1 AND 500),
    unit_price  bigint NOT NULL CHECK (unit_price > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT catalogue_items_code UNIQUE (system, code)
);
CREATE INDEX catalogue_items_created_idx ON catalogue_items (created_at DESC, id DESC);

-- An invoice line billed from the catalogue names its item and keeps the
-- item's code system as it was when billed. Free-text lines (self-pay) keep
-- both empty; a claim refuses them.
ALTER TABLE invoice_lines ADD COLUMN item_id uuid REFERENCES catalogue_items (id);
ALTER TABLE invoice_lines ADD COLUMN code_system text NOT NULL DEFAULT '';
ALTER TABLE claim_items ADD COLUMN code_system text NOT NULL DEFAULT '';
