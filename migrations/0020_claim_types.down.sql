ALTER TABLE claims
    DROP COLUMN type_details,
    DROP COLUMN claim_type;
