package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.UserStore = (*DB)(nil)

const userColumns = `id, email, full_name, password_hash, role, status, failed_logins, locked_until, token_version, created_at, updated_at`

func scanUser(row pgx.CollectableRow) (*hg.User, error) {
	var u hg.User
	err := row.Scan(&u.ID, &u.Email, &u.FullName, &u.PasswordHash, &u.Role, &u.Status,
		&u.FailedLogins, &u.LockedUntil, &u.TokenVersion, &u.CreatedAt, &u.UpdatedAt)
	return &u, err
}

func (db *DB) queryUser(ctx context.Context, sql string, args ...any) (*hg.User, error) {
	return queryUserOn(ctx, db.Pool, sql, args...)
}

// queryUserOn runs a statement returning one user through q, the pool or
// a transaction.
func queryUserOn(ctx context.Context, q querier, sql string, args ...any) (*hg.User, error) {
	rows, _ := q.Query(ctx, sql, args...)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	return u, translate(err, "user")
}

// CreateUser inserts u, filling its ID and timestamps.
func (db *DB) CreateUser(ctx context.Context, u *hg.User) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	if u.Status == "" {
		u.Status = hg.UserActive
	}
	insert := func(q querier) error {
		err := q.QueryRow(ctx, `INSERT INTO users (id, email, full_name, password_hash, role, status)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at, updated_at`,
			id, u.Email, u.FullName, u.PasswordHash, u.Role, u.Status).Scan(&u.CreatedAt, &u.UpdatedAt)
		return translate(err, "an account with this email")
	}
	e, ok := hg.AuditOf(ctx)
	if !ok {
		err = insert(db.Pool)
	} else {
		err = db.InTx(ctx, func(tx pgx.Tx) error {
			if err := insert(tx); err != nil {
				return err
			}
			if e.ActorID == nil {
				e.ActorID = &id // a signup: the account creates itself
			}
			e.EntityID = &id
			return insertAudit(ctx, tx, &e)
		})
	}
	if err != nil {
		return err
	}
	u.ID = id
	return nil
}

// UserByID returns the user with id.
func (db *DB) UserByID(ctx context.Context, id uuid.UUID) (*hg.User, error) {
	return db.queryUser(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
}

// UsersByIDs returns the users among ids that exist.
func (db *DB) UsersByIDs(ctx context.Context, ids []uuid.UUID) ([]*hg.User, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+userColumns+` FROM users WHERE id = ANY($1)`, ids)
	us, err := pgx.CollectRows(rows, scanUser)
	return us, translate(err, "users")
}

// UserByEmail returns the user with email, in any letter case.
func (db *DB) UserByEmail(ctx context.Context, email string) (*hg.User, error) {
	return db.queryUser(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, email)
}

// userSorts: users are listed by creation.
var userSorts = newestFirst("created_at", nil)

// ListUsers returns a page of users in p.Sort (newest first by default), and how many match.
func (db *DB) ListUsers(ctx context.Context, f hg.UserFilter, p hg.Page) ([]*hg.User, int, error) {
	args := pageArgs(p, namedArgs{"role": f.Role})
	keyset, order, err := userSorts.keyset(p, "id", args)
	if err != nil {
		return nil, 0, err
	}
	rows, _ := db.Pool.Query(ctx, `SELECT `+userColumns+` FROM users
		WHERE (@role::text IS NULL OR role = @role) AND `+keyset+`
		ORDER BY `+order+` LIMIT @first`, args)
	us, err := pgx.CollectRows(rows, scanUser)
	if err != nil {
		return nil, 0, translate(err, "users")
	}
	var total int
	if !p.Count {
		return us, 0, nil
	}
	err = db.Pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE ($1::text IS NULL OR role = $1)`, f.Role).Scan(&total)
	return us, total, translate(err, "users")
}

// revokeUserSessions is a statement to put before an UPDATE of users $1 in
// a WITH: it revokes every live refresh token of the user when the
// condition holds, in the same statement as the version bump, so no
// refresh can slip between the two.
func revokeUserSessions(cond string) string {
	return `WITH revoked AS (UPDATE refresh_tokens SET revoked_at = now()
		WHERE user_id = $1 AND revoked_at IS NULL AND (` + cond + `)) `
}

// SetUserRole changes the role of a user. A real change bumps the token
// version and revokes the user's refresh tokens; setting the same role
// again ends no session.
func (db *DB) SetUserRole(ctx context.Context, id uuid.UUID, role hg.Role) (*hg.User, error) {
	return audited(ctx, db, func(q querier) (*hg.User, error) {
		return queryUserOn(ctx, q, revokeUserSessions(`SELECT role <> $2 FROM users WHERE id = $1`)+
			`UPDATE users SET role = $2, token_version = token_version + (role <> $2)::int, updated_at = now()
			WHERE id = $1 RETURNING `+userColumns, id, role)
	}, userSubject)
}

// userSubject is what a write of an account is audited as: no patient.
func userSubject(u *hg.User) (uuid.UUID, *uuid.UUID) { return u.ID, nil }

// PasswordHash returns the user's password hash.
func (db *DB) PasswordHash(ctx context.Context, id uuid.UUID) (string, error) {
	var hash string
	err := db.Pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, id).Scan(&hash)
	return hash, translate(err, "user")
}

// SetPassword stores a new password hash, clears the lockout state and ends
// every session of the user.
func (db *DB) SetPassword(ctx context.Context, id uuid.UUID, hash string) (*hg.User, error) {
	return audited(ctx, db, func(q querier) (*hg.User, error) {
		return queryUserOn(ctx, q, revokeUserSessions(`true`)+
			`UPDATE users SET password_hash = $2, token_version = token_version + 1,
				failed_logins = 0, locked_until = NULL, updated_at = now()
			WHERE id = $1 RETURNING `+userColumns, id, hash)
	}, userSubject)
}

// UpgradePasswordHash swaps old for next only while old is still stored,
// so a rehash racing a password change cannot bring the old password back.
// The token version and refresh tokens stay: the password is the same. Nor
// does updated_at move: nothing anyone reads of the account changed.
func (db *DB) UpgradePasswordHash(ctx context.Context, id uuid.UUID, old, next string) error {
	var found uuid.UUID
	err := db.Pool.QueryRow(ctx, `UPDATE users
		SET password_hash = CASE WHEN password_hash = $2 THEN $3 ELSE password_hash END
		WHERE id = $1 RETURNING id`, id, old, next).Scan(&found)
	return translate(err, "user")
}

// RecordLoginFailure counts a wrong password and locks the account at the
// threshold, in one statement so concurrent attempts cannot lose a count.
func (db *DB) RecordLoginFailure(ctx context.Context, id uuid.UUID, threshold int, lockUntil time.Time) (int, error) {
	var n int
	err := db.Pool.QueryRow(ctx, `UPDATE users SET failed_logins = failed_logins + 1,
		locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END
		WHERE id = $1 RETURNING failed_logins`, id, threshold, lockUntil).Scan(&n)
	return n, translate(err, "user")
}

// ResetLoginFailures clears the failure counter and lock.
func (db *DB) ResetLoginFailures(ctx context.Context, id uuid.UUID) error {
	_, err := db.Pool.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL
		WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)`, id)
	return translate(err, "user")
}
