package cache_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/cache"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

// BenchmarkUserByID compares the store lookup behind `me` and node(id:)
// served from Redis with the same lookup in Postgres, both on loopback.
func BenchmarkUserByID(b *testing.B) {
	ctx := context.Background()
	db := pgtest.New(b, postgres.Options{})
	u := &hg.User{Email: uuid.NewString() + "@clinic.test", FullName: "Bench", PasswordHash: "x", Role: hg.RoleReception, Status: hg.UserActive}
	if err := db.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	c, err := cache.Open(cache.Config{URL: "redis://" + redisAddr + "/0", Prefix: newPrefix()}, cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	for name, s := range map[string]hg.UserStore{"redis": cache.NewStore(db, c, nil), "postgres": db} {
		b.Run(name, func(b *testing.B) {
			if _, err := s.UserByID(ctx, u.ID); err != nil { // warm
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.UserByID(ctx, u.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSessionState compares the session check every request makes,
// served from the replica's memory by cache.Sessions, with the same check
// in Postgres.
func BenchmarkSessionState(b *testing.B) {
	ctx := context.Background()
	db := pgtest.New(b, postgres.Options{})
	u := &hg.User{Email: uuid.NewString() + "@clinic.test", FullName: "Bench", PasswordHash: "x", Role: hg.RoleReception, Status: hg.UserActive}
	if err := db.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	c, err := cache.Open(cache.Config{URL: "redis://" + redisAddr + "/0", Prefix: newPrefix()}, cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	sessions := cache.NewSessions(db, c)
	b.Cleanup(sessions.Close)
	eventually.True(b, "the session broadcast is live", sessions.Live)
	family := uuid.New()
	for name, s := range map[string]hg.RefreshTokenStore{"memory": sessions, "postgres": db} {
		b.Run(name, func(b *testing.B) {
			if _, err := s.SessionState(ctx, u.ID, family); err != nil { // warm
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.SessionState(ctx, u.ID, family); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
