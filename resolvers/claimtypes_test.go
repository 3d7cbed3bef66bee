package resolvers_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/fhirshape"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// Institutional, pharmacy, dental and vision claims and prior
// authorizations (issue 15, finding 6), made through the API: each bundle
// breaks no rule NPHIES enforces, carries the minimum data set of the
// visit it is for, the mock approves it, and it has the
// shape of the official example of its kind; what the example has and ours
// lacks is listed below with the reason.

// typedLine is one invoice line to bill from the catalogue.
type typedLine struct {
	system hg.CodeSystem
	code   string
	price  hg.Halalas
}

// typedInvoice bills lines to the patient's coverage and returns the
// invoice's id.
func (f flowEnv) typedInvoice(t *testing.T, lines ...typedLine) string {
	t.Helper()
	var in []map[string]any
	for _, l := range lines {
		id := f.CatalogueItem(t, hg.NewCatalogueItem{System: l.system, Code: l.code, Display: "Billed " + l.code, UnitPrice: l.price})
		in = append(in, map[string]any{"itemId": id, "quantity": 1})
	}
	var out struct{ CreateInvoice invoiceOut }
	f.Do(t, f.billing, createInvoiceMut, map[string]any{"in": map[string]any{"patientId": gid("Patient", f.patient.ID),
		"coverageId": gid("Coverage", f.coverage.ID), "lines": in}}).Decode(t, &out)
	return out.CreateInvoice.ID
}

// The catalogue lines of the official examples.
var (
	consultation = typedLine{hg.SystemServices, "83600-00-00", 10000}
	vadInsertion = typedLine{hg.SystemProcedures, "38618-00-00", 500000}
	antiviral    = typedLine{hg.SystemMedication, "06285096001627", 6000}
	ampicillin   = typedLine{hg.SystemMedication, "05944736008570", 10000}
	oralExam     = typedLine{hg.SystemOralHealthOP, "012", 20000}
	restoration  = typedLine{hg.SystemOralHealthOP, "515", 30000}
	crown        = typedLine{hg.SystemOralHealthOP, "618", 130000}
	eyeTest      = typedLine{hg.SystemProcedures, "42503-00-02", 40000}
	glasses      = typedLine{hg.SystemProcedures, "96092-00-10", 80000}
)

// typedCase is one claim type and use, its invoice and its input.
type typedCase struct {
	name, typ, example string
	preauth            bool
	lines              []typedLine
	input              map[string]any
	// lacking is what the example has and this claim lacks, beyond
	// lackingEverywhere.
	lacking []string
}

