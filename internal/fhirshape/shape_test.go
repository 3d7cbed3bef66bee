package fhirshape_test

import (
	"os"
	"strings"
	"testing"

	"github.com/healthgraph/healthgraph/internal/fhirshape"
)

const examples = "../../nphies/testdata/examples/"

func shape(t *testing.T, name string) fhirshape.Shape {
	t.Helper()
	raw, err := os.ReadFile(examples + name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fhirshape.Of(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAnExampleMatchesItself(t *testing.T) {
	t.Parallel()
	s := shape(t, "18b-communication-response-solicited.json")
	if d := fhirshape.Compare(s, s); len(d) != 0 {
		t.Fatalf("diffs %v", d)
	}
}

// TestCompareNamesWhatDiffers compares a status check with a communication:
// every kind of difference must be named.
func TestCompareNamesWhatDiffers(t *testing.T) {
	t.Parallel()
	d := strings.Join(fhirshape.Compare(shape(t, "18b-communication-response-solicited.json"), shape(t, "9b-statuscheck-request.json")), "\n")
	for _, want := range []string{`event "communication", example "status-check"`, `focus "Communication", example "Task"`,
		"resource type Patient is not in the example", "resource type Task of the example is missing",
		"extension http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/extension-ksa-administrative-gender is not in the example",
		"code system http://terminology.hl7.org/CodeSystem/communication-category is not in the example"} {
		if !strings.Contains(d, want) {
			t.Errorf("diffs lack %q:\n%s", want, d)
		}
	}
	if d := fhirshape.Compare(shape(t, "18b-communication-response-solicited.json"), shape(t, "9b-statuscheck-request.json"),
		"Patient", "Communication", "Task"); strings.Contains(strings.Join(d, "\n"), "resource type") {
		t.Errorf("allowed types still reported: %v", d)
	}
}

func TestOfRefusesWhatIsNotAMessage(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{`{`, `{"resourceType":"Bundle","type":"collection","entry":[{}]}`, `{"type":"message"}`} {
		if _, err := fhirshape.Of([]byte(raw)); err == nil {
			t.Errorf("Of(%s) = nil error", raw)
		}
	}
}
