-- The diagnoses a claim or prior authorization was submitted with
-- (issue 15): ICD-10-AM codes, the principal first, as sent, so the API
-- shows them with the claim. Until now they lived only in the bundle.
-- NULL on claims made before, whose bundles still carry them.
--
-- The column is nullable without a default, so adding it changes only the
-- catalogue; the check holds for NULL, and is added NOT VALID so no scan
-- of claims runs under the exclusive lock.
ALTER TABLE claims
    ADD COLUMN diagnoses text[],
    ADD CONSTRAINT claims_diagnoses CHECK (diagnoses IS NULL OR cardinality(diagnoses) BETWEEN 1 AND 12) NOT VALID;
