package resolvers_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	hg "github.com/healthgraph/healthgraph"
)

// TestWhatIsNotKnownIsNull: an optional text nobody recorded reads as null,
// not "", so a client can tell "not known" from a value; one recorded reads
// back as written.
func TestWhatIsNotKnownIsNull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := newBillingEnv(t)
	u, _ := b.User(t, "dr.nulls@example.com", hg.RolePractitioner)
	pr, err := b.DB.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Faisal", FamilyName: "Al-Shehri",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "SCFHS-" + uuid.NewString()[:8]})
	if err != nil {
		t.Fatal(err)
	}
	start := nextVisitStart()
	appt, err := b.DB.BookAppointment(ctx, hg.PatientScope{All: true}, hg.NewAppointment{PatientID: b.patient.ID,
		PractitionerID: pr.ID, StartsAt: start, EndsAt: start.Add(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	inv := b.createInvoice(t, b.patient, b.coverage)
	b.issue(t, inv.ID)
	var claim struct{ SubmitClaim struct{ ID string } }
	b.Do(t, b.billing, submitClaimMut, map[string]any{"in": b.seenVisit(t, b.patient).claimInput(inv.ID, "I10")}).Decode(t, &claim)

	reads := []struct {
		name, token, query string
		id                 string
		want               []string // fields of the one object read, each null
	}{
		{"patient", b.billing, `query($id: ID!) { node: patient(id: $id) { firstNameAr familyNameAr phone email } }`,
			gid("Patient", b.patient.ID), []string{"firstNameAr", "familyNameAr", "phone", "email"}},
		{"appointment", b.patientToken, `query($id: ID!) { node(id: $id) { ... on Appointment { reason cancelReason } } }`,
			gid("Appointment", appt.ID), []string{"reason", "cancelReason"}},
		{"invoice", b.billing, `query($id: ID!) { node: invoice(id: $id) { voidReason } }`, inv.ID, []string{"voidReason"}},
		{"queued claim", b.billing, `query($id: ID!) { node: claim(id: $id) { disposition preAuthRef lastError } }`,
			claim.SubmitClaim.ID, []string{"disposition", "preAuthRef", "lastError"}},
	}
	for _, r := range reads {
		var out struct{ Node map[string]any }
		b.Do(t, r.token, r.query, map[string]any{"id": r.id}).Decode(t, &out)
		if out.Node == nil {
			t.Fatalf("%s: nothing read", r.name)
		}
		for _, f := range r.want {
			if v, ok := out.Node[f]; !ok || v != nil {
				t.Errorf("%s.%s = %#v, want null", r.name, f, v)
			}
		}
	}

	var lists struct {
		Claim struct {
			Items    []map[string]any
			Messages []map[string]any
		}
	}
	b.Do(t, b.billing, `query($id: ID!) { claim(id: $id) { items { outcome } messages { lastError } } }`,
		map[string]any{"id": claim.SubmitClaim.ID}).Decode(t, &lists)
	c := lists.Claim
	if len(c.Items) == 0 || len(c.Messages) == 0 {
		t.Fatalf("claim lists = %+v, want items and a message", c)
	}
	for field, rows := range map[string][]map[string]any{"outcome": c.Items, "lastError": c.Messages} {
		for _, row := range rows {
			if v, ok := row[field]; !ok || v != nil {
				t.Errorf("%s = %#v on a queued claim, want null", field, v)
			}
		}
	}

	// Recorded text reads back as written.
	if _, err := b.DB.UpdatePatient(ctx, hg.PatientScope{All: true}, b.patient.ID, hg.PatientPatch{Phone: ptr("+966500000001")}); err != nil {
		t.Fatal(err)
	}
	var p struct{ Patient struct{ Phone *string } }
	b.Do(t, b.billing, `query($id: ID!) { patient(id: $id) { phone } }`, map[string]any{"id": gid("Patient", b.patient.ID)}).Decode(t, &p)
	if p.Patient.Phone == nil || *p.Patient.Phone != "+966500000001" {
		t.Fatalf("phone = %v, want the recorded number", p.Patient.Phone)
	}
}