func typedCases() []typedCase {
	admitted := time.Now().Add(-72 * time.Hour).UTC()
	return []typedCase{
		{name: "institutional claim", typ: "INSTITUTIONAL", example: "8-claim-institutional-request.json",
			lines: []typedLine{consultation}, input: map[string]any{"admission": map[string]any{
				"class": "INPATIENT", "admittedAt": admitted.Format(time.RFC3339), "dischargedAt": time.Now().UTC().Format(time.RFC3339),
				"admitSource": "EER", "admissionSpecialty": "08.26", "dischargeSpecialty": "08.26", "dischargeDisposition": "home",
				"diagnosesOnAdmission": []string{"R07.1"}}},
			// The example's vital signs and chief complaint are the minimum
			// data set (below); its reason for visit is outpatient.
			lacking: []string{"http://nphies.sa/terminology/CodeSystem/visit-reason"}},
		{name: "institutional prior authorization", typ: "INSTITUTIONAL", example: "1-preauth-institutional-request.json", preauth: true,
			lines: []typedLine{vadInsertion}, input: map[string]any{"admission": map[string]any{
				"class": "INPATIENT", "admittedAt": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339),
				"admitSource": "EWIS", "admissionSpecialty": "08.26", "estimatedLengthOfStayDays": 6,
				"diagnosesOnAdmission": []string{"R07.1"}}},
			// Its onset, lab test and employment impact are clinical
			// records we do not keep.
			lacking: []string{"http://loinc.org", "Claim.supportingInfo.timingDate"}},
		{name: "pharmacy claim", typ: "PHARMACY", example: "9-claim-pharmacy-request.json",
			lines: []typedLine{antiviral}, input: map[string]any{"items": []map[string]any{
				{"sequence": 1, "daysSupply": 30, "pharmacistSelectionReason": "Generic"}}},
			// A claim quotes a prior authorization only after one was
			// approved; offline authorizations are not made.
			lacking: []string{"Claim.insurance.preAuthRef", extension("authorization-offline-date")}},
		{name: "pharmacy prior authorization", typ: "PHARMACY", example: "4-preauth-pharmacy-request.json", preauth: true,
			lines: []typedLine{antiviral, ampicillin}, input: map[string]any{"items": []map[string]any{
				{"sequence": 1, "daysSupply": 30, "pharmacistSelectionReason": "Generic"},
				{"sequence": 2, "daysSupply": 10, "pharmacistSelectionReason": "physician-approval"}}}},
		{name: "dental claim", typ: "DENTAL", example: "7a-claim-dental-request.json",
			lines: []typedLine{oralExam}, input: map[string]any{"items": []map[string]any{{"sequence": 1, "tooth": "00"}}}},
		{name: "dental prior authorization", typ: "DENTAL", example: "2a-first-preauth-dental-request-with-multiple-items.json", preauth: true,
			lines: []typedLine{oralExam, restoration, crown}, input: map[string]any{"items": []map[string]any{
				{"sequence": 1, "tooth": "00"}, {"sequence": 2, "tooth": "13", "surfaces": []string{"MESIAL", "OCCLUSAL", "DISTAL"}},
				{"sequence": 3, "tooth": "37"}}}},
		{name: "vision claim", typ: "VISION", example: "11-claim-vision-request.json", lines: []typedLine{eyeTest}},
		{name: "vision prior authorization", typ: "VISION", example: "6-preauth-vision-prescription-request.json", preauth: true,
			lines: []typedLine{glasses}, input: map[string]any{"visionPrescription": map[string]any{
				"writtenAt": time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339),
				"lenses": []map[string]any{
					{"eye": "LEFT", "sphere": 1.5, "cylinder": 0.75, "axis": 110, "prismAmount": 2, "prismBase": "UP"},
					{"eye": "RIGHT", "sphere": 2.25, "cylinder": 0.75, "axis": 80}}}}},
	}
}

func extension(name string) string {
	return "http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/extension-" + name
}

// moreEverywhere is what our bundles carry beyond the 2021 examples, which
// predate NPHIES's current profiles: the encounter and practitioner they
// require (pharmacy and vision examples have none), the provider type, the
// patient's KSA gender, the coverage's plan class.
var moreEverywhere = []string{"Encounter", "Practitioner",
	extension("encounter"), extension("serviceEventType"), extension("provider-type"), extension("ksa-administrative-gender"),
	extension("episode"), extension("patientInvoice"), extension("package"), extension("tax"),
	"http://nphies.sa/terminology/CodeSystem/service-event-type", "http://terminology.hl7.org/CodeSystem/v3-ActCode",
	"http://nphies.sa/terminology/CodeSystem/provider-type", "http://nphies.sa/terminology/CodeSystem/ksa-administrative-gender",
	"http://terminology.hl7.org/CodeSystem/v2-0203", "http://terminology.hl7.org/CodeSystem/claimcareteamrole",
	"http://nphies.sa/terminology/CodeSystem/practice-codes", "http://terminology.hl7.org/CodeSystem/coverage-class",
	"http://terminology.hl7.org/CodeSystem/subscriber-relationship", "http://nphies.sa/terminology/CodeSystem/coverage-type",
	"http://nphies.sa/terminology/CodeSystem/organization-type", "http://nphies.sa/terminology/CodeSystem/claim-subtype",
	"http://nphies.sa/terminology/CodeSystem/diagnosis-type", "http://nphies.sa/terminology/CodeSystem/claim-information-category",
	"http://unitsofmeasure.org", "http://nphies.sa/terminology/CodeSystem/investigation-result",
	// What the claim types add: an institutional stay's hospitalization,
	// teeth's surfaces, the whole mouth as an examination's region, the
	// pharmacist's selection reason (BV-00708, newer than the examples).
	extension("pharmacistSelectionReason"), "http://nphies.sa/terminology/CodeSystem/pharmacist-selection-reason",
	extension("admissionSpecialty"), extension("dischargeSpecialty"), extension("intendedLengthOfStay"),
	"http://nphies.sa/terminology/CodeSystem/admit-source", "http://nphies.sa/terminology/CodeSystem/discharge-disposition",
	"http://nphies.sa/terminology/CodeSystem/intended-length-of-stay", "http://nphies.sa/terminology/CodeSystem/fdi-tooth-surface",
	"http://nphies.sa/terminology/CodeSystem/fdi-oral-region",
}

