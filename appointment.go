package healthgraph

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// AppointmentStatus is where an appointment is in its life.
type AppointmentStatus string

// Appointment states. BOOKED and CHECKED_IN are live: they hold the
// practitioner's time, so no two live appointments of one practitioner may
// overlap. The others are final.
const (
	AppointmentBooked    AppointmentStatus = "BOOKED"
	AppointmentCheckedIn AppointmentStatus = "CHECKED_IN"
	AppointmentCompleted AppointmentStatus = "COMPLETED"
	AppointmentCancelled AppointmentStatus = "CANCELLED"
	AppointmentNoShow    AppointmentStatus = "NO_SHOW"
)

// AppointmentStatuses lists every status, in a stable order.
var AppointmentStatuses = []AppointmentStatus{
	AppointmentBooked, AppointmentCheckedIn, AppointmentCompleted, AppointmentCancelled, AppointmentNoShow,
}

// Valid reports whether s is one of the known statuses.
func (s AppointmentStatus) Valid() bool {
	for _, known := range AppointmentStatuses {
		if s == known {
			return true
		}
	}
	return false
}

// Live reports whether an appointment in s still holds the practitioner's
// time.
func (s AppointmentStatus) Live() bool {
	return s == AppointmentBooked || s == AppointmentCheckedIn
}

// CanBecome reports whether an appointment may move from s to next. A booked
// patient checks in, misses the visit or cancels; a checked-in visit
// completes or is cancelled; final states never change.
func (s AppointmentStatus) CanBecome(next AppointmentStatus) bool {
	switch s {
	case AppointmentBooked:
		return next == AppointmentCheckedIn || next == AppointmentCancelled || next == AppointmentNoShow
	case AppointmentCheckedIn:
		return next == AppointmentCompleted || next == AppointmentCancelled
	}
	return false
}

// Appointment is a patient's visit to a practitioner.
type Appointment struct {
	ID             uuid.UUID
	PatientID      uuid.UUID
	PractitionerID uuid.UUID
	StartsAt       time.Time
	EndsAt         time.Time
	Status         AppointmentStatus
	Reason         string
	// CancelReason is set when, and only when, the status is CANCELLED.
	CancelReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Appointment length bounds and how far ahead one may be booked.
const (
	MinAppointmentLength = 5 * time.Minute
	MaxAppointmentLength = 4 * time.Hour
	MaxBookingHorizon    = 366 * 24 * time.Hour
)

// NewAppointment is the input that books an appointment.
type NewAppointment struct {
	PatientID      uuid.UUID
	PractitionerID uuid.UUID
	StartsAt       time.Time
	EndsAt         time.Time
	Reason         string
}

// Validate checks a booking against the clock now: it may not start in the
// past, must end after it starts and last a sensible time. BAD_USER_INPUT
// names the field at fault.
func (a *NewAppointment) Validate(now time.Time) error {
	if a.PatientID == uuid.Nil {
		return Invalid("patientId", "patientId is required")
	}
	if a.PractitionerID == uuid.Nil {
		return Invalid("practitionerId", "practitionerId is required")
	}
	if err := ValidateAppointmentTimes(a.StartsAt, a.EndsAt, now); err != nil {
		return err
	}
	return validReason("reason", &a.Reason, false)
}

// ValidateAppointmentTimes checks a booking or rescheduling window against
// the clock now, naming the field "startsAt" or "endsAt" at fault.
func ValidateAppointmentTimes(startsAt, endsAt, now time.Time) error {
	switch {
	case startsAt.IsZero():
		return Invalid("startsAt", "startsAt is required")
	case endsAt.IsZero():
		return Invalid("endsAt", "endsAt is required")
	case startsAt.Before(now):
		return Invalid("startsAt", "an appointment cannot start in the past")
	case startsAt.After(now.Add(MaxBookingHorizon)):
		return Invalid("startsAt", "an appointment can be booked at most a year ahead")
	case !endsAt.After(startsAt):
		return Invalid("endsAt", "an appointment must end after it starts")
	case endsAt.Sub(startsAt) < MinAppointmentLength:
		return Invalid("endsAt", "an appointment must last at least %s", MinAppointmentLength)
	case endsAt.Sub(startsAt) > MaxAppointmentLength:
		return Invalid("endsAt", "an appointment may last at most %s", MaxAppointmentLength)
	}
	return nil
}

// ValidateCancelReason checks and trims the reason for a cancellation,
// which is required.
func ValidateCancelReason(reason *string) error {
	return validReason("reason", reason, true)
}

func validReason(field string, v *string, required bool) error {
	*v = strings.TrimSpace(*v)
	n := utf8.RuneCountInString(*v)
	switch {
	case !utf8.ValidString(*v):
		return Invalid(field, "%s is not valid text", field)
	case required && n == 0:
		return Invalid(field, "%s is required", field)
	case n > MaxReasonLength:
		return Invalid(field, "%s must be at most %d characters", field, MaxReasonLength)
	}
	return nil
}

// AppointmentFilter narrows a list of appointments. Nil fields do not
// filter; From and To bound the start time, From inclusive, To exclusive.
type AppointmentFilter struct {
	PractitionerID *uuid.UUID
	PatientID      *uuid.UUID
	From           *time.Time
	To             *time.Time
	Status         *AppointmentStatus
}

// Validate checks the filter's bounds and status.
func (f AppointmentFilter) Validate() error {
	if err := validWindow(f.From, f.To); err != nil {
		return err
	}
	if f.Status != nil && !f.Status.Valid() {
		return Invalid("filter.status", "unknown appointment status")
	}
	return nil
}

// Schedule describes a clinic's working day: slots of SlotLength between
// DayStart and DayEnd (offsets from local midnight in Zone), on every day
// except the weekend.
type Schedule struct {
	Zone       *time.Location
	DayStart   time.Duration
	DayEnd     time.Duration
	SlotLength time.Duration
	Weekend    []time.Weekday
}

// ClinicZone is the clinic's time zone; times are stored in UTC and shown
// in it. It falls back to a fixed UTC+3 when the zone database is missing,
// which is exact for Riyadh (no daylight saving).
var ClinicZone = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Riyadh"); err == nil {
		return loc
	}
	return time.FixedZone("AST", 3*60*60)
}()

