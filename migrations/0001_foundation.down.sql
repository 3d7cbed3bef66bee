DROP TABLE audit_events;
DROP FUNCTION audit_events_immutable();
DROP TABLE refresh_tokens;
DROP TABLE users;
