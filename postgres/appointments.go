package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.AppointmentStore = (*DB)(nil)

const appointmentColumns = `a.id, a.patient_id, a.practitioner_id, a.starts_at, a.ends_at, a.status,
	a.reason, COALESCE(a.cancel_reason, ''), a.created_at, a.updated_at`

func scanAppointment(row pgx.CollectableRow) (*hg.Appointment, error) {
	var a hg.Appointment
	err := row.Scan(&a.ID, &a.PatientID, &a.PractitionerID, &a.StartsAt, &a.EndsAt, text[hg.AppointmentStatus]{&a.Status},
		&a.Reason, &a.CancelReason, &a.CreatedAt, &a.UpdatedAt)
	return &a, err
}

// errDoubleBooked is what a booking that hits the exclusion constraint
// gets: the slot was taken, by this request's rival or long before.
var errDoubleBooked = &hg.Error{Code: hg.ECONFLICT, Field: "startsAt",
	Message: "the practitioner already has an appointment at this time"}

var appointmentConflicts = map[string]*hg.Error{
	"appointments_no_overlap":           errDoubleBooked,
	"appointments_practitioner_id_fkey": {Code: hg.ENOTFOUND, Field: "practitionerId", Message: "practitioner not found"},
	"appointments_patient_id_fkey":      {Code: hg.ENOTFOUND, Field: "patientId", Message: "patient not found"},
	"appointments_check":                {Code: hg.EINVALID, Field: "endsAt", Message: "an appointment must end after it starts"},
	"appointments_cancel_reason_check":  {Code: hg.EINVALID, Field: "reason", Message: "reason is not valid"},
	"appointments_reason_check":         {Code: hg.EINVALID, Field: "reason", Message: "reason is too long"},
}

// BookAppointment books a live appointment. The insert selects the patient
// through the scope; the database's exclusion constraint, not a prior
// read, decides a race between two bookings of one practitioner.
func (db *DB) BookAppointment(ctx context.Context, scope hg.PatientScope, in hg.NewAppointment) (*hg.Appointment, error) {
	if err := in.Validate(time.Now()); err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	var a *hg.Appointment
	err = db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		if err := lockDiaries(ctx, tx, in.PractitionerID, in.PatientID); err != nil {
			return err
		}
		if err := patientBusy(ctx, tx, scope, in.PatientID, uuid.Nil, in.StartsAt, in.EndsAt); err != nil {
			return err
		}
		a, err = bookAppointment(ctx, tx, scope, id, in)
		return err
	}, func() (uuid.UUID, *uuid.UUID) { return appointmentSubject(a) })
	return a, err
}

// lockDiaries serialises the writes that place the practitioner's and the
// patient's appointments in time, until the transaction ends. The
// exclusion constraints alone keep either from being double-booked, but
// concurrent inserts of overlapping ranges wait on each other inside
// their indexes and deadlock: the victim would get a deadlock error
// (after a second of detection) instead of CONFLICT. Taken first, the
// locks make the loser wait, then meet the winner's row: a plain
// CONFLICT. Every write takes them in one order, practitioner then
// patient, and holds one of each, so no two writes wait on each other in
// a cycle.
func lockDiaries(ctx context.Context, tx pgx.Tx, practitionerID, patientID uuid.UUID) error {
	for _, key := range []string{"diary:" + practitionerID.String(), "patient-diary:" + patientID.String()} {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key); err != nil {
			return translate(err, "appointment")
		}
	}
	return nil
}

