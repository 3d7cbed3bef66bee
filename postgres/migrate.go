package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/healthgraph/healthgraph/migrations"
)

// Migration is one versioned schema change.
type Migration struct {
	Version  int
	Name     string
	Up, Down string
	// NoTransaction marks a migration whose files start with the line
	// `-- healthgraph:no-transaction`: its statements run one by one
	// outside a transaction, as CREATE INDEX CONCURRENTLY must. Each must
	// be safe to run again (IF [NOT] EXISTS), since a failure part-way
	// leaves the earlier ones applied.
	NoTransaction bool
	AppliedAt     *time.Time
}

// noTransaction is the first line that marks a migration NoTransaction.
const noTransaction = "-- healthgraph:no-transaction"

// migrationAttempts is how often a migration refused a lock is tried.
const migrationAttempts = 10

// migrationLock is the advisory lock key that serialises migrators, so
// replicas starting together apply each version once.
const migrationLock = 0x4847_6d69_6772 // "HGmigr"

// LoadMigrations reads the embedded migrations in version order.
func LoadMigrations() ([]Migration, error) {
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, err
	}
	byVersion := map[int]*Migration{}
	for _, f := range files {
		base, dir, ok := strings.Cut(strings.TrimSuffix(f, ".sql"), ".")
		vs, name, ok2 := strings.Cut(base, "_")
		v, err := strconv.Atoi(vs)
		if !ok || !ok2 || err != nil || (dir != "up" && dir != "down") {
			return nil, fmt.Errorf("migration file %q is not NNNN_name.up.sql or .down.sql", f)
		}
		body, err := fs.ReadFile(migrations.FS, f)
		if err != nil {
			return nil, err
		}
		m := byVersion[v]
		if m == nil {
			m = &Migration{Version: v, Name: name}
			byVersion[v] = m
		}
		if dir == "up" {
			m.Up = string(body)
		} else {
			m.Down = string(body)
		}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		if m.Up == "" || m.Down == "" {
			return nil, fmt.Errorf("migration %04d_%s needs both an up and a down file", m.Version, m.Name)
		}
		m.NoTransaction = strings.HasPrefix(m.Up, noTransaction)
		if m.NoTransaction != strings.HasPrefix(m.Down, noTransaction) {
			return nil, fmt.Errorf("migration %04d_%s: mark both files %q or neither", m.Version, m.Name, noTransaction)
		}
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// MigrationStatus returns every known migration with the time it was applied.
func (db *DB) MigrationStatus(ctx context.Context) ([]Migration, error) {
	ms, err := LoadMigrations()
	if err != nil {
		return nil, err
	}
	applied, err := db.appliedMigrations(ctx, db.Pool)
	if err != nil {
		return nil, err
	}
	for i := range ms {
		if at, ok := applied[ms[i].Version]; ok {
			ms[i].AppliedAt = &at
		}
	}
	return ms, nil
}

// Pending reports how many migrations are not yet applied; readiness uses it.
func (db *DB) Pending(ctx context.Context) (int, error) {
	ms, err := db.MigrationStatus(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		if m.AppliedAt == nil {
			n++
		}
	}
	return n, nil
}

// MigrateUp applies every pending migration, each in its own transaction,
// and returns the versions it applied.
func (db *DB) MigrateUp(ctx context.Context) ([]int, error) {
	return db.MigrateUpSteps(ctx, 0)
}

// MigrateUpSteps applies the oldest pending migrations, at most steps of
// them (every one when steps is 0), as MigrateUp does.
func (db *DB) MigrateUpSteps(ctx context.Context, steps int) ([]int, error) {
	ms, err := LoadMigrations()
	if err != nil {
		return nil, err
	}
	var done []int
	err = db.withMigrationLock(ctx, func(conn *pgx.Conn) error {
		applied, err := db.appliedMigrations(ctx, conn)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if _, ok := applied[m.Version]; ok {
				continue
			}
			if steps > 0 && len(done) == steps {
				break
			}
			err := applyMigration(ctx, conn, db.migrationLockTimeout, m.NoTransaction, m.Up,
				`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			if err != nil {
				return fmt.Errorf("apply migration %04d_%s: %w", m.Version, m.Name, err)
			}
			done = append(done, m.Version)
		}
		return nil
	})
	return done, err
}

// MigrateDown reverts the newest applied migrations, steps of them.
func (db *DB) MigrateDown(ctx context.Context, steps int) ([]int, error) {
	ms, err := LoadMigrations()
	if err != nil {
		return nil, err
	}
	var done []int
	err = db.withMigrationLock(ctx, func(conn *pgx.Conn) error {
		applied, err := db.appliedMigrations(ctx, conn)
		if err != nil {
			return err
		}
		for i := len(ms) - 1; i >= 0 && len(done) < steps; i-- {
			m := ms[i]
			if _, ok := applied[m.Version]; !ok {
				continue
			}
			err := applyMigration(ctx, conn, db.migrationLockTimeout, m.NoTransaction, m.Down,
				`DELETE FROM schema_migrations WHERE version = $1`, m.Version)
			if err != nil {
				return fmt.Errorf("revert migration %04d_%s: %w", m.Version, m.Name, err)
			}
			done = append(done, m.Version)
		}
		return nil
	})
	return done, err
}

// applyMigration runs body and then the bookkeeping statement record, in
// one transaction or, for a NoTransaction migration, statement by
// statement. Each attempt waits at most lockTimeout for a lock; an
// attempt refused a lock (55P03), or chosen to break a deadlock with a
// write (40P01), is retried after a growing pause, so a migration waits
// for a busy table instead of blocking the writes queued behind it.
func applyMigration(ctx context.Context, conn *pgx.Conn, lockTimeout time.Duration, noTx bool, body, record string, args ...any) error {
	// A migration may rewrite or index a large table: the serving pool's
	// statement timeout does not apply, the lock timeout does.
	settings := fmt.Sprintf(`SET statement_timeout = 0; SET lock_timeout = %d`, lockTimeout.Milliseconds())
	if _, err := conn.Exec(ctx, settings); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `RESET statement_timeout; RESET lock_timeout`) //nolint:errcheck // the session returns to the pool with its defaults either way
	attempt := func() error {
		if noTx {
			for _, stmt := range statements(body) {
				if _, err := conn.Exec(ctx, stmt); err != nil {
					return err
				}
			}
			_, err := conn.Exec(ctx, record, args...)
			return err
		}
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, body); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, record, args...)
			return err
		})
	}
	pause := 100 * time.Millisecond
	for i := 1; ; i++ {
		err := attempt()
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || !retriable(pgErr.Code) || i == migrationAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// retriable reports whether a migration attempt that failed with code may
// be tried again: it was refused a lock or picked as a deadlock's victim.
func retriable(code string) bool { return code == "55P03" || code == "40P01" }

// statements splits a NoTransaction migration into its statements: each
// ends with a semicolon at the end of a line outside a dollar-quoted body
// ($$ … $$ or $tag$ … $tag$), so a DO block or a function is one statement.
func statements(body string) []string {
	var out []string
	var cur strings.Builder
	quote := "" // the dollar quote open at the end of the line read so far
	for _, line := range strings.SplitAfter(body, "\n") {
		cur.WriteString(line)
		quote = dollarQuoteAfter(line, quote)
		if quote == "" && strings.HasSuffix(strings.TrimSpace(line), ";") {
			if s := strings.TrimSpace(cur.String()); s != "" {
				out = append(out, s)
			}
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" && !onlyComments(s) {
		out = append(out, s)
	}
	return out
}

// dollarTag matches a dollar quote's delimiter: $$ or $tag$.
var dollarTag = regexp.MustCompile(`\$[A-Za-z_][A-Za-z_0-9]*\$|\$\$`)

// dollarQuoteAfter returns the dollar quote still open at the end of line
// when open was open at its start ("" for none). Outside a quote, a line
// comment ends the scan.
func dollarQuoteAfter(line, open string) string {
	for line != "" {
		if open != "" {
			i := strings.Index(line, open)
			if i < 0 {
				return open
			}
			line, open = line[i+len(open):], ""
			continue
		}
		loc := dollarTag.FindStringIndex(line)
		if c := strings.Index(line, "--"); c >= 0 && (loc == nil || c < loc[0]) {
			return ""
		}
		if loc == nil {
			return ""
		}
		line, open = line[loc[1]:], line[loc[0]:loc[1]]
	}
	return open
}

// onlyComments reports whether s holds nothing but SQL line comments.
func onlyComments(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
			return false
		}
	}
	return true
}

func (db *DB) withMigrationLock(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock) //nolint:errcheck // released with the session anyway
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	return fn(conn.Conn())
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (db *DB) appliedMigrations(ctx context.Context, q querier) (map[int]time.Time, error) {
	// Before the first migration there is no table, and nothing is applied.
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("look for schema_migrations: %w", err)
	} else if !exists {
		return map[int]time.Time{}, nil
	}
	rows, err := q.Query(ctx, `SELECT version, applied_at FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	applied := map[int]time.Time{}
	var v int
	var at time.Time
	_, err = pgx.ForEachRow(rows, []any{&v, &at}, func() error { applied[v] = at; return nil })
	return applied, err
}
