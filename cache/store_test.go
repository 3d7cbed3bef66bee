package cache_test

import (
	"context"
	"testing"
	"time"

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

func TestStoreAnnouncesAppointmentWritesToOtherReplicas(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := pgtest.New(t, postgres.Options{})
	u := &hg.User{Email: uuid.NewString() + "@clinic.test", FullName: "Dr", PasswordHash: "x", Role: hg.RolePractitioner, Status: hg.UserActive}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	doc, err := db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Sara", FamilyName: "Ali",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "LIC-APPT"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.CreatePatient(ctx, hg.NewPatient{NationalID: "1012345678", FirstName: "Saad", FamilyName: "Al-Qahtani",
		BirthDate: time.Date(1980, 3, 1, 0, 0, 0, 0, time.UTC), Gender: hg.GenderMale})
	if err != nil {
		t.Fatal(err)
	}
	prefix := newPrefix()
	replicaA := cache.NewStore(db, setup(t, "", prefix), cache.NewBroker(setup(t, "", prefix)))
	msgs, err := cache.NewBroker(setup(t, "", prefix)).Subscribe(ctx, cache.AppointmentTopic(doc.ID))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	all := hg.PatientScope{All: true}
	a, err := replicaA.BookAppointment(ctx, all, hg.NewAppointment{PatientID: p.ID, PractitionerID: doc.ID,
		StartsAt: start, EndsAt: start.Add(30 * time.Minute), Reason: "follow-up"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replicaA.CancelAppointment(ctx, all, a.ID, "patient asked"); err != nil {
		t.Fatal(err)
	}
	for _, what := range []string{"booking", "cancellation"} {
		select {
		case m := <-msgs:
			if string(m.Payload) != a.ID.String() {
				t.Fatalf("%s: got %+v, want the appointment id only", what, m)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event for the %s", what)
		}
	}
}
