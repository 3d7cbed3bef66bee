// Package postgres implements the healthgraph store interfaces on Postgres
// with pgx/v5, and runs the embedded migrations.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	hg "github.com/healthgraph/healthgraph"
)

// Options tune the connection pool.
type Options struct {
	// MaxConns caps the pool; zero keeps pgx's default.
	MaxConns int32
	// Tracer observes every statement (tracing, statement counting in tests).
	Tracer pgx.QueryTracer
}

// DB is the Postgres store. Its methods implement the healthgraph store
// interfaces.
type DB struct {
	Pool *pgxpool.Pool
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
	cfg.ConnConfig.Tracer = o.Tracer
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	return &DB{Pool: pool}, nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (db *DB) Close() { db.Pool.Close() }

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

var _ hg.Store = (*DB)(nil)
