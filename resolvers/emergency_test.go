package resolvers_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/fhirshape"
)

// Emergency visits (issue 15): a professional claim or prior authorization
// given `emergency` sends the visit's encounter as class EMER with the
// elements NPHIES's rule sheet asks of it (triage category and date,
// arrival, when emergency care began, the department's disposition:
// BV-00728, BV-00732-735), priority EM and the claim's subtype emr
// (BV-00755). No official example is an emergency, so the bundle is
// compared with the professional examples (10 and 5a) and may carry only
// those elements beyond them.

// emergencyBeyond is what an emergency adds to a professional bundle.
var emergencyBeyond = []string{extension("triageCategory"), extension("triageDate"), extension("emergencyArrivalCode"),
	extension("emergencyServiceStart"), extension("emergencyDepartmentDisposition"),
	"http://nphies.sa/terminology/CodeSystem/triage-category", "http://nphies.sa/terminology/CodeSystem/emergency-arrival-code",
	"http://nphies.sa/terminology/CodeSystem/emergency-department-disposition", "http://terminology.hl7.org/CodeSystem/v3-ActPriority"}

// emergencyOf is an emergency's input for a visit: triaged and treated
// ten minutes after it began.
func emergencyOf(v visitOut) map[string]any {
	at := v.appointment.StartsAt.Add(10 * time.Minute).UTC().Format(time.RFC3339)
	return map[string]any{"triageCategory": "VU", "triageDate": at, "arrivalCode": "GEMSA", "serviceStart": at, "disposition": "NAD"}
}

func TestEmergencyClaimsThroughTheAPI(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, "M-EMER")
	visit := f.seenVisit(t, f.patient)
	for _, tc := range []struct {
		name, example string
		preauth       bool
		lacking       []string
	}{
		{name: "claim", example: "10-claim-professional-request.json", lacking: []string{
			// Authorized offline in the example; no prior authorization
			// was approved for this invoice, so none is quoted.
			extension("authorization-offline-date"), "Claim.insurance.preAuthRef",
			// A first submission relates to no earlier claim.
			"http://nphies.sa/terminology/CodeSystem/related-claim-relationship", "Claim.related", "Claim.related.claim",
			"Claim.related.claim.identifier", "Claim.related.claim.identifier.system", "Claim.related.claim.identifier.value",
			"Claim.related.claim.type", "Claim.related.relationship", "Claim.related.relationship.coding",
			"Claim.related.relationship.coding.code", "Claim.related.relationship.coding.system",
			// The example's last menstrual period is dated; no finding of ours is.
			"Claim.supportingInfo.timingDate"}},
		{name: "prior authorization", example: "5a-preauth-professional-request.json", preauth: true, lacking: []string{
			// The patient was not transferred from another facility, and
			// the emergency is the reason for the visit.
			extension("transfer"), "http://nphies.sa/terminology/CodeSystem/visit-reason"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := f.typedInvoice(t, consultation)
			mutation, event := "requestPriorAuthorization", "priorauth-request"
			if !tc.preauth {
				mutation, event = "submitClaim", "claim-request"
				f.issue(t, inv)
			}
			in := visit.claimInput(inv, "S06.0")
			in["emergency"] = emergencyOf(visit)
			var out map[string]struct{ ID string }
			f.Do(t, f.billing, `mutation($in: SubmitClaimInput!) { `+mutation+`(input: $in) { id } }`,
				map[string]any{"in": in}).Decode(t, &out)
			f.deliver(t)
			c := f.claim(t, out[mutation].ID)
			if c.Status != "APPROVED" {
				t.Fatalf("status %s, want APPROVED (history %+v)", c.Status, c.History)
			}
			sent := c.sent(event)
			if len(sent) != 1 {
				t.Fatalf("%d %s bundles sent, want 1", len(sent), event)
			}
			assertPassesRules(t, sent[0])
			enc, subType := emergencyEncounterIn(t, sent[0])
			if enc.Class.Code != "EMER" || enc.Priority.Coding[0].Code != "EM" || subType != "emr" {
				t.Errorf("encounter class %s priority %+v, claim subtype %s; want EMER, EM, emr", enc.Class.Code, enc.Priority, subType)
			}
			got, want := shapesOf(t, sent[0], tc.example)
			for _, d := range fhirshape.Compare(got, want, slices.Concat(moreEverywhere, emergencyBeyond)...) {
				t.Errorf("beyond %s: %s", tc.example, d)
			}
			for _, d := range fhirshape.Missing(got, want, slices.Concat(lackingEverywhere, tc.lacking)...) {
				t.Errorf("%s has, ours lacks: %s", tc.example, d)
			}
		})
	}
}

