package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/healthgraph/healthgraph/migrations"
)

// Migration is one versioned schema change.
type Migration struct {
	Version   int
	Name      string
	Up, Down  string
	AppliedAt *time.Time
}

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
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				// A migration may rewrite or index a large table: the
				// serving pool's statement timeout does not apply.
				if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, m.Up); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
				return err
			})
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
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, m.Down); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `DELETE FROM schema_migrations WHERE version = $1`, m.Version)
				return err
			})
			if err != nil {
				return fmt.Errorf("revert migration %04d_%s: %w", m.Version, m.Name, err)
			}
			done = append(done, m.Version)
		}
		return nil
	})
	return done, err
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
