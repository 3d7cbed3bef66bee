package rules_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/healthgraph/healthgraph/nphies/rules"
)

// examplesDir holds NPHIES's official example bundles (vendored, see its README).
const examplesDir = "../testdata/examples"

// Rules the official examples break, and why. The 2021 examples predate the
// minimum data set (the sheet's "MDS" rules BV-00752, BV-00772–780,
// BV-00803–806, for institutional claims BV-00763–771 and BV-00802, for
// dental ones BV-00751) and the plan class rule (BV-00729); only the
// December 2023 example carries them. The 2021 institutional ones carry some
// vital signs each, so each lacks its own (mdsIn…). Four response examples reference
// ".../organization/<id>" where the entry's fullUrl is ".../Organization/<id>",
// so the reference is not found in the bundle either (BV-00079).
// The poll response's nested 2021 ClaimResponse predates the per-item tax and
// approved-quantity rules (BV-00497, BV-00498) and the insurance a complete
// response carries (BV-00853, of the 2024 minimum-data-set release). The 2021 pharmacy claim does
// not link its medicine to the days-supply information (BV-00376); neither
// pharmacy example gives the pharmacist's selection reason (BV-00708). NPHIES's
// own poll response codes its output type under the value set's URL
// (".../ValueSet/task-output-type") instead of the code system's (IB-00224,
// IB-00286).
var (
	mds             = []string{"BV-00752", "BV-00803", "BV-00804", "BV-00805", "BV-00806"}
	vitals          = []string{"BV-00772", "BV-00773", "BV-00774", "BV-00775", "BV-00776", "BV-00777", "BV-00778", "BV-00779", "BV-00780"}
	plan            = []string{"BV-00729"}
	mdsOral         = []string{"BV-00751"}
	mdsInBatch      = []string{"BV-00765", "BV-00766", "BV-00768", "BV-00770", "BV-00771"}
	mdsInPreauth    = concat(mdsInBatch, []string{"BV-00802"})
	mdsInShadow     = []string{"BV-00765", "BV-00768"}
	mdsInClaim      = []string{"BV-00769"}
	payorCase       = []string{"RE-00057", "BV-00079"}
	pharmacist      = []string{"BV-00708"}
	knownExceptions = map[string][]string{
		"1-preauth-institutional-request":                      concat(plan, mds, mdsInPreauth),
		"10-claim-professional-request":                        concat(plan, mds, vitals),
		"11-claim-vision-request":                              mds,
		"12b-poll-response":                                    {"BV-00497", "BV-00498", "BV-00853", "IB-00224", "IB-00286"},
		"16-batch-request":                                     concat(plan, mds, mdsInBatch),
		"14a-eligibilty-request-ben-val":                       plan,
		"14b-eligibility-response-ben-val":                     plan,
		"19-shadow-billing":                                    concat(plan, mds, mdsInShadow),
		"2a-first-preauth-dental-request-with-multiple-items":  concat(mds, mdsOral),
		"2b-first-response-for-first-preauth-dental-request":   payorCase,
		"2c-second-preauth-dental-request":                     concat(mds, mdsOral),
		"2d-first-response-for-second-preauth-dental-request":  payorCase,
		"2e-second-response-for-second-preauth-dental-request": payorCase,
		"4-preauth-pharmacy-request":                           concat(plan, mds, pharmacist),
		"5a-preauth-professional-request":                      concat(plan, mds, vitals),
		"5b-preauth-professional-response":                     plan,
		"6-preauth-vision-prescription-request":                mds,
		"7a-claim-dental-request":                              concat(mds, mdsOral),
		"7b-claim-response":                                    payorCase,
		"8-claim-institutional-request":                        concat(plan, mds, mdsInClaim),
		"9-claim-pharmacy-request":                             concat(plan, mds, pharmacist, []string{"BV-00376"}),
	}
)

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func TestEveryOfficialExamplePassesButForItsRecordedExceptions(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.json"))
	if len(files) == 0 {
		t.Fatal("official examples not found at " + examplesDir)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		vs, err := rules.Check(readFile(t, f))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		broken := map[string]bool{}
		for _, v := range rules.Blocking(vs) {
			broken[v.Rule] = true
			if !slices.Contains(knownExceptions[name], v.Rule) {
				t.Errorf("%s: %s at %s: %s", name, v.Rule, v.Expression, v.Message)
			}
		}
		for _, id := range knownExceptions[name] {
			if !broken[id] {
				t.Errorf("%s: recorded exception %s no longer happens; drop it", name, id)
			}
		}
	}
}

