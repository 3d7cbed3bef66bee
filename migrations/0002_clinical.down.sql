-- pg_trgm stays: dropping an extension another schema object may use is not
-- this migration's call, and the up migration tolerates it being there.
DROP TABLE break_glass_grants;
DROP TABLE medical_records;
DROP FUNCTION medical_records_append_only();
DROP TABLE appointments;
DROP TABLE coverages;
DROP TABLE patients;
DROP SEQUENCE patient_mrn_seq;
DROP TABLE practitioners;
