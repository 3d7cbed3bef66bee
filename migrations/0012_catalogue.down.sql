ALTER TABLE claim_items DROP COLUMN code_system;
ALTER TABLE invoice_lines DROP COLUMN code_system;
ALTER TABLE invoice_lines DROP COLUMN item_id;
DROP TABLE catalogue_items;
