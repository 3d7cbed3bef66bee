-- Billing: invoices, their lines and payments. Go prices an invoice in one
-- place (healthgraph.PriceLines); the database re-checks every identity so
-- no bug can store money that does not add up.

-- The patient's share of each invoice line under this coverage.
ALTER TABLE coverages ADD COLUMN copay_percent smallint NOT NULL DEFAULT 20
    CHECK (copay_percent BETWEEN 0 AND 100);

CREATE SEQUENCE invoice_number_seq;

CREATE TABLE invoices (
    id            uuid PRIMARY KEY,
    number        text NOT NULL UNIQUE,
    patient_id    uuid NOT NULL REFERENCES patients (id),
    coverage_id   uuid REFERENCES coverages (id),
    status        text NOT NULL DEFAULT 'DRAFT'
                  CHECK (status IN ('DRAFT','ISSUED','PARTIALLY_PAID','PAID','VOID')),
    copay_percent smallint NOT NULL CHECK (copay_percent BETWEEN 0 AND 100),
    net           bigint NOT NULL CHECK (net > 0),
    vat           bigint NOT NULL CHECK (vat >= 0),
    total         bigint NOT NULL,
    patient_share bigint NOT NULL CHECK (patient_share >= 0),
    insurer_share bigint NOT NULL CHECK (insurer_share >= 0),
    paid          bigint NOT NULL DEFAULT 0,
    issued_at     timestamptz,
    void_reason   text NOT NULL DEFAULT '' CHECK (length(void_reason) <= 500),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT invoices_total_sum CHECK (total = net + vat),
    CONSTRAINT invoices_share_sum CHECK (patient_share + insurer_share = total),
    CONSTRAINT invoices_paid_range CHECK (paid BETWEEN 0 AND patient_share),
    CONSTRAINT invoices_no_coverage_no_insurer CHECK (coverage_id IS NOT NULL OR insurer_share = 0),
    CONSTRAINT invoices_paid_status CHECK (CASE status
        WHEN 'PAID' THEN paid = patient_share
        WHEN 'PARTIALLY_PAID' THEN paid > 0 AND paid < patient_share
        ELSE paid = 0 END),
    CONSTRAINT invoices_issued_at CHECK (status IN ('DRAFT', 'VOID') OR issued_at IS NOT NULL)
);
CREATE INDEX invoices_patient_idx ON invoices (patient_id, created_at DESC, id DESC);
CREATE INDEX invoices_created_idx ON invoices (created_at DESC, id DESC);
CREATE INDEX invoices_status_idx ON invoices (status, created_at DESC);

CREATE TABLE invoice_lines (
    invoice_id    uuid NOT NULL REFERENCES invoices (id),
    sequence      integer NOT NULL CHECK (sequence >= 1),
    service_code  text NOT NULL CHECK (length(service_code) BETWEEN 1 AND 32),
    description   text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
    quantity      integer NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    unit_price    bigint NOT NULL CHECK (unit_price > 0),
    net           bigint NOT NULL,
    vat           bigint NOT NULL CHECK (vat >= 0),
    total         bigint NOT NULL,
    patient_share bigint NOT NULL CHECK (patient_share >= 0),
    insurer_share bigint NOT NULL CHECK (insurer_share >= 0),
    PRIMARY KEY (invoice_id, sequence),
    CONSTRAINT invoice_lines_net CHECK (net = quantity * unit_price),
    CONSTRAINT invoice_lines_total CHECK (total = net + vat),
    CONSTRAINT invoice_lines_shares CHECK (patient_share + insurer_share = total)
);

-- An invoice's header must equal the sum of its lines, checked at commit so
-- the header and lines can be written in either order in one transaction.
CREATE FUNCTION invoice_totals_match() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s record;
    inv record;
    inv_id uuid;
BEGIN
    IF TG_TABLE_NAME = 'invoices' THEN
        inv_id := NEW.id;
    ELSE
        inv_id := NEW.invoice_id;
    END IF;
    SELECT * INTO inv FROM invoices WHERE id = inv_id;
    IF inv IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(sum(net), 0) AS net, coalesce(sum(vat), 0) AS vat, coalesce(sum(total), 0) AS total,
           coalesce(sum(patient_share), 0) AS patient_share, coalesce(sum(insurer_share), 0) AS insurer_share
      INTO s FROM invoice_lines WHERE invoice_id = inv.id;
    IF (s.net, s.vat, s.total, s.patient_share, s.insurer_share)
       IS DISTINCT FROM (inv.net, inv.vat, inv.total, inv.patient_share, inv.insurer_share) THEN
        RAISE EXCEPTION 'invoice % totals do not equal the sum of its lines', inv.number
            USING ERRCODE = 'check_violation', CONSTRAINT = 'invoices_lines_sum';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER invoices_lines_sum AFTER INSERT OR UPDATE ON invoices
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION invoice_totals_match();
CREATE CONSTRAINT TRIGGER invoice_lines_sum AFTER INSERT OR UPDATE ON invoice_lines
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION invoice_totals_match();

-- Lines are fixed once an invoice leaves DRAFT; none is ever deleted.
CREATE FUNCTION invoice_lines_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR EXISTS (SELECT 1 FROM invoices WHERE id = NEW.invoice_id AND status <> 'DRAFT') THEN
        RAISE EXCEPTION 'invoice lines cannot change once issued' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER invoice_lines_frozen BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION invoice_lines_frozen();

CREATE TABLE payments (
    id          uuid PRIMARY KEY,
    invoice_id  uuid NOT NULL REFERENCES invoices (id),
    amount      bigint NOT NULL CHECK (amount > 0),
    method      text NOT NULL CHECK (method IN ('CASH','CARD','BANK_TRANSFER')),
    reference   text NOT NULL DEFAULT '' CHECK (length(reference) <= 100),
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_invoice_idx ON payments (invoice_id, received_at);
