-- Sessions: access tokens name the refresh-token family (the session) they
-- belong to and the user's token version. A role or password change bumps
-- the version, which ends every access token issued before it.
ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0 CHECK (token_version >= 0);

-- Every authenticated request asks whether its session was revoked: this
-- index holds only revoked tokens, so the probe costs the same however many
-- times a session has rotated.
CREATE INDEX refresh_tokens_revoked_family_idx ON refresh_tokens (family_id) WHERE revoked_at IS NOT NULL;

-- Ending every session of a user finds its live tokens without a scan.
CREATE INDEX refresh_tokens_live_user_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL;