// DefaultSchedule is 08:00 to 16:00 in 30-minute slots, Sunday to Thursday,
// Riyadh time.
var DefaultSchedule = Schedule{
	Zone:       ClinicZone,
	DayStart:   8 * time.Hour,
	DayEnd:     16 * time.Hour,
	SlotLength: 30 * time.Minute,
	Weekend:    []time.Weekday{time.Friday, time.Saturday},
}

// WorkingDay reports whether the calendar date of day (year, month, day as
// written) is a working day.
func (s Schedule) WorkingDay(day time.Time) bool {
	wd := time.Date(day.Year(), day.Month(), day.Day(), 12, 0, 0, 0, time.UTC).Weekday()
	for _, w := range s.Weekend {
		if wd == w {
			return false
		}
	}
	return true
}

// Slots returns the slots of the calendar date of day (year, month, day as
// written), none on a weekend, each marked free.
func (s Schedule) Slots(day time.Time) []Slot {
	if !s.WorkingDay(day) || s.SlotLength <= 0 {
		return nil
	}
	var out []Slot
	for off := s.DayStart; off+s.SlotLength <= s.DayEnd; off += s.SlotLength {
		// time.Date normalises the offset by wall clock, which keeps
		// slots right even in zones with daylight saving.
		start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, int(off), s.Zone)
		out = append(out, Slot{StartsAt: start, EndsAt: start.Add(s.SlotLength), Free: true})
	}
	return out
}

// Slot is one bookable period of a practitioner's day. It never says who
// holds a booked slot.
type Slot struct {
	StartsAt time.Time
	EndsAt   time.Time
	Free     bool
}

// UtilizationGroupBy chooses how appointmentUtilization groups appointments.
type UtilizationGroupBy string

// The groupings of appointment utilization.
const (
	GroupByPractitioner UtilizationGroupBy = "PRACTITIONER"
	GroupBySpecialty    UtilizationGroupBy = "SPECIALTY"
	GroupByDay          UtilizationGroupBy = "DAY"
)

// Valid reports whether g is a known grouping.
func (g UtilizationGroupBy) Valid() bool {
	return g == GroupByPractitioner || g == GroupBySpecialty || g == GroupByDay
}

// MinUtilizationGroup is the smallest group appointmentUtilization reports:
// smaller groups are suppressed so no patient can be singled out.
const MinUtilizationGroup = 5

// UtilizationGroup aggregates the appointments of one group. It carries no
// patient identity.
type UtilizationGroup struct {
	// Key identifies the group: a practitioner id, a specialty code or a
	// date (YYYY-MM-DD, clinic zone). Label is for display.
	Key   string
	Label string
	// Booked counts every appointment booked in the group, whatever its
	// status now; the others count by final status.
	Booked    int
	Completed int
	Cancelled int
	NoShow    int
	// ScheduledHours sums the length of appointments not cancelled;
	// CompletedHours the length of completed ones. Utilization is
	// CompletedHours / ScheduledHours (0 when nothing was scheduled).
	ScheduledHours float64
	CompletedHours float64
	Utilization    float64
	// Partial says some months of the group were suppressed and are left
	// out of its figures.
	Partial bool
}

