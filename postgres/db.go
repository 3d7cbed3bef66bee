// Package postgres implements the healthgraph store interfaces on Postgres
// with pgx/v5, and runs the embedded migrations.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/phi"
)

// Options tune the connection pool.
type Options struct {
	// MaxConns caps the pool; zero keeps pgx's default.
	MaxConns int32
	// Tracer observes every statement (tracing, statement counting in tests).
	Tracer pgx.QueryTracer
	// AcquireTimeout bounds how long a statement waits for a free
	// connection when the pool is exhausted; zero means
	// DefaultAcquireTimeout. Past it the caller gets UNAVAILABLE rather than
	// queueing for as long as its client waits.
	AcquireTimeout time.Duration
	// StatementTimeout bounds each statement in Postgres (statement_timeout),
	// so a request stuck behind a lock frees its connection; zero means
	// none (migrations, seeding and batch commands run long on purpose).
	// Past it the caller gets UNAVAILABLE.
	StatementTimeout time.Duration
	// PHI seals patients' national IDs and phones. Nil means the public
	// development ring (phi.Development), which tests and development use;
	// the binary always passes the configured ring.
	PHI *phi.Keys
	// MigrationLockTimeout bounds how long a migration statement waits for
	// a lock before the runner backs off and tries again; zero means
	// DefaultMigrationLockTimeout.
	MigrationLockTimeout time.Duration
}

// DefaultMigrationLockTimeout is Options.MigrationLockTimeout's default. A
// migration queued behind a long transaction would otherwise hold its place
// in the lock queue and stall every write behind it.
const DefaultMigrationLockTimeout = 2 * time.Second

// DefaultAcquireTimeout is the wait for a pooled connection when
// Options.AcquireTimeout is zero: long enough for a burst to drain, short
// enough that requests do not pile up behind an exhausted pool.
const DefaultAcquireTimeout = 5 * time.Second

// DB is the Postgres store. Its methods implement the healthgraph store
// interfaces.
type DB struct {
	Pool *pgxpool.Pool
	phi  *phi.Keys
	// migrationLockTimeout is Options.MigrationLockTimeout, defaulted.
	migrationLockTimeout time.Duration
	// reads writes read audit events in groups (auditbatch.go).
	reads *auditWriter
}

// Open connects a pool to url. It does not wait for the server: a pool that
// cannot reach Postgres yet still opens, and readiness reports it.
func Open(ctx context.Context, url string, o Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	cfg.ConnConfig.Tracer = withAcquireBound(o.Tracer, o.AcquireTimeout)
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		registerUUID(c.TypeMap())
		return nil
	}
	if o.StatementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	if o.PHI == nil {
		o.PHI = phi.Development()
	}
	lockTimeout := o.MigrationLockTimeout
	if lockTimeout <= 0 {
		lockTimeout = DefaultMigrationLockTimeout
	}
	return &DB{Pool: pool, phi: o.PHI, migrationLockTimeout: lockTimeout, reads: newAuditWriter(pool)}, nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (db *DB) Close() {
	db.reads.close()
	db.Pool.Close()
}

// Ping checks that Postgres answers.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

// EnsureDatabase creates the database named in url when it does not exist
// and the role may create it. It connects to the server's postgres database
// to do so.
func EnsureDatabase(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	name := cfg.Database
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("connect to database: %w", err)
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err = pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to create database %q: %w", name, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "42P04" {
		return nil // created meanwhile by another replica
	} else if err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise, so nothing is ever half-written.
func (db *DB) InTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.Pool, fn)
}

// acquireBound is a pool tracer that puts a deadline on waiting for a
// connection: pgxpool acquires with the context TraceAcquireStart returns
// and has no timeout of its own. Statements keep the caller's context.
type acquireBound struct{ d time.Duration }

type cancelKey struct{}

func withAcquireBound(t pgx.QueryTracer, d time.Duration) pgx.QueryTracer {
	if d <= 0 {
		d = DefaultAcquireTimeout
	}
	if t == nil {
		return acquireBound{d}
	}
	return multitracer.New(t, acquireBound{d})
}

func (a acquireBound) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	ctx, cancel := context.WithTimeout(ctx, a.d) //nolint:govet // cancelled in TraceAcquireEnd
	return context.WithValue(ctx, cancelKey{}, cancel)
}

func (a acquireBound) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	if cancel, ok := ctx.Value(cancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

// TraceQueryStart and TraceQueryEnd make acquireBound a pgx.QueryTracer,
// which is what the pool looks for its acquire tracer in.
func (acquireBound) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

// TraceQueryEnd does nothing.
func (acquireBound) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

var (
	_ hg.Store              = (*DB)(nil)
	_ pgxpool.AcquireTracer = acquireBound{}
)