// patientBusy returns the CONFLICT naming the patient's live appointment,
// other than except, that overlaps [startsAt, endsAt), or nil when there
// is none. Under the patient's diary lock its answer holds until the write
// commits. The patient is looked up in scope first, so the answer tells
// nothing of a patient the caller may not see: the write then answers
// NOT_FOUND.
func patientBusy(ctx context.Context, q querier, scope hg.PatientScope, patientID, except uuid.UUID, startsAt, endsAt time.Time) error {
	var id uuid.UUID
	err := q.QueryRow(ctx, `SELECT a.id FROM appointments a
		WHERE a.patient_id = @patient_id AND a.id <> @except AND a.status IN ('BOOKED', 'CHECKED_IN')
		  AND tstzrange(a.starts_at, a.ends_at) && tstzrange(@starts_at, @ends_at)
		  AND `+inScope("a.patient_id")+`
		ORDER BY a.starts_at, a.id LIMIT 1`, scopeArgs(scope, namedArgs{
		"patient_id": patientID, "except": except, "starts_at": startsAt, "ends_at": endsAt,
	})).Scan(&id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return translate(err, "appointment")
	}
	return hg.PatientBusy(&id)
}

// appointmentWriteError maps the error of a statement writing an
// appointment. The patient's exclusion constraint (on patient_busy, kept
// by a trigger on appointments) is checked first by patientBusy under the
// diary lock; should a writer without the lock race past it, the
// constraint still answers CONFLICT, without the id. A database migrated
// to 0011 but not yet 0022 may still hold 0011's first constraint.
func appointmentWriteError(err error, what string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.ConstraintName == "patient_busy_no_overlap" || pgErr.ConstraintName == "appointments_patient_no_overlap") {
		return fmt.Errorf("%w: %w", hg.PatientBusy(nil), err)
	}
	return byConstraint(err, what, appointmentConflicts)
}

// appointmentSubject is what a write of an appointment is audited as.
func appointmentSubject(a *hg.Appointment) (uuid.UUID, *uuid.UUID) { return a.ID, &a.PatientID }

// bookAppointment inserts the appointment through q.
func bookAppointment(ctx context.Context, q querier, scope hg.PatientScope, id uuid.UUID, in hg.NewAppointment) (*hg.Appointment, error) {
	rows, _ := q.Query(ctx, `INSERT INTO appointments AS a
			(id, patient_id, practitioner_id, starts_at, ends_at, status, reason)
		SELECT @id, p.id, @practitioner_id, @starts_at, @ends_at, 'BOOKED', @reason
		FROM patients p WHERE p.id = @patient_id AND `+inScope("p.id")+`
		RETURNING `+appointmentColumns, scopeArgs(scope, namedArgs{
		"id": id, "patient_id": in.PatientID, "practitioner_id": in.PractitionerID,
		"starts_at": in.StartsAt, "ends_at": in.EndsAt, "reason": in.Reason,
	}))
	a, err := pgx.CollectExactlyOneRow(rows, scanAppointment)
	if err != nil {
		return nil, appointmentWriteError(err, "patient")
	}
	return a, nil
}

// RescheduleAppointment moves a booked appointment; only BOOKED ones move,
// since a checked-in patient is already being seen.
func (db *DB) RescheduleAppointment(ctx context.Context, scope hg.PatientScope, id uuid.UUID, startsAt, endsAt time.Time) (*hg.Appointment, error) {
	if err := hg.ValidateAppointmentTimes(startsAt, endsAt, time.Now()); err != nil {
		return nil, err
	}
	var a *hg.Appointment
	err := db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		// The diary locks come before the row lock, in the order booking
		// takes them. An appointment never changes practitioner or
		// patient.
		var practitionerID, patientID uuid.UUID
		err := tx.QueryRow(ctx, `SELECT practitioner_id, patient_id FROM appointments WHERE id = $1`, id).
			Scan(&practitionerID, &patientID)
		if err == nil {
			err = lockDiaries(ctx, tx, practitionerID, patientID)
		} else if errors.Is(err, pgx.ErrNoRows) {
			err = nil // appointmentForUpdate answers for a missing one
		}
		if err != nil {
			return err
		}
		cur, err := appointmentForUpdate(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		if cur.Status != hg.AppointmentBooked {
			return hg.Errorf(hg.ECONFLICT, "a %s appointment cannot be rescheduled", cur.Status)
		}
		if err := patientBusy(ctx, tx, scope, cur.PatientID, cur.ID, startsAt, endsAt); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `UPDATE appointments AS a SET starts_at = @starts_at, ends_at = @ends_at,
				updated_at = now()
			WHERE a.id = @id AND a.status = 'BOOKED' AND `+ownedAppointment+` RETURNING `+appointmentColumns,
			writeArgs(scope, namedArgs{"id": id, "starts_at": startsAt, "ends_at": endsAt}))
		a, err = pgx.CollectExactlyOneRow(rows, scanAppointment)
		return appointmentWriteError(err, "appointment")
	}, func() (uuid.UUID, *uuid.UUID) { return appointmentSubject(a) })
	return a, err
}

