-- The constraint this migration added before 0020 replaced it, on a
-- database that took it and has not yet reached 0020.
ALTER TABLE appointments DROP CONSTRAINT IF EXISTS appointments_patient_no_overlap;
