DROP INDEX refresh_tokens_live_user_idx;
DROP INDEX refresh_tokens_revoked_family_idx;
ALTER TABLE users DROP COLUMN token_version;
