package healthgraph

import "time"

// ClaimType is the kind of claim, which decides its NPHIES profile and
// what it carries beyond the invoice.
type ClaimType string

// The claim types NPHIES defines.
const (
	// ClaimProfessional is an outpatient visit's claim (the default).
	ClaimProfessional ClaimType = "PROFESSIONAL"
	// ClaimInstitutional is a hospital stay's: inpatient or day case.
	ClaimInstitutional ClaimType = "INSTITUTIONAL"
	// ClaimPharmacy is dispensed medicines' and devices'.
	ClaimPharmacy ClaimType = "PHARMACY"
	// ClaimDental is oral health care's.
	ClaimDental ClaimType = "DENTAL"
	// ClaimVision is eye care's: tests, glasses, lenses.
	ClaimVision ClaimType = "VISION"
)

// Valid reports whether t is a known claim type.
func (t ClaimType) Valid() bool {
	switch t {
	case ClaimProfessional, ClaimInstitutional, ClaimPharmacy, ClaimDental, ClaimVision:
		return true
	}
	return false
}

// NeedsEncounter reports whether NPHIES requires the encounter (the visit)
// of t's claims and prior authorizations: every type's but pharmacy's and
// vision's, whose profiles make it optional.
func (t ClaimType) NeedsEncounter() bool {
	return t != ClaimPharmacy && t != ClaimVision
}

// ClaimDetails is what a claim carries for its type beyond the invoice: per
// invoice line a tooth and its surfaces (dental) or a days supply
// (pharmacy), an institutional claim's admission, a vision claim's
// prescription. It is kept with the claim, so a resubmission carries it
// again.
type ClaimDetails struct {
	Items              []ClaimItemDetail   `json:"items,omitempty"`
	Admission          *Admission          `json:"admission,omitempty"`
	VisionPrescription *VisionPrescription `json:"visionPrescription,omitempty"`
	Emergency          *Emergency          `json:"emergency,omitempty"`
}

// Emergency is what NPHIES asks of an emergency visit's encounter (class
// EMER) on a professional claim: the triage, and on a claim how the
// patient arrived, when emergency care began and how the department
// discharged them. Codes are NPHIES's (triage-category,
// emergency-arrival-code, emergency-department-disposition).
type Emergency struct {
	TriageCategory string     `json:"triageCategory"`
	TriageDate     time.Time  `json:"triageDate"`
	ArrivalCode    string     `json:"arrivalCode,omitempty"`
	ServiceStart   *time.Time `json:"serviceStart,omitempty"`
	Disposition    string     `json:"disposition,omitempty"`
	// CauseOfDeath is an ICD-10-AM code, when the disposition is DED
	// (died in the department) or DOA (dead on arrival).
	CauseOfDeath string `json:"causeOfDeath,omitempty"`
}

// ClaimItemDetail is what the type requires of one invoice line.
type ClaimItemDetail struct {
	// Sequence is the invoice line's.
	Sequence int `json:"sequence"`
	// Tooth is an FDI tooth (11–48, deciduous 51–85) or oral region (00
	// the whole mouth, 01/02 an arch, 10–40 a quadrant); Surfaces the
	// surfaces treated. Dental only.
	Tooth    string         `json:"tooth,omitempty"`
	Surfaces []ToothSurface `json:"surfaces,omitempty"`
	// DaysSupply is how many days the medicine lasts. Pharmacy only.
	DaysSupply int `json:"daysSupply,omitempty"`
	// PharmacistSelectionReason is why the pharmacist dispensed this
	// medicine: an NPHIES pharmacist-selection-reason code (Generic,
	// patient-request, …). Pharmacy only.
	PharmacistSelectionReason string `json:"pharmacistSelectionReason,omitempty"`
}

// ToothSurface is an FDI tooth surface.
type ToothSurface string

