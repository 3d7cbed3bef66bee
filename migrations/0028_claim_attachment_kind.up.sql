-- A claim's document may be its investigation report (issue 15): sent as
-- supportingInfo of category investigation-result with code IRA instead of
-- a plain attachment. A constant default adds the column without
-- rewriting the table.
ALTER TABLE claim_attachments ADD COLUMN IF NOT EXISTS investigation_result boolean NOT NULL DEFAULT false;
