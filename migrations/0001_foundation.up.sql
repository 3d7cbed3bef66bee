-- Foundation: accounts, refresh tokens and the insert-only audit trail.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         citext NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
    full_name     text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('ADMIN','PRACTITIONER','RECEPTION','BILLING','PATIENT','ANALYST')),
    status        text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE','DISABLED')),
    failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);

CREATE TABLE refresh_tokens (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE audit_events (
    id          uuid PRIMARY KEY,
    actor_id    uuid,
    actor_role  text NOT NULL DEFAULT '',
    action      text NOT NULL,
    entity_type text NOT NULL DEFAULT '',
    entity_id   uuid,
    patient_id  uuid,
    ip          text NOT NULL DEFAULT '',
    trace_id    text NOT NULL DEFAULT '',
    detail      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_patient_idx ON audit_events (patient_id, created_at) WHERE patient_id IS NOT NULL;
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, created_at);

-- The audit trail is evidence: the database itself refuses to change it.
CREATE FUNCTION audit_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is insert-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_immutable();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_immutable();
