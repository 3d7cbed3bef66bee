package nphies_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/healthgraph/healthgraph/internal/fhirshape"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/rules"
)

// exampleShape reads the shape of an official example bundle.
func exampleShape(t *testing.T, name string) fhirshape.Shape {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(examplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	s, err := fhirshape.Of(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// TestFollowUpBundlesMatchOfficialExamples builds each follow-up message
// of a claim's life and of eligibility (status check, communications,
// nullify, discovery) and compares its shape with the official example of
// its kind: event, focal type, resource types, profiles, extensions and
// code systems.
func TestFollowUpBundlesMatchOfficialExamples(t *testing.T) {
	t.Parallel()
	b := testBuilder()
	build := mustBuild(t)
	next := seq("followups")
	claim := b.ClaimIdentifier(next())
	pdf := nphies.AttachmentInput{ContentType: "application/pdf", Title: "lab report", Data: []byte("%PDF-1.4 synthetic")}
	tests := []struct {
		example string
		msg     *nphies.Message
		allow   []string
	}{
		{example: "9b-statuscheck-request.json", msg: build(b.BuildStatusCheck(nphies.TaskInput{Envelope: env(next), TaskID: next(),
			Created: testNow, Payer: payer, Claim: claim}))},
		{example: "15a-eligibilty-request-discovery.json", msg: build(withFacility(b).BuildEligibility(nphies.EligibilityInput{
			Envelope: env(next), RequestID: next(), Created: testNow, Purposes: []string{"discovery"}, Payer: payer,
			Patient: patient(next), ServiceStart: testNow}))},
		{example: "18b-communication-response-solicited.json", msg: build(b.BuildCommunication(nphies.CommunicationInput{
			Envelope: env(next), CommunicationID: next(), Created: testNow, Payer: payer, Patient: patient(next), Claim: claim,
			BasedOn: &nphies.Identifier{System: "http://payer.example/communicationrequest", Value: "CR-1"},
			Texts:   []string{"The lab report is attached."}, Attachments: []nphies.AttachmentInput{pdf}}))},
		{example: "18c-communication-response-unsolicited.json", msg: build(b.BuildCommunication(nphies.CommunicationInput{
			Envelope: env(next), CommunicationID: next(), Created: testNow, Payer: payer, Patient: patient(next), Claim: claim,
			Texts: []string{"A corrected report follows."}, Attachments: []nphies.AttachmentInput{pdf}}))},
	}
	for _, tt := range tests {
		t.Run(tt.example, func(t *testing.T) {
			got, err := fhirshape.Of(tt.msg.Body)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range fhirshape.Compare(got, exampleShape(t, tt.example), tt.allow...) {
				t.Error(d)
			}
			vs, err := rules.Check(tt.msg.Body)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				if v.Severity == rules.SeverityError {
					t.Errorf("%s at %s: %s", v.Rule, v.Expression, v.Message)
				}
			}
		})
	}
}

// withFacility is b serving patients at a facility of its own, which
// eligibility requests name (15a's Location).
func withFacility(b *nphies.Builder) *nphies.Builder {
	c := *b
	c.Facility = nphies.Facility{License: "LOC-TEST-1", Name: "Olaya branch"}
	return &c
}
