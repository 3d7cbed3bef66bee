-- Refused attempts (FORBIDDEN, NOT_FOUND), counted per actor, action, code
-- and minute: one row holds the count and the first distinct ids asked for,
-- so an insider trying hundreds of patient ids is visible, and a flood of
-- refusals updates one row per operation instead of adding a row per
-- attempt. audit_events stays insert-only; this table may only count up.
CREATE TABLE audit_refusals (
    actor_id   uuid NOT NULL,
    actor_role text NOT NULL,
    action     text NOT NULL CHECK (length(action) BETWEEN 1 AND 200),
    code       text NOT NULL CHECK (code IN ('FORBIDDEN', 'NOT_FOUND')),
    minute     timestamptz NOT NULL CHECK (minute = date_trunc('minute', minute)),
    attempts   integer NOT NULL CHECK (attempts > 0),
    -- The first distinct ids the attempts named, at most 20.
    subjects   uuid[] NOT NULL DEFAULT '{}' CHECK (cardinality(subjects) <= 20),
    -- Where the first attempt of the minute came from.
    ip         text NOT NULL DEFAULT '',
    trace_id   text NOT NULL DEFAULT '',
    first_at   timestamptz NOT NULL DEFAULT now(),
    last_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor_id, minute, action, code)
);
CREATE INDEX audit_refusals_minute_idx ON audit_refusals (minute);

-- The database itself refuses anything but counting up: no delete, no
-- truncate, and an update may only raise the count, append ids and move
-- last_at.
CREATE FUNCTION audit_refusals_count_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'audit_refusals only counts up' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.actor_id <> OLD.actor_id OR NEW.actor_role <> OLD.actor_role OR NEW.action <> OLD.action
        OR NEW.code <> OLD.code OR NEW.minute <> OLD.minute OR NEW.ip <> OLD.ip OR NEW.trace_id <> OLD.trace_id
        OR NEW.first_at <> OLD.first_at OR NEW.last_at < OLD.last_at OR NEW.attempts < OLD.attempts
        OR NEW.subjects[1:cardinality(OLD.subjects)] IS DISTINCT FROM OLD.subjects THEN
        RAISE EXCEPTION 'audit_refusals only counts up' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_refusals_count_only BEFORE UPDATE OR DELETE ON audit_refusals
    FOR EACH ROW EXECUTE FUNCTION audit_refusals_count_only();
CREATE TRIGGER audit_refusals_no_truncate BEFORE TRUNCATE ON audit_refusals
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refusals_count_only();