// lackingEverywhere is what the examples have and our bundles leave out on
// purpose or for want of the record, with why.
var lackingEverywhere = []string{
	// We check eligibility online, so no offline eligibility reference.
	extension("eligibility-offline-reference"), extension("eligibility-offline-date"),
	// Optional, and not recorded for the tests' patient and coverage: a
	// phone, a network, a coverage period; displays of fixed codes;
	// practitioners' split names; factor, which defaults to 1.
	"Patient.telecom", "Patient.telecom.system", "Patient.telecom.value", "Coverage.network", "Coverage.period",
	"Coverage.period.start", "Coverage.period.end", "Coverage.relationship.coding.display", "Coverage.type.coding.display",
	"Organization.identifier.use", "Practitioner.name.family", "Practitioner.name.given", "Claim.item.factor",
	"http://nphies.sa/terminology/CodeSystem/patient-identifier-type",
}

// TestEachClaimTypeThroughTheAPI makes each claim type's claim and prior
// authorization over GraphQL and follows it to the mock's approval.
func TestEachClaimTypeThroughTheAPI(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, "M-TYPES")
	visit := f.seenVisit(t, f.patient)
	for _, tc := range typedCases() {
		t.Run(tc.name, func(t *testing.T) {
			inv := f.typedInvoice(t, tc.lines...)
			mutation := "requestPriorAuthorization"
			if !tc.preauth {
				mutation = "submitClaim"
				f.issue(t, inv)
			}
			in := visit.claimInput(inv, "R07.1")
			in["type"] = tc.typ
			for k, v := range tc.input {
				in[k] = v
			}
			var out map[string]struct {
				ID, Type string
				Items    []shownItem
			}
			f.Do(t, f.billing, `mutation($in: SubmitClaimInput!) { `+mutation+`(input: $in) { id type
				items { sequence tooth surfaces daysSupply pharmacistSelectionReason } } }`, map[string]any{"in": in}).Decode(t, &out)
			if out[mutation].Type != tc.typ {
				t.Fatalf("claim type %q, want %s", out[mutation].Type, tc.typ)
			}
			assertItemsShown(t, out[mutation].Items, tc.input["items"])
			f.deliver(t)
			c := f.claim(t, out[mutation].ID)
			if c.Status != "APPROVED" {
				t.Fatalf("status %s, want APPROVED (history %+v)", c.Status, c.History)
			}
			event := "priorauth-request"
			if !tc.preauth {
				event = "claim-request"
			}
			sent := c.sent(event)
			if len(sent) != 1 {
				t.Fatalf("%d %s bundles sent, want 1", len(sent), event)
			}
			assertPassesRules(t, sent[0])
			got, want := shapesOf(t, sent[0], tc.example)
			for _, d := range fhirshape.Compare(got, want, moreEverywhere...) {
				t.Errorf("beyond %s: %s", tc.example, d)
			}
			for _, d := range fhirshape.Missing(got, want, slices.Concat(lackingEverywhere, tc.lacking)...) {
				t.Errorf("%s has, ours lacks: %s", tc.example, d)
			}
		})
	}
}

