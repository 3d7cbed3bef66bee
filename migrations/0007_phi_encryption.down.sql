-- Only an unsealed table can go back: SQL cannot decrypt, and dropping the
-- sealed columns would lose the values.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM patients WHERE national_id_enc IS NOT NULL OR phone_enc IS NOT NULL) THEN
        RAISE EXCEPTION 'patients hold sealed national IDs or phones: run `healthgraph phi unseal` before reverting 0007';
    END IF;
END
$$;
ALTER TABLE patients
    DROP CONSTRAINT patients_phone_one_form,
    DROP CONSTRAINT patients_national_id_one_form,
    DROP CONSTRAINT patients_national_id_hash_key,
    DROP COLUMN phone_enc,
    DROP COLUMN national_id_hash,
    DROP COLUMN national_id_enc,
    ALTER COLUMN phone SET DEFAULT '',
    ALTER COLUMN phone SET NOT NULL,
    ALTER COLUMN national_id SET NOT NULL;
