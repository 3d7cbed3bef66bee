package pgtest

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
)

// Visit is a visit of the patient with the practitioner that took place
// at start, half an hour long, with its whole minimum data set recorded by
// the practitioner and completed: what a claim or prior authorization is
// made for, as NPHIES refuses one without the visit's vital signs,
// complaint, history, examination, plan and investigation result
// (BV-00752, BV-00772–780, BV-00803–806). It returns the visit and its
// findings. Tests and drills that are not about visits set one up with it,
// through the store.
func Visit(ctx context.Context, db *postgres.DB, patientID uuid.UUID, pr *hg.Practitioner, start time.Time) (*hg.Appointment, *hg.VisitFindings, error) {
	all := hg.PatientScope{All: true}
	// Booked in a half hour of its own half a year ahead (no one books in the
	// past), then moved back by Happened.
	ahead := time.Now().AddDate(0, 6, 0).Truncate(time.Hour).Add(time.Duration(booked.Add(1)) * 30 * time.Minute)
	a, err := db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: patientID, PractitionerID: pr.ID,
		StartsAt: ahead, EndsAt: ahead.Add(30 * time.Minute), Reason: "Headache"})
	if err != nil {
		return nil, nil, fmt.Errorf("book the visit: %w", err)
	}
	f, err := db.RecordVisitFindings(ctx, all, Findings(a.ID, pr.UserID))
	if err != nil {
		return nil, nil, fmt.Errorf("record the visit's findings: %w", err)
	}
	if a, err = Happened(ctx, db, a.ID, start); err != nil {
		return nil, nil, err
	}
	return a, f, nil
}

// booked counts the visits Visit booked, each in a half hour of its own.
var booked atomic.Int64

// Happened completes an appointment (if it is not already) and moves it to start, keeping
// its length: a visit that took place. A claim is for services given
// before it is made (NPHIES dates them within the encounter and not after
// the claim, BV-00041 and BV-00061), and no one can book in the past, so
// tests book ahead and move the visit back; a completed visit holds no
// slot, so any number of them may share start.
func Happened(ctx context.Context, db *postgres.DB, id uuid.UUID, start time.Time) (*hg.Appointment, error) {
	a, err := db.AppointmentByID(ctx, hg.PatientScope{All: true}, id)
	if err != nil {
		return nil, err
	}
	// The steps it has not taken yet; a completed visit is only moved.
	steps := map[hg.AppointmentStatus][]hg.AppointmentStatus{
		hg.AppointmentBooked:    {hg.AppointmentCheckedIn, hg.AppointmentCompleted},
		hg.AppointmentCheckedIn: {hg.AppointmentCompleted},
	}[a.Status]
	for _, s := range steps {
		if _, err := db.UpdateAppointmentStatus(ctx, hg.PatientScope{All: true}, id, s); err != nil {
			return nil, fmt.Errorf("move the visit to %s: %w", s, err)
		}
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE appointments SET ends_at = $2::timestamptz + (ends_at - starts_at), starts_at = $2 WHERE id = $1`,
		id, start); err != nil {
		return nil, fmt.Errorf("move the visit to %s: %w", start, err)
	}
	return db.AppointmentByID(ctx, hg.PatientScope{All: true}, id)
}

// Recorded is n as the store returns it once recorded on a visit that had
// no findings yet; builders of bundles without a database use it.
func Recorded(n hg.NewVisitFindings) *hg.VisitFindings {
	f := n.Merge(nil)
	return &f
}

// Findings is a whole minimum data set of a visit, recorded by author.
func Findings(appointmentID, author uuid.UUID) hg.NewVisitFindings {
	systolic, diastolic, pulse, breaths := 120, 80, 72, 16
	height, weight, temperature, saturation := 172.5, 81.4, 37.2, 98.0
	text := func(s string) *string { return &s }
	investigation := hg.InvestigationNotPerformed
	return hg.NewVisitFindings{AppointmentID: appointmentID, AuthorID: author,
		Vitals: hg.Vitals{SystolicMmHg: &systolic, DiastolicMmHg: &diastolic, HeightCm: &height, WeightKg: &weight,
			PulsePerMinute: &pulse, RespiratoryRatePerMinute: &breaths, TemperatureCelsius: &temperature, OxygenSaturationPct: &saturation},
		ChiefComplaintCode: text("R51"), ChiefComplaint: text("Headache for three days"),
		PatientHistory: text("No systemic disease"), PresentIllness: text("Frontal headache since Monday"),
		PhysicalExamination: text("Stable, afebrile"), TreatmentPlan: text("Analgesics, review in a week"),
		Investigation: &investigation}
}