// shownItem is a claim item's type details as the API shows them.
type shownItem struct {
	Sequence                  int
	Tooth                     *string
	Surfaces                  []string
	DaysSupply                *int
	PharmacistSelectionReason *string
}

// assertItemsShown fails unless every item shows the tooth, surfaces, days
// supply and pharmacist's selection reason its input line gave, and an item no line named shows none.
func assertItemsShown(t *testing.T, items []shownItem, input any) {
	t.Helper()
	given := map[int]map[string]any{}
	lines, _ := input.([]map[string]any)
	for _, l := range lines {
		given[l["sequence"].(int)] = l
	}
	for _, it := range items {
		l := given[it.Sequence]
		want := shownItem{Sequence: it.Sequence}
		if tooth, ok := l["tooth"].(string); ok {
			want.Tooth = &tooth
		}
		want.Surfaces, _ = l["surfaces"].([]string)
		if days, ok := l["daysSupply"].(int); ok {
			want.DaysSupply = &days
		}
		if reason, ok := l["pharmacistSelectionReason"].(string); ok {
			want.PharmacistSelectionReason = &reason
		}
		if !reflect.DeepEqual(it, want) {
			shown, _ := json.Marshal(it)
			t.Errorf("item %d shows %s; the input gave %v", it.Sequence, shown, l)
		}
		delete(given, it.Sequence)
	}
	if len(given) > 0 {
		t.Errorf("no item shown for input lines %v", given)
	}
}

