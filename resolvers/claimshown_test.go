package resolvers_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"testing"

	hg "github.com/healthgraph/healthgraph"
)

// A claim shows what it was submitted with (issue 15): its diagnoses, its
// practitioner and visit, and what its type carried beyond the items (the
// stay, the prescription, the emergency), and describes its documents
// without their content.

// claimShownFields is the selection of what a claim was submitted with.
const claimShownFields = `id diagnoses practitioner { id } appointment { id practitioner { id } }
	admission { class admittedAt dischargedAt admitSource admissionSpecialty dischargeSpecialty dischargeDisposition
		causeOfDeath estimatedLengthOfStayDays diagnosesOnAdmission }
	visionPrescription { writtenAt lenses { eye product sphere cylinder axis add prismAmount prismBase } }
	emergency { triageCategory triageDate arrivalCode serviceStart disposition causeOfDeath }
	attachments { title contentType kind size }`

// shownAs is what the API shows of an input object: each of fields as
// given, null when not given, defaults for what the schema defaults.
func shownAs(in map[string]any, defaults map[string]any, fields ...string) map[string]any {
	if in == nil {
		return nil
	}
	out := map[string]any{}
	for _, f := range fields {
		out[f] = in[f]
		if v, ok := defaults[f]; ok && in[f] == nil {
			out[f] = v
		}
	}
	return out
}

// shownClaim is what a claim submitted with in for visit must show.
func shownClaim(in map[string]any, visit visitOut) map[string]any {
	var admission, prescription, emergency map[string]any
	if a, ok := in["admission"].(map[string]any); ok {
		admission = shownAs(a, map[string]any{"diagnosesOnAdmission": []string{}}, "class", "admittedAt", "dischargedAt",
			"admitSource", "admissionSpecialty", "dischargeSpecialty", "dischargeDisposition", "causeOfDeath",
			"estimatedLengthOfStayDays", "diagnosesOnAdmission")
	}
	if p, ok := in["visionPrescription"].(map[string]any); ok {
		var lenses []map[string]any
		for _, l := range p["lenses"].([]map[string]any) {
			lenses = append(lenses, shownAs(l, map[string]any{"product": "GLASSES"},
				"eye", "product", "sphere", "cylinder", "axis", "add", "prismAmount", "prismBase"))
		}
		prescription = map[string]any{"writtenAt": p["writtenAt"], "lenses": lenses}
	}
	if e, ok := in["emergency"].(map[string]any); ok {
		emergency = shownAs(e, nil, "triageCategory", "triageDate", "arrivalCode", "serviceStart", "disposition", "causeOfDeath")
	}
	attachments := []map[string]any{}
	docs, _ := in["attachments"].([]map[string]any)
	for _, d := range docs {
		raw, _ := base64.StdEncoding.DecodeString(d["data"].(string))
		attachments = append(attachments, map[string]any{"title": d["title"], "contentType": d["contentType"],
			"kind": shownAs(d, map[string]any{"kind": "DOCUMENT"}, "kind")["kind"], "size": len(raw)})
	}
	practitioner := map[string]any{"id": visit.practitioner}
	return map[string]any{"diagnoses": in["diagnoses"], "practitioner": practitioner,
		"appointment": map[string]any{"id": gid("Appointment", visit.appointment.ID), "practitioner": practitioner},
		"admission":   admission, "visionPrescription": prescription, "emergency": emergency, "attachments": attachments}
}

// assertShown fails unless got (a claim as JSON) shows each field of want,
// compared as JSON.
func assertShown(t *testing.T, name string, got json.RawMessage, want map[string]any) {
	t.Helper()
	var shown map[string]any
	if err := json.Unmarshal(got, &shown); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var norm map[string]any
	if err := json.Unmarshal(raw, &norm); err != nil {
		t.Fatal(err)
	}
	for k, w := range norm {
		if !reflect.DeepEqual(shown[k], w) {
			g, _ := json.Marshal(shown[k])
			e, _ := json.Marshal(w)
			t.Errorf("%s: %s = %s, submitted with %s", name, k, g, e)
		}
	}
}

