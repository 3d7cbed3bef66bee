package failuredrill

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/drill"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

// insured is a patient with a coverage and the completed visit her claims
// are for, as global IDs.
type insured struct{ patient, coverage, visit string }

// clinic is the setup the billing and claim drills need, made through the
// store because it is not what they measure.
type clinic struct {
	// practitioner saw every patient.
	practitioner string
	patients     []insured
	// consultation and eeg are catalogue items, so invoices can be claimed.
	consultation, eeg uuid.UUID
}

func gid(typ string, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id.String()))
}

// setupClinic creates a practitioner and n patients, each covered by the
// mock's payer and seen by the practitioner in a visit of her own, its
// findings recorded (NPHIES refuses a claim without them).
func (s *stack) setupClinic(ctx context.Context, n int) (*clinic, error) {
	u := &hg.User{Email: "doctor@drill.test", FullName: "Drill Doctor", PasswordHash: "x", Role: hg.RolePractitioner}
	if err := s.db.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	doc, err := s.db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Khalid", FamilyName: "Alharbi",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "SCFHS-DRILL"})
	if err != nil {
		return nil, err
	}
	c := &clinic{practitioner: gid("Practitioner", doc.ID)}
	if _, _, err := s.db.ImportCatalogue(ctx, []hg.NewCatalogueItem{
		{System: hg.SystemServices, Code: "83600-00-10", Display: "Consultation", UnitPrice: 25_000},
		{System: hg.SystemProcedures, Code: "11000-00-00", Display: "Electroencephalography", UnitPrice: 4_550}}); err != nil {
		return nil, err
	}
	if err := s.db.Pool.QueryRow(ctx, `SELECT
			(SELECT id FROM catalogue_items WHERE system = 'services' AND code = '83600-00-10'),
			(SELECT id FROM catalogue_items WHERE system = 'procedures' AND code = '11000-00-00')`).Scan(&c.consultation, &c.eeg); err != nil {
		return nil, err
	}
	now := time.Now()
	for k := range n {
		p, err := s.db.CreatePatient(ctx, hg.NewPatient{NationalID: nextNationalID(), FirstName: "Noura", FamilyName: "Alotaibi",
			BirthDate: time.Date(1988, 5, 2, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
		if err != nil {
			return nil, err
		}
		cov, err := s.db.AddCoverage(ctx, hg.PatientScope{All: true}, hg.NewCoverage{PatientID: p.ID, PayerLicense: "INS-FHIR",
			PayerName: "Pseudo Payer", MemberID: fmt.Sprintf("M-DRILL-%d", k), PolicyNumber: "POL-1", Class: "A",
			StartsOn: now.AddDate(-1, 0, 0), EndsOn: now.AddDate(1, 0, 0)})
		if err != nil {
			return nil, err
		}
		visit, _, err := pgtest.Visit(ctx, s.db, p.ID, doc, now.Add(-time.Duration(k+1)*time.Hour).Truncate(time.Hour))
		if err != nil {
			return nil, err
		}
		c.patients = append(c.patients, insured{gid("Patient", p.ID), gid("Coverage", cov.ID), gid("Appointment", visit.ID)})
	}
	return c, nil
}

// The billing operations the drills send, as the administrator.
const (
	mCreateInvoice = `mutation($in: CreateInvoiceInput!) { createInvoice(input: $in) { id } }`
	mIssueInvoice  = `mutation($id: ID!) { issueInvoice(id: $id) { id } }`
	mPayment       = `mutation($id: ID!) { recordPayment(input: {invoiceId: $id, amount: "50.00", method: CARD}) { id } }`
	mSubmitClaim   = `mutation($in: SubmitClaimInput!) { submitClaim(input: $in) { id } }`
	mEligibility   = `mutation($p: ID!, $c: ID!) { checkEligibility(patientId: $p, coverageId: $c) { status } }`
)

// issuedInvoice creates and issues a two-line invoice for p, billed to
// its coverage when billInsurer is true, and returns its id.
func (s *stack) issuedInvoice(url string, c *clinic, p insured, billInsurer bool) (string, error) {
	in := map[string]any{"patientId": p.patient, "lines": []map[string]any{
		{"itemId": gid("CatalogueItem", c.consultation), "quantity": 1}, {"itemId": gid("CatalogueItem", c.eeg), "quantity": 2}}}
	if billInsurer {
		in["coverageId"] = p.coverage
	}
	data, err := s.gql(url, mCreateInvoice, map[string]any{"in": in})
	if err != nil {
		return "", err
	}
	id := drill.ID(data, "createInvoice")
	_, err = s.gql(url, mIssueInvoice, map[string]any{"id": id})
	return id, err
}

// submitClaim claims p's invoice for her visit and returns the claim's id.
func (s *stack) submitClaim(url string, c *clinic, p insured, invoice string) (string, error) {
	data, err := s.gql(url, mSubmitClaim, map[string]any{"in": map[string]any{"invoiceId": invoice,
		"practitionerId": c.practitioner, "appointmentId": p.visit, "diagnoses": []string{"E11.9"}}})
	return drill.ID(data, "submitClaim"), err
}

// startMock runs `healthgraph nphies-mock` with args on a free port and
// waits until it answers.
func (s *stack) startMock(ctx context.Context, args ...string) (*drill.Process, error) {
	addr, err := drill.FreeAddr()
	if err != nil {
		return nil, err
	}
	p, err := drill.Start(s.o.bin, append([]string{"nphies-mock", "--addr", addr}, args...), "nphies-mock", s.env, s.dir)
	if err != nil {
		return nil, err
	}
	s.replicas = append(s.replicas, p) // stopped with the stack
	p.URL = "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := mockStats(ctx, p.URL); err == nil {
			return p, nil
		} else if time.Now().After(deadline) || p.Exited() {
			return nil, fmt.Errorf("nphies-mock did not start: %w (see %s)", err, p.Log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mockStats(ctx context.Context, url string) (*mock.Deliveries, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/_mock/stats", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req) //nolint:gosec // the drill's own loopback mock
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var d mock.Deliveries
	return &d, json.NewDecoder(resp.Body).Decode(&d)
}

// exactlyOnce checks the mock's counters: every claim adjudicated once,
// from one bundle, with no conflicting resend; it returns how many claims
// the mock saw and the problems.
func exactlyOnce(d *mock.Deliveries) (int, []string) {
	var problems []string
	for key, c := range d.Claims {
		if c.Processed != 1 || c.Bundles != 1 || c.Conflicts != 0 {
			problems = append(problems, fmt.Sprintf("claim %s: processed %d times from %d bundles, %d conflicts", key, c.Processed, c.Bundles, c.Conflicts))
		}
	}
	return len(d.Claims), problems
}

// waitDelivered waits up to limit until no outbound NPHIES message is
// pending, and returns how many still are.
func (s *stack) waitDelivered(ctx context.Context, limit time.Duration) (int, error) {
	deadline := time.Now().Add(limit)
	for {
		n, err := s.count(ctx, `SELECT count(*) FROM nphies_messages WHERE delivery = 'PENDING'`)
		if err != nil || n == 0 || time.Now().After(deadline) {
			return n, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