// TestBadClaimTypeInputWritesNothing: what a type needs and the input
// lacks, or gives to the wrong type, is BAD_USER_INPUT naming the input;
// an item outside the type's code systems is refused by the scrubber with
// NPHIES's rule id. Nothing is queued.
func TestBadClaimTypeInputWritesNothing(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, "M-BAD")
	visit := f.seenVisit(t, f.patient)
	issued := func(lines ...typedLine) string {
		inv := f.typedInvoice(t, lines...)
		f.issue(t, inv)
		return inv
	}
	dental, pharmacy, hospital, vision := issued(oralExam, restoration), issued(antiviral), issued(consultation), f.typedInvoice(t, glasses)
	claim := func(inv, typ string, more map[string]any) map[string]any {
		in := visit.claimInput(inv, "K01.1")
		in["type"] = typ
		for k, v := range more {
			in[k] = v
		}
		return in
	}
	stay := func(more map[string]any) map[string]any {
		a := map[string]any{"admittedAt": time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339), "admitSource": "EER",
			"admissionSpecialty": "08.26"}
		for k, v := range more {
			a[k] = v
		}
		return map[string]any{"admission": a}
	}
	const preauthMut = `mutation($in: SubmitClaimInput!) { requestPriorAuthorization(input: $in) { id } }`
	for _, tc := range []struct {
		name, mutation string
		in             map[string]any
		field          string
	}{
		{"a dental line without its tooth", submitClaimMut, claim(dental, "DENTAL",
			map[string]any{"items": []map[string]any{{"sequence": 1, "tooth": "00"}}}), "input.items.tooth"},
		{"a tooth that is not an FDI tooth", submitClaimMut, claim(dental, "DENTAL",
			map[string]any{"items": []map[string]any{{"sequence": 1, "tooth": "00"}, {"sequence": 2, "tooth": "19"}}}), "input.items.tooth"},
		{"surfaces without their tooth", submitClaimMut, claim(dental, "DENTAL",
			map[string]any{"items": []map[string]any{{"sequence": 1, "tooth": "00"}, {"sequence": 2, "surfaces": []string{"MESIAL"}}}}), "input.items.surfaces"},
		{"a medicine without its days supply", submitClaimMut, claim(pharmacy, "PHARMACY", nil), "input.items.daysSupply"},
		{"a medicine without the pharmacist's selection reason", submitClaimMut, claim(pharmacy, "PHARMACY",
			map[string]any{"items": []map[string]any{{"sequence": 1, "daysSupply": 30}}}), "input.items.pharmacistSelectionReason"},
		{"a selection reason NPHIES does not know", submitClaimMut, claim(pharmacy, "PHARMACY",
			map[string]any{"items": []map[string]any{{"sequence": 1, "daysSupply": 30, "pharmacistSelectionReason": "cheapest"}}}),
			"input.items.pharmacistSelectionReason"},
		{"a selection reason on a dental claim", submitClaimMut, claim(dental, "DENTAL",
			map[string]any{"items": []map[string]any{{"sequence": 1, "tooth": "00", "pharmacistSelectionReason": "Generic"}}}),
			"input.items.pharmacistSelectionReason"},
		{"a days supply on a dental claim", submitClaimMut, claim(dental, "DENTAL",
			map[string]any{"items": []map[string]any{{"sequence": 1, "tooth": "00", "daysSupply": 3}}}), "input.items.daysSupply"},
		{"a line the invoice does not have", submitClaimMut, claim(pharmacy, "PHARMACY",
			map[string]any{"items": []map[string]any{{"sequence": 9, "daysSupply": 3}}}), "input.items.sequence"},
		{"an institutional claim without its admission", submitClaimMut, claim(hospital, "INSTITUTIONAL", nil), "input.admission"},
		{"an institutional claim without its discharge", submitClaimMut, claim(hospital, "INSTITUTIONAL", stay(nil)), "input.admission.dischargedAt"},
		{"an admit source NPHIES does not know", submitClaimMut, claim(hospital, "INSTITUTIONAL", stay(map[string]any{"admitSource": "TAXI"})),
			"input.admission.admitSource"},
		{"a discharge without its disposition", submitClaimMut, claim(hospital, "INSTITUTIONAL", stay(map[string]any{
			"dischargedAt": time.Now().UTC().Format(time.RFC3339), "dischargeSpecialty": "08.26"})), "input.admission.dischargeDisposition"},
		{"an admission on a professional claim", submitClaimMut, claim(hospital, "PROFESSIONAL", stay(nil)), "input.admission"},
		{"a stay's prior authorization without its estimated length", preauthMut, claim(hospital, "INSTITUTIONAL", stay(nil)),
			"input.admission.estimatedLengthOfStayDays"},
		{"a vision prior authorization without its prescription", preauthMut, claim(vision, "VISION", nil), "input.visionPrescription"},
		{"a prescription with an axis out of range", preauthMut, claim(vision, "VISION", map[string]any{"visionPrescription": map[string]any{
			"writtenAt": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
			"lenses":    []map[string]any{{"eye": "LEFT", "sphere": 1.5, "cylinder": 0.5, "axis": 200}}}}), "input.visionPrescription.lenses.axis"},
		{"a contact lens with a prism (NPHIES IC-01419)", preauthMut, claim(vision, "VISION", map[string]any{"visionPrescription": map[string]any{
			"writtenAt": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
			"lenses":    []map[string]any{{"eye": "LEFT", "product": "CONTACT", "sphere": -2.25, "prismAmount": 1, "prismBase": "UP"}}}}),
			"input.visionPrescription.lenses.prismAmount"},
		{"a lens without its sphere (NPHIES IC-01417)", preauthMut, claim(vision, "VISION", map[string]any{"visionPrescription": map[string]any{
			"writtenAt": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
			"lenses":    []map[string]any{{"eye": "LEFT", "cylinder": 0.5, "axis": 90}}}}), "input.visionPrescription.lenses.sphere"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.Do(t, f.billing, tc.mutation, map[string]any{"in": tc.in})
			if r.Code() != hg.EINVALID || r.Field() != tc.field {
				t.Fatalf("code %q field %q, want BAD_USER_INPUT on %s (%+v)", r.Code(), r.Field(), tc.field, r.Errors)
			}
		})
	}
	// A consultation on a pharmacy claim is not in the pharmacy billing
	// value set: the scrubber names NPHIES's rule, and so does the refusal.
	wrong := issued(consultation)
	_, vs := f.readiness(t, claim(wrong, "PHARMACY", nil), "CLAIM")
	if v := findViolation(vs, "IB-00267"); v == nil || !v.Blocking || v.Part != "INVOICE_LINE" || v.LineSequence == nil || *v.LineSequence != 1 {
		t.Fatalf("a consultation on a pharmacy claim: IB-00267 %+v in %+v", v, vs)
	}
	if ids := f.refusedRules(t, submitClaimMut, claim(wrong, "PHARMACY", nil)); !slices.Contains(ids, "IB-00267") {
		t.Fatalf("submitClaim refused for %v, want IB-00267", ids)
	}
	if n := f.Count(t, `SELECT (SELECT count(*) FROM claims) + (SELECT count(*) FROM nphies_messages)`); n != 0 {
		t.Fatalf("%d claim rows or messages written for refused claims", n)
	}
}

