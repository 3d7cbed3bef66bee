-- The findings of a visit that NPHIES's minimum data set asks claims and
-- prior authorizations to carry (issue 15): vital signs in the units NPHIES
-- takes (mm[Hg], cm, kg, /min, Cel, %), the chief complaint (ICD-10-AM),
-- history, examination, treatment plan and investigation result. Like the
-- chart they are append-only: each recording is a new version of the
-- visit's findings, the latest being current.
--
-- A new table, so creating it and its constraints blocks nothing.

CREATE TABLE visit_findings (
    id                   uuid PRIMARY KEY,
    appointment_id       uuid NOT NULL REFERENCES appointments (id),
    patient_id           uuid NOT NULL REFERENCES patients (id),
    author_id            uuid NOT NULL REFERENCES users (id),
    version              integer NOT NULL CHECK (version >= 1),
    systolic_mmhg        integer CHECK (systolic_mmhg BETWEEN 40 AND 300),
    diastolic_mmhg       integer CHECK (diastolic_mmhg BETWEEN 20 AND 200),
    height_cm            numeric(5,2) CHECK (height_cm BETWEEN 20 AND 280),
    weight_kg            numeric(5,2) CHECK (weight_kg BETWEEN 0.3 AND 500),
    pulse_per_min        integer CHECK (pulse_per_min BETWEEN 20 AND 300),
    respiratory_per_min  integer CHECK (respiratory_per_min BETWEEN 4 AND 80),
    temperature_cel      numeric(4,2) CHECK (temperature_cel BETWEEN 25 AND 45),
    oxygen_saturation    numeric(5,2) CHECK (oxygen_saturation BETWEEN 50 AND 100),
    chief_complaint_code text NOT NULL DEFAULT '' CHECK (chief_complaint_code ~ '^([A-Z][0-9]{2}(\.[0-9]{1,2})?)?$'),
    chief_complaint      text NOT NULL DEFAULT '' CHECK (length(chief_complaint) <= 250),
    patient_history      text NOT NULL DEFAULT '' CHECK (length(patient_history) <= 250),
    present_illness      text NOT NULL DEFAULT '' CHECK (length(present_illness) <= 250),
    physical_examination text NOT NULL DEFAULT '' CHECK (length(physical_examination) <= 250),
    treatment_plan       text NOT NULL DEFAULT '' CHECK (length(treatment_plan) <= 250),
    investigation        text NOT NULL DEFAULT '' CHECK (investigation IN
                             ('', 'NOT_PERFORMED', 'PENDING', 'NOT_APPLICABLE', 'OTHER')),
    investigation_note   text NOT NULL DEFAULT '' CHECK (length(investigation_note) <= 250),
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (diastolic_mmhg < systolic_mmhg),
    CHECK (investigation <> 'OTHER' OR investigation_note <> ''),
    -- Two recordings racing on one visit cannot both become version n.
    UNIQUE (appointment_id, version)
);
CREATE INDEX visit_findings_patient_idx ON visit_findings (patient_id);

-- Findings are evidence: nothing changes or deletes a version.
CREATE FUNCTION visit_findings_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'visit_findings is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER visit_findings_append_only BEFORE UPDATE OR DELETE ON visit_findings
    FOR EACH ROW EXECUTE FUNCTION visit_findings_append_only();
CREATE TRIGGER visit_findings_no_truncate BEFORE TRUNCATE ON visit_findings
    FOR EACH STATEMENT EXECUTE FUNCTION visit_findings_append_only();
