package nphies_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

var obScope = hg.PatientScope{All: true}

var obSeq atomic.Int64

// probe sits in front of the mock and sees every request: it counts each
// Bundle.id (injected failures included, which the mock does not count),
// measures how many requests for one bundle are in flight at once, and can
// fail or replace answers on demand.
type probe struct {
	next http.Handler

	mu          sync.Mutex
	seen        map[string]int
	inflight    map[string]int
	maxInflight int
	// failFirst answers the first n requests of every claim bundle 503.
	failFirst int
	// failAll answers every request 503 while set.
	failAll bool
	// delay holds each request, so overlapping sends would show.
	delay time.Duration
	// replaceWith, when set, is sent instead of the mock's answer.
	replaceWith []byte
	// lastAnswer is the last answer the mock gave.
	lastAnswer []byte
	// swallowPolls lets the mock process polls, then answers 503: the
	// answer is lost after NPHIES took the messages off its queue.
	swallowPolls bool
}

func newProbe(next http.Handler) *probe {
	return &probe{next: next, seen: map[string]int{}, inflight: map[string]int{}}
}

func (p *probe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		p.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var head struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &head)
	p.mu.Lock()
	p.seen[head.ID]++
	n := p.seen[head.ID]
	p.inflight[head.ID]++
	p.maxInflight = max(p.maxInflight, p.inflight[head.ID])
	fail := p.failAll || n <= p.failFirst && bytes.Contains(body, []byte(`"claim-request"`))
	delay, replace := p.delay, p.replaceWith
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inflight[head.ID]--
		p.mu.Unlock()
	}()
	if delay > 0 {
		time.Sleep(delay)
	}
	if fail {
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient"}]}`))
		return
	}
	rec := httptest.NewRecorder()
	p.next.ServeHTTP(rec, r)
	p.mu.Lock()
	p.lastAnswer = rec.Body.Bytes()
	swallow := p.swallowPolls && bytes.Contains(body, []byte(`"poll-request"`))
	p.mu.Unlock()
	if swallow {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	if replace != nil {
		_, _ = w.Write(replace)
		return
	}
	_, _ = w.Write(rec.Body.Bytes())
}

func (p *probe) set(f func(p *probe)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *probe) count(bundleID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[bundleID]
}

// obFixture is a migrated database, the mock NPHIES behind a probe on a
// real HTTP listener, and a clinic with a practitioner.
type obFixture struct {
	url      string
	db       *postgres.DB
	mock     *mock.Server
	probe    *probe
	srv      *httptest.Server
	client   *nphies.Client
	builder  *nphies.Builder
	doctor   *hg.Practitioner
	clientTO time.Duration
}

