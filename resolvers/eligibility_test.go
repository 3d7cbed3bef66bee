package resolvers_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/fhirshape"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/nphies/rules"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// eligibilityEnv is a server wired to a mock NPHIES, a patient with a
// coverage, another patient with one, and a token per role.
type eligibilityEnv struct {
	*servertest.Env
	tokens          map[hg.Role]string
	patient, other  *hg.Patient
	coverage, alien *hg.Coverage
}

func newEligibilityEnv(t *testing.T, withClient bool) eligibilityEnv {
	t.Helper()
	ctx := context.Background()
	var client *nphies.Client
	if withClient {
		nph := httptest.NewServer(mock.New(mock.Options{}))
		t.Cleanup(nph.Close)
		var err error
		if client, err = nphies.NewClient(nph.URL, nphies.WithTimeout(10*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	env := servertest.StartWith(t, pgtest.New(t, postgres.Options{}), servertest.Config(), servertest.Options{
		RedisURL: servertest.RedisURL, RedisPrefix: servertest.NewPrefix(t), NPHIESClient: client})
	e := eligibilityEnv{Env: env, tokens: map[hg.Role]string{}}
	for _, role := range hg.Roles {
		_, e.tokens[role] = env.User(t, string(role)+"@example.com", role)
	}
	newPatient := func(mrn, nid string) *hg.Patient {
		p, err := env.DB.CreatePatient(ctx, hg.NewPatient{MRN: mrn, NationalID: nid, FirstName: "Reem", FamilyName: "Al-Otaibi",
			BirthDate: time.Date(1985, 5, 5, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale, Phone: "+966512345691"})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	e.patient, e.other = newPatient("MRN-A", "1000000001"), newPatient("MRN-B", "2000000002")
	today := hg.DateOf(time.Now())
	addCoverage := func(p *hg.Patient) *hg.Coverage {
		c, err := env.DB.AddCoverage(ctx, hg.PatientScope{All: true}, hg.NewCoverage{PatientID: p.ID, PayerLicense: "7001463160",
			PayerName: "Bupa Arabia", MemberIDSystem: "http://payer.example/memberid", Class: "A", MemberID: "M-1", PolicyNumber: "POL-77", StartsOn: today.AddDate(0, -1, 0),
			EndsOn: today.AddDate(1, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	e.coverage, e.alien = addCoverage(e.patient), addCoverage(e.other)
	return e
}

const checkEligibilityMut = `mutation($p: ID!, $c: ID!) { checkEligibility(patientId: $p, coverageId: $c) {
	id patientId coverageId payer { license name } status outcome siteEligibility inForce disposition
	errors { code display } lastError createdAt checkedAt } }`

type eligibilityOut struct {
	ID, PatientID, CoverageID string
	Payer                     struct{ License, Name string }
	Status, Outcome           string
	SiteEligibility           string
	InForce                   *bool
	Errors                    []struct{ Code, Display string }
	LastError                 string
	CheckedAt                 *time.Time
	Messages                  []struct {
		Direction, Event, Body string
		DeliveryStatus         *string
		HTTPStatus             *int
	}
}

// setMember scripts the mock's answer through the coverage's member ID.
func (e eligibilityEnv) setMember(t *testing.T, member string) {
	t.Helper()
	if _, err := e.DB.Pool.Exec(context.Background(), `UPDATE coverages SET member_id = $1 WHERE id = $2`,
		member, e.coverage.ID); err != nil {
		t.Fatal(err)
	}
}

func TestCheckEligibilityAgainstTheMock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		member, status, outcome, site string
		inForce                       *bool
		errorCode                     string
		role                          hg.Role
	}{
		{"M-100", "ELIGIBLE", "complete", "eligible", ptr(true), "", hg.RoleReception},
		{"NOTELIG-1", "NOT_ELIGIBLE", "complete", "not-active", ptr(false), "", hg.RoleBilling},
		{"ELIGERR-1", "ERROR", "error", "", nil, "1658", hg.RoleAdmin},
	}
	for _, tt := range tests {
		t.Run(tt.member, func(t *testing.T) {
			t.Parallel()
			e := newEligibilityEnv(t, true)
			e.setMember(t, tt.member)
			var out struct{ CheckEligibility eligibilityOut }
			e.Do(t, e.tokens[tt.role], checkEligibilityMut, map[string]any{
				"p": gid("Patient", e.patient.ID), "c": gid("Coverage", e.coverage.ID)}).Decode(t, &out)
			c := out.CheckEligibility
			if c.Status != tt.status || c.Outcome != tt.outcome || c.SiteEligibility != tt.site || c.CheckedAt == nil {
				t.Fatalf("check = %+v, want %s/%s/%s", c, tt.status, tt.outcome, tt.site)
			}
			if (c.InForce == nil) != (tt.inForce == nil) || (c.InForce != nil && *c.InForce != *tt.inForce) {
				t.Fatalf("inForce = %v, want %v", c.InForce, tt.inForce)
			}
			if tt.errorCode != "" && (len(c.Errors) == 0 || c.Errors[0].Code != tt.errorCode || c.LastError == "") {
				t.Fatalf("errors = %+v (%q), want %s with a reason", c.Errors, c.LastError, tt.errorCode)
			}
			if c.PatientID != gid("Patient", e.patient.ID) || c.CoverageID != gid("Coverage", e.coverage.ID) ||
				c.Payer.License != "7001463160" {
				t.Fatalf("check names %s %s %+v", c.PatientID, c.CoverageID, c.Payer)
			}
			var list struct{ EligibilityChecks []eligibilityOut }
			e.Do(t, e.tokens[hg.RoleBilling], `query($p: ID!) { eligibilityChecks(patientId: $p) {
				id status messages { direction event deliveryStatus httpStatus body } } }`,
				map[string]any{"p": gid("Patient", e.patient.ID)}).Decode(t, &list)
			if len(list.EligibilityChecks) != 1 || list.EligibilityChecks[0].ID != c.ID || list.EligibilityChecks[0].Status != tt.status {
				t.Fatalf("eligibilityChecks = %+v, want the one check", list.EligibilityChecks)
			}
			ms := list.EligibilityChecks[0].Messages
			if len(ms) != 2 || ms[0].Direction != "OUT" || ms[0].Event != "eligibility-request" || *ms[0].DeliveryStatus != "SENT" ||
				ms[1].Direction != "IN" || ms[1].Event != "eligibility-response" || ms[1].Body == "" || ms[0].Body == "" {
				t.Fatalf("messages = %+v, want the request SENT and the response raw", ms)
			}
			if n := e.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'eligibility.checked'`); n != 1 {
				t.Fatalf("%d audit events, want 1", n)
			}
		})
	}
}

func TestCheckEligibilityWhenNPHIESFailsStoresAnErrorCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		member   string
		wantHTTP int
	}{
		{"HTTP5XX-1", 503},   // the payer is offline: an OperationOutcome with a 503
		{"MALFORMED-1", 200}, // a truncated body: unreadable, still stored raw
	}
	for _, tt := range tests {
		t.Run(tt.member, func(t *testing.T) {
			t.Parallel()
			e := newEligibilityEnv(t, true)
			e.setMember(t, tt.member)
			res := e.Do(t, e.tokens[hg.RoleBilling], checkEligibilityMut, map[string]any{
				"p": gid("Patient", e.patient.ID), "c": gid("Coverage", e.coverage.ID)})
			if res.Code() != hg.EUNAVAILABLE {
				t.Fatalf("code %q (%+v), want UNAVAILABLE", res.Code(), res.Errors)
			}
			var list struct{ EligibilityChecks []eligibilityOut }
			e.Do(t, e.tokens[hg.RoleBilling], `query($p: ID!) { eligibilityChecks(patientId: $p) {
				id status lastError errors { code } checkedAt messages { direction event deliveryStatus httpStatus body } } }`,
				map[string]any{"p": gid("Patient", e.patient.ID)}).Decode(t, &list)
			if len(list.EligibilityChecks) != 1 {
				t.Fatalf("%d checks stored, want 1", len(list.EligibilityChecks))
			}
			c := list.EligibilityChecks[0]
			if c.Status != "ERROR" || c.LastError == "" || c.CheckedAt == nil {
				t.Fatalf("check = %+v, want ERROR with a reason", c)
			}
			ms := c.Messages
			if len(ms) != 2 || ms[0].Direction != "OUT" || ms[0].Body == "" || *ms[0].DeliveryStatus != "FAILED" ||
				ms[0].HTTPStatus == nil || *ms[0].HTTPStatus != tt.wantHTTP || ms[1].Direction != "IN" || ms[1].Body == "" {
				t.Fatalf("messages = %+v, want the request FAILED with %d and the answer raw", ms, tt.wantHTTP)
			}
			if n := e.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'eligibility.checked'`); n != 1 {
				t.Fatalf("%d audit events, want 1", n)
			}
		})
	}
}

func TestCheckEligibilityRefusals(t *testing.T) {
	t.Parallel()
	e := newEligibilityEnv(t, true)
	p, c := gid("Patient", e.patient.ID), gid("Coverage", e.coverage.ID)
	tests := []struct {
		name            string
		role            hg.Role
		patient, cover  string
		wantCode, field string
	}{
		{"unknown patient", hg.RoleBilling, gid("Patient", uuid.New()), c, hg.ENOTFOUND, ""},
		{"unknown coverage", hg.RoleBilling, p, gid("Coverage", uuid.New()), hg.ENOTFOUND, ""},
		{"another patient's coverage", hg.RoleBilling, p, gid("Coverage", e.alien.ID), hg.EINVALID, "coverageId"},
		{"patient", hg.RolePatient, p, c, hg.EFORBIDDEN, ""},
		{"analyst", hg.RoleAnalyst, p, c, hg.EFORBIDDEN, ""},
		{"practitioner", hg.RolePractitioner, p, c, hg.EFORBIDDEN, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.Do(t, e.tokens[tt.role], checkEligibilityMut, map[string]any{"p": tt.patient, "c": tt.cover})
			if res.Code() != tt.wantCode || (tt.field != "" && res.Field() != tt.field) {
				t.Fatalf("got %q field %q (%+v), want %s %s", res.Code(), res.Field(), res.Errors, tt.wantCode, tt.field)
			}
		})
	}
	if n := e.Count(t, `SELECT count(*) FROM eligibility_checks`); n != 0 {
		t.Fatalf("%d checks stored by refused requests, want none", n)
	}
	if res := e.Do(t, e.tokens[hg.RoleAnalyst], `query($p: ID!) { eligibilityChecks(patientId: $p) { id } }`,
		map[string]any{"p": p}); res.Code() != hg.EFORBIDDEN {
		t.Fatalf("analyst listed checks: %q", res.Code())
	}
}

func TestCheckEligibilityWithoutAClientIsUnavailable(t *testing.T) {
	t.Parallel()
	e := newEligibilityEnv(t, false)
	res := e.Do(t, e.tokens[hg.RoleReception], checkEligibilityMut, map[string]any{
		"p": gid("Patient", e.patient.ID), "c": gid("Coverage", e.coverage.ID)})
	if res.Code() != hg.EUNAVAILABLE || len(res.Errors) == 0 || res.Errors[0].Message == "" {
		t.Fatalf("got %q %+v, want UNAVAILABLE with a message", res.Code(), res.Errors)
	}
	if n := e.Count(t, `SELECT count(*) FROM eligibility_checks`); n != 0 {
		t.Fatalf("%d checks stored without a client, want none", n)
	}
}

func ptr[T any](v T) *T { return &v }

// TestEligibilityHasTheShapeOfExample14a checks eligibility through the
// API and compares the request sent with NPHIES's benefits-and-validation
// example element by element, as TestEachClaimTypeThroughTheAPI does for
// claims: it breaks no rule, the mock finds the patient eligible, and what
// the example has and ours lacks is listed below with the reason.
func TestEligibilityHasTheShapeOfExample14a(t *testing.T) {
	t.Parallel()
	e := newEligibilityEnv(t, true)
	e.setMember(t, "M-100")
	var out struct{ CheckEligibility eligibilityOut }
	e.Do(t, e.tokens[hg.RoleReception], checkEligibilityMut, map[string]any{
		"p": gid("Patient", e.patient.ID), "c": gid("Coverage", e.coverage.ID)}).Decode(t, &out)
	if c := out.CheckEligibility; c.Status != "ELIGIBLE" {
		t.Fatalf("check %+v, want ELIGIBLE", c)
	}
	var list struct{ EligibilityChecks []eligibilityOut }
	e.Do(t, e.tokens[hg.RoleBilling], `query($p: ID!) { eligibilityChecks(patientId: $p) { messages { direction event body } } }`,
		map[string]any{"p": gid("Patient", e.patient.ID)}).Decode(t, &list)
	var sent string
	for _, m := range list.EligibilityChecks[0].Messages {
		if m.Direction == "OUT" && m.Event == "eligibility-request" {
			sent = m.Body
		}
	}
	vs, err := rules.Check([]byte(sent))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Errorf("%s at %s: %s", v.Rule, v.Expression, v.Message)
	}
	got, want := shapesOf(t, sent, "14a-eligibilty-request-ben-val.json")
	for _, d := range fhirshape.Compare(got, want, eligibilityBeyond14a...) {
		t.Errorf("beyond 14a: %s", d)
	}
	for _, d := range fhirshape.Missing(got, want, eligibilityLacking14a...) {
		t.Errorf("14a has, ours lacks: %s", d)
	}
}

// eligibilityBeyond14a is what our request carries beyond the 2021
// example, which predates NPHIES's current profiles: the provider
// organisation's type, which they require.
var eligibilityBeyond14a = []string{extension("provider-type"), "http://nphies.sa/terminology/CodeSystem/provider-type"}

// eligibilityLacking14a is what example 14a has and our request leaves
// out, with why.
var eligibilityLacking14a = []string{
	// The desk asks about today's visit, one day: servicedDate, which
	// NPHIES takes in place of a period (BV-00437).
	"CoverageEligibilityRequest.servicedPeriod", "CoverageEligibilityRequest.servicedPeriod.start",
	"CoverageEligibilityRequest.servicedPeriod.end",
	// Coverages record no network; displays of fixed codes are optional
	// (the code is what NPHIES reads).
	"Coverage.network", "Coverage.relationship.coding.display", "Coverage.type.coding.display",
}
