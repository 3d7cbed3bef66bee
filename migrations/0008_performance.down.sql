ALTER TABLE patients ALTER COLUMN search_names SET STATISTICS -1;
DROP INDEX appointments_status_starts_idx;
