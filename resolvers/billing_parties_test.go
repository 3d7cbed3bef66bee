package resolvers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/server"
	"github.com/healthgraph/healthgraph/server/servertest"
)

const (
	invoicePartiesQuery = `query($n: Int) { invoices(first: $n) { edges { node { id number
		patient { id firstName nationalId } coverage { id memberId payer { name } } } } } }`
	claimPartiesQuery = `query($n: Int) { claims(first: $n) { edges { node { id status
		patient { id firstName } coverage { id memberId }
		invoice { id number patient { id } } } } } }`
)

type partyOut struct {
	ID        string
	FirstName string
}

type invoiceParties struct {
	Invoices struct {
		Edges []struct {
			Node struct {
				ID, Number string
				Patient    partyOut
				Coverage   *struct{ ID, MemberID string }
			}
		}
	}
}

type claimParties struct {
	Claims struct {
		Edges []struct {
			Node struct {
				ID, Status string
				Patient    partyOut
				Coverage   struct{ ID, MemberID string }
				Invoice    *struct {
					ID, Number string
					Patient    struct{ ID string }
				}
			}
		}
	}
}

// submitClaim claims an issued invoice for the visit over GraphQL and
// returns the claim's global id.
func (b billingEnv) submitClaim(t *testing.T, invoiceID string, v visitOut) string {
	t.Helper()
	var out struct{ SubmitClaim struct{ ID string } }
	b.Do(t, b.billing, `mutation($in: SubmitClaimInput!) { submitClaim(input: $in) { id } }`,
		map[string]any{"in": v.claimInput(invoiceID, "I10")}).Decode(t, &out)
	return out.SubmitClaim.ID
}

// TestInvoiceAndClaimPartiesByRole reads invoices and claims with their
// patient, coverage and invoice as every role that may list them: billing
// and administrators see every party, a patient only her own invoices and
// so only herself, and each party shown leaves the audit row its direct
// read leaves.
func TestInvoiceAndClaimPartiesByRole(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	_, adminToken := b.User(t, "admin@example.com", hg.RoleAdmin)
	own := b.createInvoice(t, b.patient, b.coverage)
	others := b.createInvoice(t, b.other, nil)
	b.issue(t, own.ID)
	claim := b.submitClaim(t, own.ID, b.seenVisit(t, b.patient))
	patientGID, otherGID, coverageGID := gid("Patient", b.patient.ID), gid("Patient", b.other.ID), gid("Coverage", b.coverage.ID)

	for _, tc := range []struct {
		role, token string
		invoices    map[string]string // invoice id → patient id
		claims      bool
	}{
		{"ADMIN", adminToken, map[string]string{own.ID: patientGID, others.ID: otherGID}, true},
		{"BILLING", b.billing, map[string]string{own.ID: patientGID, others.ID: otherGID}, true},
		{"PATIENT", b.patientToken, map[string]string{own.ID: patientGID}, false},
	} {
		t.Run(tc.role, func(t *testing.T) {
			var inv invoiceParties
			b.Do(t, tc.token, invoicePartiesQuery, map[string]any{"n": 20}).Decode(t, &inv)
			if got := len(inv.Invoices.Edges); got != len(tc.invoices) {
				t.Fatalf("%d invoices, want %d", got, len(tc.invoices))
			}
			for _, e := range inv.Invoices.Edges {
				n := e.Node
				if want := tc.invoices[n.ID]; n.Patient.ID != want || n.Patient.FirstName != "Reem" {
					t.Errorf("invoice %s: patient %+v, want %s", n.Number, n.Patient, want)
				}
				switch {
				case n.ID == own.ID && (n.Coverage == nil || n.Coverage.ID != coverageGID || n.Coverage.MemberID != "M-1"):
					t.Errorf("invoice %s: coverage %+v, want %s", n.Number, n.Coverage, coverageGID)
				case n.ID == others.ID && n.Coverage != nil:
					t.Errorf("self-paid invoice %s: coverage %+v, want null", n.Number, n.Coverage)
				}
			}
			if !tc.claims {
				if r := b.Do(t, tc.token, claimPartiesQuery, map[string]any{"n": 20}); r.Code() != hg.EFORBIDDEN {
					t.Fatalf("claims as %s: code %q, want FORBIDDEN", tc.role, r.Code())
				}
				return
			}
			var cl claimParties
			b.Do(t, tc.token, claimPartiesQuery, map[string]any{"n": 20}).Decode(t, &cl)
			if len(cl.Claims.Edges) != 1 {
				t.Fatalf("%d claims, want 1", len(cl.Claims.Edges))
			}
			c := cl.Claims.Edges[0].Node
			if c.ID != claim || c.Patient.ID != patientGID || c.Coverage.ID != coverageGID || c.Invoice == nil ||
				c.Invoice.ID != own.ID || c.Invoice.Patient.ID != patientGID {
				t.Fatalf("claim = %+v, want its patient %s, coverage %s and invoice %s", c, patientGID, coverageGID, own.ID)
			}
		})
	}

	// Each party shown is audited as its direct read, once per request that
	// showed it: her record was shown by the invoices page and by the
	// claims page (as the claim's patient and its invoice's, one row).
	billingUser := b.Count(t, `SELECT count(DISTINCT actor_id) FROM audit_events WHERE actor_role = 'BILLING'`)
	if billingUser != 1 {
		t.Fatalf("%d billing actors in the trail, want 1", billingUser)
	}
	for _, tc := range []struct {
		action  string
		patient uuid.UUID
		role    string
		want    int
	}{
		{"patient.read", b.patient.ID, "BILLING", 2}, // the invoices page, the claims page
		{"patient.read", b.other.ID, "BILLING", 1},
		{"coverage.read", b.patient.ID, "BILLING", 2}, // her invoice's and her claim's
		{"invoice.read", b.patient.ID, "BILLING", 1},  // the claim's invoice
		{"patient.read", b.patient.ID, "PATIENT", 1},
		{"patient.read", b.other.ID, "PATIENT", 0},
		{"patient.read", b.patient.ID, "ADMIN", 2},
	} {
		got := b.Count(t, `SELECT count(*) FROM audit_disclosures WHERE action = $1 AND patient_id = $2 AND actor_role = $3`,
			tc.action, tc.patient, tc.role)
		if got != tc.want {
			t.Errorf("%s rows about %s by %s = %d, want %d", tc.action, tc.patient, tc.role, got, tc.want)
		}
	}
}