// emergencyEncounterIn returns the Encounter of a bundle and its Claim's
// subtype code.
func emergencyEncounterIn(t *testing.T, body string) (enc struct {
	Class    struct{ Code string }
	Priority struct{ Coding []struct{ Code string } }
}, subType string) {
	t.Helper()
	var bundle struct {
		Entry []struct{ Resource json.RawMessage }
	}
	if err := json.Unmarshal([]byte(body), &bundle); err != nil {
		t.Fatal(err)
	}
	for _, e := range bundle.Entry {
		var r struct {
			ResourceType string
			SubType      struct{ Coding []struct{ Code string } }
		}
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			t.Fatal(err)
		}
		switch r.ResourceType {
		case "Encounter":
			if err := json.Unmarshal(e.Resource, &enc); err != nil {
				t.Fatal(err)
			}
		case "Claim":
			subType = r.SubType.Coding[0].Code
		}
	}
	if len(enc.Priority.Coding) == 0 {
		t.Fatalf("the encounter has no priority")
	}
	return enc, subType
}

// TestBadEmergencyInputWritesNothing: an emergency on another type than
// professional, codes NPHIES's lists lack, what a claim needs and lacks,
// and times out of order are BAD_USER_INPUT naming the input; nothing is
// queued.
func TestBadEmergencyInputWritesNothing(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, "M-EMERBAD")
	visit := f.seenVisit(t, f.patient)
	consult, dental := f.typedInvoice(t, consultation), f.typedInvoice(t, oralExam)
	f.issue(t, consult)
	f.issue(t, dental)
	claim := func(inv string, change map[string]any) map[string]any {
		in := visit.claimInput(inv, "S06.0")
		e := emergencyOf(visit)
		for k, v := range change {
			if v == nil {
				delete(e, k)
			} else {
				e[k] = v
			}
		}
		in["emergency"] = e
		return in
	}
	before := visit.appointment.StartsAt.Add(-time.Minute).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name  string
		in    map[string]any
		field string
	}{
		{"an emergency on a dental claim", func() map[string]any {
			in := claim(dental, nil)
			in["type"], in["items"] = "DENTAL", []map[string]any{{"sequence": 1, "tooth": "00"}}
			return in
		}(), "input.emergency"},
		{"a triage category NPHIES does not know", claim(consult, map[string]any{"triageCategory": "RED"}), "input.emergency.triageCategory"},
		{"a triage in the future", claim(consult, map[string]any{"triageDate": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}),
			"input.emergency.triageDate"},
		{"a claim without the arrival", claim(consult, map[string]any{"arrivalCode": nil}), "input.emergency.arrivalCode"},
		{"an arrival code NPHIES does not know", claim(consult, map[string]any{"arrivalCode": "TAXI"}), "input.emergency.arrivalCode"},
		{"a claim without the start of emergency care", claim(consult, map[string]any{"serviceStart": nil}), "input.emergency.serviceStart"},
		{"emergency care before the visit", claim(consult, map[string]any{"serviceStart": before}), "input.emergency.serviceStart"},
		{"a claim without the disposition", claim(consult, map[string]any{"disposition": nil}), "input.emergency.disposition"},
		{"died in the department without the cause", claim(consult, map[string]any{"disposition": "DED"}), "input.emergency.causeOfDeath"},
		{"a cause of death for a patient who went home", claim(consult, map[string]any{"causeOfDeath": "S06.0"}), "input.emergency.causeOfDeath"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.Do(t, f.billing, submitClaimMut, map[string]any{"in": tc.in})
			if r.Code() != hg.EINVALID || r.Field() != tc.field {
				t.Fatalf("code %q field %q, want BAD_USER_INPUT on %s (%+v)", r.Code(), r.Field(), tc.field, r.Errors)
			}
		})
	}
	if n := f.Count(t, `SELECT (SELECT count(*) FROM claims) + (SELECT count(*) FROM nphies_messages)`); n != 0 {
		t.Fatalf("%d claim rows or messages written for refused claims", n)
	}
}

// TestEmergencyClaimResubmittedAsOne: an emergency is kept with its claim,
// so the rejected claim's resubmission is sent as an emergency again
// (encounter EMER, subtype emr) and shows its emergency and the corrected
// diagnoses, passing the rules.
func TestEmergencyClaimResubmittedAsOne(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, "REJECT-EMER")
	visit := f.seenVisit(t, f.patient)
	inv := f.typedInvoice(t, consultation)
	f.issue(t, inv)
	in := visit.claimInput(inv, "S06.0")
	in["emergency"] = emergencyOf(visit)
	_, resubmitted, c := f.rejectedAndResubmitted(t, in, "M-EMER-AGAIN", visit.practitioner, "S06.0", "R51")
	sent := c.sent("claim-request")
	if len(sent) != 1 {
		t.Fatalf("%d claim-request bundles sent, want 1", len(sent))
	}
	assertPassesRules(t, sent[0])
	if enc, subType := emergencyEncounterIn(t, sent[0]); enc.Class.Code != "EMER" || subType != "emr" {
		t.Errorf("resubmission: encounter class %s, claim subtype %s; want EMER, emr", enc.Class.Code, subType)
	}
	var shown struct{ Claim json.RawMessage }
	f.Do(t, f.billing, `query($id: ID!) { claim(id: $id) { diagnoses emergency { triageCategory triageDate arrivalCode serviceStart
		disposition causeOfDeath } } }`, map[string]any{"id": resubmitted}).Decode(t, &shown)
	want := shownClaim(in, visit)
	assertShown(t, "the resubmission", shown.Claim, map[string]any{"diagnoses": []string{"S06.0", "R51"}, "emergency": want["emergency"]})
}
