package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/postgres"
)

// insertAppointment writes an appointment with plain SQL, past the
// store's diary locks and overlap check, as any other writer could.
func insertAppointment(ctx context.Context, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, patient, practitioner uuid.UUID, start, end time.Time, status string) (uuid.UUID, error) {
	id := uuid.New()
	_, err := q.Exec(ctx, `INSERT INTO appointments (id, patient_id, practitioner_id, starts_at, ends_at, status, cancel_reason)
		VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6 = 'CANCELLED' THEN 'Booked twice' END)`, id, patient, practitioner, start, end, status)
	return id, err
}

// wantPatientBusyViolation checks err is the exclusion violation of the
// patient's rule.
func wantPatientBusyViolation(t *testing.T, what string, err error) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23P01" || pgErr.ConstraintName != "patient_busy_no_overlap" {
		t.Fatalf("%s: %v, want the exclusion violation of patient_busy_no_overlap", what, err)
	}
}

// busySlots lists the appointments patient_busy holds, sorted.
func busySlots(t *testing.T, db *postgres.DB, where string, args ...any) []uuid.UUID {
	t.Helper()
	rows, _ := db.Pool.Query(context.Background(), `SELECT appointment_id FROM patient_busy `+where+` ORDER BY 1`, args...)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// The rule holds for writes that skip the store's check: patient_busy
// follows every insert, move, status change and delete of an appointment.
func TestPatientBusyHoldsTheRuleForEveryWriter(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	a := c.apptA

	_, err := insertAppointment(ctx, c.db.Pool, c.patientA.ID, c.doc2.ID, a.StartsAt.Add(10*time.Minute), a.EndsAt.Add(10*time.Minute), "BOOKED")
	wantPatientBusyViolation(t, "a second live appointment over the first", err)
	// Not live, or another patient: no conflict.
	if _, err := insertAppointment(ctx, c.db.Pool, c.patientA.ID, c.doc2.ID, a.StartsAt, a.EndsAt, "CANCELLED"); err != nil {
		t.Fatalf("a cancelled appointment over a live one: %v", err)
	}
	doc3, _ := mustPractitioner(t, c.db, "08.00", "Internal Medicine")
	if _, err := insertAppointment(ctx, c.db.Pool, c.patientB.ID, doc3.ID, a.StartsAt, a.EndsAt, "BOOKED"); err != nil {
		t.Fatalf("another patient in the same window: %v", err)
	}

	// Moving the appointment moves its slot: the old window frees up.
	later := a.StartsAt.Add(2 * time.Hour)
	if _, err := c.db.Pool.Exec(ctx, `UPDATE appointments SET starts_at = $2, ends_at = $3 WHERE id = $1`, a.ID, later, later.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	early, err := insertAppointment(ctx, c.db.Pool, c.patientA.ID, c.doc2.ID, a.StartsAt, a.EndsAt, "BOOKED")
	if err != nil {
		t.Fatalf("the window the appointment moved from: %v", err)
	}
	_, err = insertAppointment(ctx, c.db.Pool, c.patientA.ID, c.doc2.ID, later, later.Add(30*time.Minute), "BOOKED")
	wantPatientBusyViolation(t, "the window the appointment moved to", err)

	// Checked in is still live; completed is not.
	if _, err := c.db.Pool.Exec(ctx, `UPDATE appointments SET status = 'CHECKED_IN' WHERE id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	if got := busySlots(t, c.db, `WHERE patient_id = $1`, c.patientA.ID); !slices.Contains(got, a.ID) {
		t.Fatalf("a checked-in appointment is not in patient_busy (%v)", got)
	}
	if _, err := c.db.Pool.Exec(ctx, `UPDATE appointments SET status = 'COMPLETED' WHERE id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := insertAppointment(ctx, c.db.Pool, c.patientA.ID, c.doc2.ID, later, later.Add(30*time.Minute), "BOOKED"); err != nil {
		t.Fatalf("the window of a completed appointment: %v", err)
	}

	// Deleting an appointment frees its window.
	if _, err := c.db.Pool.Exec(ctx, `DELETE FROM appointments WHERE id = $1`, early); err != nil {
		t.Fatal(err)
	}
	if got := busySlots(t, c.db, `WHERE appointment_id = $1`, early); len(got) != 0 {
		t.Fatalf("patient_busy keeps a deleted appointment: %v", got)
	}
}

// A writer past the store's check (here plain SQL in a transaction not
// yet committed) and a booking of the same patient over the same window:
// the booking waits on the constraint, and once the other commits it gets
// CONFLICT on startsAt, without an appointment to name. Nothing is written
// for it.
func TestABookingRacingPastItsCheckGetsConflict(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	start, end := slot(3, 11)
	other, err := c.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback(ctx) //nolint:errcheck // committed below
	if _, err := insertAppointment(ctx, other, c.patientB.ID, c.doc2.ID, start, end, "BOOKED"); err != nil {
		t.Fatal(err)
	}
	booked := make(chan error, 1)
	go func() {
		_, err := c.db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientB.ID, PractitionerID: c.doc1.ID,
			StartsAt: start.Add(15 * time.Minute), EndsAt: end.Add(15 * time.Minute), Reason: "follow-up"})
		booked <- err
	}()
	eventually.True(t, "the booking to wait on the uncommitted appointment", func() bool {
		var waiting bool
		err := c.db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'transactionid')`).Scan(&waiting)
		return err == nil && waiting
	})
	if err := other.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	err = <-booked
	wantCode(t, err, hg.ECONFLICT, "startsAt")
	var busy *hg.PatientBusyError
	if !errors.As(err, &busy) || busy.AppointmentID != nil {
		t.Fatalf("booking past the check: %v, want a PatientBusyError without an id", err)
	}
	if got := busySlots(t, c.db, `WHERE patient_id = $1`, c.patientB.ID); len(got) != 1 {
		t.Fatalf("patient B holds %d slots, want the committed one", len(got))
	}
}

// versionOf returns the version of the migration called name.
func versionOf(t *testing.T, name string) (version, atOrAfter int) {
	t.Helper()
	ms, err := postgres.LoadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == name {
			version = m.Version
		}
	}
	if version == 0 {
		t.Fatalf("no migration %s", name)
	}
	for _, m := range ms {
		if m.Version >= version {
			atOrAfter++
		}
	}
	return version, atOrAfter
}

// A database that applied 0011's first version holds the rule as an
// exclusion constraint on appointments. Migrating it on fills patient_busy
// with exactly its live appointments and drops that constraint; reverting
// leaves neither.
func TestPatientBusyMigrationTakesOverFromTheFirstConstraint(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	_, steps := versionOf(t, "patient_busy")
	if _, err := c.db.MigrateDown(ctx, steps); err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.Pool.Exec(ctx, `ALTER TABLE appointments ADD CONSTRAINT appointments_patient_no_overlap EXCLUDE USING gist (
		patient_id WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (status IN ('BOOKED','CHECKED_IN'))`); err != nil {
		t.Fatal(err)
	}
	// More than one batch of the copy, live and not, over both patients.
	rows, _ := c.db.Pool.Query(ctx, `INSERT INTO appointments (id, patient_id, practitioner_id, starts_at, ends_at, status, cancel_reason)
		SELECT gen_random_uuid(), (ARRAY[$1::uuid, $2::uuid])[i % 2 + 1], $3, s, s + interval '30 minutes', st,
			CASE WHEN st = 'CANCELLED' THEN 'Booked twice' END
		FROM generate_series(0, 2099) i,
			LATERAL (SELECT timestamptz '2031-01-01 08:00Z' + i * interval '1 hour' AS s,
				(ARRAY['BOOKED', 'CHECKED_IN', 'CANCELLED', 'COMPLETED', 'NO_SHOW'])[i % 5 + 1] AS st) x
		RETURNING id, status IN ('BOOKED', 'CHECKED_IN')`, c.patientA.ID, c.patientB.ID, c.doc1.ID)
	live := []uuid.UUID{c.apptA.ID}
	var id uuid.UUID
	var isLive bool
	if _, err := pgx.ForEachRow(rows, []any{&id, &isLive}, func() error {
		if isLive {
			live = append(live, id)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(live, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })

	if _, err := c.db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if got := busySlots(t, c.db, ``); !slices.Equal(got, live) {
		t.Fatalf("patient_busy holds %d appointments, want the %d live ones", len(got), len(live))
	}
	var old bool
	if err := c.db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_constraint WHERE conname = 'appointments_patient_no_overlap')`).Scan(&old); err != nil || old {
		t.Fatalf("0011's first constraint after the migration: %v, %v; want it dropped", old, err)
	}
	_, err := insertAppointment(ctx, c.db.Pool, c.patientA.ID, c.doc2.ID, c.apptA.StartsAt, c.apptA.EndsAt, "BOOKED")
	wantPatientBusyViolation(t, "an overlap after the migration", err)

	if _, err := c.db.MigrateDown(ctx, steps); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := c.db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relname = 'patient_busy'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("patient_busy after reverting: %d, %v", left, err)
	}
	if _, err := insertAppointment(ctx, c.db.Pool, c.patientA.ID, c.doc2.ID, c.apptA.StartsAt, c.apptA.EndsAt, "BOOKED"); err != nil {
		t.Fatalf("reverted, nothing in the database forbids the overlap: %v", err)
	}
}