func TestCheckRefusesWhatIsNotABundle(t *testing.T) {
	t.Parallel()
	for _, in := range []string{``, `{`, `[]`, `{"resourceType":"Claim"}`} {
		if _, err := rules.Check([]byte(in)); err == nil {
			t.Errorf("Check(%q): no error, want ErrNotBundle", in)
		}
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// doc is a decoded example to mutate.
type doc map[string]any

func example(t *testing.T, name string) doc {
	t.Helper()
	var d doc
	if err := json.Unmarshal(readFile(t, filepath.Join(examplesDir, name)), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// resource returns the first entry's resource of a type and its entry index.
func (d doc) resource(t *testing.T, kind string) map[string]any {
	t.Helper()
	for _, e := range d["entry"].([]any) {
		r := e.(map[string]any)["resource"].(map[string]any)
		if r["resourceType"] == kind {
			return r
		}
	}
	t.Fatalf("no %s in the example", kind)
	return nil
}

func (d doc) bytes(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// outpatient is the December 2023 professional prior authorization, the one
// official example that carries the whole minimum data set.
const outpatient = "preauth-professional-outpatient-request.json"

func TestMutatedExamplesBreakTheExpectedRule(t *testing.T) {
	t.Parallel()
	items := func(c map[string]any) []any { return c["item"].([]any) }
	item := func(c map[string]any, i int) map[string]any { return items(c)[i].(map[string]any) }
	cases := []struct {
		name   string
		file   string
		mutate func(t *testing.T, d doc)
		rule   string
		expr   string
	}{
		{"a CPT code under the services system", outpatient, func(t *testing.T, d doc) {
			c := d.resource(t, "Claim")
			item(c, 0)["productOrService"] = map[string]any{"coding": []any{map[string]any{
				"system": "http://nphies.sa/terminology/CodeSystem/services", "code": "99213"}}}
		}, "IB-00283", "Bundle.entry[1].resource.item[0].productOrService"},
		{"a code system professional claims may not use", outpatient, func(t *testing.T, d doc) {
			c := d.resource(t, "Claim")
			item(c, 0)["productOrService"] = map[string]any{"coding": []any{map[string]any{
				"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}}}
		}, "IB-00283", "Bundle.entry[1].resource.item[0].productOrService"},
		{"a missing vital sign", outpatient, func(t *testing.T, d doc) {
			c := d.resource(t, "Claim")
			var kept []any
			for _, s := range c["supportingInfo"].([]any) {
				if !strings.Contains(mustJSON(s), `"pulse"`) {
					kept = append(kept, s)
				}
			}
			c["supportingInfo"] = kept
		}, "BV-00774", "Bundle.entry[1].resource.supportingInfo"},
		{"no treatment plan", outpatient, func(t *testing.T, d doc) {
			c := d.resource(t, "Claim")
			var kept []any
			for _, s := range c["supportingInfo"].([]any) {
				if !strings.Contains(mustJSON(s), `"treatment-plan"`) {
					kept = append(kept, s)
				}
			}
			c["supportingInfo"] = kept
		}, "BV-00803", "Bundle.entry[1].resource.supportingInfo"},
		{"a duplicate item sequence", outpatient, func(t *testing.T, d doc) {
			c := d.resource(t, "Claim")
			c["item"] = append(items(c), items(c)[0])
		}, "BV-00044", "Bundle.entry[1].resource.item[1].sequence"},
		{"a duplicate care team sequence", outpatient, func(t *testing.T, d doc) {
			c := d.resource(t, "Claim")
			ct := c["careTeam"].([]any)
			c["careTeam"] = append(ct, ct[0])
		}, "BV-00002", "Bundle.entry[1].resource.careTeam[1].sequence"},
		{"an item pointing at no diagnosis", outpatient, func(t *testing.T, d doc) {
			item(d.resource(t, "Claim"), 0)["diagnosisSequence"] = []any{99}
		}, "BV-00444", "Bundle.entry[1].resource.item[0].diagnosisSequence[0]"},
		{"a total that is not the sum of the nets", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["total"] = map[string]any{"value": 1, "currency": "SAR"}
		}, "BV-00059", "Bundle.entry[1].resource.total"},
		{"a net that is not quantity × price + tax", outpatient, func(t *testing.T, d doc) {
			item(d.resource(t, "Claim"), 0)["net"] = map[string]any{"value": 12345.67, "currency": "SAR"}
		}, "BV-00251", "Bundle.entry[1].resource.item[0].net"},
		{"a coverage without a plan class", outpatient, func(t *testing.T, d doc) {
			cov := d.resource(t, "Coverage")
			var kept []any
			for _, cl := range cov["class"].([]any) {
				if !strings.Contains(mustJSON(cl), `"plan"`) {
					kept = append(kept, cl)
				}
			}
			cov["class"] = kept
		}, "BV-00729", "Bundle.entry[3].resource.class"},
		{"a coverage period that ends before it starts", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Coverage")["period"] = map[string]any{"start": "2023-12-01", "end": "2022-12-01"}
		}, "BV-00052", "Bundle.entry[3].resource.period.end"},
		{"an expired coverage", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Coverage")["period"] = map[string]any{"start": "2022-01-01", "end": "2022-12-31"}
		}, "1664", "Bundle.entry[3].resource.period"},
		{"an approved authorization not quoted", "10-claim-professional-request.json", func(t *testing.T, d doc) {
			c := d.resource(t, "Claim")
			c["extension"] = append(c["extension"].([]any), map[string]any{
				"url":            "http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/extension-priorauthResponse",
				"valueReference": map[string]any{"identifier": map[string]any{"system": "http://payer/pa", "value": "1"}}})
			for _, ins := range c["insurance"].([]any) {
				delete(ins.(map[string]any), "preAuthRef")
			}
		}, "BV-00449", "Bundle.entry[1].resource.insurance"},
		{"a reference to no entry", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["patient"] = map[string]any{"reference": "http://provider.com/Patient/nobody"}
		}, "RE-00015", "Bundle.entry[1].resource.patient.reference"},
		{"a missing required element", outpatient, func(t *testing.T, d doc) {
			delete(d.resource(t, "Claim"), "priority")
		}, "IC-00053", "Bundle.entry[1].resource.priority"},
		{"a code outside its value set", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["subType"] = map[string]any{"coding": []any{map[string]any{
				"system": "http://nphies.sa/terminology/CodeSystem/claim-subtype", "code": "xx"}}}
		}, "IB-00043", "Bundle.entry[1].resource.subType"},
		{"a second focus", outpatient, func(t *testing.T, d doc) {
			mh := d.resource(t, "MessageHeader")
			mh["focus"] = append(mh["focus"].([]any), mh["focus"].([]any)[0])
		}, "BV-00221", "Bundle.entry[0].resource.focus[1]"},
		{"not a message bundle", outpatient, func(t *testing.T, d doc) {
			d["type"] = "collection"
		}, "BV-00130", "Bundle.type"},
		{"a date that is not a date", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Patient")["birthDate"] = "22/11/1990"
		}, "DT-00948", "Bundle.entry[2].resource.birthDate"},
		{"one element where R4 has a list", outpatient, func(t *testing.T, d doc) {
			c := d.resource(t, "Claim")
			c["careTeam"] = c["careTeam"].([]any)[0]
		}, "DT-00064", "Bundle.entry[1].resource.careTeam"},
		{"an empty element", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["supportingInfo"] = []any{}
		}, "FR-00006", "Bundle.entry[1].resource.supportingInfo"},
		{"a sender licence no organization carries", outpatient, func(t *testing.T, d doc) {
			mh := d.resource(t, "MessageHeader")
			mh["sender"].(map[string]any)["identifier"].(map[string]any)["value"] = "PR-OTHER"
		}, "GE-00031", "Bundle.entry[0].resource.sender.identifier.value"},
		{"an unlinked medicine in a pharmacy claim", "4-preauth-pharmacy-request.json", func(t *testing.T, d doc) {
			delete(d.resource(t, "Claim")["item"].([]any)[0].(map[string]any), "informationSequence")
		}, "BV-00376", "Bundle.entry[1].resource.item[0].informationSequence"},
		{"an institutional claim with subtype op", "8-claim-institutional-request.json", func(t *testing.T, d doc) {
			d.resource(t, "Claim")["subType"] = map[string]any{"coding": []any{map[string]any{
				"system": "http://nphies.sa/terminology/CodeSystem/claim-subtype", "code": "op"}}}
		}, "BV-00364", "Bundle.entry[1].resource.subType"},
		{"a claim event whose focus is an authorization", "10-claim-professional-request.json", func(t *testing.T, d doc) {
			d.resource(t, "Claim")["use"] = "preauthorization"
		}, "BV-00167", "Bundle.entry[0].resource.focus[0]"},
		{"a nested claim of a batch", "16-batch-request.json", func(t *testing.T, d doc) {
			inner := d["entry"].([]any)[1].(map[string]any)["resource"].(map[string]any)
			doc(inner).resource(t, "Claim")["total"] = map[string]any{"value": 1, "currency": "SAR"}
		}, "BV-00059", "Bundle.entry[1].resource.entry[1].resource.total"},
		{"two principal diagnoses", outpatient, func(t *testing.T, d doc) {
			c := d.resource(t, "Claim")
			dx := c["diagnosis"].([]any)
			second := map[string]any{}
			for k, v := range dx[0].(map[string]any) {
				second[k] = v
			}
			second["sequence"] = 9
			second["diagnosisCodeableConcept"] = map[string]any{"coding": []any{map[string]any{"system": "http://hl7.org/fhir/sid/icd-10-am", "code": "J20.9"}}}
			c["diagnosis"] = append(dx, second)
		}, "BV-00054", "Bundle.entry[1].resource.diagnosis"},
		{"a temperature in Fahrenheit", outpatient, func(t *testing.T, d doc) {
			for _, s := range d.resource(t, "Claim")["supportingInfo"].([]any) {
				if strings.Contains(mustJSON(s), `"temperature"`) {
					s.(map[string]any)["valueQuantity"].(map[string]any)["code"] = "[degF]"
				}
			}
		}, "BV-00486", "Bundle.entry[1].resource.supportingInfo[5].valueQuantity"},
		{"a bundle id that is not a GUID", outpatient, func(t *testing.T, d doc) {
			d["id"] = "bundle-1"
		}, "BV-00341", "Bundle.id"},
		{"an item served outside the encounter", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["item"].([]any)[0].(map[string]any)["servicedDate"] = "2019-01-01"
		}, "BV-00118", "Bundle.entry[1].resource.item[0].serviced[x]"},
		{"an iqama under the national-id system", outpatient, func(t *testing.T, d doc) {
			id := d.resource(t, "Patient")["identifier"].([]any)[0].(map[string]any)
			id["type"] = map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PRC"}}}
			id["system"] = "http://nphies.sa/identifier/nationalid"
		}, "IB-00341", "Bundle.entry[2].resource.identifier[0].system"},
		{"a professional-claim profile on an authorization", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["meta"] = map[string]any{"profile": []any{"http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/professional-claim|1.0.0"}}
		}, "IB-00360", "Bundle.entry[1].resource.use"},
		{"a nullify of an eligibility request", "17a-cancel-request.json", func(t *testing.T, d doc) {
			task := d.resource(t, "Task")
			task["code"] = map[string]any{"coding": []any{map[string]any{"system": "http://nphies.sa/terminology/CodeSystem/task-code", "code": "nullify"}}}
			task["focus"].(map[string]any)["type"] = "CoverageEligibilityRequest"
		}, "BV-00178", "Bundle.entry[1].resource.focus.type"},
		{"a cancel of an eligibility request", "17a-cancel-request.json", func(t *testing.T, d doc) {
			d.resource(t, "Task")["focus"].(map[string]any)["type"] = "CoverageEligibilityRequest"
		}, "BV-00131", "Bundle.entry[1].resource.focus.type"},
		{"a cancel task that is not an order", "17a-cancel-request.json", func(t *testing.T, d doc) {
			d.resource(t, "Task")["intent"] = "proposal"
		}, "IB-00306", "Bundle.entry[1].resource.intent"},
		{"a payment that is not the sum of its details", "13a-payment-reconciliation.json", func(t *testing.T, d doc) {
			d.resource(t, "PaymentReconciliation")["paymentAmount"] = map[string]any{"value": 1, "currency": "SAR"}
		}, "BV-00354", "Bundle.entry[1].resource.paymentAmount"},
		{"an eligible site for a coverage not in force", "14b-eligibility-response-ben-val.json", func(t *testing.T, d doc) {
			r := d.resource(t, "CoverageEligibilityResponse")
			ins := r["insurance"].([]any)[0].(map[string]any)
			ins["inforce"] = false
			r["extension"] = []any{map[string]any{
				"url":                  "http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/extension-siteEligibility",
				"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": "http://nphies.sa/terminology/CodeSystem/siteEligibility", "code": "eligible"}}}}}
		}, "BV-00535", "Bundle.entry[1].resource.extension[0]"},
		{"an attachment with neither data nor url", outpatient, func(t *testing.T, d doc) {
			for _, s := range d.resource(t, "Claim")["supportingInfo"].([]any) {
				if a, ok := s.(map[string]any)["valueAttachment"].(map[string]any); ok {
					delete(a, "data")
				}
			}
		}, "BV-00342", "Bundle.entry[1].resource.supportingInfo[10].valueAttachment"},
		{"a poll task with a reason", "12a-poll-request.json", func(t *testing.T, d doc) {
			d.resource(t, "Task")["reasonCode"] = map[string]any{"coding": []any{map[string]any{"code": "WI"}}}
		}, "BV-00467", "Bundle.entry[1].resource.reasonCode"},
		{"a code longer than NPHIES allows", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["status"] = strings.Repeat("active", 6)
		}, "BV-00267", "Bundle.entry[1].resource.status"},
		{"a ClaimResponse all approved but rejected overall", "7b-claim-response.json", func(t *testing.T, d doc) {
			cr := d.resource(t, "ClaimResponse")
			for _, e := range cr["extension"].([]any) {
				e := e.(map[string]any)
				if strings.HasSuffix(e["url"].(string), "adjudication-outcome") {
					e["valueCodeableConcept"] = map[string]any{"coding": []any{map[string]any{
						"system": "http://nphies.sa/terminology/CodeSystem/adjudication-outcome", "code": "rejected"}}}
				}
			}
		}, "BV-00393", "Bundle.entry[1].resource.extension"},
		{"a queued ClaimResponse with items", "7b-claim-response.json", func(t *testing.T, d doc) {
			d.resource(t, "ClaimResponse")["outcome"] = "queued"
		}, "BV-00228", "Bundle.entry[1].resource.item"},
		// Rules rooted at a data type reach it wherever the message has one.
		{"an identifier without a system", outpatient, func(t *testing.T, d doc) {
			delete(d.resource(t, "Coverage")["identifier"].([]any)[0].(map[string]any), "system")
		}, "IC-00203", "Bundle.entry[3].resource.identifier[0].system"},
		{"a reference's identifier without a value", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["patient"] = map[string]any{"identifier": map[string]any{"system": "http://nphies.sa/identifier/iqama"}}
		}, "IC-00208", "Bundle.entry[1].resource.patient.identifier.value"},
		{"an extension without a url", outpatient, func(t *testing.T, d doc) {
			delete(item(d.resource(t, "Claim"), 0)["extension"].([]any)[0].(map[string]any), "url")
		}, "IC-00193", "Bundle.entry[1].resource.item[0].extension[0].url"},
		// Choice elements: one of R4's choices, of its type.
		{"a service dated with a dateTime choice R4 does not have", outpatient, func(t *testing.T, d doc) {
			it := item(d.resource(t, "Claim"), 0)
			it["servicedDateTime"] = it["servicedDate"]
			delete(it, "servicedDate")
		}, "DT-00168", "Bundle.entry[1].resource.item[0].servicedDateTime"},
		{"a service date that is not a date", outpatient, func(t *testing.T, d doc) {
			item(d.resource(t, "Claim"), 0)["servicedDate"] = "01/12/2023"
		}, "DT-00169", "Bundle.entry[1].resource.item[0].servicedDate"},
		{"a diagnosis given by reference", outpatient, func(t *testing.T, d doc) {
			dx := d.resource(t, "Claim")["diagnosis"].([]any)[0].(map[string]any)
			delete(dx, "diagnosisCodeableConcept")
			dx["diagnosisReference"] = map[string]any{"reference": "http://provider.com/Condition/1"}
		}, "IC-00021", "Bundle.entry[1].resource.diagnosis[0].diagnosisCodeableConcept"},
		// Bindings: R4's required codes, the HL7 and NPHIES value sets the
		// element is bound to, coded extensions, the Task of poll, cancel
		// and status messages.
		{"a gender R4 does not have", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Patient")["gender"] = "M"
		}, "IB-00186", "Bundle.entry[2].resource.gender"},
		{"an entry request method HTTP does not have", outpatient, func(t *testing.T, d doc) {
			d["entry"].([]any)[0].(map[string]any)["request"] = map[string]any{"method": "FETCH", "url": "Claim"}
		}, "IB-00001", "Bundle.entry[0].request.method"},
		{"a diagnosis outside ICD-10-AM", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["diagnosis"].([]any)[0].(map[string]any)["diagnosisCodeableConcept"] = map[string]any{
				"coding": []any{map[string]any{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "R51.9"}}}
		}, "IB-00011", "Bundle.entry[1].resource.diagnosis[0].diagnosisCodeableConcept"},
		{"an occupation NPHIES's list does not have", outpatient, func(t *testing.T, d doc) {
			ext := d.resource(t, "Patient")["extension"].([]any)[0].(map[string]any)
			ext["valueCodeableConcept"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] = "astronaut"
		}, "IB-00420", "Bundle.entry[2].resource.extension[0].valueCodeableConcept"},
		{"a service event type NPHIES's list does not have", outpatient, func(t *testing.T, d doc) {
			ext := d.resource(t, "Encounter")["extension"].([]any)[0].(map[string]any)
			ext["valueCodeableConcept"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] = "XX"
		}, "IB-00416", "Bundle.entry[6].resource.extension[0].valueCodeableConcept"},
		{"a poll request Task that is a draft", "12a-poll-request.json", func(t *testing.T, d doc) {
			d.resource(t, "Task")["status"] = "draft"
		}, "IB-00288", "Bundle.entry[1].resource.status"},
		{"a poll request input NPHIES does not define", "12a-poll-request.json", func(t *testing.T, d doc) {
			task := d.resource(t, "Task")
			task["input"] = []any{map[string]any{"type": map[string]any{"coding": []any{map[string]any{
				"system": "http://nphies.sa/terminology/CodeSystem/task-input-type", "code": "tag"}}}, "valueCode": "x"}}
		}, "IB-00292", "Bundle.entry[1].resource.input[0].type"},
		{"a cancel request Task without a focus", "17a-cancel-request.json", func(t *testing.T, d doc) {
			delete(d.resource(t, "Task"), "focus")
		}, "IC-00398", "Bundle.entry[1].resource.focus"},
		{"a status check whose Task polls", "9b-statuscheck-request.json", func(t *testing.T, d doc) {
			d.resource(t, "Task")["code"] = map[string]any{"coding": []any{map[string]any{
				"system": "http://nphies.sa/terminology/CodeSystem/task-code", "code": "poll"}}}
		}, "IC-00004", "Bundle.entry[1].resource.code"},
		{"an extension referring to no entry", outpatient, func(t *testing.T, d doc) {
			ext := d.resource(t, "Claim")["extension"].([]any)[0].(map[string]any)
			ext["valueReference"] = map[string]any{"reference": "http://provider.com/Encounter/none"}
		}, "RE-00091", "Bundle.entry[1].resource.extension[0].valueReference.reference"},
		{"a full URL that is not a string", outpatient, func(t *testing.T, d doc) {
			d["entry"].([]any)[2].(map[string]any)["fullUrl"] = 12
		}, "DT-00003", "Bundle.entry[2].fullUrl"},
		// Extensions carry the value type the examples give them; data types
		// have their R4 shape wherever they are.
		{"a maternity flag given as text", outpatient, func(t *testing.T, d doc) {
			ext := item(d.resource(t, "Claim"), 0)["extension"].([]any)[0].(map[string]any)
			delete(ext, "valueBoolean")
			ext["valueString"] = "no"
		}, "DT-01541", "Bundle.entry[1].resource.item[0].extension[0].valueString"},
		{"a maternity flag that is not a boolean", outpatient, func(t *testing.T, d doc) {
			item(d.resource(t, "Claim"), 0)["extension"].([]any)[0].(map[string]any)["valueBoolean"] = "false"
		}, "DT-01541", "Bundle.entry[1].resource.item[0].extension[0].valueBoolean"},
		{"a maternity flag without its value", outpatient, func(t *testing.T, d doc) {
			delete(item(d.resource(t, "Claim"), 0)["extension"].([]any)[0].(map[string]any), "valueBoolean")
		}, "IC-00195", "Bundle.entry[1].resource.item[0].extension[0].valueBoolean"},
		{"an identifier system that is not a uri", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Coverage")["identifier"].([]any)[0].(map[string]any)["system"] = 42
		}, "DT-00787", "Bundle.entry[3].resource.identifier[0].system"},
		{"an attachment size that is not a number", outpatient, func(t *testing.T, d doc) {
			for _, s := range d.resource(t, "Claim")["supportingInfo"].([]any) {
				if a, ok := s.(map[string]any)["valueAttachment"].(map[string]any); ok {
					a["size"] = "big"
				}
			}
		}, "DT-01311", "Bundle.entry[1].resource.supportingInfo[10].valueAttachment.size"},
		// The payers' messages.
		{"an eligibility disposition longer than 250 characters", "14b-eligibility-response-ben-val.json", func(t *testing.T, d doc) {
			d.resource(t, "CoverageEligibilityResponse")["disposition"] = strings.Repeat("x", 251)
		}, "BV-00310", "Bundle.entry[1].resource.disposition"},
		{"an eligibility disposition longer than 125 Arabic characters", "14b-eligibility-response-ben-val.json", func(t *testing.T, d doc) {
			d.resource(t, "CoverageEligibilityResponse")["disposition"] = strings.Repeat("ب", 126)
		}, "BV-00310", "Bundle.entry[1].resource.disposition"},
		{"a claim response disposition longer than 250 characters", "7b-claim-response.json", func(t *testing.T, d doc) {
			d.resource(t, "ClaimResponse")["disposition"] = strings.Repeat("x", 251)
		}, "BV-00317", "Bundle.entry[1].resource.disposition"},
		{"a claim response that is not active", "7b-claim-response.json", func(t *testing.T, d doc) {
			d.resource(t, "ClaimResponse")["status"] = "draft"
		}, "BV-00331", "Bundle.entry[1].resource.status"},
		{"a complete claim response without items", "7b-claim-response.json", func(t *testing.T, d doc) {
			delete(d.resource(t, "ClaimResponse"), "item")
		}, "BV-00255", "Bundle.entry[1].resource.item"},
		{"a complete claim response item without its benefit", "7b-claim-response.json", func(t *testing.T, d doc) {
			it := d.resource(t, "ClaimResponse")["item"].([]any)[0].(map[string]any)
			var kept []any
			for _, a := range it["adjudication"].([]any) {
				if !strings.Contains(mustJSON(a), `"benefit"`) {
					kept = append(kept, a)
				}
			}
			it["adjudication"] = kept
		}, "BV-00390", "Bundle.entry[1].resource.item[0].adjudication"},
		{"an approved quantity given as an amount", "7b-claim-response.json", func(t *testing.T, d doc) {
			for _, a := range d.resource(t, "ClaimResponse")["item"].([]any)[0].(map[string]any)["adjudication"].([]any) {
				if strings.Contains(mustJSON(a), `"approved-quantity"`) {
					a.(map[string]any)["amount"] = map[string]any{"value": 1, "currency": "SAR"}
				}
			}
		}, "BV-00519", "Bundle.entry[1].resource.item[0].adjudication[6].amount"},
		{"a complete claim response without insurance", "7b-claim-response.json", func(t *testing.T, d doc) {
			delete(d.resource(t, "ClaimResponse"), "insurance")
		}, "BV-00853", "Bundle.entry[1].resource.insurance"},
		{"a claim response with no focal insurance", "7b-claim-response.json", func(t *testing.T, d doc) {
			d.resource(t, "ClaimResponse")["insurance"].([]any)[0].(map[string]any)["focal"] = false
		}, "BV-00854", "Bundle.entry[1].resource.insurance"},
		{"a dental claim response for an inpatient stay", "7b-claim-response.json", func(t *testing.T, d doc) {
			d.resource(t, "ClaimResponse")["subType"] = map[string]any{"coding": []any{map[string]any{
				"system": "http://nphies.sa/terminology/CodeSystem/claim-subtype", "code": "ip"}}}
		}, "BV-00609", "Bundle.entry[1].resource.subType"},
		{"an added dental item on a body site outside the oral regions", "7b-claim-response.json", func(t *testing.T, d doc) {
			d.resource(t, "ClaimResponse")["addItem"] = []any{map[string]any{"itemSequence": []any{1},
				"bodySite": map[string]any{"coding": []any{map[string]any{"system": "http://nphies.sa/terminology/CodeSystem/body-site", "code": "LT"}}}}}
		}, "BV-00638", "Bundle.entry[1].resource.addItem[0].bodySite"},
		{"a payment detail naming no claim", "13a-payment-reconciliation.json", func(t *testing.T, d doc) {
			delete(d.resource(t, "PaymentReconciliation")["detail"].([]any)[0].(map[string]any), "request")
		}, "BV-00355", "Bundle.entry[1].resource.detail[0].request"},
		{"a payment detail naming no response", "13a-payment-reconciliation.json", func(t *testing.T, d doc) {
			delete(d.resource(t, "PaymentReconciliation")["detail"].([]any)[0].(map[string]any), "response")
		}, "BV-00370", "Bundle.entry[1].resource.detail[0].response"},
		{"a payment detail that is not the sum of its components", "13a-payment-reconciliation.json", func(t *testing.T, d doc) {
			d.resource(t, "PaymentReconciliation")["detail"].([]any)[0].(map[string]any)["amount"] = map[string]any{"value": 500, "currency": "SAR"}
		}, "BV-00479", "Bundle.entry[1].resource.detail[0].amount"},
		{"a site eligibility that ignores an eligible insurance", "14b-eligibility-response-ben-val.json", func(t *testing.T, d doc) {
			r := d.resource(t, "CoverageEligibilityResponse")
			ext := r["extension"].([]any)[0].(map[string]any)
			ins := r["insurance"].([]any)[0].(map[string]any)
			ins["extension"] = []any{mustCopy(t, ext)}
			ext["valueCodeableConcept"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] = "out-network"
		}, "BV-00559", "Bundle.entry[1].resource.extension[0]"},
		{"an eligible site no insurance covers", "14b-eligibility-response-ben-val.json", func(t *testing.T, d doc) {
			r := d.resource(t, "CoverageEligibilityResponse")
			ins := r["insurance"].([]any)[0].(map[string]any)
			ins["extension"] = []any{map[string]any{"url": "http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/extension-siteEligibility",
				"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": "http://nphies.sa/terminology/CodeSystem/siteEligibility", "code": "out-network"}}}}}
		}, "BV-00561", "Bundle.entry[1].resource.extension[0]"},
		{"an eligibility request for a date and a period", "14a-eligibilty-request-ben-val.json", func(t *testing.T, d doc) {
			d.resource(t, "CoverageEligibilityRequest")["servicedDate"] = "2021-10-01"
		}, "IC-01413", "Bundle.entry[1].resource.servicedDate"},
		{"an eligibility response for a date and a period", "14b-eligibility-response-ben-val.json", func(t *testing.T, d doc) {
			d.resource(t, "CoverageEligibilityResponse")["servicedDate"] = "2021-10-01"
		}, "IC-01415", "Bundle.entry[1].resource.servicedDate"},
		// Rows read one by one.
		{"a communication about an unnamed kind of resource", "18b-communication-response-solicited.json", func(t *testing.T, d doc) {
			delete(d.resource(t, "Communication")["about"].([]any)[0].(map[string]any), "type")
		}, "IC-00347", "Bundle.entry[1].resource.about[0].type"},
		{"a communication request about nothing", "18a-communication-request.json", func(t *testing.T, d doc) {
			delete(d.resource(t, "CommunicationRequest"), "about")
		}, "IC-00352", "Bundle.entry[1].resource.about"},
		{"a message header without an id", outpatient, func(t *testing.T, d doc) {
			delete(d.resource(t, "MessageHeader"), "id")
		}, "IC-00380", "Bundle.entry[0].resource.id"},
		{"a poll's message type given as text", "12a-poll-request.json", func(t *testing.T, d doc) {
			in := d.resource(t, "Task")["input"].([]any)[0].(map[string]any)
			in["valueString"] = in["valueCode"]
			delete(in, "valueCode")
		}, "IB-00338", "Bundle.entry[1].resource.input[0].valueString"},
		{"a service coded three ways", outpatient, func(t *testing.T, d doc) {
			pos := item(d.resource(t, "Claim"), 0)["productOrService"].(map[string]any)
			c := pos["coding"].([]any)
			pos["coding"] = append(c, c[0], c[0])
		}, "IC-01434", "Bundle.entry[1].resource.item[0].productOrService.coding[2]"},
		{"a prior-authorization response used as a claim's", "5b-preauth-professional-response.json", func(t *testing.T, d doc) {
			d.resource(t, "ClaimResponse")["use"] = "claim"
		}, "BV-00332", "Bundle.entry[1].resource.use"},
		{"a claim total beyond NPHIES's decimals", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["total"] = map[string]any{"value": json.Number("8e28"), "currency": "SAR"}
		}, "IB-00349", "Bundle.entry[1].resource.total.value"},
		{"an eligibility request whose coverage is not in the message", "14a-eligibilty-request-ben-val.json", func(t *testing.T, d doc) {
			d.resource(t, "CoverageEligibilityRequest")["insurance"] = []any{map[string]any{"coverage": map[string]any{"reference": "http://sgh.com.sa/Coverage/none"}}}
		}, "RE-00179", "Bundle.entry[1].resource.insurance[0].coverage"},
		{"an event NPHIES does not define", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "MessageHeader")["eventCoding"].(map[string]any)["code"] = "invoice-request"
		}, "IB-00169", "Bundle.entry[0].resource.eventCoding"},
		{"a poll response output that is neither error nor response", "12b-poll-response.json", func(t *testing.T, d doc) {
			out := d.resource(t, "Task")["output"].([]any)[0].(map[string]any)
			out["type"] = map[string]any{"coding": []any{map[string]any{"system": "http://nphies.sa/terminology/CodeSystem/task-output-type", "code": "status"}}}
		}, "IB-00302", "Bundle.entry[1].resource.output[0].type"},
		{"a lens cylinder given as text (the sheet writes cyclinder)", "6-preauth-vision-prescription-request.json", func(t *testing.T, d doc) {
			d.resource(t, "VisionPrescription")["lensSpecification"].([]any)[0].(map[string]any)["cylinder"] = "-0.5"
		}, "DT-01411", "Bundle.entry[6].resource.lensSpecification[0].cylinder"},
		{"an event given as a uri and a coding", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "MessageHeader")["eventUri"] = 7
		}, "DT-00860", "Bundle.entry[0].resource.eventUri"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vs := mutated(t, tc.file, tc.mutate)
			for _, v := range vs {
				if v.Rule == tc.rule && v.Expression == tc.expr {
					if v.Message == "" || v.Severity != rules.SeverityError {
						t.Errorf("%s: message %q severity %q", v.Rule, v.Message, v.Severity)
					}
					return
				}
			}
			t.Errorf("no %s at %s; got %v", tc.rule, tc.expr, vs)
		})
	}
}

// mustCopy is a deep copy of a decoded JSON value.
func mustCopy(t *testing.T, v any) any {
	t.Helper()
	var out any
	if err := json.Unmarshal([]byte(mustJSON(v)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// mutated checks the official example after mutating it.
func mutated(t *testing.T, file string, mutate func(t *testing.T, d doc)) []rules.Violation {
	t.Helper()
	d := example(t, file)
	mutate(t, d)
	vs, err := rules.Check(d.bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func BenchmarkCheckOutpatientAuthorization(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join(examplesDir, outpatient))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := rules.Check(raw); err != nil { // load the catalogue outside the timing
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rules.Check(raw); err != nil {
			b.Fatal(err)
		}
	}
}
