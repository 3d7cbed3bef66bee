// Package pgtest gives each test its own real Postgres database, cloned from
// a template that the embedded migrations built once, so test packages run
// in parallel without seeing each other's rows.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/healthgraph/healthgraph/postgres"
)

// ServerURL is the Postgres server tests use: HG_TEST_DATABASE_URL, or the
// local server with trust auth.
func ServerURL() string {
	if u := os.Getenv("HG_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// URL returns the URL of a new migrated database for t, dropped when the
// test ends.
func URL(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		t.Fatalf("pgtest: connect to Postgres at %s: %v", ServerURL(), err)
	}
	defer admin.Close(ctx)

	template, err := ensureTemplate(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	sweepOnce.Do(func() { sweep(ctx, admin, `hg\_test\_%`, staleAfter) })
	name := "hg_test_" + randomHex(6)
	for attempt := 0; ; attempt++ {
		_, err = admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template))
		var pgErr *pgconn.PgError
		// 55006: the template is briefly in use by a concurrent clone.
		if errors.As(err, &pgErr) && pgErr.Code == "55006" && attempt < 50 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		break
	}
	if err != nil {
		t.Fatalf("pgtest: create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, ServerURL())
		if err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
		}
	})
	return withDatabase(ServerURL(), name)
}

// sweepOnce sweeps once per test binary.
var sweepOnce sync.Once

// staleAfter is the age past which a test database no session uses was
// left by a run that was killed before its cleanup: no test lives that long.
const staleAfter = time.Hour

// sweep drops the test databases named like pattern that killed runs left
// behind: older than age by their files, and unused (DROP without FORCE
// refuses a database with a session, so a live run keeps its own).
// Failures are ignored: a sweep that cannot run leaves disk, not a wrong
// result.
func sweep(ctx context.Context, admin *pgx.Conn, pattern string, age time.Duration) {
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database AS d
		WHERE datname LIKE $1 AND NOT datistemplate
		  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a WHERE a.datname = d.datname)
		  AND (pg_stat_file('base/' || oid || '/PG_VERSION')).modification <= now() - $2::interval`, pattern, age.String())
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range names {
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize())
	}
}

// New returns a store on a new migrated database for t, closed when the
// test ends.
func New(t testing.TB, o postgres.Options) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), URL(t), o)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// ensureTemplate builds the template for the current migrations once; its
// name carries a hash of them so a changed migration gets a fresh template.
func ensureTemplate(ctx context.Context, admin *pgx.Conn) (string, error) {
	ms, err := postgres.LoadMigrations()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		fmt.Fprintf(h, "%d\x00%s\x00%s\x00", m.Version, m.Up, m.Down)
	}
	name := "hg_template_" + hex.EncodeToString(h.Sum(nil))[:16]

	// Test binaries of several packages race to build it: serialise them.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(4847)"); err != nil {
		return "", err
	}
	defer admin.Exec(ctx, "SELECT pg_advisory_unlock(4847)") //nolint:errcheck // released with the connection

	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil || exists {
		return name, err
	}
	building := name + "_building"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return "", err
	}
	db, err := postgres.Open(ctx, withDatabase(ServerURL(), building), postgres.Options{})
	if err != nil {
		return "", err
	}
	_, err = db.MigrateUp(ctx)
	db.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	// Renamed only once complete, so a crash never leaves a half-built template.
	_, err = admin.Exec(ctx, "ALTER DATABASE "+building+" RENAME TO "+name)
	return name, err
}

func withDatabase(url, name string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		panic(err)
	}
	// Rebuild rather than edit the string so query parameters survive.
	rest := ""
	if i := strings.Index(url, "?"); i >= 0 {
		rest = url[i:]
	}
	user := cfg.User
	if cfg.Password != "" {
		user += ":" + cfg.Password
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s%s", user, cfg.Host, cfg.Port, name, rest)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
