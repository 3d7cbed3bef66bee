package rules_test

import (
	"slices"
	"testing"

	"github.com/healthgraph/healthgraph/nphies/rules"
)

// Tests of bv_last.go: each rule broken by one mutation of an official
// example at its expression (lastBreaks), and not broken by the examples
// made to meet it (lastMeets).

const (
	cancelRequest  = "17a-cancel-request.json"
	cancelResponse = "17b-cancel-response.json"
	cancelTask     = "Bundle.entry[1].resource"
	errorExpr      = nphiesExt + "error-expression"
)

// taskError is a Task error output coded as the mock codes it; with an
// expression, the error names the element at fault.
func taskError(expression string) map[string]any {
	cc := coded(nphiesCodes+"adjudication-error", "BV-00222")
	if expression != "" {
		cc["extension"] = []any{map[string]any{"url": errorExpr, "valueString": expression}}
	}
	return map[string]any{"type": coded(nphiesCodes+"task-output-type", "error"), "valueCodeableConcept": cc}
}

// rejectedAsClaimed answers the cancel of a Claim of the use, carried in
// the message, with the status reason "claimed".
func rejectedAsClaimed(use string) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		task := d.resource(t, "Task")
		task["status"], task["statusReason"] = "rejected", coded(nphiesCodes+"task-status-reason", "claimed")
		d["entry"] = append(d["entry"].([]any), map[string]any{"fullUrl": "http://saudicentralpharmacy.sa.com/Claim/9",
			"resource": map[string]any{"resourceType": "Claim", "id": "9", "use": use, "identifier": []any{task["focus"].(map[string]any)["identifier"]}}})
	}
}

// requester sets the cancel Task's requester type.
func requester(kind string) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) { d.resource(t, "Task")["requester"].(map[string]any)["type"] = kind }
}

// secondCoding adds a coding to the first item's productOrService.
func secondCoding(system, code string) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		ps := d.resource(t, "Claim")["item"].([]any)[0].(map[string]any)["productOrService"].(map[string]any)
		ps["coding"] = append(ps["coding"].([]any), map[string]any{"system": system, "code": code})
	}
}

func lastBreaks() []sendCase {
	return []sendCase{
		{"a reference to a patient the bundle lacks", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["patient"] = map[string]any{"reference": "http://provider.com/Patient/none"}
		}, "BV-00079", outpatientClaim + ".patient.reference"},
		{"a resource type R4 does not have", outpatient, entryOf("Invoicee"), "BV-00080", "Bundle.entry[9].resource.resourceType"},
		{"a resource type NPHIES's value set does not have", outpatient, entryOf("Invoicee"), "IB-00252", "Bundle.entry[9].resource.resourceType"},
		{"an organization type NPHIES does not define", outpatient, func(t *testing.T, d doc) {
			d["entry"].([]any)[7].(map[string]any)["resource"].(map[string]any)["type"] = []any{coded(nphiesCodes+"organization-type", "club")}
		}, "BV-00187", "Bundle.entry[7].resource.type[0]"},
		{"a payee type HL7 does not define", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["payee"] = map[string]any{"type": coded("http://terminology.hl7.org/CodeSystem/payeetype", "nobody")}
		}, "BV-00190", outpatientClaim + ".payee.type"},
		{"a payment type NPHIES does not define", authResponse, setOn("ClaimResponse", "payment",
			map[string]any{"type": coded(nphiesCodes+"claim-payment-type", "whole"), "amount": map[string]any{"value": 10, "currency": "SAR"}}),
			"BV-00192", outpatientClaim + ".payment.type"},
		{"a requester typed as a location", cancelRequest, requester("Location"), "BV-00206", cancelTask + ".requester.type"},
		{"a requester typed as a patient that is an organization", cancelRequest, requester("Patient"), "BV-00206", cancelTask + ".requester.type"},
		{"an owner named by display only", cancelRequest, setOn("Task", "owner", map[string]any{"display": "the payer"}),
			"BV-00210", cancelTask + ".owner.reference"},
		{"a cancel error without its location", cancelResponse, output(taskError("")),
			"BV-00249", cancelTask + ".output[0].valueCodeableConcept.extension"},
		{"a cancel response's error without its location", cancelResponse, output(taskError("")),
			"IC-00400", cancelTask + ".output[0].valueCodeableConcept.extension"},
		{"a poll response's error without its location", "12b-poll-response.json", output(taskError("")),
			"IC-00397", cancelTask + ".output[0].valueCodeableConcept.extension"},
		{"a claim's cancel refused as claimed", cancelResponse, rejectedAsClaimed("claim"), "BV-00464", cancelTask + ".statusReason"},
		{"a modifier extension", outpatient, setOn("Claim", "modifierExtension", []any{map[string]any{"url": nphiesExt + "x", "valueBoolean": true}}),
			"BV-00472", outpatientClaim + ".modifierExtension[0]"},
		{"a service coded twice from the professional value set", outpatient, secondCoding(nphiesCodes+"laboratory", "55000-00-00"),
			"BV-00527", outpatientClaim + ".item[0].productOrService.coding"},
		{"a poll response sent by a provider", "12b-poll-response.json", func(t *testing.T, d doc) {
			d.resource(t, "MessageHeader")["sender"] = map[string]any{"type": "Organization",
				"identifier": map[string]any{"system": "http://nphies.sa/license/provider-license", "value": "N-F-00001"}}
		}, "BV-00545", "Bundle.entry[0].resource.eventCoding"},
		{"an event NPHIES does not define (the sheet's second row)", outpatient, func(t *testing.T, d doc) {
			onEvent(t, d, "invoice-request")
		}, "IB-00250", "Bundle.entry[0].resource.eventCoding"},
		{"a use R4 does not define (the sheet's 'claim. Use')", outpatient, setOn("Claim", "use", "invoice"), "IB-00246", outpatientClaim + ".use"},
	}
}

