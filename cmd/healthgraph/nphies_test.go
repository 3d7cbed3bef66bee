package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/drill"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

// syncBuffer is a log buffer two goroutines may use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// queueDemoClaims queues n claims, each for a fresh patient, coverage,
// completed visit with its findings and issued invoice, the way
// submitClaim does.
func queueDemoClaims(t *testing.T, db *postgres.DB, b *nphies.Builder, n int) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	all := hg.PatientScope{All: true}
	u := &hg.User{Email: "doctor@clinic.test", FullName: "Dr Test", PasswordHash: "x", Role: hg.RolePractitioner}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	doc, err := db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Khalid", FamilyName: "Alharbi",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "SCFHS-1"})
	if err != nil {
		t.Fatal(err)
	}
	today := hg.DateOf(time.Now())
	var ids []uuid.UUID
	for k := range n {
		p, err := db.CreatePatient(ctx, hg.NewPatient{NationalID: fmt.Sprintf("1%09d", 700_000_000+k), FirstName: "Noura",
			FamilyName: "Alotaibi", BirthDate: time.Date(1988, 5, 2, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
		if err != nil {
			t.Fatal(err)
		}
		c, err := db.AddCoverage(ctx, all, hg.NewCoverage{PatientID: p.ID, PayerLicense: "INS-FHIR", PayerName: "Pseudo Payer",
			MemberID: fmt.Sprintf("M-BIN-%d", k), PolicyNumber: "POL-1", Class: "A", StartsOn: today.AddDate(-1, 0, 0), EndsOn: today.AddDate(1, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		inv, err := db.CreateInvoice(ctx, all, hg.NewInvoice{PatientID: p.ID, CoverageID: &c.ID,
			Lines: []hg.NewInvoiceLine{{CodeSystem: hg.SystemServices, ServiceCode: "83600-00-10", Description: "Consultation", Quantity: 1, UnitPrice: 25_000}}})
		if err != nil {
			t.Fatal(err)
		}
		if inv, err = db.IssueInvoice(ctx, inv.ID); err != nil {
			t.Fatal(err)
		}
		// One doctor sees the patients one after another.
		visit, findings, err := pgtest.Visit(ctx, db, p.ID, doc, time.Now().Add(-time.Duration(k+1)*time.Hour).Truncate(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nphies.NewClaimMessage(b, hg.UseClaim, nphies.ClaimParties{Invoice: inv, Patient: p, Coverage: c,
			Practitioner: doc, Appointment: visit, Findings: findings, Diagnoses: []string{"E11.9"}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		cl, err := db.QueueClaim(ctx, nc)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, cl.ID)
	}
	return ids
}

// pollerLocks counts holders of the poller's advisory lock in this
// database (the key postgres.TryPollerLock uses, split as Postgres shows it).
const pollerLocks = `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
	AND classid = 1212632656 AND objid = 1330400257 AND objsubid = 1`

// TestServeReplicasDeliverClaimsExactlyOnce runs the real binary: the mock
// NPHIES (`nphies-mock`, failing 30% of requests) and two `serve` replicas
// on one database. Only one replica holds the poller lock; one replica is
// killed with SIGKILL mid-delivery; the other delivers everything, each
// claim exactly once by the mock's count, and stops cleanly on SIGTERM.
func TestServeReplicasDeliverClaimsExactlyOnce(t *testing.T) {
	drill.Gate(t)
	bin := buildBinary(t)
	ctx := context.Background()
	dbURL := freshDatabaseURL(t)
	mockAddr := freePort(t)
	var mockLogs syncBuffer
	mk := exec.Command(bin, "nphies-mock", "--addr", mockAddr, "--fail-rate", "0.3")
	mk.Stdout, mk.Stderr = &mockLogs, &mockLogs
	if err := mk.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mk.Process.Kill(); _ = mk.Wait() })

	env := append(os.Environ(), "HG_DATABASE_URL="+dbURL, "HG_JWT_KEY=binary-test-signing-key-0123456789abcdef",
		"HG_LOG_LEVEL=warn", "HG_REDIS_URL=none", "HG_NPHIES_URL=http://"+mockAddr, "HG_NPHIES_MAX_ATTEMPTS=40",
		"HG_NPHIES_TIMEOUT=5s", "HG_NPHIES_POLL_INTERVAL=200ms")
	migrate := exec.Command(bin, "migrate", "up")
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	db, err := postgres.Open(ctx, dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := &nphies.Builder{ProviderLicense: "PR-FHIR", ProviderName: "HealthGraph Clinic", BaseURL: "http://localhost:8080"}
	const claims = 30
	ids := queueDemoClaims(t, db, b, claims)

	start := func() (*exec.Cmd, *syncBuffer) {
		var logs syncBuffer
		srv := exec.Command(bin, "serve")
		srv.Env = append(env, "HG_HTTP_ADDR="+freePort(t))
		srv.Stdout, srv.Stderr = &logs, &logs
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Process.Kill() })
		return srv, &logs
	}
	victim, _ := start()
	survivor, survivorLogs := start()

	count := func(sql string) int {
		var n int
		if err := db.Pool.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Both replicas run a poller; exactly one holds the lock.
	deadline := time.Now().Add(20 * time.Second)
	for count(pollerLocks) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no replica took the poller lock:\n%s", survivorLogs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for count(`SELECT count(*) FROM claims WHERE status = 'QUEUED'`) > claims*2/3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = victim.Wait()

	deadline = time.Now().Add(90 * time.Second)
	for count(`SELECT count(*) FROM claims WHERE status = 'APPROVED'`) != claims {
		if time.Now().After(deadline) {
			t.Fatalf("claims not all approved: %d of %d\n%s", count(`SELECT count(*) FROM claims WHERE status = 'APPROVED'`),
				claims, survivorLogs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The survivor took over the poller lock when the victim died.
	if n := count(pollerLocks); n != 1 {
		t.Errorf("%d poller locks held after the kill, want 1", n)
	}

	resp, err := http.Get("http://" + mockAddr + "/_mock/stats")
	if err != nil {
		t.Fatal(err)
	}
	var d mock.Deliveries
	err = json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		c := d.Claims[b.ClaimIdentifier(id).Key()]
		if c.Processed != 1 || c.Bundles != 1 || c.Conflicts != 0 {
			t.Errorf("claim %s: mock counted %+v", id, c)
		}
	}
	t.Logf("%d claims through two replicas (one killed): mock saw %d requests, %d injected failures",
		claims, d.Requests, d.InjectedFailures)

	if err := survivor.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- survivor.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, survivorLogs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop on SIGTERM\n%s", survivorLogs.String())
	}
	if strings.Contains(survivorLogs.String(), "closed pool") {
		t.Errorf("the worker outlived the pool:\n%s", survivorLogs.String())
	}
	if n := count(pollerLocks); n != 0 {
		t.Errorf("the poller lock is still held after shutdown")
	}
}
