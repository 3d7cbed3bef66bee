DROP TRIGGER audit_refusals_no_truncate ON audit_refusals;
DROP TRIGGER audit_refusals_count_only ON audit_refusals;
DROP FUNCTION audit_refusals_count_only();
DROP TABLE audit_refusals;
