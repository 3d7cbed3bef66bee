package server_test

import (
	"testing"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/ratelimit"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// BenchmarkUserLookup measures a `me` query through the whole handler with
// the user read through the Redis cache and straight from Postgres. The
// clinical GraphQL (`patient`) did not exist when this was written; `me` is
// the same path: resolver → store lookup by id → authorization. Run it
// with `go test -run '^$' -bench UserLookup -benchtime 3s ./server/`.
func BenchmarkUserLookup(b *testing.B) {
	db := pgtest.New(b, postgres.Options{})
	for _, bc := range []struct {
		name string
		o    servertest.Options
	}{
		{"cached", servertest.Options{RedisURL: servertest.RedisURL, RedisPrefix: servertest.NewPrefix(b)}},
		{"uncached", servertest.Options{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := servertest.Config()
			// Limits off in both, so the difference is the cache alone (with
			// Redis on, each request would also pay two limiter round trips).
			cfg.RateLimits = ratelimit.Limits{}
			env := servertest.StartWith(b, db, cfg, bc.o)
			_, token := env.User(b, uuid.NewString()+"@clinic.test", hg.RoleReception)
			env.Do(b, token, `{ me { id email fullName role } }`, nil) // warm the cache
			b.ResetTimer()
			for b.Loop() {
				if r := env.Do(b, token, `{ me { id email fullName role } }`, nil); len(r.Errors) > 0 {
					b.Fatal(r.Errors)
				}
			}
		})
	}
}
