package resolvers_test

import (
	"context"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
)

// TestPractitionersChangeOnlyTheirOwnAppointmentsAndRecords: two doctors
// share patient A; each may read the other's appointment and record, and
// neither may change them. Reception and administrators change any.
func TestPractitionersChangeOnlyTheirOwnAppointmentsAndRecords(t *testing.T) {
	t.Parallel()
	c := setupClinic(t)
	ctx := context.Background()
	all := hg.PatientScope{All: true}
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	// Doctor 2 sees patient A too, and wrote a record for A.
	apptA2, err := c.env.DB.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientA.ID, PractitionerID: c.doc2.ID,
		StartsAt: start, EndsAt: start.Add(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	// Patient B is doctor 1's only: doctor 2 has no relation to B.
	apptB1, err := c.env.DB.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientB.ID, PractitionerID: c.doc1.ID,
		StartsAt: start, EndsAt: start.Add(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	const status = `mutation($id: ID!) { updateAppointmentStatus(id: $id, status: CHECKED_IN) { status } }`
	const amend = `mutation($id: ID!) { amendMedicalRecord(id: $id, input: {codes: ["I10"], body: "Amended"}) { version } }`
	appt := func(a *hg.Appointment) map[string]any { return map[string]any{"id": gid("Appointment", a.ID)} }
	for _, tc := range []struct {
		name, who, query string
		vars             map[string]any
		want             string
	}{
		{"a colleague's appointment of a shared patient is FORBIDDEN", "DOCTOR2", status, appt(c.apptA), hg.EFORBIDDEN},
		{"an appointment of an unrelated patient is NOT_FOUND", "DOCTOR2", status, appt(apptB1), hg.ENOTFOUND},
		{"a colleague's record of a shared patient is FORBIDDEN", "DOCTOR2", amend, map[string]any{"id": gid("MedicalRecord", c.recordA.ID)}, hg.EFORBIDDEN},
		{"one's own appointment changes", "DOCTOR2", status, appt(apptA2), ""},
		{"reception changes any appointment", "RECEPTION", status, appt(apptB1), ""},
		{"one's own record is amended", "PRACTITIONER", amend, map[string]any{"id": gid("MedicalRecord", c.recordA.ID)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.env.Do(t, c.tokens[tc.who], tc.query, tc.vars)
			if got := res.Code(); got != tc.want {
				t.Fatalf("code = %q (%+v), want %q", got, res.Errors, tc.want)
			}
		})
	}
	if n := c.env.Count(t, `SELECT count(*) FROM appointments WHERE id = $1 AND status = 'BOOKED'`, c.apptA.ID); n != 1 {
		t.Fatal("a refused status change changed the appointment")
	}
	if n := c.env.Count(t, `SELECT count(*) FROM medical_records WHERE author_id = $1`, c.doc2.UserID); n != 0 {
		t.Fatalf("a refused amendment wrote %d record versions", n)
	}
}
