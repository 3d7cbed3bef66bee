package auth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

// setup returns accounts on a fresh database, hashing at TestParams.
func setup(t *testing.T) (*auth.Accounts, *postgres.DB) {
	t.Helper()
	db := pgtest.New(t, postgres.Options{})
	tokens, err := auth.NewTokens([]byte("auth-test-signing-key-0123456789abcdef"), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return &auth.Accounts{Users: db, Tokens: db, Audit: db, Access: tokens, RefreshTTL: time.Hour,
		LockThreshold: 5, LockDuration: time.Minute, Params: auth.TestParams}, db
}

// userWithHash creates an account whose stored hash is hash, as an
// account from before argon2id has.
func userWithHash(t *testing.T, db *postgres.DB, email, hash string) *hg.User {
	t.Helper()
	u := &hg.User{Email: email, FullName: "Legacy", PasswordHash: hash, Role: hg.RolePatient}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func bcryptOf(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func storedHash(t *testing.T, db *postgres.DB, id uuid.UUID) string {
	t.Helper()
	h, err := db.PasswordHash(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// upgradeCounts records what Accounts.Upgrades is told.
type upgradeCounts struct {
	mu             sync.Mutex
	stored, failed int
}

func (c *upgradeCounts) PasswordHashUpgrade(stored bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if stored {
		c.stored++
	} else {
		c.failed++
	}
}

// failingUpgrades is the real store with hash upgrades failing.
type failingUpgrades struct{ hg.UserStore }

func (failingUpgrades) UpgradePasswordHash(context.Context, uuid.UUID, string, string) error {
	return hg.Errorf(hg.EUNAVAILABLE, "database unavailable")
}

func TestLoginUpgradesOlderHashes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a bcrypt hash logs in and is stored again as argon2id, ending no session", func(t *testing.T) {
		t.Parallel()
		accounts, db := setup(t)
		counts := &upgradeCounts{}
		accounts.Upgrades = counts
		u := userWithHash(t, db, "legacy@example.com", bcryptOf(t, password))
		s, err := accounts.Login(ctx, "legacy@example.com", password)
		if err != nil {
			t.Fatal(err)
		}
		if h := storedHash(t, db, u.ID); auth.NeedsRehash(h, auth.TestParams) {
			t.Fatalf("stored hash after login %q, want argon2id at the test parameters", h)
		}
		if counts.stored != 1 || counts.failed != 0 {
			t.Fatalf("upgrades counted stored %d, failed %d; want 1, 0", counts.stored, counts.failed)
		}
		if _, err := accounts.Authenticate(ctx, s.AccessToken); err != nil {
			t.Fatalf("the login's own session was ended by its upgrade: %v", err)
		}
		if _, err := accounts.Login(ctx, "legacy@example.com", password); err != nil {
			t.Fatalf("login on the upgraded hash: %v", err)
		}
		if _, err := accounts.Login(ctx, "legacy@example.com", "wrong-horse-7"); hg.ErrorCode(err) != hg.EUNAUTHENTICATED {
			t.Fatalf("wrong password on the upgraded hash: %v, want UNAUTHENTICATED", err)
		}
	})

	t.Run("new parameters re-hash at the next login and other sessions stay open", func(t *testing.T) {
		t.Parallel()
		accounts, db := setup(t)
		u, err := accounts.Create(ctx, "moved@example.com", password, "Moved", hg.RolePatient)
		if err != nil {
			t.Fatal(err)
		}
		elsewhere, err := accounts.Login(ctx, "moved@example.com", password)
		if err != nil {
			t.Fatal(err)
		}
		before := storedHash(t, db, u.ID)
		stronger := *accounts
		stronger.Params = auth.Params{Memory: 16, Time: 2, Threads: 1}
		if _, err := stronger.Login(ctx, "moved@example.com", password); err != nil {
			t.Fatal(err)
		}
		if h := storedHash(t, db, u.ID); h == before || auth.NeedsRehash(h, stronger.Params) {
			t.Fatalf("stored hash %q, want a new one at m=16,t=2,p=1", h)
		}
		if _, err := accounts.Authenticate(ctx, elsewhere.AccessToken); err != nil {
			t.Fatalf("the other session's access token was refused after the upgrade: %v", err)
		}
		if _, err := accounts.Refresh(ctx, elsewhere.RefreshToken); err != nil {
			t.Fatalf("the other session's refresh token was refused after the upgrade: %v", err)
		}
	})

	t.Run("a hash at the current parameters is not written again", func(t *testing.T) {
		t.Parallel()
		accounts, db := setup(t)
		counts := &upgradeCounts{}
		accounts.Upgrades = counts
		u, err := accounts.Create(ctx, "current@example.com", password, "Current", hg.RolePatient)
		if err != nil {
			t.Fatal(err)
		}
		before := storedHash(t, db, u.ID)
		if _, err := accounts.Login(ctx, "current@example.com", password); err != nil {
			t.Fatal(err)
		}
		if h := storedHash(t, db, u.ID); h != before || counts.stored+counts.failed != 0 {
			t.Fatalf("stored hash %q (was %q), %d upgrades; want it untouched", h, before, counts.stored+counts.failed)
		}
	})

	t.Run("a failed upgrade write leaves the login working, logged without the email and counted", func(t *testing.T) {
		t.Parallel()
		accounts, db := setup(t)
		var logs bytes.Buffer
		counts := &upgradeCounts{}
		accounts.Users = failingUpgrades{db}
		accounts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		accounts.Upgrades = counts
		legacy := bcryptOf(t, password)
		u := userWithHash(t, db, "unlucky@example.com", legacy)
		if _, err := accounts.Login(ctx, "unlucky@example.com", password); err != nil {
			t.Fatalf("login failed with its upgrade: %v", err)
		}
		if h := storedHash(t, db, u.ID); h != legacy {
			t.Fatalf("stored hash %q, want the bcrypt one kept", h)
		}
		if counts.failed != 1 || counts.stored != 0 {
			t.Fatalf("upgrades counted stored %d, failed %d; want 0, 1", counts.stored, counts.failed)
		}
		if out := logs.String(); !strings.Contains(out, "upgrade") || strings.Contains(out, "unlucky") || strings.Contains(out, u.ID.String()) {
			t.Fatalf("log %q, want the failed upgrade without the email or user id", out)
		}
	})
}

func TestLoginRefusesAMalformedStoredHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	accounts, db := setup(t)
	u := userWithHash(t, db, "broken@example.com", "!")
	if _, err := accounts.Login(ctx, "broken@example.com", "!"); hg.ErrorCode(err) != hg.EUNAUTHENTICATED {
		t.Fatalf("login on a malformed hash: %v, want UNAUTHENTICATED", err)
	}
	if h := storedHash(t, db, u.ID); h != "!" {
		t.Fatalf("stored hash %q, want it left alone", h)
	}
}

// Not parallel: it counts the process's password comparisons.
func TestEveryRefusedLoginRunsOneHashAtTheCurrentParameters(t *testing.T) {
	ctx := context.Background()
	accounts, db := setup(t)
	dummy, err := auth.DummyHash(ctx, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if auth.NeedsRehash(dummy, auth.TestParams) {
		t.Fatalf("the unknown-email hash %q is not argon2id at the accounts' parameters", dummy)
	}
	if _, err := accounts.Create(ctx, "known@example.com", password, "Known", hg.RolePatient); err != nil {
		t.Fatal(err)
	}
	userWithHash(t, db, "broken@example.com", "!")
	for _, email := range []string{"nobody@example.com", "known@example.com", "broken@example.com"} {
		before := auth.Comparisons()
		if _, err := accounts.Login(ctx, email, "wrong-horse-7"); hg.ErrorCode(err) != hg.EUNAUTHENTICATED {
			t.Fatalf("login as %s: %v, want UNAUTHENTICATED", email, err)
		}
		if n := auth.Comparisons() - before; n != 1 {
			t.Fatalf("a refused login as %s ran %d comparisons, want 1", email, n)
		}
	}
}

// cancelAfterLookup is the real store; it cancels the login's context once
// the account is read, so the login reaches the hash already cancelled.
type cancelAfterLookup struct {
	hg.UserStore
	cancel context.CancelFunc
}

func (s cancelAfterLookup) UserByEmail(ctx context.Context, email string) (*hg.User, error) {
	u, err := s.UserStore.UserByEmail(ctx, email)
	s.cancel()
	return u, err
}

// Not parallel: it holds every hash slot of the process.
func TestALoginWaitingForAHashSlotGivesUpWithItsContextAndWritesNothing(t *testing.T) {
	accounts, db := setup(t)
	u, err := accounts.Create(context.Background(), "queued@example.com", password, "Queued", hg.RolePatient)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	accounts.Users = cancelAfterLookup{db, cancel}
	auth.HoldHashSlots(t)
	if _, err := accounts.Login(ctx, "queued@example.com", "wrong-horse-7"); !errors.Is(err, context.Canceled) {
		t.Fatalf("login while every slot is taken: %v, want context.Canceled", err)
	}
	var failures, events, tokens int
	err = db.Pool.QueryRow(context.Background(), `SELECT
		(SELECT failed_logins FROM users WHERE id = $1),
		(SELECT count(*) FROM audit_events WHERE action LIKE 'login.%'),
		(SELECT count(*) FROM refresh_tokens)`, u.ID).Scan(&failures, &events, &tokens)
	if err != nil || failures != 0 || events != 0 || tokens != 0 {
		t.Fatalf("after the cancelled login: %d failures, %d login events, %d refresh tokens (%v); want nothing written",
			failures, events, tokens, err)
	}
}
