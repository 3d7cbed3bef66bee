-- National ID and phone are sealed by the application (package phi,
-- AES-256-GCM, bound to column and row) and never stored in clear: a
-- database dump, a replica or a backup shows ciphertext. national_id_hash is
-- the blind index (HMAC-SHA256 under a separate key) that keeps national IDs
-- unique and searchable by exact value.
--
-- SQL cannot encrypt, so rows written before this migration keep their
-- plaintext until `healthgraph phi rotate` seals them; the store reads both
-- forms meanwhile and writes only the sealed one. Each column is in exactly
-- one form. A later migration drops the plaintext columns once every
-- deployment has sealed its rows. Formats (national ID, phone) are
-- validated in Go before sealing; the old CHECKs still guard legacy values.
ALTER TABLE patients
    ADD COLUMN national_id_enc  bytea,
    ADD COLUMN national_id_hash bytea,
    ADD COLUMN phone_enc        bytea,
    ALTER COLUMN national_id DROP NOT NULL,
    ALTER COLUMN phone DROP NOT NULL,
    ALTER COLUMN phone DROP DEFAULT,
    ADD CONSTRAINT patients_national_id_hash_key UNIQUE (national_id_hash),
    ADD CONSTRAINT patients_national_id_one_form CHECK (
        (national_id IS NULL) = (national_id_enc IS NOT NULL)
        AND (national_id_enc IS NULL) = (national_id_hash IS NULL)
        AND octet_length(national_id_hash) = 32),
    ADD CONSTRAINT patients_phone_one_form CHECK ((phone IS NULL) = (phone_enc IS NOT NULL));
