package resolvers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// TestNodeReadsAreAuditedAsTheDirectQueries fetches each PHI-bearing type
// through node(id:), with the fields that disclose its patient, and expects
// the audit row the type's direct query leaves (an appointment, which has
// no single query, as appointment.read, like its list's rows).
func TestNodeReadsAreAuditedAsTheDirectQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	db, all := env.DB, hg.PatientScope{All: true}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	admin, adminToken := env.User(t, "admin@clinic.example", hg.RoleAdmin)
	drUser, _ := env.User(t, "dr@clinic.example", hg.RolePractitioner)
	pr, err := db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: drUser.ID, FirstName: "Huda", FamilyName: "Alqahtani",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-1"})
	must(err)
	amal, err := db.CreatePatient(ctx, hg.NewPatient{NationalID: "1000000301", FirstName: "Amal", FamilyName: "Alghamdi",
		BirthDate: time.Date(1975, 3, 9, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	must(err)
	today := hg.DateOf(time.Now())
	cov, err := db.AddCoverage(ctx, all, hg.NewCoverage{PatientID: amal.ID, PayerLicense: "7001463160", PayerName: "Bupa Arabia", MemberIDSystem: "http://payer.example/memberid", Class: "A",
		MemberID: "M-1", PolicyNumber: "POL-7", StartsOn: today.AddDate(0, -1, 0), EndsOn: today.AddDate(1, 0, 0)})
	must(err)
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Hour)
	// The visit the claim below is for.
	appt, _, err := pgtest.Visit(ctx, db, amal.ID, pr, start)
	must(err)
	rec, err := db.AddRecord(ctx, all, hg.NewRecord{PatientID: amal.ID, AuthorID: drUser.ID, Kind: hg.RecordNote, Body: "Seen"})
	must(err)
	inv, err := db.CreateInvoice(ctx, all, hg.NewInvoice{PatientID: amal.ID, CoverageID: &cov.ID, Lines: []hg.NewInvoiceLine{
		{CodeSystem: hg.SystemServices, ServiceCode: "83600-00-10", Description: "Consultation", Quantity: 1, UnitPrice: 30000}}})
	must(err)
	_, err = db.IssueInvoice(ctx, inv.ID)
	must(err)
	var sub struct{ SubmitClaim idOut }
	env.Do(t, adminToken, mSubmitClaim, map[string]any{"in": map[string]any{"invoiceId": gid("Invoice", inv.ID),
		"practitionerId": gid("Practitioner", pr.ID), "appointmentId": gid("Appointment", appt.ID), "diagnoses": []string{"I10"}}}).Decode(t, &sub)
	claim := rawID(t, sub.SubmitClaim.ID)

	for _, c := range []struct {
		typ       string
		id        uuid.UUID
		fragment  string
		wantRow   row
		viaDirect string
	}{
		{"Patient", amal.ID, `... on Patient { firstName phone }`, aboutPatient("patient.read", amal.ID), "patient(id:)"},
		{"Appointment", appt.ID, `... on Appointment { startsAt reason patient { firstName phone } }`,
			on("appointment.read", "Appointment", appt.ID, amal.ID), "appointments(filter:) item"},
		{"MedicalRecord", rec.ID, `... on MedicalRecord { body }`, aboutPatient("records.read", amal.ID), "medicalRecords(patientId:)"},
		{"Invoice", inv.ID, `... on Invoice { number patientId }`, on("invoice.read", "Invoice", inv.ID, amal.ID), "invoice(id:)"},
		{"Claim", claim, `... on Claim { status patientId }`, on("claim.read", "Claim", claim, amal.ID), "claim(id:)"},
		{"Coverage", cov.ID, `... on Coverage { memberId }`, on("coverage.read", "Coverage", cov.ID, amal.ID), "the Coverage node"},
	} {
		t.Run(c.typ+" read through node leaves the row "+c.viaDirect+" leaves", func(t *testing.T) {
			before := auditIDs(t, env)
			r := env.Do(t, adminToken, `query($id: ID!) { node(id: $id) { id `+c.fragment+` } }`, map[string]any{"id": gid(c.typ, c.id)})
			var out struct{ Node map[string]any }
			r.Decode(t, &out)
			if out.Node == nil {
				t.Fatalf("node(id:) returned nothing for the %s", c.typ)
			}
			want := []audited{{admin.ID, hg.RoleAdmin, c.wantRow.action, c.wantRow.entityType, c.wantRow.entity, c.wantRow.patient}}
			if missing, extra := diffLedger(want, auditRowsSince(t, env, before)); len(missing)+len(extra) > 0 {
				t.Errorf("audit rows differ\nmissing:\n%s\nunexpected:\n%s", strings.Join(missing, "\n"), strings.Join(extra, "\n"))
			}
		})
	}
}