func lastMeets() []sendCase {
	return []sendCase{
		{"a resource type R4 has", outpatient, entryOf("Observation"), "", ""},
		{"a payment type NPHIES defines", authResponse, setOn("ClaimResponse", "payment",
			map[string]any{"type": coded(nphiesCodes+"claim-payment-type", "partial"), "amount": map[string]any{"value": 10, "currency": "SAR"}}), "", ""},
		{"a requester typed as the organization it is", cancelRequest, requester("Organization"), "", ""},
		{"an owner by identifier", cancelRequest, setOn("Task", "owner", map[string]any{"type": "Organization",
			"identifier": map[string]any{"system": "http://nphies.sa/license/payer-license", "value": "INS-FHIR"}}), "", ""},
		{"a cancel error with its location", cancelResponse, output(taskError("Bundle.entry[1].resource.focus")), "", ""},
		{"a poll error with its location", "12b-poll-response.json", output(taskError("Bundle.entry[1].resource.input[0]")), "", ""},
		{"an authorization's cancel refused as claimed", cancelResponse, rejectedAsClaimed("preauthorization"), "", ""},
		{"a service coded by NPHIES and by the provider", outpatient, secondCoding("http://provider.com/services", "OFF-1"), "", ""},
	}
}

func TestMutatedExamplesBreakTheLastRules(t *testing.T) {
	t.Parallel()
	assertBreaks(t, lastBreaks())
}

func TestExamplesMadeToMeetTheLastRulesPassThem(t *testing.T) {
	t.Parallel()
	assertMeets(t, lastBreaks(), lastMeets())
}

// assertBreaks checks that each case's mutation breaks its rule at its expression.
func assertBreaks(t *testing.T, cases []sendCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vs := mutated(t, tc.file, tc.mutate)
			if !slices.ContainsFunc(vs, func(v rules.Violation) bool {
				return v.Rule == tc.rule && v.Expression == tc.expr && v.Message != "" && v.Severity == rules.SeverityError
			}) {
				t.Errorf("no %s at %s; got %v", tc.rule, tc.expr, vs)
			}
		})
	}
}

// assertMeets checks that no example made to meet the rules breaks one
// that breaks tests.
func assertMeets(t *testing.T, breaks, meets []sendCase) {
	t.Helper()
	tested := map[string]bool{}
	for _, tc := range breaks {
		tested[tc.rule] = true
	}
	for _, tc := range meets {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, v := range mutated(t, tc.file, tc.mutate) {
				if tested[v.Rule] {
					t.Errorf("%s at %s: %s", v.Rule, v.Expression, v.Message)
				}
			}
		})
	}
}
