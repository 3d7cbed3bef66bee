package postgres_test

import (
	"context"
	"fmt"
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

func TestClaimsSummaryIsASumOfShownMonths(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, c := billingSetup(t)
	month := func(m time.Month) time.Time { return time.Date(2025, m, 10, 12, 0, 0, 0, hg.ClinicZone) }
	// March: 6 queued and 2 in error; April: 7 queued.
	var ids []uuid.UUID
	var created []time.Time
	var statuses []string
	for i := range 15 {
		ids = append(ids, queueTestClaim(t, db, p, c).ID)
		at, st := month(time.March), "QUEUED"
		switch {
		case i >= 8:
			at = month(time.April)
		case i >= 6:
			st = "ERROR"
		}
		created, statuses = append(created, at.Add(time.Duration(i)*time.Hour)), append(statuses, st)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE claims c SET created_at = v.at, status = v.st,
		last_error = CASE WHEN v.st = 'ERROR' THEN 'payer unreachable' ELSE c.last_error END
		FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS v(id, at, st) WHERE c.id = v.id`, ids, created, statuses); err != nil {
		t.Fatal(err)
	}
	type shown struct {
		claims     int
		suppressed bool
		partial    bool
	}
	tests := []struct {
		name     string
		from, to time.Time
		by       string
		want     map[string]shown
	}{
		// ERROR (2) is under 5 and QUEUED (6) goes with it in March.
		{"march by status", month(time.March), month(time.March).Add(time.Hour), "STATUS",
			map[string]shown{"QUEUED": {suppressed: true}, "ERROR": {suppressed: true}}},
		{"march and april by status", month(time.March), month(time.April), "STATUS",
			map[string]shown{"QUEUED": {claims: 7, partial: true}, "ERROR": {suppressed: true}}},
		{"april by status", month(time.April), month(time.April).Add(time.Minute), "STATUS",
			map[string]shown{"QUEUED": {claims: 7}}},
		{"by month", month(time.March), month(time.April), "MONTH",
			map[string]shown{"2025-03": {claims: 8}, "2025-04": {claims: 7}}},
		{"by payer", month(time.March), month(time.April), "PAYER",
			map[string]shown{c.PayerLicense: {claims: 15}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			groups, err := db.ClaimsSummary(ctx, tt.from, tt.to, tt.by)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]shown{}
			for _, g := range groups {
				got[g.Key] = shown{claims: g.Claims, suppressed: g.Suppressed, partial: g.Partial}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("groups %+v, want %+v", got, tt.want)
			}
		})
	}
}
