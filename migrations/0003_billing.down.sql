DROP TABLE payments;
DROP TABLE invoice_lines;
DROP FUNCTION invoice_lines_frozen();
DROP TABLE invoices;
DROP FUNCTION invoice_totals_match();
DROP SEQUENCE invoice_number_seq;
ALTER TABLE coverages DROP COLUMN copay_percent;