// TestInvoiceAndClaimPageStatements: a page of invoices or claims with
// their patient, coverage (and, for claims, invoice, and what they were
// submitted with: practitioner, visit, documents) costs the same number
// of SQL statements for 5 rows as for 20.
func TestInvoiceAndClaimPageStatements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stmts := &pgtest.Statements{}
	b := newBillingEnv(t, func(c *server.Config, o *postgres.Options) {
		batchPatiently(c)
		o.Tracer = stmts
	})
	today := hg.DateOf(time.Now())
	for i := range 20 {
		p, err := b.DB.CreatePatient(ctx, hg.NewPatient{NationalID: fmt.Sprintf("20000000%02d", i), FirstName: "Noura",
			FamilyName: "Alqahtani", BirthDate: time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
		if err != nil {
			t.Fatal(err)
		}
		c, err := b.DB.AddCoverage(ctx, hg.PatientScope{All: true}, hg.NewCoverage{PatientID: p.ID, PayerLicense: "7001463160",
			PayerName: "Bupa Arabia", MemberIDSystem: "http://payer.example/memberid", Class: "A", MemberID: fmt.Sprintf("M-%d", i+10), PolicyNumber: "POL-77", StartsOn: today.AddDate(0, -1, 0), EndsOn: today.AddDate(1, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		inv := b.createInvoice(t, p, c)
		b.issue(t, inv.ID)
		b.submitClaim(t, inv.ID, b.seenVisit(t, p))
	}
	_, admin := b.User(t, "admin@example.com", hg.RoleAdmin)
	claimRows := func(raw json.RawMessage) int {
		var out claimParties
		_ = json.Unmarshal(raw, &out)
		return len(out.Claims.Edges)
	}
	for _, tc := range []struct {
		name, query, token string
		rows               func(raw json.RawMessage) int
	}{
		{"invoices with patient and coverage", invoicePartiesQuery, b.billing, func(raw json.RawMessage) int {
			var out invoiceParties
			_ = json.Unmarshal(raw, &out)
			return len(out.Invoices.Edges)
		}},
		{"claims with patient and coverage", claimPartiesQuery, b.billing, claimRows},
		// An administrator is shown the visits too, each page's audited.
		{"claims with what they were submitted with", `query($n: Int) { claims(first: $n) { edges { node { ` + claimShownFields + ` } } } }`,
			admin, claimRows},
	} {
		// A first request fills the session and user caches, which are
		// per-token costs, not per-page ones.
		b.Do(t, tc.token, tc.query, map[string]any{"n": 1})
		counts := map[int]int64{}
		for _, n := range []int{5, 20} {
			before := stmts.Count()
			r := b.Do(t, tc.token, tc.query, map[string]any{"n": n})
			got := stmts.Count() - before
			if len(r.Errors) > 0 || tc.rows(r.Data) != n {
				t.Fatalf("%s page of %d: %d rows, errors %+v", tc.name, n, tc.rows(r.Data), r.Errors)
			}
			counts[n] = got
			t.Logf("%d %s: %d statements", n, tc.name, got)
		}
		if counts[5] != counts[20] || counts[20] > 12 {
			t.Errorf("%s: %d statements for 5 rows, %d for 20; want the same, at most 12", tc.name, counts[5], counts[20])
		}
	}
}

const claimUpdated = `subscription { claimUpdated { gap claim { id status patient { firstName } coverage { memberId } } } }`

type claimEvent struct {
	Data struct {
		ClaimUpdated struct {
			Gap   bool
			Claim *struct {
				ID, Status string
				Patient    struct{ FirstName string }
				Coverage   struct{ MemberID string }
			}
		}
	}
	Errors []servertest.Error
}

// TestClaimUpdatedDeliversStatusChangesToBilling: billing hears a claim
// queued through the API and then the payer's decision that the outbox
// worker applies, with the claim's parties, each delivery audited; other
// roles are refused; the feed ends with the watcher's session.
func TestClaimUpdatedDeliversStatusChangesToBilling(t *testing.T) {
	t.Parallel()
	// Open sockets ask after their session every 50 ms, so a logout ends
	// the feed within the test's patience.
	b := newBillingEnv(t, func(c *server.Config, _ *postgres.Options) { c.WebSocketSessionCheck = 50 * time.Millisecond })
	visit := b.seenVisit(t, b.patient)
	billingUser, err := b.DB.UserByEmail(context.Background(), "billing@example.com")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("refused to other roles", func(t *testing.T) {
		_, analyst := b.User(t, "analyst@example.com", hg.RoleAnalyst)
		for role, token := range map[string]string{"PRACTITIONER": b.practitioner, "PATIENT": b.patientToken, "ANALYST": analyst} {
			ws := b.Socket(t, token)
			ws.Subscribe("1", claimUpdated, nil)
			m, err := ws.Next(eventually.Timeout())
			if err != nil {
				t.Fatalf("%s: %v, want FORBIDDEN", role, err)
			}
			if got := servertest.Answer(t, m).Code(); got != hg.EFORBIDDEN {
				t.Fatalf("%s: got %s %s, want FORBIDDEN", role, m.Type, m.Payload)
			}
		}
	})

	ws := b.Socket(t, b.billing)
	ws.Subscribe("1", claimUpdated, nil)
	// graphql-transport-ws does not acknowledge a subscribe: claim invoices
	// until an event arrives.
	var claimID string
	next := func(wait time.Duration) (claimEvent, error) {
		var ev claimEvent
		m, err := ws.Next(wait)
		if err == nil {
			err = json.Unmarshal(m.Payload, &ev)
		}
		return ev, err
	}
	for deadline := time.Now().Add(eventually.Timeout()); ; {
		inv := b.createInvoice(t, b.patient, b.coverage)
		b.issue(t, inv.ID)
		b.submitClaim(t, inv.ID, visit)
		ev, err := next(500 * time.Millisecond)
		if errors.Is(err, servertest.ErrNoMessage) && time.Now().Before(deadline) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		c := ev.Data.ClaimUpdated.Claim
		if len(ev.Errors) > 0 || c == nil || c.Status != "QUEUED" || c.Patient.FirstName != "Reem" || c.Coverage.MemberID != "M-1" {
			t.Fatalf("first event = %+v", ev)
		}
		claimID = c.ID
		break
	}
	ws.Drain(300 * time.Millisecond)

	// The outbox worker delivers the claim to the mock NPHIES, which
	// approves it: the worker's change reaches the subscriber too.
	nph := httptest.NewServer(mock.New(mock.Options{}))
	t.Cleanup(nph.Close)
	client, err := nphies.NewClient(nph.URL, nphies.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	worker := &nphies.Worker{Store: b.Outbox, Client: client, Interval: 20 * time.Millisecond, BackoffBase: 50 * time.Millisecond}
	done := make(chan struct{})
	go func() { defer close(done); _ = worker.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for {
		ev, err := next(eventually.Timeout())
		if err != nil {
			t.Fatalf("waiting for the payer's decision: %v", err)
		}
		if c := ev.Data.ClaimUpdated.Claim; c != nil && c.ID == claimID && c.Status == "APPROVED" {
			break
		}
	}
	if n := b.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'claim.delivered' AND actor_id = $1 AND patient_id = $2`,
		billingUser.ID, b.patient.ID); n < 2 {
		t.Fatalf("claim.delivered audit rows = %d, want one per delivery (at least 2)", n)
	}

	t.Run("ends with the session", func(t *testing.T) {
		s := login(t, b.Env, "billing@example.com", servertest.Password)
		ws := b.Socket(t, s.AccessToken)
		ws.Subscribe("1", claimUpdated, nil)
		b.Do(t, "", `mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": s.RefreshToken}).Decode(t, &struct{}{})
		if code, reason := ws.Ended(t, eventually.Timeout(), "after logout"); code != 4401 {
			t.Fatalf("close %d %q, want 4401", code, reason)
		}
	})
}
