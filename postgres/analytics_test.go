package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// pastAppointments books one appointment per entry (in the future, as
// booking requires) and then moves each to its past time and status.
func pastAppointments(t *testing.T, c *clinic, entries []pastAppointment) {
	t.Helper()
	ctx := context.Background()
	var ids []uuid.UUID
	var starts []time.Time
	var statuses []string
	for i, e := range entries {
		s, end := slot(40+i/8, 8+i%8)
		a, err := c.db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientB.ID, PractitionerID: e.doctor, StartsAt: s, EndsAt: end})
		if err != nil {
			t.Fatal(err)
		}
		ids, starts, statuses = append(ids, a.ID), append(starts, e.at), append(statuses, string(e.status))
	}
	if _, err := c.db.Pool.Exec(ctx, `UPDATE appointments a SET starts_at = v.s, ends_at = v.s + interval '30 minutes', status = v.st,
		cancel_reason = CASE WHEN v.st = 'CANCELLED' THEN 'clinic closed' END
		FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS v(id, s, st) WHERE a.id = v.id`, ids, starts, statuses); err != nil {
		t.Fatal(err)
	}
}

type pastAppointment struct {
	doctor uuid.UUID
	at     time.Time
	status hg.AppointmentStatus
}

func TestAppointmentUtilizationHidesWhatSubtractionWouldGiveBack(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	doc3, _ := mustPractitioner(t, c.db, "14.00", "Pediatric") // doctor 2's specialty
	march := func(day, hour int) time.Time { return time.Date(2025, 3, day, hour, 0, 0, 0, hg.ClinicZone) }
	// Doctor 1 (08.00): six on 11 March, one each completed, no-show and
	// cancelled. Doctor 2 (14.00): six on 4 March. Doctor 3 (14.00): one on
	// 5 March, which specialty 14.00 (7) minus doctor 2 (6) would give back.
	var entries []pastAppointment
	for i, st := range []hg.AppointmentStatus{hg.AppointmentCompleted, hg.AppointmentNoShow, hg.AppointmentCancelled,
		hg.AppointmentBooked, hg.AppointmentBooked, hg.AppointmentBooked} {
		entries = append(entries, pastAppointment{c.doc1.ID, march(11, 8+i), st},
			pastAppointment{c.doc2.ID, march(4, 8+i), hg.AppointmentBooked})
	}
	entries = append(entries, pastAppointment{doc3.ID, march(5, 9), hg.AppointmentBooked})
	pastAppointments(t, c, entries)

	tests := []struct {
		by       hg.UtilizationGroupBy
		from, to time.Time
		want     map[string]int // booked per listed group
	}{
		{hg.GroupBySpecialty, march(1, 0), march(31, 0), map[string]int{"08.00": 6, "14.00": 7}},
		// Doctor 3 is under 5, and doctor 2 goes with them.
		{hg.GroupByPractitioner, march(1, 0), march(31, 0), map[string]int{c.doc1.ID.String(): 6}},
		// 5 March is under 5; 4 March (tied with 11 March, first by key)
		// goes with it.
		{hg.GroupByDay, march(1, 0), march(31, 0), map[string]int{"2025-03-11": 6}},
		// A window narrowed to 4 March shows nothing new.
		{hg.GroupByDay, march(4, 10), march(4, 11), map[string]int{}},
		{hg.GroupByPractitioner, march(4, 10), march(4, 11), map[string]int{c.doc1.ID.String(): 6}},
	}
	for _, tt := range tests {
		t.Run(string(tt.by)+" "+tt.from.Format(time.DateTime), func(t *testing.T) {
			groups, err := c.db.AppointmentUtilization(ctx, tt.from, tt.to, tt.by)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, g := range groups {
				got[g.Key] = g.Booked
			}
			if len(got) != len(tt.want) {
				t.Fatalf("groups %+v, want %v", groups, tt.want)
			}
			for k, n := range tt.want {
				if got[k] != n {
					t.Fatalf("groups %+v, want %v", groups, tt.want)
				}
			}
		})
	}
	groups, err := c.db.AppointmentUtilization(ctx, march(1, 0), march(31, 0), hg.GroupBySpecialty)
	if err != nil {
		t.Fatal(err)
	}
	g := groups[0]
	if g.Key != "08.00" || g.Booked != 6 || g.Completed != 1 || g.NoShow != 1 || g.Cancelled != 1 || g.ScheduledHours != 2.5 || g.CompletedHours != 0.5 {
		t.Fatalf("group = %+v; want 6 booked, 1 each completed/no-show/cancelled, 2.5 h scheduled, 0.5 h completed", g)
	}
	_, err = c.db.AppointmentUtilization(ctx, march(1, 0), march(31, 0), "PATIENT")
	wantCode(t, err, hg.EINVALID, "groupBy")
	_, err = c.db.AppointmentUtilization(ctx, march(31, 0), march(1, 0), hg.GroupByDay)
	wantCode(t, err, hg.EINVALID, "to")
}
