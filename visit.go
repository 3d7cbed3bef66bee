package healthgraph

import (
	"context"
	"math"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// VisitFindings are what a clinician recorded of one visit (appointment)
// that NPHIES's minimum data set asks a claim or prior authorization to
// carry: vital signs, the chief complaint, history, examination, treatment
// plan and investigation result. They are clinical records like the chart:
// append-only, each recording a new version that carries forward what it
// does not change; the latest version is the visit's findings.
type VisitFindings struct {
	ID            uuid.UUID
	AppointmentID uuid.UUID
	PatientID     uuid.UUID
	AuthorID      uuid.UUID
	Vitals        Vitals
	// ChiefComplaintCode is an ICD-10-AM code (NPHIES requires one, BV-00429);
	// ChiefComplaint optionally words it.
	ChiefComplaintCode, ChiefComplaint string
	// The clinical narrative, each at most MaxFindingText characters.
	PatientHistory, PresentIllness, PhysicalExamination, TreatmentPlan string
	// Investigation says whether investigations were done;
	// InvestigationNote describes them (required for OTHER).
	Investigation     Investigation
	InvestigationNote string
	// Version counts the recordings of the visit's findings, from 1.
	Version   int
	CreatedAt time.Time
}

// Vitals are a visit's vital signs, each nil when not measured. The units
// are the ones NPHIES takes (UCUM): mm[Hg], cm, kg, /min, Cel and %.
type Vitals struct {
	SystolicMmHg, DiastolicMmHg              *int
	HeightCm, WeightKg                       *float64
	PulsePerMinute, RespiratoryRatePerMinute *int
	TemperatureCelsius, OxygenSaturationPct  *float64
}

// Investigation is NPHIES's investigation-result code for a visit.
type Investigation string

// The investigation results NPHIES knows (CodeSystem investigation-result).
// Attached results (IRA) travel as a communication's attachments, not here.
const (
	InvestigationNotPerformed  Investigation = "NOT_PERFORMED"
	InvestigationPending       Investigation = "PENDING"
	InvestigationNotApplicable Investigation = "NOT_APPLICABLE"
	InvestigationOther         Investigation = "OTHER"
)

// InvestigationCodes are the NPHIES codes of the investigation results.
var InvestigationCodes = map[Investigation]string{
	InvestigationNotPerformed: "INP", InvestigationPending: "IRP", InvestigationNotApplicable: "NA",
	InvestigationOther: "other",
}

// MaxFindingText is the longest narrative NPHIES takes in one supporting
// information (BV-00316: 250 characters, 125 when written in Arabic).
const MaxFindingText = 250

// NewVisitFindings records findings of a visit. Nil fields keep the value
// of the visit's previous findings; a recording must change something.
type NewVisitFindings struct {
	AppointmentID                                                      uuid.UUID
	AuthorID                                                           uuid.UUID
	Vitals                                                             Vitals
	ChiefComplaintCode, ChiefComplaint                                 *string
	PatientHistory, PresentIllness, PhysicalExamination, TreatmentPlan *string
	Investigation                                                      *Investigation
	InvestigationNote                                                  *string
}

// vitalRange is the plausible range of one vital sign, in its unit.
type vitalRange struct {
	field, unit string
	min, max    float64
}

// The ranges outside which a vital sign is a typing error (a height in
// metres, a temperature in Fahrenheit), not a measurement.
var (
	systolicRange    = vitalRange{"systolicMmHg", "mm[Hg]", 40, 300}
	diastolicRange   = vitalRange{"diastolicMmHg", "mm[Hg]", 20, 200}
	heightRange      = vitalRange{"heightCm", "cm", 20, 280}
	weightRange      = vitalRange{"weightKg", "kg", 0.3, 500}
	pulseRange       = vitalRange{"pulsePerMinute", "beats per minute", 20, 300}
	respiratoryRange = vitalRange{"respiratoryRatePerMinute", "breaths per minute", 4, 80}
	temperatureRange = vitalRange{"temperatureCelsius", "degrees Celsius", 25, 45}
	saturationRange  = vitalRange{"oxygenSaturationPct", "%", 50, 100}
)

func (r vitalRange) check(v float64) error {
	if math.IsNaN(v) || v < r.min || v > r.max {
		return Invalid("vitals."+r.field, "%s must be between %g and %g (%s), got %g", r.field, r.min, r.max, r.unit, v)
	}
	if math.Abs(v*100-math.Round(v*100)) > 1e-6 {
		return Invalid("vitals."+r.field, "%s has at most two decimals", r.field)
	}
	return nil
}

// Validate checks every given value: vital signs within their plausible
// range in the unit the field names, an ICD-10-AM chief complaint code, and narrative NPHIES can carry.
// BAD_USER_INPUT names the field at fault.
func (n *NewVisitFindings) Validate() error {
	if n.AppointmentID == uuid.Nil {
		return Invalid("appointmentId", "appointmentId is required")
	}
	v := n.Vitals
	for _, c := range []struct {
		r vitalRange
		v *int
	}{{systolicRange, v.SystolicMmHg}, {diastolicRange, v.DiastolicMmHg}, {pulseRange, v.PulsePerMinute}, {respiratoryRange, v.RespiratoryRatePerMinute}} {
		if c.v != nil {
			if err := c.r.check(float64(*c.v)); err != nil {
				return err
			}
		}
	}
	for _, c := range []struct {
		r vitalRange
		v *float64
	}{{heightRange, v.HeightCm}, {weightRange, v.WeightKg}, {temperatureRange, v.TemperatureCelsius}, {saturationRange, v.OxygenSaturationPct}} {
		if c.v != nil {
			if err := c.r.check(*c.v); err != nil {
				return err
			}
		}
	}
	if c := n.ChiefComplaintCode; c != nil && !ValidICD10AM(*c) {
		return Invalid("chiefComplaintCode", "%q is not an ICD-10-AM code (a letter, two digits, optionally a dot and one or two digits)", truncateText(*c, 16))
	}
	for _, t := range []struct {
		field string
		v     *string
	}{{"chiefComplaint", n.ChiefComplaint}, {"patientHistory", n.PatientHistory}, {"presentIllness", n.PresentIllness},
		{"physicalExamination", n.PhysicalExamination}, {"treatmentPlan", n.TreatmentPlan}, {"investigationNote", n.InvestigationNote}} {
		if t.v != nil {
			if err := validFinding(t.field, t.v); err != nil {
				return err
			}
		}
	}
	if i := n.Investigation; i != nil && InvestigationCodes[*i] == "" {
		return Invalid("investigation", "unknown investigation result %q", *i)
	}
	if n.empty() {
		return Invalid("vitals", "nothing to record: give at least one vital sign or finding")
	}
	return nil
}

// empty reports whether the recording changes nothing.
func (n *NewVisitFindings) empty() bool {
	v := n.Vitals
	return v == (Vitals{}) && n.ChiefComplaintCode == nil && n.ChiefComplaint == nil && n.PatientHistory == nil &&
		n.PresentIllness == nil && n.PhysicalExamination == nil && n.TreatmentPlan == nil && n.Investigation == nil &&
		n.InvestigationNote == nil
}

// validFinding normalises a narrative and checks NPHIES can carry it: 1 to
// 250 characters, or 125 when it is not plain ASCII (Arabic).
func validFinding(field string, v *string) error {
	if err := validText(field, v, MaxFindingText); err != nil {
		return err
	}
	n := utf8.RuneCountInString(*v)
	switch {
	case n == 0:
		return Invalid(field, "%s is empty: leave it out to keep what was recorded", field)
	case n > MaxFindingText/2 && !isASCII(*v):
		return Invalid(field, "%s must be at most %d characters when written in Arabic (NPHIES BV-00316)", field, MaxFindingText/2)
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// truncateText cuts s to n runes for an error message.
func truncateText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// Check reports whether the findings, merged, are consistent: OTHER needs
// its note (NPHIES BV-00753) and the diastolic stays below the systolic.
func (f *VisitFindings) Check() error {
	if f.Investigation == InvestigationOther && f.InvestigationNote == "" {
		return Invalid("investigationNote", "an investigation result of OTHER needs investigationNote")
	}
	v := f.Vitals
	if v.SystolicMmHg != nil && v.DiastolicMmHg != nil && *v.DiastolicMmHg >= *v.SystolicMmHg {
		return Invalid("vitals.diastolicMmHg", "the diastolic pressure (%d) must be below the systolic (%d)", *v.DiastolicMmHg, *v.SystolicMmHg)
	}
	return nil
}

// Merge returns the findings prev (nil for none) with n's given values
// replacing its own.
func (n *NewVisitFindings) Merge(prev *VisitFindings) VisitFindings {
	var f VisitFindings
	if prev != nil {
		f = *prev
	}
	pick := func(dst **int, src *int) {
		if src != nil {
			*dst = src
		}
	}
	pickF := func(dst **float64, src *float64) {
		if src != nil {
			*dst = src
		}
	}
	pick(&f.Vitals.SystolicMmHg, n.Vitals.SystolicMmHg)
	pick(&f.Vitals.DiastolicMmHg, n.Vitals.DiastolicMmHg)
	pick(&f.Vitals.PulsePerMinute, n.Vitals.PulsePerMinute)
	pick(&f.Vitals.RespiratoryRatePerMinute, n.Vitals.RespiratoryRatePerMinute)
	pickF(&f.Vitals.HeightCm, n.Vitals.HeightCm)
	pickF(&f.Vitals.WeightKg, n.Vitals.WeightKg)
	pickF(&f.Vitals.TemperatureCelsius, n.Vitals.TemperatureCelsius)
	pickF(&f.Vitals.OxygenSaturationPct, n.Vitals.OxygenSaturationPct)
	for _, s := range []struct {
		dst *string
		src *string
	}{{&f.ChiefComplaintCode, n.ChiefComplaintCode}, {&f.ChiefComplaint, n.ChiefComplaint}, {&f.PatientHistory, n.PatientHistory},
		{&f.PresentIllness, n.PresentIllness}, {&f.PhysicalExamination, n.PhysicalExamination}, {&f.TreatmentPlan, n.TreatmentPlan},
		{&f.InvestigationNote, n.InvestigationNote}} {
		if s.src != nil {
			*s.dst = *s.src
		}
	}
	if n.Investigation != nil {
		f.Investigation = *n.Investigation
	}
	return f
}

// VisitFindingsStore keeps the findings of visits, append-only.
type VisitFindingsStore interface {
	// RecordVisitFindings validates n and appends a version of the
	// appointment's findings that carries forward what n leaves out.
	// NOT_FOUND when the appointment is absent or outside scope;
	// BAD_USER_INPUT naming the field.
	RecordVisitFindings(ctx context.Context, scope PatientScope, n NewVisitFindings) (*VisitFindings, error)
	// VisitFindings returns the appointment's current findings, nil when
	// none were recorded. NOT_FOUND when the appointment is absent or
	// outside scope.
	VisitFindings(ctx context.Context, scope PatientScope, appointmentID uuid.UUID) (*VisitFindings, error)
}
