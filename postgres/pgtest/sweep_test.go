package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestSweepDropsLeftoverDatabasesButNotOnesInUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	prefix := "hg_test_sweep_" + randomHex(4) + "_"
	left, used := prefix+"left", prefix+"used"
	for _, name := range []string{left, used} {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	}
	session, err := pgx.Connect(ctx, withDatabase(ServerURL(), used))
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close(ctx)

	sweep(ctx, admin, prefix+"%", 0)

	for name, want := range map[string]bool{left: false, used: true} {
		var exists bool
		if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists != want {
			t.Errorf("%s exists after the sweep = %v, want %v", name, exists, want)
		}
	}
}
