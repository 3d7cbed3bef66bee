package nphies_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

// testNow is a fixed clock so built bundles are reproducible.
var testNow = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

// payer is the OBA conformance pseudo-payer.
var payer = nphies.Payer{License: "INS-FHIR", Name: "Pseudo Payer"}

// testBuilder is our provider as configured in tests.
func testBuilder() *nphies.Builder {
	return &nphies.Builder{ProviderLicense: "PR-FHIR", ProviderName: "HealthGraph Test Clinic", BaseURL: "https://clinic.example.sa"}
}

// seq returns deterministic UUIDs for one test so bundles are reproducible.
func seq(name string) func() uuid.UUID {
	n := 0
	return func() uuid.UUID {
		n++
		return uuid.NewSHA1(uuid.NameSpaceURL, []byte(fmt.Sprintf("%s/%d", name, n)))
	}
}

// env returns an Envelope from next.
func env(next func() uuid.UUID) nphies.Envelope {
	return nphies.Envelope{BundleID: next(), MessageHeaderID: next(), Timestamp: testNow}
}

// patient returns synthetic demographics (not a real person).
func patient(next func() uuid.UUID) nphies.PatientInput {
	return nphies.PatientInput{
		ID: next(), IDKind: nphies.PatientIDIqama, IDValue: "2000000001",
		Family: "Test", Given: []string{"Synthetic"}, Gender: "female",
		BirthDate: time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC),
	}
}

// claimInput returns a two-item professional claim for member.
func claimInput(name, member string) nphies.ClaimInput {
	next := seq(name)
	items := []nphies.ItemInput{
		{Sequence: 1, ServiceCode: "83600-00-10", Quantity: 1, UnitPriceHalalas: 10600, TaxHalalas: 1590, PatientShareHalalas: 2000, NetHalalas: 12190, ServicedDate: testNow, PatientInvoice: "INV-1"},
		{Sequence: 2, ServiceCode: "73200-00-00", System: nphies.SystemProcedures, Quantity: 2, UnitPriceHalalas: 5000, TaxHalalas: 1500, NetHalalas: 11500, ServicedDate: testNow, PatientInvoice: "INV-1"},
	}
	return nphies.ClaimInput{
		Envelope: env(next), ClaimID: next(), Created: testNow,
		Type: nphies.ClaimTypeProfessional, Payer: payer,
		Patient:        patient(next),
		Coverage:       nphies.CoverageInput{ID: next(), MemberID: member, PolicyNumber: "GRP-1", Plan: "A"},
		Practitioner:   nphies.PractitionerInput{ID: next(), License: "N-P-00003", Name: "Dr. Test", SpecialtyCode: "08.00"},
		Diagnoses:      []nphies.DiagnosisInput{{Code: "J20.9"}},
		Encounter:      &nphies.EncounterInput{ID: next(), Start: testNow, End: testNow.Add(30 * time.Minute)},
		EpisodeID:      "EP-1",
		SupportingInfo: nphies.FindingsInfo(pgtest.Recorded(pgtest.Findings(uuid.Nil, uuid.Nil))),
		Items:          items,
		TotalHalalas:   12190 + 11500,
	}
}

// eligibilityInput returns an eligibility check for member.
func eligibilityInput(name, member string) nphies.EligibilityInput {
	next := seq(name)
	return nphies.EligibilityInput{
		Envelope: env(next), RequestID: next(), Created: testNow, Payer: payer,
		Patient:      patient(next),
		Coverage:     &nphies.CoverageInput{ID: next(), MemberID: member, PolicyNumber: "GRP-1", Plan: "A"},
		ServiceStart: testNow, ServiceEnd: testNow.AddDate(0, 0, 1),
	}
}

// pollInput returns a poll for up to count messages.
func pollInput(name string, count int64) nphies.PollInput {
	next := seq(name)
	return nphies.PollInput{Envelope: env(next), TaskID: next(), Created: testNow, Count: count}
}

// setup starts a mock NPHIES and returns it with a client and builder.
func setup(t *testing.T, opts mock.Options, clientOpts ...nphies.Option) (*mock.Server, *nphies.Client, *nphies.Builder) {
	t.Helper()
	m := mock.New(opts)
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	c, err := nphies.NewClient(srv.URL, append([]nphies.Option{nphies.WithTransport(srv.Client().Transport)}, clientOpts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return m, c, testBuilder()
}

// mustBuild returns a function that fails the test on a builder error, so
// calls read mustBuild(t)(b.BuildClaim(in)).
func mustBuild(t *testing.T) func(*nphies.Message, error) *nphies.Message {
	return func(m *nphies.Message, err error) *nphies.Message {
		t.Helper()
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		return m
	}
}

// httptestDo posts body to h with an X-Mock-Outcome header and returns the
// answer body.
func httptestDo(t *testing.T, h http.Handler, body []byte, outcome string) []byte {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/$process-message", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	if outcome != "" {
		req.Header.Set(mock.HeaderOutcome, outcome)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Body.Bytes()
}
