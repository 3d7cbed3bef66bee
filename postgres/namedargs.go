package postgres

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// namedArgs is pgx.NamedArgs with the rewrite of each statement's text
// remembered. pgx lexes a statement for its @names on every call; the
// headline page's statement alone took about a fifth of pgx's work per
// query that way. The order of the $n placeholders depends only on the
// text, so it is learnt once, from pgx's own rewrite of the text with
// markers for values, and each later call only picks its values.
type namedArgs map[string]any

// rewrite is a statement's text with $n placeholders and the name bound to
// each.
type rewrite struct {
	sql   string
	names []string
}

// maxRewrites bounds the texts remembered. Statements are assembled from
// the code's fragments, so their texts are few; past the bound a text is
// rewritten by pgx on every call, as before.
const maxRewrites = 4096

var (
	rewrites     sync.Map // statement text → rewrite
	rewriteCount atomic.Int32
)

// marker stands for the value of a name while pgx rewrites a text.
type marker string

// RewriteQuery implements pgx.QueryRewriter.
func (na namedArgs) RewriteQuery(ctx context.Context, conn *pgx.Conn, sql string, args []any) (string, []any, error) {
	if r, ok := rewrites.Load(sql); ok {
		return r.(rewrite).bind(na)
	}
	marks := make(pgx.NamedArgs, len(na))
	for name := range na {
		marks[name] = marker(name)
	}
	newSQL, marked, err := marks.RewriteQuery(ctx, conn, sql, args)
	if err != nil {
		return "", nil, err
	}
	rw := rewrite{sql: newSQL, names: make([]string, len(marked))}
	for i, m := range marked {
		name, ok := m.(marker)
		if !ok { // a name this call does not bind: pgx binds NULL, and the name is unknown here
			return pgx.NamedArgs(na).RewriteQuery(ctx, conn, sql, args)
		}
		rw.names[i] = string(name)
	}
	if rewriteCount.Load() < maxRewrites {
		if _, loaded := rewrites.LoadOrStore(sql, rw); !loaded {
			rewriteCount.Add(1)
		}
	}
	return rw.bind(na)
}

// bind is rw's text with na's values in the order of its placeholders.
func (rw rewrite) bind(na namedArgs) (string, []any, error) {
	values := make([]any, len(rw.names))
	for i, name := range rw.names {
		values[i] = na[name]
	}
	return rw.sql, values, nil
}
