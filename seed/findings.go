package seed

import (
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

var findingsTable = table{"visit_findings", []string{"id", "appointment_id", "patient_id", "author_id", "version",
	"systolic_mmhg", "diastolic_mmhg", "height_cm", "weight_kg", "pulse_per_min", "respiratory_per_min", "temperature_cel",
	"oxygen_saturation", "chief_complaint_code", "chief_complaint", "patient_history", "present_illness",
	"physical_examination", "treatment_plan", "investigation", "created_at"}}

// billVisit invoices the completed visit the batch booked last and, when
// the invoice is claimed, records the visit's findings the claim carries
// (complaint is their chief complaint's code). It returns the claim, or
// nil when the visit was not claimed.
func (g *gen) billVisit(b *batch, numbers *invoiceNumbers, pt patient, pr practitioner, end time.Time, complaint string) *claimed {
	visit := b.appointments[len(b.appointments)-1][0].(uuid.UUID)
	claims := len(b.claimed)
	g.addInvoice(b, numbers, pt, end)
	if len(b.claimed) == claims {
		return nil
	}
	c := &b.claimed[len(b.claimed)-1]
	c.visit, c.findings = visit, g.addFindings(b, visit, pt.id, pr.userID, complaint, end)
	row := b.claims[len(b.claims)-1]
	row[len(row)-2], row[len(row)-1] = pr.id, visit
	return c
}

// addFindings records the minimum data set of a billed visit, as its
// practitioner did at its end: plausible vital signs, the complaint coded
// as the visit's principal diagnosis, and the narrative. The visit's claim
// carries them; NPHIES refuses a claim without them.
func (g *gen) addFindings(b *batch, visit, patient, author uuid.UUID, complaint string, at time.Time) *hg.VisitFindings {
	between := func(lo, hi int) int { return lo + g.rng.IntN(hi-lo+1) }
	tenths := func(lo, hi int) float64 { return float64(between(lo, hi)) / 10 }
	systolic, diastolic := between(105, 150), between(60, 95)
	pulse, breaths := between(58, 100), between(12, 20)
	height, weight, temperature, saturation := tenths(1500, 1900), tenths(500, 1100), tenths(362, 379), float64(between(94, 100))
	f := hg.VisitFindings{ID: g.id(at), AppointmentID: visit, PatientID: patient, AuthorID: author, Version: 1,
		Vitals: hg.Vitals{SystolicMmHg: &systolic, DiastolicMmHg: &diastolic, HeightCm: &height, WeightKg: &weight,
			PulsePerMinute: &pulse, RespiratoryRatePerMinute: &breaths, TemperatureCelsius: &temperature, OxygenSaturationPct: &saturation},
		ChiefComplaintCode: complaint, ChiefComplaint: pick(g, []string{"Follow-up of a known condition", "New symptoms since last week",
			"Routine review", "Pain and discomfort"}),
		PatientHistory: pick(g, []string{"No systemic disease", "Known hypertensive on treatment", "Type 2 diabetes, controlled"}),
		PresentIllness: "Symptoms for a few days, no red flags", PhysicalExamination: "Alert, stable, no acute distress",
		TreatmentPlan: pick(g, []string{"Continue current medication, review in a month", "Symptomatic treatment, review as needed"}),
		Investigation: hg.InvestigationNotPerformed, CreatedAt: at}
	b.findings = append(b.findings, []any{f.ID, visit, patient, author, f.Version, systolic, diastolic, height, weight, pulse, breaths,
		temperature, saturation, f.ChiefComplaintCode, f.ChiefComplaint, f.PatientHistory, f.PresentIllness, f.PhysicalExamination,
		f.TreatmentPlan, string(f.Investigation), at})
	return &f
}
