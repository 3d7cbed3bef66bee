package postgres

import (
	"context"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.RefreshTokenStore = (*DB)(nil)

// CreateRefreshToken stores a hashed refresh token.
func (db *DB) CreateRefreshToken(ctx context.Context, t *hg.RefreshToken) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	err = db.Pool.QueryRow(ctx, `INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING created_at`, id, t.UserID, t.FamilyID, t.Hash, t.ExpiresAt).Scan(&t.CreatedAt)
	if err != nil {
		return translate(err, "refresh token")
	}
	t.ID = id
	return nil
}

// UseRefreshToken marks the token as used and returns its state from before.
// The row lock makes two concurrent uses see each other: exactly one finds it
// unused.
func (db *DB) UseRefreshToken(ctx context.Context, hash []byte) (*hg.RefreshToken, error) {
	var t hg.RefreshToken
	err := db.Pool.QueryRow(ctx, `WITH old AS (
			SELECT id, used_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE)
		UPDATE refresh_tokens r SET used_at = coalesce(r.used_at, now())
		FROM old WHERE r.id = old.id
		RETURNING r.id, r.user_id, r.family_id, r.token_hash, r.expires_at, old.used_at, r.revoked_at, r.created_at`, hash).
		Scan(&t.ID, &t.UserID, &t.FamilyID, &t.Hash, &t.ExpiresAt, &t.UsedAt, &t.RevokedAt, &t.CreatedAt)
	if err != nil {
		return nil, translate(err, "refresh token")
	}
	return &t, nil
}

// RevokeRefreshFamily revokes every token issued from one login.
func (db *DB) RevokeRefreshFamily(ctx context.Context, familyID uuid.UUID) error {
	_, err := db.Pool.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now()
		WHERE family_id = $1 AND revoked_at IS NULL`, familyID)
	return translate(err, "refresh token")
}

// SessionState reads the user's role, status and token version and whether
// the session was revoked, in one round trip of two index probes (the
// revoked-family index holds revoked tokens only). It runs on every
// authenticated request.
func (db *DB) SessionState(ctx context.Context, userID, familyID uuid.UUID) (*hg.SessionState, error) {
	var s hg.SessionState
	err := db.Pool.QueryRow(ctx, `SELECT role, status, token_version,
			EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = $2 AND revoked_at IS NOT NULL)
		FROM users WHERE id = $1`, userID, familyID).Scan(&s.Role, &s.Status, &s.TokenVersion, &s.Revoked)
	if err != nil {
		return nil, translate(err, "user")
	}
	return &s, nil
}