// The FDI tooth surfaces, by their code.
const (
	SurfaceMesial     ToothSurface = "MESIAL"
	SurfaceOcclusal   ToothSurface = "OCCLUSAL"
	SurfaceIncisal    ToothSurface = "INCISAL"
	SurfaceDistal     ToothSurface = "DISTAL"
	SurfaceBuccal     ToothSurface = "BUCCAL"
	SurfaceVestibular ToothSurface = "VESTIBULAR"
	SurfaceLingual    ToothSurface = "LINGUAL"
)

// ToothSurfaceCodes are the FDI codes of the surfaces.
var ToothSurfaceCodes = map[ToothSurface]string{
	SurfaceMesial: "M", SurfaceOcclusal: "O", SurfaceIncisal: "I", SurfaceDistal: "D", SurfaceBuccal: "B",
	SurfaceVestibular: "V", SurfaceLingual: "L",
}

// AdmissionClass is how a patient is admitted.
type AdmissionClass string

// Admission classes: an inpatient stay, or a day case discharged the same
// day.
const (
	AdmissionInpatient AdmissionClass = "INPATIENT"
	AdmissionDayCase   AdmissionClass = "DAY_CASE"
)

// Admission is an institutional claim's hospital stay.
type Admission struct {
	Class        AdmissionClass `json:"class"`
	AdmittedAt   time.Time      `json:"admittedAt"`
	DischargedAt *time.Time     `json:"dischargedAt,omitempty"`
	// AdmitSource is NPHIES's admit-source code (EER: from the ER).
	AdmitSource string `json:"admitSource"`
	// AdmissionSpecialty and DischargeSpecialty are NPHIES practice codes
	// (08.26).
	AdmissionSpecialty string `json:"admissionSpecialty"`
	DischargeSpecialty string `json:"dischargeSpecialty,omitempty"`
	// DischargeDisposition is NPHIES's discharge-disposition code (home,
	// died, …); CauseOfDeath an ICD-10-AM code when died.
	DischargeDisposition string `json:"dischargeDisposition,omitempty"`
	CauseOfDeath         string `json:"causeOfDeath,omitempty"`
	// EstimatedLengthOfStayDays is a prior authorization's planned stay.
	EstimatedLengthOfStayDays int `json:"estimatedLengthOfStayDays,omitempty"`
	// DiagnosesOnAdmission are the claim's diagnoses present on admission;
	// the others arose during the stay.
	DiagnosesOnAdmission []string `json:"diagnosesOnAdmission,omitempty"`
}

// VisionPrescription is the prescription a vision claim's lenses are made
// to, written by the claim's practitioner.
type VisionPrescription struct {
	WrittenAt time.Time `json:"writtenAt"`
	Lenses    []Lens    `json:"lenses"`
}

// Eye is which eye a lens is for.
type Eye string

// The eyes.
const (
	EyeLeft  Eye = "LEFT"
	EyeRight Eye = "RIGHT"
)

// LensProduct is glasses or contact lenses.
type LensProduct string

// The lens products.
const (
	LensGlasses LensProduct = "GLASSES"
	LensContact LensProduct = "CONTACT"
)

// PrismBase is the direction of a prism's base.
type PrismBase string

// The prism bases.
const (
	PrismUp   PrismBase = "UP"
	PrismDown PrismBase = "DOWN"
	PrismIn   PrismBase = "IN"
	PrismOut  PrismBase = "OUT"
)

// Lens is one eye's lens: powers in dioptres (quarter steps), the axis in
// degrees (1–180), and an optional prism.
type Lens struct {
	Eye         Eye         `json:"eye"`
	Product     LensProduct `json:"product"`
	Sphere      *float64    `json:"sphere,omitempty"`
	Cylinder    *float64    `json:"cylinder,omitempty"`
	Axis        *int        `json:"axis,omitempty"`
	Add         *float64    `json:"add,omitempty"`
	PrismAmount *float64    `json:"prismAmount,omitempty"`
	PrismBase   PrismBase   `json:"prismBase,omitempty"`
}
