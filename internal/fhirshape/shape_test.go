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

// TestMissingNamesWhatTheExampleHasAndWeLack: a status check lacks the
// resource types and code systems a communication carries; a dental claim
// lacks, element by element, the teeth of a dental prior authorization;
// what is accepted is not listed.
func TestMissingNamesWhatTheExampleHasAndWeLack(t *testing.T) {
	t.Parallel()
	d := strings.Join(fhirshape.Missing(shape(t, "9b-statuscheck-request.json"), shape(t, "18b-communication-response-solicited.json")), "\n")
	for _, want := range []string{"resource type Communication", "resource type Patient",
		"code system http://terminology.hl7.org/CodeSystem/communication-category"} {
		if !strings.Contains(d, want) {
			t.Errorf("missing lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, "element Communication.") {
		t.Errorf("elements of a missing resource type are listed one by one:\n%s", d)
	}
	claim, preauth := shape(t, "7a-claim-dental-request.json"), shape(t, "2a-first-preauth-dental-request-with-multiple-items.json")
	if d := strings.Join(fhirshape.Missing(claim, preauth), "\n"); !strings.Contains(d, "element Claim.item.bodySite.coding.code") ||
		!strings.Contains(d, "code system http://nphies.sa/terminology/CodeSystem/fdi-oral-region") {
		t.Errorf("the teeth are not missed:\n%s", d)
	}
	if d := fhirshape.Missing(preauth, preauth); len(d) != 0 {
		t.Errorf("an example lacks nothing of itself: %v", d)
	}
	accepted := []string{"Claim.item.bodySite", "Claim.item.bodySite.coding", "Claim.item.bodySite.coding.code",
		"Claim.item.bodySite.coding.system", "Claim.item.bodySite.coding.display", "http://nphies.sa/terminology/CodeSystem/fdi-oral-region"}
	if d := strings.Join(fhirshape.Missing(claim, preauth, accepted...), "\n"); strings.Contains(d, "bodySite") || strings.Contains(d, "fdi-oral-region") {
		t.Errorf("accepted elements still listed:\n%s", d)
	}
}