// CancelAppointment cancels a live appointment with a reason; the slot is
// free again because the exclusion constraint covers live statuses only.
func (db *DB) CancelAppointment(ctx context.Context, scope hg.PatientScope, id uuid.UUID, reason string) (*hg.Appointment, error) {
	if err := hg.ValidateCancelReason(&reason); err != nil {
		return nil, err
	}
	return db.transition(ctx, scope, id, hg.AppointmentCancelled, &reason)
}

// UpdateAppointmentStatus moves an appointment along an allowed transition.
func (db *DB) UpdateAppointmentStatus(ctx context.Context, scope hg.PatientScope, id uuid.UUID, status hg.AppointmentStatus) (*hg.Appointment, error) {
	switch {
	case !status.Valid():
		return nil, hg.Invalid("status", "unknown appointment status")
	case status == hg.AppointmentCancelled:
		return nil, hg.Invalid("status", "cancelling needs a reason: use cancelAppointment")
	}
	return db.transition(ctx, scope, id, status, nil)
}

// transition checks the move in Go against the current status, then makes
// it with an UPDATE conditional on that status, so two requests racing
// from one status cannot both win: the loser updates no row and gets
// CONFLICT.
func (db *DB) transition(ctx context.Context, scope hg.PatientScope, id uuid.UUID, to hg.AppointmentStatus, cancelReason *string) (*hg.Appointment, error) {
	var a *hg.Appointment
	err := db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		cur, err := appointmentForUpdate(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		if !cur.Status.CanBecome(to) {
			return hg.Errorf(hg.ECONFLICT, "a %s appointment cannot become %s", cur.Status, to)
		}
		rows, _ := tx.Query(ctx, `UPDATE appointments AS a SET status = @to, cancel_reason = @cancel_reason,
				updated_at = now()
			WHERE a.id = @id AND a.status = @from AND `+ownedAppointment+` RETURNING `+appointmentColumns,
			writeArgs(scope, namedArgs{"id": id, "from": cur.Status, "to": to, "cancel_reason": cancelReason}))
		a, err = pgx.CollectExactlyOneRow(rows, scanAppointment)
		if errors.Is(err, pgx.ErrNoRows) {
			return hg.Errorf(hg.ECONFLICT, "the appointment changed meanwhile; reload and try again")
		}
		return byConstraint(err, "appointment", appointmentConflicts)
	}, func() (uuid.UUID, *uuid.UUID) { return appointmentSubject(a) })
	return a, err
}

func appointmentByID(ctx context.Context, q querier, scope hg.PatientScope, id uuid.UUID) (*hg.Appointment, error) {
	rows, _ := q.Query(ctx, `SELECT `+appointmentColumns+` FROM appointments a
		WHERE a.id = @id AND `+inScope("a.patient_id"), scopeArgs(scope, namedArgs{"id": id}))
	a, err := pgx.CollectExactlyOneRow(rows, scanAppointment)
	return a, translate(err, "appointment")
}

