-- Clinical core: practitioners, patients, coverages, appointments, medical
-- records and break-glass grants. Every rule the domain states is also a
-- constraint here, so a bug or a race in the service cannot break it.

-- Trigram indexes serve the patient name search; unlike a btree prefix
-- index they still apply when the pattern is a bound parameter in a
-- generic plan.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE practitioners (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL UNIQUE REFERENCES users (id),
    first_name     text NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
    family_name    text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
    specialty_code text NOT NULL CHECK (specialty_code ~ '^[0-9]{2}\.[0-9]{2}$'),
    specialty      text NOT NULL CHECK (length(specialty) BETWEEN 1 AND 100),
    license        text NOT NULL UNIQUE CHECK (license ~ '^[A-Za-z0-9-]{1,32}$'),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX practitioners_created_idx ON practitioners (created_at DESC, id DESC);
CREATE INDEX practitioners_specialty_idx ON practitioners (specialty_code);

-- MRNs the clinic assigns when the caller brings none.
CREATE SEQUENCE patient_mrn_seq START 100001;

CREATE TABLE patients (
    id             uuid PRIMARY KEY,
    mrn            text NOT NULL UNIQUE DEFAULT 'MRN' || nextval('patient_mrn_seq')
                   CHECK (mrn ~ '^[A-Za-z0-9-]{1,20}$'),
    -- Saudi national ID (1…) or iqama (2…).
    national_id    text NOT NULL UNIQUE CHECK (national_id ~ '^[12][0-9]{9}$'),
    first_name     text NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
    family_name    text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
    first_name_ar  text NOT NULL DEFAULT '' CHECK (length(first_name_ar) <= 100),
    family_name_ar text NOT NULL DEFAULT '' CHECK (length(family_name_ar) <= 100),
    birth_date     date NOT NULL CHECK (birth_date >= '1900-01-01'),
    gender         text NOT NULL CHECK (gender IN ('MALE','FEMALE','UNKNOWN')),
    phone          text NOT NULL DEFAULT '' CHECK (phone ~ '^(\+?[0-9]{7,15})?$'),
    email          text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    -- The patient's own login; one record per user.
    user_id        uuid UNIQUE REFERENCES users (id),
    -- Every name, lower-cased, each preceded by a space, so "prefix of any
    -- name" is one LIKE '% term%' served by one trigram index.
    search_names   text GENERATED ALWAYS AS (
                       ' ' || lower(first_name) || ' ' || lower(family_name) || ' ' ||
                       lower(first_name_ar) || ' ' || lower(family_name_ar)) STORED,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patients_created_idx ON patients (created_at DESC, id DESC);
CREATE INDEX patients_search_idx ON patients USING gin (search_names gin_trgm_ops);
CREATE INDEX patients_birth_date_idx ON patients (birth_date);

CREATE TABLE coverages (
    id            uuid PRIMARY KEY,
    patient_id    uuid NOT NULL REFERENCES patients (id),
    payer_license text NOT NULL CHECK (payer_license ~ '^[A-Za-z0-9-]{1,32}$'),
    payer_name    text NOT NULL CHECK (length(payer_name) BETWEEN 1 AND 100),
    member_id     text NOT NULL CHECK (length(member_id) BETWEEN 1 AND 64),
    policy_number text NOT NULL DEFAULT '' CHECK (length(policy_number) <= 64),
    class         text NOT NULL DEFAULT '' CHECK (length(class) <= 64),
    starts_on     date NOT NULL,
    ends_on       date NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_on >= starts_on),
    UNIQUE (patient_id, payer_license, member_id)
);
CREATE INDEX coverages_payer_idx ON coverages (payer_license, patient_id);

CREATE TABLE appointments (
    id              uuid PRIMARY KEY,
    patient_id      uuid NOT NULL REFERENCES patients (id),
    practitioner_id uuid NOT NULL REFERENCES practitioners (id),
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'BOOKED'
                    CHECK (status IN ('BOOKED','CHECKED_IN','COMPLETED','CANCELLED','NO_SHOW')),
    reason          text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    cancel_reason   text CHECK (length(cancel_reason) BETWEEN 1 AND 500),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK ((status = 'CANCELLED') = (cancel_reason IS NOT NULL)),
    -- A practitioner is never double-booked: two live appointments of one
    -- practitioner cannot overlap, however many replicas race to book.
    CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
        practitioner_id WITH =, tstzrange(starts_at, ends_at) WITH &&
    ) WHERE (status IN ('BOOKED','CHECKED_IN'))
);
CREATE INDEX appointments_starts_idx ON appointments (starts_at, id);
CREATE INDEX appointments_patient_idx ON appointments (patient_id, starts_at, id);
CREATE INDEX appointments_practitioner_idx ON appointments (practitioner_id, starts_at, id);

CREATE TABLE medical_records (
    id            uuid PRIMARY KEY,
    patient_id    uuid NOT NULL REFERENCES patients (id),
    author_id     uuid NOT NULL REFERENCES users (id),
    kind          text NOT NULL
                  CHECK (kind IN ('NOTE','DIAGNOSIS','ALLERGY','LAB_RESULT','PRESCRIPTION','VITALS')),
    -- ICD-10 codes, upper case with the dot.
    codes         text[] NOT NULL DEFAULT '{}' CHECK (
                      cardinality(codes) <= 20 AND array_to_string(codes, ' ') ~
                      '^([A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?( [A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?)*)?$'),
    body          text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    supersedes_id uuid UNIQUE REFERENCES medical_records (id),
    superseded_by uuid UNIQUE REFERENCES medical_records (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((version = 1) = (supersedes_id IS NULL))
);
CREATE INDEX medical_records_patient_idx ON medical_records (patient_id, created_at DESC, id DESC);
CREATE INDEX medical_records_current_idx ON medical_records (patient_id, created_at DESC, id DESC)
    WHERE superseded_by IS NULL;

-- Clinical records are evidence: nothing deletes one, and the only change
-- allowed is linking a record, once, to the version that supersedes it.
CREATE FUNCTION medical_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unlinked medical_records%ROWTYPE;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.superseded_by IS NULL AND NEW.superseded_by IS NOT NULL THEN
        unlinked := NEW;
        unlinked.superseded_by := NULL;
        IF unlinked IS NOT DISTINCT FROM OLD THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'medical_records is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER medical_records_append_only BEFORE UPDATE OR DELETE ON medical_records
    FOR EACH ROW EXECUTE FUNCTION medical_records_append_only();
CREATE TRIGGER medical_records_no_truncate BEFORE TRUNCATE ON medical_records
    FOR EACH STATEMENT EXECUTE FUNCTION medical_records_append_only();

CREATE TABLE break_glass_grants (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    patient_id uuid NOT NULL REFERENCES patients (id),
    reason     text NOT NULL CHECK (length(reason) BETWEEN 10 AND 500),
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_at > created_at)
);
CREATE INDEX break_glass_user_idx ON break_glass_grants (user_id, patient_id, expires_at);
