-- The parties NPHIES needs on a coverage and a patient (issue 15): the
-- plan's name beside its class, the payer's member-ID system, the
-- subscriber a dependant is covered through and the relationship to them,
-- the organisation holding a group policy; the patient's occupation and
-- marital status. Existing coverages stay SELF, as they were sent.
--
-- The columns have constant defaults, so adding them rewrites nothing, and
-- every existing row holds those defaults, which satisfy the constraints:
-- they are added NOT VALID, sparing a scan of the table under the
-- exclusive lock, and hold for every row written from now on.
--
-- Both tables are locked first, patients before coverages, the order a claim
-- or coverage insert takes them in its foreign-key checks: altering
-- coverages and then patients deadlocked with such a write in the migration
-- drill (two writes failed).
LOCK TABLE patients, coverages IN ACCESS EXCLUSIVE MODE;

ALTER TABLE coverages
    ADD COLUMN plan_name          text NOT NULL DEFAULT '',
    ADD COLUMN member_id_system   text NOT NULL DEFAULT '',
    ADD COLUMN relationship       text NOT NULL DEFAULT 'SELF',
    ADD COLUMN subscriber_id      uuid,
    ADD COLUMN policy_holder_id   text,
    ADD COLUMN policy_holder_name text,
    ADD CONSTRAINT coverages_plan_name CHECK (length(plan_name) <= 100) NOT VALID,
    ADD CONSTRAINT coverages_member_id_system CHECK (length(member_id_system) <= 255) NOT VALID,
    ADD CONSTRAINT coverages_relationship CHECK (relationship IN
        ('SELF','SPOUSE','CHILD','PARENT','COMMON_LAW_SPOUSE','OTHER','INJURED_PARTY')) NOT VALID,
    ADD CONSTRAINT coverages_subscriber_id_fkey FOREIGN KEY (subscriber_id) REFERENCES patients (id) NOT VALID,
    ADD CONSTRAINT coverages_subscriber CHECK ((relationship = 'SELF') = (subscriber_id IS NULL)
        AND subscriber_id IS DISTINCT FROM patient_id) NOT VALID,
    ADD CONSTRAINT coverages_policy_holder CHECK ((policy_holder_id IS NULL) = (policy_holder_name IS NULL)
        AND length(policy_holder_id) BETWEEN 1 AND 64 AND length(policy_holder_name) BETWEEN 1 AND 100) NOT VALID;

ALTER TABLE patients
    ADD COLUMN occupation     text NOT NULL DEFAULT '',
    ADD COLUMN marital_status text NOT NULL DEFAULT '',
    ADD CONSTRAINT patients_occupation CHECK (occupation IN ('', 'ADMINISTRATION', 'AGRICULTURE', 'BUSINESS',
        'EDUCATION', 'HOUSEWIFE', 'MARINE', 'MEDICAL_FIELD', 'MILITARY', 'SKILLED_WORKER', 'STUDENT',
        'OIL_INDUSTRIES', 'UNEMPLOYED', 'OTHERS', 'UNKNOWN')) NOT VALID,
    ADD CONSTRAINT patients_marital_status CHECK (marital_status IN ('', 'MARRIED', 'UNMARRIED', 'DIVORCED',
        'WIDOWED', 'LEGALLY_SEPARATED')) NOT VALID;