// appointmentForUpdate locks an appointment the write scope may change.
// One outside the read scope is NOT_FOUND, as for a read; one the caller
// can see but does not own is FORBIDDEN.
func appointmentForUpdate(ctx context.Context, tx pgx.Tx, scope hg.PatientScope, id uuid.UUID) (*hg.Appointment, error) {
	var owned bool
	rows, _ := tx.Query(ctx, `SELECT `+appointmentColumns+`, `+ownedAppointment+` FROM appointments a
		WHERE a.id = @id AND `+inScope("a.patient_id")+` FOR UPDATE OF a`, writeArgs(scope, namedArgs{"id": id}))
	a, err := pgx.CollectExactlyOneRow(rows, func(row pgx.CollectableRow) (*hg.Appointment, error) {
		var a hg.Appointment
		err := row.Scan(&a.ID, &a.PatientID, &a.PractitionerID, &a.StartsAt, &a.EndsAt, text[hg.AppointmentStatus]{&a.Status},
			&a.Reason, &a.CancelReason, &a.CreatedAt, &a.UpdatedAt, &owned)
		return &a, err
	})
	if err == nil && !owned {
		return nil, hg.Errorf(hg.EFORBIDDEN, "only the appointment's own practitioner, reception or an administrator may change it")
	}
	return a, translate(err, "appointment")
}

// ownedAppointment is true for an appointment (alias a) the write scope's
// owner may change: one with the practitioner linked to @scope_owner, or
// any when the scope names no owner.
const ownedAppointment = `(@scope_owner::uuid IS NULL OR a.practitioner_id IN
	(SELECT so.id FROM practitioners so WHERE so.user_id = @scope_owner::uuid))`

// writeArgs binds a write scope: scopeArgs plus its owner (@scope_owner).
func writeArgs(s hg.PatientScope, args namedArgs) namedArgs {
	args["scope_owner"] = s.OwnerUserID
	return scopeArgs(s, args)
}

// AppointmentByID returns an appointment of a patient in scope.
func (db *DB) AppointmentByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.Appointment, error) {
	return appointmentByID(ctx, db.Pool, scope, id)
}

// AppointmentsByIDs returns the appointments among ids in scope.
func (db *DB) AppointmentsByIDs(ctx context.Context, scope hg.PatientScope, ids []uuid.UUID) ([]*hg.Appointment, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+appointmentColumns+` FROM appointments a
		WHERE a.id = ANY(@ids) AND `+inScope("a.patient_id"), scopeArgs(scope, namedArgs{"ids": ids}))
	as, err := pgx.CollectRows(rows, scanAppointment)
	return as, translate(err, "appointments")
}

const appointmentMatch = `(@practitioner_id::uuid IS NULL OR %[1]s.practitioner_id = @practitioner_id)
	AND (@patient_id::uuid IS NULL OR %[1]s.patient_id = @patient_id)
	AND (@from::timestamptz IS NULL OR %[1]s.starts_at >= @from)
	AND (@to::timestamptz IS NULL OR %[1]s.starts_at < @to)
	AND (@status::text IS NULL OR %[1]s.status = @status)`

// appointmentSorts: appointments are listed by start time.
var appointmentSorts = sorts{def: hg.Sort{Field: hg.SortStarts}, keys: map[hg.SortField]sortKey{
	hg.SortStarts: {{"a.starts_at", "timestamptz"}},
}}

// ListAppointments returns a page of appointments in scope in p.Sort (the
// earliest start first by default), and
// how many match when the page asks, from one statement when the page is
// not empty.
func (db *DB) ListAppointments(ctx context.Context, scope hg.PatientScope, f hg.AppointmentFilter, p hg.Page) ([]*hg.Appointment, int, error) {
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	args := scopeArgs(scope, pageArgs(p, namedArgs{
		"practitioner_id": f.PractitionerID, "patient_id": f.PatientID, "from": f.From, "to": f.To, "status": f.Status,
	}))
	keyset, order, err := appointmentSorts.keyset(p, "a.id", args)
	if err != nil {
		return nil, 0, err
	}
	var total int
	rows, _ := db.Pool.Query(ctx, `SELECT `+appointmentColumns+`,
			`+countIf("appointments t", sprintf(appointmentMatch, "t")+` AND `+inScope("t.patient_id"))+`
		FROM appointments a
		WHERE `+sprintf(appointmentMatch, "a")+` AND `+inScope("a.patient_id")+`
		  AND `+keyset+`
		ORDER BY `+order+` LIMIT @first`, args)
	as, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hg.Appointment, error) {
		var a hg.Appointment
		err := row.Scan(&a.ID, &a.PatientID, &a.PractitionerID, &a.StartsAt, &a.EndsAt, text[hg.AppointmentStatus]{&a.Status},
			&a.Reason, &a.CancelReason, &a.CreatedAt, &a.UpdatedAt, &total)
		return &a, err
	})
	if err != nil {
		return nil, 0, translate(err, "appointments")
	}
	if len(as) == 0 && p.Count {
		err = db.Pool.QueryRow(ctx, `SELECT count(*) FROM appointments t WHERE `+
			sprintf(appointmentMatch, "t")+` AND `+inScope("t.patient_id"), args).Scan(&total)
	}
	return as, total, translate(err, "appointments")
}