func newOBFixture(t *testing.T, opts mock.Options) *obFixture {
	t.Helper()
	f := &obFixture{url: pgtest.URL(t), mock: mock.New(opts), clientTO: 3 * time.Second}
	f.probe = newProbe(f.mock)
	f.srv = httptest.NewServer(f.probe)
	t.Cleanup(f.srv.Close)
	f.db = f.open(t)
	var err error
	if f.client, err = nphies.NewClient(f.srv.URL, nphies.WithTimeout(f.clientTO)); err != nil {
		t.Fatal(err)
	}
	f.builder = &nphies.Builder{ProviderLicense: "PR-FHIR", ProviderName: "HealthGraph Test Clinic", BaseURL: "https://clinic.example.sa"}
	ctx := context.Background()
	u := &hg.User{Email: fmt.Sprintf("dr%d@clinic.test", obSeq.Add(1)), FullName: "Dr Test", PasswordHash: "x", Role: hg.RolePractitioner}
	if err := f.db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	f.doctor, err = f.db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Khalid", FamilyName: "Alharbi",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: fmt.Sprintf("SCFHS-%d", obSeq.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// open opens another pool on the fixture's database, as another replica
// would.
func (f *obFixture) open(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), f.url, postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// invoice gives an issued invoice of two lines for a new patient whose
// coverage has member ID member (the mock's script key).
func (f *obFixture) invoice(t testing.TB, member string) (*hg.Invoice, *hg.Patient, *hg.Coverage) {
	t.Helper()
	ctx := context.Background()
	p, err := f.db.CreatePatient(ctx, hg.NewPatient{NationalID: fmt.Sprintf("1%09d", 500_000_000+obSeq.Add(1)),
		FirstName: "Noura", FamilyName: "Alotaibi", BirthDate: time.Date(1988, 5, 2, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	if err != nil {
		t.Fatal(err)
	}
	today := hg.DateOf(time.Now())
	c, err := f.db.AddCoverage(ctx, obScope, hg.NewCoverage{PatientID: p.ID, PayerLicense: "INS-FHIR", PayerName: "Pseudo Payer",
		MemberID: member, PolicyNumber: "POL-1", Class: "A", StartsOn: today.AddDate(-1, 0, 0), EndsOn: today.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := f.db.CreateInvoice(ctx, obScope, hg.NewInvoice{PatientID: p.ID, CoverageID: &c.ID, Lines: []hg.NewInvoiceLine{
		{CodeSystem: hg.SystemLaboratory, ServiceCode: "LAB-HBA1C", Description: "HbA1c", Quantity: 1, UnitPrice: 12_000},
		{CodeSystem: hg.SystemServices, ServiceCode: "83600-00-10", Description: "Consultation", Quantity: 2, UnitPrice: 25_050},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if inv, err = f.db.IssueInvoice(ctx, inv.ID); err != nil {
		t.Fatal(err)
	}
	return inv, p, c
}

// queue builds and queues a claim for a new invoice.
func (f *obFixture) queue(t testing.TB, member string) (*hg.Claim, hg.NewClaim) {
	t.Helper()
	inv, p, c := f.invoice(t, member)
	return f.queueFor(t, inv, p, c)
}

func (f *obFixture) queueFor(t testing.TB, inv *hg.Invoice, p *hg.Patient, c *hg.Coverage) (*hg.Claim, hg.NewClaim) {
	t.Helper()
	n, err := nphies.NewClaimMessage(f.builder, hg.UseClaim, f.parties(t, inv, p, c), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	claim, err := f.db.QueueClaim(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return claim, n
}

// parties are what a claim for inv is built from: the fixture's doctor
// and a visit of p that took place, with its findings, in a half hour of
// its own.
func (f *obFixture) parties(t testing.TB, inv *hg.Invoice, p *hg.Patient, c *hg.Coverage) nphies.ClaimParties {
	t.Helper()
	start := time.Now().Add(-time.Duration(obSeq.Add(1)) * 30 * time.Minute).Truncate(30 * time.Minute)
	visit, findings, err := pgtest.Visit(context.Background(), f.db, p.ID, f.doctor, start)
	if err != nil {
		t.Fatal(err)
	}
	return nphies.ClaimParties{Invoice: inv, Patient: p, Coverage: c, Practitioner: f.doctor, Appointment: visit,
		Findings: findings, Diagnoses: []string{"E11.9"}}
}

// worker is a worker tuned for tests: short waits and backoffs.
func (f *obFixture) worker(db *postgres.DB) *nphies.Worker {
	return &nphies.Worker{Store: db, Client: f.client, Interval: 10 * time.Millisecond, Concurrency: 4,
		Timeout: f.clientTO, MaxAttempts: 4, BackoffBase: 5 * time.Millisecond, BackoffCap: 40 * time.Millisecond}
}

func (f *obFixture) poller(db *postgres.DB) *nphies.Poller {
	return &nphies.Poller{Store: db, Client: f.client, Builder: f.builder, Interval: 20 * time.Millisecond, Timeout: f.clientTO}
}

// deliverAll runs w step by step until no outgoing message is pending.
func (f *obFixture) deliverAll(t *testing.T, w *nphies.Worker) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := w.DeliverOnce(ctx); err != nil {
			t.Fatalf("deliver: %v", err)
		}
		n, _, err := f.db.OutboxBacklog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("the outbox did not drain")
}

func (f *obFixture) claim(t *testing.T, id uuid.UUID) *hg.Claim {
	t.Helper()
	c, err := f.db.ClaimByID(context.Background(), obScope, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *obFixture) history(t *testing.T, id uuid.UUID) []hg.ClaimStatus {
	t.Helper()
	hs, err := f.db.ClaimHistory(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []hg.ClaimStatus
	for _, h := range hs {
		out = append(out, h.Status)
	}
	return out
}

func (f *obFixture) messages(t *testing.T, id uuid.UUID) []*hg.NPHIESMessage {
	t.Helper()
	ms, err := f.db.ClaimMessages(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// claimKey is the mock's key for our claim.
func (f *obFixture) claimKey(id uuid.UUID) string { return f.builder.ClaimIdentifier(id).Key() }

func statuses(ss ...hg.ClaimStatus) []hg.ClaimStatus { return ss }

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// spyOutbox keeps what the poller delivered to the store.
type spyOutbox struct {
	hg.Outbox
	delivered *[]hg.Received
}

func (s *spyOutbox) RecordExchange(ctx context.Context, sent *hg.NPHIESMessage, r *hg.Received, d []hg.Received) error {
	*s.delivered = append(*s.delivered, d...)
	return s.Outbox.RecordExchange(ctx, sent, r, d)
}

// countingOutbox counts recorded polls by which poller made them.
type countingOutbox struct {
	mu sync.Mutex
	by map[string]int
}

func (c *countingOutbox) wrap(o hg.Outbox, name string) hg.Outbox {
	return &countedOutbox{Outbox: o, c: c, name: name}
}

func (c *countingOutbox) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.by {
		out[k] = v
	}
	return out
}

type countedOutbox struct {
	hg.Outbox
	c    *countingOutbox
	name string
}

func (o *countedOutbox) RecordExchange(ctx context.Context, sent *hg.NPHIESMessage, r *hg.Received, d []hg.Received) error {
	o.c.mu.Lock()
	if o.c.by == nil {
		o.c.by = map[string]int{}
	}
	o.c.by[o.name]++
	o.c.mu.Unlock()
	return o.Outbox.RecordExchange(ctx, sent, r, d)
}

// pollMessage is a fresh poll request as the poller stores it.
func pollMessage(t *testing.T, f *obFixture) *hg.NPHIESMessage {
	t.Helper()
	now := time.Now()
	m, err := f.builder.BuildPoll(nphies.PollInput{Envelope: nphies.NewEnvelope(now), TaskID: uuid.New(), Created: now, Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	return &hg.NPHIESMessage{Direction: hg.Outbound, Event: m.Event, BundleID: m.BundleID.String(),
		MessageHeaderID: m.MessageHeaderID.String(), Body: m.Body, HTTPStatus: 200}
}

// cancelMessage builds a cancel request for c.
func cancelMessage(t *testing.T, f *obFixture, c *hg.Claim) hg.NPHIESMessage {
	t.Helper()
	now := time.Now()
	m, err := f.builder.BuildCancel(nphies.TaskInput{Envelope: nphies.NewEnvelope(now), TaskID: uuid.New(), Created: now,
		Payer: nphies.Payer{License: c.PayerLicense, Name: c.PayerName}, Claim: f.builder.ClaimIdentifier(c.ID)})
	if err != nil {
		t.Fatal(err)
	}
	return hg.NPHIESMessage{Direction: hg.Outbound, Event: m.Event, BundleID: m.BundleID.String(),
		MessageHeaderID: m.MessageHeaderID.String(), Body: m.Body}
}
