package pgtest

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Statements is a pgx tracer that counts SQL statements: pass it as
// postgres.Options.Tracer to prove a request costs a constant number of
// them, whatever its page size.
type Statements struct{ n atomic.Int64 }

// TraceQueryStart counts one statement.
func (s *Statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	s.n.Add(1)
	return ctx
}

// TraceQueryEnd does nothing.
func (s *Statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Count returns how many statements ran so far.
func (s *Statements) Count() int64 { return s.n.Load() }
