package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

func TestStatementsSplitANoTransactionMigration(t *testing.T) {
	t.Parallel()
	body := "-- healthgraph:no-transaction\n-- why\nDROP INDEX CONCURRENTLY IF EXISTS a;\nCREATE INDEX CONCURRENTLY a\n  ON t (x);\n\n-- trailing note\n"
	want := []string{"-- healthgraph:no-transaction\n-- why\nDROP INDEX CONCURRENTLY IF EXISTS a;", "CREATE INDEX CONCURRENTLY a\n  ON t (x);"}
	if got := postgres.Statements(body); !slices.Equal(got, want) {
		t.Fatalf("statements = %q, want %q", got, want)
	}
}

// TestAMigrationBehindALongTransactionLetsWritesThrough is the case that
// stalled writes: a long transaction holds a table, a migration asks for
// an exclusive lock on it and waits, and every insert queues behind the
// migration. With a lock timeout the migration steps out of the queue
// between attempts, the insert goes through, and the migration is applied
// once the long transaction ends.
func TestAMigrationBehindALongTransactionLetsWritesThrough(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	if _, err := db.Pool.Exec(ctx, `CREATE TABLE drill (id int)`); err != nil {
		t.Fatal(err)
	}
	long, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := long.Exec(ctx, `SELECT count(*) FROM drill`); err != nil { // holds ACCESS SHARE until it ends
		t.Fatal(err)
	}
	migrated := make(chan error, 1)
	go func() {
		conn, err := db.Pool.Acquire(ctx)
		if err != nil {
			migrated <- err
			return
		}
		defer conn.Release()
		migrated <- postgres.ApplyMigration(ctx, conn.Conn(), 50*time.Millisecond, false, `ALTER TABLE drill ADD COLUMN x int`, `SELECT 1`)
	}()
	// The writer must not wait for the long transaction: its deadline is
	// far beyond a lock timeout and far short of for ever.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for range 5 {
		if _, err := db.Pool.Exec(wctx, `INSERT INTO drill (id) VALUES (1)`); err != nil {
			t.Fatalf("an insert behind the waiting migration: %v", err)
		}
	}
	if err := long.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-migrated; err != nil {
		t.Fatalf("the migration after the long transaction ended: %v", err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(x) + count(*) FROM drill`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("drill after the migration: %d rows, %v; want 5 rows and the new column", n, err)
	}
}

// A DO block or a function body is one statement, whatever semicolons its
// dollar-quoted body holds.
func TestStatementsKeepDollarQuotedBodiesWhole(t *testing.T) {
	t.Parallel()
	do := "DO $$\nBEGIN\n    PERFORM 1;\n    COMMIT;\nEND\n$$;"
	fn := "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$\nBEGIN\n    RETURN 1; -- a $$ in a comment\nEND\n$body$;"
	body := "-- healthgraph:no-transaction\n" + do + "\n" + fn + "\nSELECT '$1';\n"
	want := []string{"-- healthgraph:no-transaction\n" + do, fn, "SELECT '$1';"}
	if got := postgres.Statements(body); !slices.Equal(got, want) {
		t.Fatalf("statements = %q, want %q", got, want)
	}
}
