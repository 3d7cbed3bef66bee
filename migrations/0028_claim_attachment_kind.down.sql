ALTER TABLE claim_attachments DROP COLUMN IF EXISTS investigation_result;
