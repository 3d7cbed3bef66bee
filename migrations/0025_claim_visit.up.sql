-- healthgraph:no-transaction
-- The visit (appointment) a claim or prior authorization is for: the
-- encounter it carries and whose findings (the minimum data set) it sends,
-- which a resubmission sends again. Empty on claims made before a claim
-- named its visit; older releases write claims without it.
--
-- The column (nullable, no default) changes only the catalogue. The
-- foreign key is added NOT VALID, a brief lock, and validated apart, which
-- reads claims without holding their writes. Each step can run again.
ALTER TABLE claims ADD COLUMN IF NOT EXISTS appointment_id uuid;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'claims_appointment_id_fkey') THEN
        ALTER TABLE claims ADD CONSTRAINT claims_appointment_id_fkey
            FOREIGN KEY (appointment_id) REFERENCES appointments (id) NOT VALID;
    END IF;
END
$$;
ALTER TABLE claims VALIDATE CONSTRAINT claims_appointment_id_fkey;
