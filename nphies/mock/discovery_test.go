package mock_test

import (
	"bytes"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/healthgraph/healthgraph/internal/fhirshape"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/nphies/rules"
)

// TestDiscoveryAnswersAsTheOfficialExamples posts NPHIES's discovery
// request (15a) for the patients of the pseudo-payer's rules and checks
// the answers: coverages found as Coverage resources the answer's
// insurance references (one, or two for iqama 2555555559), or error 1658
// for iqama 2333333333, each shaped as the official answer of its kind
// (15b, 15c) and passing NPHIES's rules.
func TestDiscoveryAnswersAsTheOfficialExamples(t *testing.T) {
	t.Parallel()
	request := readExample(t, filepath.Join(examplesDir, "15a-eligibilty-request-discovery.json"))
	// 15a's patient carries iqama 0000000002; the pseudo-payer's rules key
	// on the patient's identifier.
	withIqama := func(iqama string) []byte {
		return bytes.ReplaceAll(request, []byte(`"0000000002"`), []byte(`"`+iqama+`"`))
	}
	// Our answer carries what 15b leaves out: the coverages found, in force.
	found := []string{"Coverage", "http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/coverage|1.0.0",
		"http://nphies.sa/terminology/CodeSystem/coverage-type", "http://terminology.hl7.org/CodeSystem/coverage-class",
		"http://terminology.hl7.org/CodeSystem/subscriber-relationship"}
	tests := []struct {
		name, iqama, example string
		coverages            int
		outcome              string
		allow                []string
	}{
		{"one coverage found", "1010101010", "15b-eligibility-response-discovery-outcome-complete-out-network.json", 1, "complete", found},
		{"two coverages found", "2555555559", "15b-eligibility-response-discovery-outcome-complete-out-network.json", 2, "complete", found},
		{"no member found", "2333333333", "15c-eligibility-response-discovery-outcome-error.json", 0, "error",
			[]string{"http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/extension-error-expression"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := post(t, mock.New(mock.Options{}), withIqama(tt.iqama), "")
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			resp, err := nphies.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			el := resp.Eligibility
			if el == nil || el.Outcome != tt.outcome || len(el.Coverages) != tt.coverages {
				t.Fatalf("answer %+v, want outcome %s with %d coverages", el, tt.outcome, tt.coverages)
			}
			for _, c := range el.Coverages {
				if f := c.Found; f == nil || f.MemberID == "" || f.PolicyNumber == "" || f.Start == "" || f.End == "" || !c.Inforce {
					t.Errorf("coverage %+v does not say what the clinic needs to record it", c)
				}
			}
			if tt.outcome == "error" && (len(el.Errors) != 1 || el.Errors[0].Code != "1658") {
				t.Errorf("errors %+v, want 1658", el.Errors)
			}
			got, err := fhirshape.Of(body)
			if err != nil {
				t.Fatal(err)
			}
			want, err := fhirshape.Of(readExample(t, filepath.Join(examplesDir, tt.example)))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range fhirshape.Compare(got, want, tt.allow...) {
				t.Errorf("compared with %s: %s", tt.example, d)
			}
			vs, err := rules.Check(body)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range rules.Blocking(vs) {
				t.Errorf("answer breaks %s at %s: %s", v.Rule, v.Expression, v.Message)
			}
		})
	}
}