// AppointmentStore keeps appointments. Reads take the caller's PatientScope
// and apply it in SQL; an appointment of a patient outside scope is
// NOT_FOUND. Changes of an existing appointment take the caller's write
// scope (auth.WriteScope): one in scope but not the caller's own (its
// OwnerUserID) is FORBIDDEN, decided in the statement that changes it.
type AppointmentStore interface {
	// BookAppointment validates and books a, as BOOKED. BAD_USER_INPUT
	// names the field at fault; NOT_FOUND when the patient is outside
	// scope or the practitioner does not exist; CONFLICT (field startsAt)
	// when the practitioner or the patient already has a live appointment
	// overlapping it, as a *PatientBusyError naming the patient's.
	BookAppointment(ctx context.Context, scope PatientScope, a NewAppointment) (*Appointment, error)
	// RescheduleAppointment moves a live appointment to a new window.
	// NOT_FOUND, BAD_USER_INPUT and CONFLICT as for booking; CONFLICT also
	// when the appointment is no longer live.
	RescheduleAppointment(ctx context.Context, scope PatientScope, id uuid.UUID, startsAt, endsAt time.Time) (*Appointment, error)
	// CancelAppointment cancels with a required reason, freeing the slot.
	// CONFLICT when the status does not allow it.
	CancelAppointment(ctx context.Context, scope PatientScope, id uuid.UUID, reason string) (*Appointment, error)
	// UpdateAppointmentStatus moves an appointment along an allowed
	// transition (see AppointmentStatus.CanBecome). CONFLICT when the
	// transition is not allowed from the current status, or another
	// request changed the status first; BAD_USER_INPUT ("status") for
	// CANCELLED, which needs CancelAppointment and a reason.
	UpdateAppointmentStatus(ctx context.Context, scope PatientScope, id uuid.UUID, status AppointmentStatus) (*Appointment, error)
	// AppointmentByID returns NOT_FOUND when absent or outside scope.
	AppointmentByID(ctx context.Context, scope PatientScope, id uuid.UUID) (*Appointment, error)
	// AppointmentsByIDs returns those among ids that exist and are in
	// scope, in no set order; loaders use it.
	AppointmentsByIDs(ctx context.Context, scope PatientScope, ids []uuid.UUID) ([]*Appointment, error)
	// ListAppointments returns one page ordered by start time, then id,
	// and how many match. The cursor's Time is a start time.
	ListAppointments(ctx context.Context, scope PatientScope, f AppointmentFilter, p Page) ([]*Appointment, int, error)
	// UpcomingAppointmentsByPatientIDs returns, for each patient among ids
	// in scope, up to limit live or later appointments that end after now,
	// soonest first; loaders use it.
	UpcomingAppointmentsByPatientIDs(ctx context.Context, scope PatientScope, patientIDs []uuid.UUID, now time.Time, limit int) ([]*Appointment, error)
	// PractitionerSchedule returns the slots of the practitioner's working
	// day on the calendar date of day, each free unless a live appointment
	// overlaps it. NOT_FOUND for an unknown practitioner.
	PractitionerSchedule(ctx context.Context, practitionerID uuid.UUID, day time.Time, s Schedule) ([]Slot, error)
	// AppointmentUtilization aggregates appointments starting in [from, to)
	// by groupBy, suppressing groups of fewer than MinUtilizationGroup
	// appointments. BAD_USER_INPUT for an unknown grouping or a bad range.
	AppointmentUtilization(ctx context.Context, from, to time.Time, groupBy UtilizationGroupBy) ([]UtilizationGroup, error)
}

// PatientBusyError is the CONFLICT of a booking or a move that would put a
// patient in two live appointments at once. It names the appointment
// already there, which the caller may see (it is the same patient's), so
// the desk can open it rather than hunt for it.
type PatientBusyError struct {
	// Conflict is the domain error: CONFLICT on startsAt.
	Conflict *Error
	// AppointmentID is the patient's overlapping live appointment; nil
	// when the database's constraint caught a race the store could not
	// name it in.
	AppointmentID *uuid.UUID
}

// PatientBusy returns the CONFLICT of a patient already booked over the
// window, naming the overlapping appointment when it is known.
func PatientBusy(appointmentID *uuid.UUID) *PatientBusyError {
	return &PatientBusyError{AppointmentID: appointmentID, Conflict: &Error{Code: ECONFLICT, Field: "startsAt",
		Message: "the patient already has an appointment at this time"}}
}

// Error implements the error interface.
func (e *PatientBusyError) Error() string { return e.Conflict.Error() }

// Unwrap exposes the domain error to ErrorCode and errors.As.
func (e *PatientBusyError) Unwrap() error { return e.Conflict }
