package postgres_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/seed"
	"github.com/healthgraph/healthgraph/server"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// recorder is a pgx tracer that keeps the SQL and arguments of every
// statement while on.
type recorder struct {
	on  atomic.Bool
	mu  sync.Mutex
	got []pgx.TraceQueryStartData
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if r.on.Load() {
		r.mu.Lock()
		r.got = append(r.got, d)
		r.mu.Unlock()
	}
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// floorHeadline is the headline request of the mix (resolvers'
// BenchmarkMix/Headline), on a clinic seeded the same way.
const floorHeadline = `query { appointments(first: 50, filter: {status: BOOKED}) { edges { node { id startsAt status
	patient { id mrn firstName familyName birthDate gender }
	practitioner { id license firstName familyName specialty } } } } }`

// BenchmarkFloorHeadline is the SQL floor of the headline request: it
// records the statements a request sends through the real server, then
// sends exactly those, with the same arguments, straight through pgx on
// the same pool, decoding every value. Its time over BenchmarkMix/Headline's
// is the share of a request that is the database's.
func BenchmarkFloorHeadline(b *testing.B) {
	ctx := context.Background()
	rec := &recorder{}
	env := servertest.New(b, func(_ *server.Config, o *postgres.Options) { o.Tracer = rec })
	if _, err := seed.Patients(ctx, env.DB, 1000, seed.Options{Seed: 8}, nil); err != nil {
		b.Fatal(err)
	}
	_, token := env.User(b, "admin@floor.example", hg.RoleAdmin)
	// The second request is the one recorded: by then the server caches
	// what it caches (practitioners), as in every request of the mix after
	// its first.
	for i := range 2 {
		rec.on.Store(i == 1)
		if res := env.Do(b, token, floorHeadline, nil); len(res.Errors) > 0 {
			b.Fatal(res.Errors)
		}
	}
	rec.on.Store(false)
	b.Logf("the headline request sent %d statements", len(rec.got))
	b.ReportAllocs()
	for b.Loop() {
		for _, q := range rec.got {
			if err := drain(ctx, env.DB, q); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(rec.got)), "statements/op")
}

// drain runs one recorded statement and decodes all its rows. The page's
// audit INSERT gets a fresh event id each time, as the server mints it.
func drain(ctx context.Context, db *postgres.DB, q pgx.TraceQueryStartData) error {
	args := q.Args
	if _, ok := args[0].(uuid.UUID); ok && strings.HasPrefix(strings.TrimSpace(q.SQL), "INSERT INTO audit_events") {
		args = append([]any{uuid.Must(uuid.NewV7())}, args[1:]...)
	}
	rows, err := db.Pool.Query(ctx, q.SQL, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if _, err := rows.Values(); err != nil {
			return err
		}
	}
	return rows.Err()
}
