DROP TABLE IF EXISTS claim_attachments;
