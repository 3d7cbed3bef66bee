DROP TABLE visit_findings;
DROP FUNCTION visit_findings_append_only();
