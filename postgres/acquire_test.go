package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

// TestExhaustedPoolAnswersUnavailable holds the pool's only connection and
// expects a statement that would need another to give up after the acquire
// timeout with UNAVAILABLE, even though its own context has no deadline,
// and the pool to serve again once the connection is back. The bound is
// generous because the first acquire also connects, which on a loaded
// machine can take a few hundred milliseconds.
func TestExhaustedPoolAnswersUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{MaxConns: 1, AcquireTimeout: 500 * time.Millisecond})
	held, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.UserByID(ctx, uuid.New())
	if got := hg.ErrorCode(err); got != hg.EUNAVAILABLE {
		t.Errorf("with the pool exhausted: code %q (%v), want %s", got, err, hg.EUNAVAILABLE)
	}
	held.Release()
	_, err = db.UserByID(ctx, uuid.New())
	if got := hg.ErrorCode(err); got != hg.ENOTFOUND {
		t.Errorf("after release: code %q (%v), want %s", got, err, hg.ENOTFOUND)
	}
}

// TestStatementStuckBehindALockTimesOut holds a lock on a user's row in
// one transaction and expects a change to that row through the store to
// give up at the statement timeout with UNAVAILABLE, freeing its
// connection, and to succeed once the lock is gone.
func TestStatementStuckBehindALockTimesOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{StatementTimeout: 200 * time.Millisecond})
	u := &hg.User{Email: "locked@clinic.example", FullName: "Locked", PasswordHash: "x", Role: hg.RoleReception}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = db.SetUserRole(ctx, u.ID, hg.RoleBilling)
	if got := hg.ErrorCode(err); got != hg.EUNAVAILABLE {
		t.Errorf("behind the lock: code %q (%v), want %s", got, err, hg.EUNAVAILABLE)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := db.SetUserRole(ctx, u.ID, hg.RoleBilling); err != nil || got.Role != hg.RoleBilling {
		t.Fatalf("after the lock: %+v, %v", got, err)
	}
}
