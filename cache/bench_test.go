package cache_test

import (
	"context"
	"fmt"
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

// BenchmarkPractitionersByIDs is the headline request's batch of 50
// practitioners: from this replica's memory, through Redis alone (each
// batch's MGET and 50 JSON decodes, as before the local layer), and from
// Postgres.
func BenchmarkPractitionersByIDs(b *testing.B) {
	ctx := context.Background()
	db := pgtest.New(b, postgres.Options{})
	ids := make([]uuid.UUID, 50)
	for i := range ids {
		u := &hg.User{Email: uuid.NewString() + "@clinic.test", FullName: "Bench", PasswordHash: "x", Role: hg.RolePractitioner, Status: hg.UserActive}
		if err := db.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		p, err := db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Sara", FamilyName: "Ali",
			SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: fmt.Sprint("LIC-BENCH-", i)})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = p.ID
	}
	c, err := cache.Open(cache.Config{URL: "redis://" + redisAddr + "/0", Prefix: newPrefix()}, cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	redisOnly := cache.RedisOnlyPractitioners(cache.NewStore(db, c, nil), c)
	for _, s := range []struct {
		name  string
		store hg.PractitionerStore
	}{{"memory", cache.NewStore(db, c, nil)}, {"redis", redisOnly}, {"postgres", db}} {
		b.Run(s.name, func(b *testing.B) {
			if _, err := s.store.PractitionersByIDs(ctx, ids); err != nil { // warm
				b.Fatal(err)
			}
			for b.Loop() {
				if ps, err := s.store.PractitionersByIDs(ctx, ids); err != nil || len(ps) != len(ids) {
					b.Fatalf("got %d practitioners, %v", len(ps), err)
				}
			}
		})
	}
}
