-- The constraint this migration added before 0022 replaced it, on a
-- database that took it and has not yet reached 0022.
ALTER TABLE appointments DROP CONSTRAINT IF EXISTS appointments_patient_no_overlap;
