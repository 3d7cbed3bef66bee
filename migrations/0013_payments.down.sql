DROP TABLE claim_payments;
DROP TABLE payment_reconciliations;
ALTER TABLE claims DROP COLUMN paid, DROP COLUMN resubmitted, DROP COLUMN resubmission_of, DROP COLUMN practitioner_id;