// TestWhichClaimTypesNameTheirVisit: NPHIES requires the encounter of
// professional, institutional and dental claims and prior authorizations,
// so without appointmentId they are BAD_USER_INPUT on it, from the
// scrubber as from the mutations; no encounter is made up from the
// invoice (issue 15, finding 7). Pharmacy and vision, whose examples (9
// and 4, 11 and 6) carry no encounter, may go without the visit: then only
// the visit's minimum data set is missing (NPHIES asks it of every claim),
// which the scrubber names and the mutations refuse. Nothing is queued.
func TestWhichClaimTypesNameTheirVisit(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, "M-NOVISIT")
	visit := f.seenVisit(t, f.patient)
	minimumDataSet := []string{"BV-00752", "BV-00803", "BV-00804", "BV-00805", "BV-00806"}
	professional := []typedCase{{name: "professional claim", typ: "PROFESSIONAL", lines: []typedLine{consultation}},
		{name: "professional prior authorization", typ: "PROFESSIONAL", preauth: true, lines: []typedLine{consultation}}}
	for _, tc := range append(typedCases(), professional...) {
		t.Run(tc.name, func(t *testing.T) {
			inv := f.typedInvoice(t, tc.lines...)
			mutation, use := "requestPriorAuthorization", "PREAUTHORIZATION"
			if !tc.preauth {
				mutation, use = "submitClaim", "CLAIM"
				f.issue(t, inv)
			}
			in := visit.claimInput(inv, "R07.1")
			delete(in, "appointmentId")
			in["type"] = tc.typ
			for k, v := range tc.input {
				in[k] = v
			}
			mut := `mutation($in: SubmitClaimInput!) { ` + mutation + `(input: $in) { id } }`
			if tc.typ == "PHARMACY" || tc.typ == "VISION" {
				ready, vs := f.readiness(t, in, use)
				for _, v := range vs {
					if v.Blocking && !slices.Contains(minimumDataSet, v.Rule) {
						t.Errorf("without the visit: %s at %s: %s", v.Rule, v.Expression, v.Message)
					}
				}
				if ready {
					t.Errorf("ready without the visit's minimum data set")
				}
				f.refusedRules(t, mut, in)
				return
			}
			for _, r := range []servertest.Response{
				f.Do(t, f.billing, mut, map[string]any{"in": in}),
				f.Do(t, f.billing, readinessQuery, map[string]any{"in": in, "use": use}),
			} {
				if r.Code() != hg.EINVALID || r.Field() != "input.appointmentId" {
					t.Fatalf("code %q field %q, want BAD_USER_INPUT on input.appointmentId (%+v)", r.Code(), r.Field(), r.Errors)
				}
			}
		})
	}
	if n := f.Count(t, `SELECT (SELECT count(*) FROM claims) + (SELECT count(*) FROM nphies_messages)`); n != 0 {
		t.Fatalf("%d claim rows or messages written for refused claims", n)
	}
}
