package cache_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/cache"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

func TestStoreCachesPractitionersForLoaders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	var ids []uuid.UUID
	for i := range 3 {
		u := &hg.User{Email: uuid.NewString() + "@clinic.test", FullName: "Dr", PasswordHash: "x", Role: hg.RolePractitioner, Status: hg.UserActive}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		p, err := db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Sara", FamilyName: "Ali",
			SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "LIC-" + uuid.NewString()[:8] + string(rune('a'+i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	s := cache.NewStore(db, setup(t, "", ""), nil)
	for range 2 { // the second batch comes from Redis
		ps, err := s.PractitionersByIDs(ctx, append(ids, uuid.New(), ids[0]))
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 3 {
			t.Fatalf("got %d practitioners, want the 3 that exist, each once", len(ps))
		}
	}
	p, err := s.PractitionerByID(ctx, ids[1])
	if err != nil || p.ID != ids[1] || p.Specialty != "Internal Medicine" {
		t.Fatalf("PractitionerByID = %+v, %v", p, err)
	}
	if _, err := s.PractitionerByID(ctx, uuid.New()); hg.ErrorCode(err) != hg.ENOTFOUND {
		t.Fatalf("unknown practitioner: %v, want NOT_FOUND", err)
	}
	u, err := s.UserByID(ctx, p.UserID)
	if err != nil || u.PasswordHash != "" {
		t.Fatalf("UserByID = %+v, %v: the password hash must never leave the store through the cache", u, err)
	}
}