// UpcomingAppointmentsByPatientIDs returns each in-scope patient's next live
// appointments, up to limit per patient, in one statement.
func (db *DB) UpcomingAppointmentsByPatientIDs(ctx context.Context, scope hg.PatientScope, patientIDs []uuid.UUID, now time.Time, limit int) ([]*hg.Appointment, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+appointmentColumns+`
		FROM unnest(@ids::uuid[]) AS k(patient_id)
		CROSS JOIN LATERAL (
			SELECT * FROM appointments x
			WHERE x.patient_id = k.patient_id AND x.ends_at > @now AND x.status IN ('BOOKED', 'CHECKED_IN')
			ORDER BY x.starts_at, x.id LIMIT @limit) a
		WHERE `+inScope("k.patient_id")+`
		ORDER BY a.patient_id, a.starts_at, a.id`,
		scopeArgs(scope, namedArgs{"ids": patientIDs, "now": now, "limit": max(limit, 0)}))
	as, err := pgx.CollectRows(rows, scanAppointment)
	return as, translate(err, "appointments")
}

// PractitionerSchedule returns the practitioner's slots on a day, each free
// unless a live appointment overlaps it or it has already started.
func (db *DB) PractitionerSchedule(ctx context.Context, practitionerID uuid.UUID, day time.Time, s hg.Schedule) ([]hg.Slot, error) {
	if s.Zone == nil {
		s = hg.DefaultSchedule
	}
	slots := s.Slots(day)
	dayStart := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, s.Zone)
	dayEnd := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, s.Zone)
	type busy struct{ start, end *time.Time }
	rows, _ := db.Pool.Query(ctx, `SELECT a.starts_at, a.ends_at FROM practitioners pr
		LEFT JOIN appointments a ON a.practitioner_id = pr.id AND a.status IN ('BOOKED', 'CHECKED_IN')
			AND a.starts_at < @day_end AND a.ends_at > @day_start
		WHERE pr.id = @id`, namedArgs{"id": practitionerID, "day_start": dayStart, "day_end": dayEnd})
	taken, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (busy, error) {
		var b busy
		err := row.Scan(&b.start, &b.end)
		return b, err
	})
	if err != nil {
		return nil, translate(err, "practitioner")
	}
	if len(taken) == 0 {
		return nil, hg.Errorf(hg.ENOTFOUND, "practitioner not found")
	}
	now := time.Now()
	for i := range slots {
		if slots[i].StartsAt.Before(now) {
			slots[i].Free = false
			continue
		}
		for _, b := range taken {
			if b.start != nil && b.start.Before(slots[i].EndsAt) && b.end.After(slots[i].StartsAt) {
				slots[i].Free = false
				break
			}
		}
	}
	return slots, nil
}

// zoneName gives Postgres a zone it knows: the IANA name, or for the fixed
// fallback zone an Etc/GMT name (whose POSIX sign is inverted).
func zoneName(loc *time.Location) string {
	if loc.String() != "AST" {
		return loc.String()
	}
	return "Etc/GMT-3"
}
