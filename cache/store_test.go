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
	c, mgets := setupCounting(t)
	queries := &practitionerQueries{Store: db}
	s := cache.NewStore(queries, c, nil)
	for range 2 {
		ps, err := s.PractitionersByIDs(ctx, append(ids, uuid.New(), ids[0]))
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 3 || ps[0].ID != ids[0] || ps[1].ID != ids[1] || ps[2].ID != ids[2] {
			t.Fatalf("got %d practitioners, want the 3 that exist, each once, in the order asked", len(ps))
		}
	}
	// The second batch came from this replica's memory: its unknown id
	// alone went to Redis and Postgres.
	if mgets.Load() != 2 || queries.batches != 2 || queries.asked != 5+1 {
		t.Fatalf("two batches: %d Redis reads, %d queries for %d ids; want 2, 2 and 6 (the first batch's 5, the second's unknown id)",
			mgets.Load(), queries.batches, queries.asked)
	}
	p, err := s.PractitionerByID(ctx, ids[1])
	if err != nil || p.ID != ids[1] || p.Specialty != "Internal Medicine" {
		t.Fatalf("PractitionerByID = %+v, %v", p, err)
	}
	if mgets.Load() != 2 {
		t.Fatalf("PractitionerByID of a practitioner in memory read Redis")
	}
	if _, err := s.PractitionerByID(ctx, uuid.New()); hg.ErrorCode(err) != hg.ENOTFOUND {
		t.Fatalf("unknown practitioner: %v, want NOT_FOUND", err)
	}
	u, err := s.UserByID(ctx, p.UserID)
	if err != nil || u.PasswordHash != "" {
		t.Fatalf("UserByID = %+v, %v: the password hash must never leave the store through the cache", u, err)
	}
}

// practitionerQueries is the real store, counting the practitioner batches
// that reach it and the ids they ask for.
type practitionerQueries struct {
	hg.Store
	batches, asked int
}

func (q *practitionerQueries) PractitionersByIDs(ctx context.Context, ids []uuid.UUID) ([]*hg.Practitioner, error) {
	q.batches++
	q.asked += len(ids)
	return q.Store.PractitionersByIDs(ctx, ids)
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
	msgs, err := cache.NewBroker(setup(t, "", prefix)).Subscribe(ctx, hg.AppointmentTopic(doc.ID))
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

// summaries is the real store, counting the aggregate queries that reach it.
type summaries struct {
	hg.Store
	claims, revenue int
}

func (s *summaries) ClaimsSummary(ctx context.Context, from, to time.Time, groupBy string) ([]hg.ClaimsGroup, error) {
	s.claims++
	return s.Store.ClaimsSummary(ctx, from, to, groupBy)
}

func (s *summaries) RevenueSummary(ctx context.Context, from, to time.Time, groupBy string) ([]hg.RevenueGroup, error) {
	s.revenue++
	return s.Store.RevenueSummary(ctx, from, to, groupBy)
}

func TestStoreCachesAggregatesButNotTheirErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := &summaries{Store: pgtest.New(t, postgres.Options{})}
	s := cache.NewStore(db, setup(t, "", ""), nil)
	to := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	from := to.AddDate(-1, 0, 0)
	for range 3 {
		if _, err := s.ClaimsSummary(ctx, from, to, "PAYER"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevenueSummary(ctx, from, to, "MONTH"); err != nil {
			t.Fatal(err)
		}
	}
	if db.claims != 1 || db.revenue != 1 {
		t.Fatalf("3 identical requests reached Postgres %d and %d times, want once each", db.claims, db.revenue)
	}
	// The same instant in another zone is the same query; another grouping or range is not.
	if _, err := s.ClaimsSummary(ctx, from.In(hg.ClinicZone), to.In(hg.ClinicZone), "PAYER"); err != nil || db.claims != 1 {
		t.Fatalf("same range in clinic time: %v, %d queries", err, db.claims)
	}
	if _, err := s.ClaimsSummary(ctx, from, to, "STATUS"); err != nil || db.claims != 2 {
		t.Fatalf("another grouping: %v, %d queries", err, db.claims)
	}
	if _, err := s.ClaimsSummary(ctx, from.AddDate(0, 1, 0), to, "STATUS"); err != nil || db.claims != 3 {
		t.Fatalf("another range: %v, %d queries", err, db.claims)
	}
	for range 2 {
		if _, err := s.ClaimsSummary(ctx, to, from, "PAYER"); hg.ErrorCode(err) != hg.EINVALID {
			t.Fatalf("reversed range: %v, want BAD_USER_INPUT", err)
		}
	}
	if db.claims != 5 {
		t.Fatalf("a refused query was answered from the cache: %d queries, want 5", db.claims)
	}
	// Without Redis every request reaches Postgres.
	direct := &summaries{Store: db.Store}
	off := cache.NewStore(direct, nil, nil)
	for range 2 {
		if _, err := off.ClaimsSummary(ctx, from, to, "PAYER"); err != nil {
			t.Fatal(err)
		}
	}
	if direct.claims != 2 {
		t.Fatalf("cache disabled: %d queries, want 2", direct.claims)
	}
}

// TestClaimEventsAnnounceClaimsAPollDelivered: what the poller records
// through ClaimEvents reaches a subscriber on another replica, one event
// per claim the delivered messages name.
func TestClaimEventsAnnounceClaimsAPollDelivered(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := pgtest.New(t, postgres.Options{})
	prefix := newPrefix()
	poller := cache.ClaimEvents{Outbox: db, Events: cache.NewBroker(setup(t, "", prefix))}
	msgs, err := cache.NewBroker(setup(t, "", prefix)).Subscribe(ctx, hg.ClaimTopic())
	if err != nil {
		t.Fatal(err)
	}
	a, b := uuid.New(), uuid.New()
	sent := &hg.NPHIESMessage{Direction: hg.Outbound, Event: "poll-request", BundleID: uuid.NewString(), MessageHeaderID: uuid.NewString(), Body: []byte(`{}`)}
	delivered := []hg.Received{{Event: "communication-request", BundleID: uuid.NewString(), Body: []byte(`{}`),
		CommunicationRequest: &hg.CommunicationRequestOutcome{ClaimIDs: []uuid.UUID{a, b, a}}}}
	if err := poller.RecordExchange(ctx, sent, nil, delivered); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for range 2 {
		select {
		case m := <-msgs:
			got[string(m.Payload)]++
		case <-time.After(5 * time.Second):
			t.Fatalf("got %v, want one event for each of %s and %s", got, a, b)
		}
	}
	if got[a.String()] != 1 || got[b.String()] != 1 {
		t.Fatalf("got %v, want one event for each of %s and %s", got, a, b)
	}
}
