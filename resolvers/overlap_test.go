package resolvers_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/server/servertest"
)

const (
	bookMut       = `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { id } }`
	rescheduleMut = `mutation($id: ID!, $s: Time!, $e: Time!) { rescheduleAppointment(id: $id, startsAt: $s, endsAt: $e) { id } }`
)

// overlapFixture is a clinic with one patient, several practitioners and
// a reception login.
type overlapFixture struct {
	env       *servertest.Env
	reception string
	patient   *hg.Patient
	doctors   []*hg.Practitioner
	at        time.Time // a free morning, a week ahead
}

func setupOverlap(t *testing.T, doctors int) *overlapFixture {
	t.Helper()
	ctx := context.Background()
	f := &overlapFixture{env: servertest.New(t), at: time.Now().Add(7 * 24 * time.Hour).Truncate(24 * time.Hour).Add(6 * time.Hour)}
	_, f.reception = f.env.User(t, "overlap-reception@clinic.example", hg.RoleReception)
	for i := range doctors {
		u, _ := f.env.User(t, fmt.Sprintf("overlap-doctor%d@clinic.example", i), hg.RolePractitioner)
		d, err := f.env.DB.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Sara", FamilyName: "Alzahrani",
			SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: fmt.Sprintf("L-OV%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		f.doctors = append(f.doctors, d)
	}
	var err error
	f.patient, err = f.env.DB.CreatePatient(ctx, hg.NewPatient{NationalID: "1000000077", FirstName: "Amal", FamilyName: "Alharbi",
		BirthDate: time.Date(1980, 5, 1, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// book books the patient with doctor i from minutes after f.at, for half
// an hour.
func (f *overlapFixture) book(t *testing.T, doctor, minutes int) servertest.Response {
	t.Helper()
	start := f.at.Add(time.Duration(minutes) * time.Minute)
	return f.env.Do(t, f.reception, bookMut, map[string]any{"in": map[string]any{
		"patientId": gid("Patient", f.patient.ID), "practitionerId": gid("Practitioner", f.doctors[doctor].ID),
		"startsAt": start.Format(time.RFC3339), "endsAt": start.Add(30 * time.Minute).Format(time.RFC3339)}})
}

func bookedID(t *testing.T, res servertest.Response) string {
	t.Helper()
	var out struct{ BookAppointment struct{ ID string } }
	res.Decode(t, &out)
	return out.BookAppointment.ID
}

// wantOverlap checks res is the CONFLICT on the start time, spelt field,
// that names the appointment id.
func wantOverlap(t *testing.T, what, field string, res servertest.Response, id string) {
	t.Helper()
	if res.Code() != hg.ECONFLICT || res.Field() != field || !strings.Contains(res.Errors[0].Message, id) {
		t.Fatalf("%s: got %q field %q (%+v), want CONFLICT on %s naming %s", what, res.Code(), res.Field(), res.Errors, field, id)
	}
}

func TestAPatientCannotBeInTwoAppointmentsAtOnce(t *testing.T) {
	t.Parallel()
	f := setupOverlap(t, 2)
	first := bookedID(t, f.book(t, 0, 0))

	wantOverlap(t, "an overlapping booking with another practitioner", "input.startsAt", f.book(t, 1, 15), first)
	wantOverlap(t, "the same window with another practitioner", "input.startsAt", f.book(t, 1, 0), first)

	// Back to back is no overlap.
	second := bookedID(t, f.book(t, 1, 30))
	start := f.at.Add(10 * time.Minute)
	res := f.env.Do(t, f.reception, rescheduleMut, map[string]any{"id": second,
		"s": start.Format(time.RFC3339), "e": start.Add(30 * time.Minute).Format(time.RFC3339)})
	wantOverlap(t, "moving the second appointment over the first", "startsAt", res, first)

	// Only live appointments count: once the first is cancelled its
	// window is free for the patient again.
	f.env.Do(t, f.reception, `mutation($id: ID!) { cancelAppointment(id: $id, reason: "The patient asked to move it") { id } }`,
		map[string]any{"id": first}).Decode(t, &struct{}{})
	f.book(t, 1, -30).Decode(t, &struct{}{})
	if n := f.env.Count(t, `SELECT count(*) FROM appointments WHERE patient_id = $1 AND status = 'BOOKED'`, f.patient.ID); n != 2 {
		t.Fatalf("%d live appointments, want 2", n)
	}
}

// Bookings of one patient with different practitioners racing for one
// window: exactly one wins, every other is a CONFLICT (never a deadlock
// or an internal error), and one row is written.
func TestConcurrentOverlappingBookingsOfAPatientHaveOneWinner(t *testing.T) {
	t.Parallel()
	const racers = 6
	f := setupOverlap(t, racers)
	codes := make([]string, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = f.book(t, i, 5*i).Code()
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, c := range codes {
		count[c]++
	}
	if count[""] != 1 || count[hg.ECONFLICT] != racers-1 {
		t.Fatalf("answers %v, want 1 success and %d CONFLICT", count, racers-1)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM appointments WHERE patient_id = $1`, f.patient.ID); n != 1 {
		t.Fatalf("%d appointments written, want 1", n)
	}
}