// TestClaimsShowWhatTheyWereSubmittedWith submits a claim or prior
// authorization of each type, an emergency with documents among them, for
// two visits with different practitioners and with diagnoses of their own,
// and reads them back as one page: each shows its own diagnoses,
// practitioner, visit, stay, prescription, emergency and documents, and
// null where its type carries none. The visit is shown to an
// administrator, audited; billing is refused it and sees the rest.
func TestClaimsShowWhatTheyWereSubmittedWith(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, "M-SHOWN")
	_, admin := f.User(t, "admin@example.com", hg.RoleAdmin)
	visits := []visitOut{f.seenVisit(t, f.patient), f.seenVisit(t, f.patient)}
	report, scanned := attachment("Investigation report", "application/pdf", labReport), attachment("Referral letter", "image/jpeg", scan)
	report["kind"] = "INVESTIGATION_RESULT"
	cases := append(typedCases(), typedCase{name: "emergency claim with documents", typ: "PROFESSIONAL",
		lines: []typedLine{consultation}, input: map[string]any{"emergency": emergencyOf(visits[1]),
			"attachments": []map[string]any{report, scanned}}})
	// Documents on a second claim tell one claim's from another's.
	for _, tc := range cases {
		if tc.name == "dental prior authorization" {
			tc.input["attachments"] = []map[string]any{attachment("X-ray of tooth 13", "image/jpeg", scan[:1024])}
		}
	}
	// A second code of each claim's own tells one claim's diagnoses from
	// another's.
	second := []string{"I10", "J06.9", "R51", "E11.9", "K02.1", "K01.1", "M54.5", "J02.9", "S06.0"}
	want := map[string]map[string]any{}
	names := map[string]string{}
	for i, tc := range cases {
		visit := visits[i%2]
		if tc.input["emergency"] != nil {
			visit = visits[1]
		}
		inv := f.typedInvoice(t, tc.lines...)
		mutation := "requestPriorAuthorization"
		if !tc.preauth {
			mutation = "submitClaim"
			f.issue(t, inv)
		}
		in := visit.claimInput(inv, "R07.1", second[i])
		in["type"] = tc.typ
		for k, v := range tc.input {
			in[k] = v
		}
		var out map[string]struct{ ID string }
		f.Do(t, f.billing, `mutation($in: SubmitClaimInput!) { `+mutation+`(input: $in) { id } }`,
			map[string]any{"in": in}).Decode(t, &out)
		id := out[mutation].ID
		want[id], names[id] = shownClaim(in, visit), tc.name
	}

	var page struct {
		Claims struct {
			Edges []struct{ Node json.RawMessage }
		}
	}
	f.Do(t, admin, `{ claims(first: 20) { edges { node { `+claimShownFields+` } } } }`, nil).Decode(t, &page)
	if len(page.Claims.Edges) != len(want) {
		t.Fatalf("%d claims listed, want %d", len(page.Claims.Edges), len(want))
	}
	for _, e := range page.Claims.Edges {
		var c struct{ ID string }
		if err := json.Unmarshal(e.Node, &c); err != nil {
			t.Fatal(err)
		}
		assertShown(t, names[c.ID], e.Node, want[c.ID])
	}
	if n := f.Count(t, `SELECT count(DISTINCT entity_id) FROM audit_disclosures
		WHERE action = 'appointment.read' AND actor_role = 'ADMIN'`); n != len(visits) {
		t.Errorf("the visits shown left %d appointment.read rows, want %d", n, len(visits))
	}

	// Billing reads the claim but not its visit.
	for id, w := range want {
		r := f.Do(t, f.billing, `query($id: ID!) { claim(id: $id) { `+claimShownFields+` } }`, map[string]any{"id": id})
		if len(r.Errors) != 1 || r.Code() != hg.EFORBIDDEN || fmt.Sprint(r.Errors[0].Path) != "[claim appointment]" {
			t.Fatalf("%s as billing: errors %+v, want FORBIDDEN on claim.appointment alone", names[id], r.Errors)
		}
		var got struct{ Claim json.RawMessage }
		if err := json.Unmarshal(r.Data, &got); err != nil {
			t.Fatal(err)
		}
		w = maps.Clone(w)
		w["appointment"] = nil
		assertShown(t, names[id]+" as billing", got.Claim, w)
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_disclosures WHERE action = 'appointment.read' AND actor_role = 'BILLING'`); n != 0 {
		t.Errorf("%d appointment.read rows by billing, who was shown none", n)
	}
}
