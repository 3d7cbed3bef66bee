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

func TestMigrationsRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	ms, err := postgres.LoadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	down, err := db.MigrateDown(ctx, len(ms))
	if err != nil {
		t.Fatalf("migrate down: %v", err)
	}
	if len(down) != len(ms) {
		t.Fatalf("reverted %d migrations, want %d", len(down), len(ms))
	}
	if n, _ := db.Pending(ctx); n != len(ms) {
		t.Fatalf("pending after down = %d, want %d", n, len(ms))
	}
	// Two steps apply the two oldest; the rest follows.
	first, err := db.MigrateUpSteps(ctx, 2)
	if err != nil || len(first) != 2 || first[0] != ms[0].Version || first[1] != ms[1].Version {
		t.Fatalf("migrate up two steps: applied %v, err %v", first, err)
	}
	if n, _ := db.Pending(ctx); n != len(ms)-2 {
		t.Fatalf("pending after two steps = %d, want %d", n, len(ms)-2)
	}
	up, err := db.MigrateUp(ctx)
	if err != nil || len(up) != len(ms)-2 {
		t.Fatalf("migrate up again: applied %v, err %v", up, err)
	}
	if n, _ := db.Pending(ctx); n != 0 {
		t.Fatalf("pending after up = %d, want 0", n)
	}
}

func TestAuditEventsAreInsertOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	e := &hg.AuditEvent{Action: "test", ActorRole: hg.RoleAdmin}
	if err := db.Audit(ctx, e); err != nil {
		t.Fatal(err)
	}
	for name, sql := range map[string]string{
		"update":   `UPDATE audit_events SET action = 'x'`,
		"delete":   `DELETE FROM audit_events`,
		"truncate": `TRUNCATE audit_events`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err == nil {
			t.Errorf("%s on audit_events succeeded, want it rejected", name)
		}
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'test'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("audit rows = %d (%v), want the one row untouched", n, err)
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	u := &hg.User{Email: "Amal@Example.com", FullName: "Amal", PasswordHash: "x", Role: hg.RolePatient}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	t.Run("email is unique in any letter case", func(t *testing.T) {
		dup := &hg.User{Email: "amal@EXAMPLE.com", FullName: "Other", PasswordHash: "x", Role: hg.RolePatient}
		if code := hg.ErrorCode(db.CreateUser(ctx, dup)); code != hg.ECONFLICT {
			t.Fatalf("code = %q, want CONFLICT", code)
		}
	})
	t.Run("lookup by email ignores case", func(t *testing.T) {
		got, err := db.UserByEmail(ctx, "AMAL@example.COM")
		if err != nil || got.ID != u.ID {
			t.Fatalf("got %v, %v; want user %v", got, err, u.ID)
		}
	})
	t.Run("unknown id is NOT_FOUND", func(t *testing.T) {
		_, err := db.UserByID(ctx, uuid.New())
		if code := hg.ErrorCode(err); code != hg.ENOTFOUND {
			t.Fatalf("code = %q, want NOT_FOUND", code)
		}
	})
	t.Run("failures lock at the threshold", func(t *testing.T) {
		until := time.Now().Add(time.Minute)
		for i := 1; i <= 3; i++ {
			n, err := db.RecordLoginFailure(ctx, u.ID, 3, until)
			if err != nil || n != i {
				t.Fatalf("failure %d: counter %d, %v", i, n, err)
			}
		}
		got, _ := db.UserByID(ctx, u.ID)
		if got.LockedUntil == nil {
			t.Fatal("account not locked after 3 failures")
		}
		if err := db.ResetLoginFailures(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = db.UserByID(ctx, u.ID)
		if got.FailedLogins != 0 || got.LockedUntil != nil {
			t.Fatalf("after reset: %d failures, lock %v", got.FailedLogins, got.LockedUntil)
		}
	})
}

func TestUpgradePasswordHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	u := &hg.User{Email: "rehash@example.com", FullName: "Rehash", PasswordHash: "old", Role: hg.RolePatient}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	rt := &hg.RefreshToken{UserID: u.ID, FamilyID: uuid.New(), Hash: []byte("rt"), ExpiresAt: time.Now().Add(time.Hour)}
	if err := db.CreateRefreshToken(ctx, rt); err != nil {
		t.Fatal(err)
	}
	hashIs := func(t *testing.T, want string) {
		t.Helper()
		if got, err := db.PasswordHash(ctx, u.ID); err != nil || got != want {
			t.Fatalf("stored hash %q (%v), want %q", got, err, want)
		}
	}
	// Sequential: each step starts from the previous one's hash.
	t.Run("the hash it was given is replaced and no session ends", func(t *testing.T) {
		if err := db.UpgradePasswordHash(ctx, u.ID, "old", "new"); err != nil {
			t.Fatal(err)
		}
		hashIs(t, "new")
		st, err := db.SessionState(ctx, u.ID, rt.FamilyID)
		if err != nil || st.Revoked || st.TokenVersion != u.TokenVersion {
			t.Fatalf("session after the upgrade %+v (%v), want it live at token version %d", st, err, u.TokenVersion)
		}
	})
	t.Run("a hash changed meanwhile is kept", func(t *testing.T) {
		if err := db.UpgradePasswordHash(ctx, u.ID, "old", "stale"); err != nil {
			t.Fatal(err)
		}
		hashIs(t, "new")
	})
	t.Run("an unknown user is NOT_FOUND", func(t *testing.T) {
		if code := hg.ErrorCode(db.UpgradePasswordHash(ctx, uuid.New(), "old", "new")); code != hg.ENOTFOUND {
			t.Fatalf("code = %q, want NOT_FOUND", code)
		}
	})
}

func TestRefreshTokenUseIsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	u := &hg.User{Email: "t@example.com", FullName: "T", PasswordHash: "x", Role: hg.RolePatient}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	tok := &hg.RefreshToken{UserID: u.ID, FamilyID: uuid.New(), Hash: []byte("h1"), ExpiresAt: time.Now().Add(time.Hour)}
	if err := db.CreateRefreshToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	first, err := db.UseRefreshToken(ctx, []byte("h1"))
	if err != nil || first.UsedAt != nil {
		t.Fatalf("first use: %+v, %v; want unused before", first, err)
	}
	second, err := db.UseRefreshToken(ctx, []byte("h1"))
	if err != nil || second.UsedAt == nil {
		t.Fatalf("second use: %+v, %v; want it seen as used", second, err)
	}
}
