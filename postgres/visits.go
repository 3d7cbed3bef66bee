package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

const findingsColumns = `f.id, f.appointment_id, f.patient_id, f.author_id, f.version,
	f.systolic_mmhg, f.diastolic_mmhg, f.height_cm::float8, f.weight_kg::float8, f.pulse_per_min,
	f.respiratory_per_min, f.temperature_cel::float8, f.oxygen_saturation::float8,
	f.chief_complaint_code, f.chief_complaint, f.patient_history, f.present_illness,
	f.physical_examination, f.treatment_plan, f.investigation, f.investigation_note, f.created_at`

func scanFindings(row pgx.CollectableRow) (*hg.VisitFindings, error) {
	var f hg.VisitFindings
	v := &f.Vitals
	err := row.Scan(&f.ID, &f.AppointmentID, &f.PatientID, &f.AuthorID, &f.Version,
		&v.SystolicMmHg, &v.DiastolicMmHg, &v.HeightCm, &v.WeightKg, &v.PulsePerMinute,
		&v.RespiratoryRatePerMinute, &v.TemperatureCelsius, &v.OxygenSaturationPct,
		&f.ChiefComplaintCode, &f.ChiefComplaint, &f.PatientHistory, &f.PresentIllness,
		&f.PhysicalExamination, &f.TreatmentPlan, &f.Investigation, &f.InvestigationNote, &f.CreatedAt)
	return &f, err
}

var findingsConflicts = map[string]*hg.Error{
	"visit_findings_appointment_id_version_key": {Code: hg.ECONFLICT, Field: "appointmentId",
		Message: "the visit's findings were recorded meanwhile; reload and try again"},
	"visit_findings_author_id_fkey": {Code: hg.EINVALID, Field: "authorId", Message: "no such author"},
}

// RecordVisitFindings appends a version of the appointment's findings: the
// previous version with n's values in place of its own. The appointment is
// locked first, so two recordings of one visit follow each other and
// neither loses the other's values.
func (db *DB) RecordVisitFindings(ctx context.Context, scope hg.PatientScope, n hg.NewVisitFindings) (*hg.VisitFindings, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	var out *hg.VisitFindings
	err = db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		var patientID uuid.UUID
		err := tx.QueryRow(ctx, `SELECT a.patient_id FROM appointments a WHERE a.id = @id AND `+inScope("a.patient_id")+`
			FOR NO KEY UPDATE OF a`, scopeArgs(scope, namedArgs{"id": n.AppointmentID})).Scan(&patientID)
		if err != nil {
			return translate(err, "appointment")
		}
		prev, err := currentFindings(ctx, tx, n.AppointmentID)
		if err != nil {
			return err
		}
		f := n.Merge(prev)
		if err := f.Check(); err != nil {
			return err
		}
		f.ID, f.AppointmentID, f.PatientID, f.AuthorID, f.Version = id, n.AppointmentID, patientID, n.AuthorID, 1
		if prev != nil {
			f.Version = prev.Version + 1
		}
		v := f.Vitals
		rows, _ := tx.Query(ctx, `INSERT INTO visit_findings AS f (id, appointment_id, patient_id, author_id, version,
			systolic_mmhg, diastolic_mmhg, height_cm, weight_kg, pulse_per_min, respiratory_per_min, temperature_cel,
			oxygen_saturation, chief_complaint_code, chief_complaint, patient_history, present_illness,
			physical_examination, treatment_plan, investigation, investigation_note)
			VALUES (@id, @appointment_id, @patient_id, @author_id, @version, @systolic, @diastolic, @height, @weight,
			@pulse, @respiratory, @temperature, @saturation, @cc_code, @cc, @history, @present, @exam, @plan,
			@investigation, @investigation_note)
			RETURNING `+findingsColumns, namedArgs{
			"id": f.ID, "appointment_id": f.AppointmentID, "patient_id": f.PatientID, "author_id": f.AuthorID,
			"version": f.Version, "systolic": v.SystolicMmHg, "diastolic": v.DiastolicMmHg, "height": v.HeightCm,
			"weight": v.WeightKg, "pulse": v.PulsePerMinute, "respiratory": v.RespiratoryRatePerMinute,
			"temperature": v.TemperatureCelsius, "saturation": v.OxygenSaturationPct, "cc_code": f.ChiefComplaintCode,
			"cc": f.ChiefComplaint, "history": f.PatientHistory, "present": f.PresentIllness, "exam": f.PhysicalExamination,
			"plan": f.TreatmentPlan, "investigation": string(f.Investigation), "investigation_note": f.InvestigationNote,
		})
		out, err = pgx.CollectExactlyOneRow(rows, scanFindings)
		return byConstraint(err, "visit findings", findingsConflicts)
	}, func() (uuid.UUID, *uuid.UUID) { return out.ID, &out.PatientID })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// currentFindings is the latest version of an appointment's findings, nil
// when none were recorded.
func currentFindings(ctx context.Context, q querier, appointmentID uuid.UUID) (*hg.VisitFindings, error) {
	rows, _ := q.Query(ctx, `SELECT `+findingsColumns+` FROM visit_findings f
		WHERE f.appointment_id = $1 ORDER BY f.version DESC LIMIT 1`, appointmentID)
	f, err := pgx.CollectExactlyOneRow(rows, scanFindings)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return f, translate(err, "visit findings")
}

// VisitFindings returns the appointment's current findings; nil when none
// were recorded.
func (db *DB) VisitFindings(ctx context.Context, scope hg.PatientScope, appointmentID uuid.UUID) (*hg.VisitFindings, error) {
	if _, err := appointmentByID(ctx, db.Pool, scope, appointmentID); err != nil {
		return nil, err
	}
	return currentFindings(ctx, db.Pool, appointmentID)
}
