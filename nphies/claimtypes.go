package nphies

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// What each claim type carries beyond a professional claim, shaped after
// NPHIES's official examples: an institutional claim's hospital stay (the
// encounter's inpatient or day-case class, admission and discharge, and
// whether each diagnosis was present on admission), a pharmacy claim's days
// supply per medicine, a dental claim's tooth and surfaces per item, and a
// vision claim's prescription.

// Code systems and extensions of the claim types.
const (
	SystemFDIOralRegion        = "http://nphies.sa/terminology/CodeSystem/fdi-oral-region"
	SystemFDIToothSurface      = "http://nphies.sa/terminology/CodeSystem/fdi-tooth-surface"
	SystemAdmitSource          = "http://nphies.sa/terminology/CodeSystem/admit-source"
	SystemDischargeDisposition = "http://nphies.sa/terminology/CodeSystem/discharge-disposition"
	SystemIntendedStay         = "http://nphies.sa/terminology/CodeSystem/intended-length-of-stay"
	SystemOnAdmission          = "http://nphies.sa/terminology/CodeSystem/diagnosis-on-admission"
	SystemInformationCategory  = "http://nphies.sa/terminology/CodeSystem/claim-information-category"
	SystemPracticeCodes        = "http://nphies.sa/terminology/CodeSystem/practice-codes"
	SystemLensType             = "http://nphies.sa/terminology/CodeSystem/lens-type"
	SystemTriageCategory       = "http://nphies.sa/terminology/CodeSystem/triage-category"
	SystemEmergencyArrival     = "http://nphies.sa/terminology/CodeSystem/emergency-arrival-code"
	SystemEmergencyDisposition = "http://nphies.sa/terminology/CodeSystem/emergency-department-disposition"
	systemActPriority          = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
	systemICD10AM              = "http://hl7.org/fhir/sid/icd-10-am"
	systemUCUM                 = "http://unitsofmeasure.org"
)

// lensContact is the lens-type code of a contact lens (glasses are "lens").
const lensContact = "contact"

// Encounter classes of an admission (v3-ActCode): inpatient and day case,
// the only ones an institutional claim may have (BV-00741).
const (
	EncounterInpatient = "IMP"
	EncounterDayCase   = "SS"
)

// AdmissionInput is an institutional claim's hospital stay.
type AdmissionInput struct {
	// Class is EncounterInpatient or EncounterDayCase.
	Class string
	// Start is the admission; End the discharge, zero while the patient
	// is still in hospital (a prior authorization's planned stay).
	Start, End time.Time
	// AdmitSource is an admit-source code (EER: from the hospital's ER).
	AdmitSource string
	// AdmissionSpecialty and DischargeSpecialty are practice-codes
	// specialties; the discharge specialty is required once discharged.
	AdmissionSpecialty, DischargeSpecialty string
	// DischargeDisposition is a discharge-disposition code (home, died, …),
	// required once discharged.
	DischargeDisposition string
	// CauseOfDeath is an ICD-10-AM code, required when the disposition is
	// died.
	CauseOfDeath string
	// EstimatedStayDays is a prior authorization's estimated length of
	// stay (required there, BV-00802).
	EstimatedStayDays int64
}

// VisionPrescriptionInput is the prescription a vision claim's lenses are
// made to (a VisionPrescription resource the Claim's prescription names).
type VisionPrescriptionInput struct {
	// ID is our prescription id.
	ID uuid.UUID
	// Written is when the practitioner wrote it (the claim's practitioner
	// is the prescriber).
	Written time.Time
	// Lenses are one per eye.
	Lenses []LensInput
}

// LensInput is one eye's lens specification. Powers are in hundredths of a
// dioptre, so 1.5 is 150.
type LensInput struct {
	// Product is lens (glasses) or contact.
	Product string
	// Eye is left or right.
	Eye string
	// Sphere, Cylinder and Add are powers; Axis is 1–180 degrees. Every
	// lens has its sphere; a contact lens's is sent as its power, which
	// NPHIES requires of contact lenses instead of a sphere (IC-01418, IC-01421).
	Sphere, Cylinder, Add *Decimal
	Axis                  *int64
	// PrismAmount (prism dioptres) and PrismBase (up, down, in, out) go
	// together.
	PrismAmount *Decimal
	PrismBase   string
}

// validateClaimType checks what the claim's type requires beyond a
// professional claim.
func validateClaimType(in ClaimInput, use string) error {
	if in.Type != ClaimTypeOral {
		for _, it := range in.Items {
			if it.Tooth != "" || len(it.Surfaces) > 0 {
				return invalid("item %d: a tooth belongs to a dental (oral) claim only", it.Sequence)
			}
		}
	}
	if in.Type != ClaimTypePharmacy {
		for _, it := range in.Items {
			if it.DaysSupply != 0 || it.PharmacistSelectionReason != "" {
				return invalid("item %d: days supply and the pharmacist's selection reason belong to a pharmacy claim only", it.Sequence)
			}
		}
	}
	if (in.Admission != nil) != (in.Type == ClaimTypeInstitutional) {
		return invalid("an admission is required on, and only on, an institutional claim")
	}
	if in.VisionPrescription != nil && in.Type != ClaimTypeVision {
		return invalid("a vision prescription belongs to a vision claim only")
	}
	switch in.Type {
	case ClaimTypeInstitutional:
		return validateAdmission(*in.Admission, in.Diagnoses, use)
	case ClaimTypePharmacy:
		for _, it := range in.Items {
			if it.System == SystemMedicationCodes && it.DaysSupply <= 0 {
				return invalid("item %d: a medicine needs its days supply (BV-00376)", it.Sequence)
			}
			if it.System == SystemMedicationCodes && it.PharmacistSelectionReason == "" {
				return invalid("item %d: a medicine needs the pharmacist's selection reason (BV-00708)", it.Sequence)
			}
		}
	case ClaimTypeOral:
		for _, it := range in.Items {
			if len(it.Surfaces) > 0 && it.Tooth == "" {
				return invalid("item %d: surfaces need their tooth (BV-00484)", it.Sequence)
			}
			if it.Tooth != "" && !ValidTooth(it.Tooth) {
				return invalid("item %d: %q is not an FDI tooth or oral region", it.Sequence, it.Tooth)
			}
			for _, s := range it.Surfaces {
				if !strings.Contains("MOIDBVL", s) || len(s) != 1 {
					return invalid("item %d: %q is not an FDI tooth surface", it.Sequence, s)
				}
			}
		}
	case ClaimTypeVision:
		if p := in.VisionPrescription; p != nil {
			return validatePrescription(*p)
		}
	}
	return nil
}

// validatePrescription checks a vision prescription: every lens has its
// sphere (IC-01417; a contact lens's power, IC-01421), and only glasses
// have a prism (IC-01419).
func validatePrescription(p VisionPrescriptionInput) error {
	if p.ID == uuid.Nil || p.Written.IsZero() || len(p.Lenses) == 0 {
		return invalid("a vision prescription needs its id, when it was written and a lens")
	}
	for i, l := range p.Lenses {
		switch {
		case l.Sphere == nil:
			return invalid("lens %d: the sphere (a contact lens's power) is required (IC-01417, IC-01421)", i+1)
		case l.Product == lensContact && l.PrismAmount != nil:
			return invalid("lens %d: a contact lens has no prism (IC-01419)", i+1)
		}
	}
	return nil
}

// validateAdmission checks an institutional claim's stay.
func validateAdmission(a AdmissionInput, diagnoses []DiagnosisInput, use string) error {
	switch {
	case a.Class != EncounterInpatient && a.Class != EncounterDayCase:
		return invalid("an admission is inpatient (IMP) or day case (SS)")
	case a.Start.IsZero() || a.AdmitSource == "" || a.AdmissionSpecialty == "":
		return invalid("an admission needs its start, admit source and admission specialty")
	case !a.End.IsZero() && a.End.Before(a.Start):
		return invalid("a discharge cannot precede its admission")
	case use == useClaim && a.End.IsZero():
		return invalid("a claim is for a completed stay: the discharge is required")
	case !a.End.IsZero() && (a.DischargeDisposition == "" || a.DischargeSpecialty == ""):
		return invalid("a discharge needs its disposition and specialty (BV-00758, BV-00759)")
	case a.DischargeDisposition == "died" && a.CauseOfDeath == "":
		return invalid("a patient who died needs the cause of death (BV-00740)")
	case use == usePreAuth && a.EstimatedStayDays <= 0:
		return invalid("a prior authorization of a stay needs its estimated length (BV-00802)")
	}
	for i, d := range diagnoses {
		if d.OnAdmission != "y" && d.OnAdmission != "n" && d.OnAdmission != "u" {
			return invalid("diagnosis %d: whether it was present on admission is required (BV-00027)", i+1)
		}
	}
	return nil
}

// EncounterEmergency is the class of an emergency visit's encounter
// (v3-ActCode), which only a professional claim may have (BV-00808).
const EncounterEmergency = "EMER"

// EmergencyInput is what an emergency visit's encounter carries (BV-00728,
// BV-00732-735, BV-00855): the triage always; on a claim the arrival, when
// emergency care began and the department's disposition.
type EmergencyInput struct {
	// TriageCategory is a triage-category code (IR, VU, U, SER, NU);
	// TriageDate when the patient was triaged.
	TriageCategory string
	TriageDate     time.Time
	// ArrivalCode is an emergency-arrival-code (GEMSA, PV, …); optional.
	ArrivalCode string
	// ServiceStart is when emergency care began; zero when not given.
	ServiceStart time.Time
	// Disposition is an emergency-department-disposition code (NAD, AH,
	// DED, …); CauseOfDeath an ICD-10-AM code when DED or DOA.
	Disposition, CauseOfDeath string
}

// encounterClass is the encounter's class for the claim: the admission's
// for an institutional claim, EMER for an emergency.
func encounterClass(e EncounterInput, a *AdmissionInput) string {
	switch {
	case a != nil:
		return a.Class
	case e.Emergency != nil:
		return EncounterEmergency
	}
	return nonEmpty(e.Class, "AMB")
}

// emergencyExtensions are the Encounter's extensions of an emergency.
func emergencyExtensions(e *EmergencyInput) []Extension {
	if e == nil {
		return nil
	}
	out := []Extension{codedExt("extension-triageCategory", SystemTriageCategory, e.TriageCategory), timeExt("extension-triageDate", e.TriageDate)}
	if e.ArrivalCode != "" {
		out = append(out, codedExt("extension-emergencyArrivalCode", SystemEmergencyArrival, e.ArrivalCode))
	}
	if !e.ServiceStart.IsZero() {
		out = append(out, timeExt("extension-emergencyServiceStart", e.ServiceStart))
	}
	if e.Disposition != "" {
		out = append(out, codedExt("extension-emergencyDepartmentDisposition", SystemEmergencyDisposition, e.Disposition))
	}
	if e.CauseOfDeath != "" {
		out = append(out, codedExt("extension-causeOfDeath", systemICD10AM, e.CauseOfDeath))
	}
	return out
}

// encounterPriority is an emergency encounter's priority: EM (emergency).
func encounterPriority(e *EmergencyInput) *CodeableConcept {
	if e == nil {
		return nil
	}
	return cc(systemActPriority, "EM")
}

// timeExt is an NPHIES extension with a dateTime value, to the second
// (BV-00810, BV-00828).
func timeExt(name string, t time.Time) Extension {
	x := ext(name)
	v := dateTime(t)
	x.ValueDateTime = &v
	return x
}

// hospitalization is an admission's Encounter.hospitalization.
func hospitalization(a *AdmissionInput) *Hospitalization {
	if a == nil {
		return nil
	}
	stay := "IO" // intended overnight
	if a.Class == EncounterDayCase {
		stay = "ISD" // intended same day
	}
	h := &Hospitalization{
		Extension: []Extension{
			codedExt("extension-admissionSpecialty", SystemPracticeCodes, a.AdmissionSpecialty),
			codedExt("extension-intendedLengthOfStay", SystemIntendedStay, stay),
		},
		AdmitSource: cc(SystemAdmitSource, a.AdmitSource),
	}
	if a.DischargeSpecialty != "" {
		h.Extension = append(h.Extension, codedExt("extension-dischargeSpecialty", SystemPracticeCodes, a.DischargeSpecialty))
	}
	if a.DischargeDisposition != "" {
		h.DischargeDisposition = cc(SystemDischargeDisposition, a.DischargeDisposition)
	}
	return h
}

// admissionExtensions are the Encounter's own extensions an admission adds:
// the cause of death.
func admissionExtensions(a *AdmissionInput) []Extension {
	if a == nil || a.CauseOfDeath == "" {
		return nil
	}
	return []Extension{codedExt("extension-causeOfDeath", systemICD10AM, a.CauseOfDeath)}
}

// codedExt is an NPHIES extension with a one-coding value.
func codedExt(name, system, code string) Extension {
	x := ext(name)
	x.ValueCodeableConcept = cc(system, code)
	return x
}

// applyClaimType adds to the Claim what its type carries: supporting
// information (a stay's estimated length, each medicine's days supply)
// numbered after whatever the claim carries already and linked from its
// items, diagnoses present on admission, teeth and surfaces, and the vision
// prescription (added to the bundle).
func (bb *bundle) applyClaimType(c *Claim, in ClaimInput, use string, p claimParties) {
	info := func(category string, days int64) int64 {
		seq := int64(len(c.SupportingInfo) + 1)
		v := DecimalFromInt(days)
		c.SupportingInfo = append(c.SupportingInfo, ClaimSupportingInfo{Sequence: seq,
			Category:      cc(SystemInformationCategory, category),
			ValueQuantity: &Quantity{Value: &v, System: systemUCUM, Code: "d"}})
		return seq
	}
	if a := in.Admission; a != nil {
		for i := range c.Diagnosis {
			c.Diagnosis[i].OnAdmission = cc(SystemOnAdmission, in.Diagnoses[i].OnAdmission)
		}
		stay := int64(len(c.SupportingInfo) + 1)
		c.SupportingInfo = append(c.SupportingInfo, ClaimSupportingInfo{Sequence: stay,
			Category: cc(SystemInformationCategory, "hospitalized"), TimingPeriod: &Period{Start: date(a.Start)}})
		switch {
		case !a.End.IsZero():
			c.SupportingInfo[stay-1].TimingPeriod.End = date(a.End)
		case a.EstimatedStayDays > 0: // the planned discharge
			c.SupportingInfo[stay-1].TimingPeriod.End = date(a.Start.AddDate(0, 0, int(a.EstimatedStayDays)))
		}
		seqs := []int64{stay}
		if use == usePreAuth {
			seqs = append(seqs, info("estimated-Length-of-Stay", a.EstimatedStayDays))
		}
		for i := range c.Item {
			c.Item[i].InformationSequence = append(c.Item[i].InformationSequence, seqs...)
		}
	}
	for i, it := range in.Items {
		if it.DaysSupply > 0 {
			c.Item[i].InformationSequence = append(c.Item[i].InformationSequence, info("days-supply", it.DaysSupply))
		}
		if it.Tooth != "" {
			c.Item[i].BodySite = &CodeableConcept{Coding: []Coding{{System: SystemFDIOralRegion, Code: it.Tooth, Display: toothDisplay(it.Tooth)}}}
		}
		for _, s := range it.Surfaces {
			c.Item[i].SubSite = append(c.Item[i].SubSite, *cc(SystemFDIToothSurface, s))
		}
	}
	if vp := in.VisionPrescription; vp != nil {
		c.Prescription = &Reference{Reference: bb.addVisionPrescription(*vp, in.Practitioner, p)}
	}
}

// addVisionPrescription adds the prescription, written by the claim's
// practitioner, and returns its fullUrl.
func (bb *bundle) addVisionPrescription(vp VisionPrescriptionInput, pr PractitionerInput, p claimParties) string {
	id := vp.ID.String()
	lenses := make([]LensSpecification, len(vp.Lenses))
	for i, l := range vp.Lenses {
		lenses[i] = LensSpecification{Product: cc(SystemLensType, l.Product), Eye: l.Eye,
			Sphere: l.Sphere, Cylinder: l.Cylinder, Axis: l.Axis, Add: l.Add}
		if l.Product == lensContact {
			lenses[i].Sphere, lenses[i].Power = nil, l.Sphere
		}
		if l.PrismAmount != nil {
			lenses[i].Prism = []Prism{{Amount: l.PrismAmount, Base: l.PrismBase}}
		}
	}
	return bb.add(bb.b.fullURL("VisionPrescription", id), VisionPrescription{
		ResourceType: "VisionPrescription", ID: id,
		Meta:        &Meta{Profile: []string{Profile("vision-prescription")}},
		Identifier:  []Identifier{{System: bb.b.base() + "/visionprescription", Value: id}},
		Status:      "active",
		Created:     dateTime(vp.Written),
		Patient:     &Reference{Reference: p.patient},
		DateWritten: dateTime(vp.Written),
		// The prescriber is named by licence as well (BV-00565).
		Prescriber: &Reference{Reference: p.practitioner, Type: "Practitioner", Identifier: &Identifier{
			Type: cc("http://terminology.hl7.org/CodeSystem/v2-0203", "MD"), System: SystemPractitionerLic, Value: pr.License}},
		LensSpecification: lenses,
	})
}

// Hospitalization is Encounter.hospitalization.
type Hospitalization struct {
	Extension            []Extension      `json:"extension,omitempty"`
	AdmitSource          *CodeableConcept `json:"admitSource,omitempty"`
	DischargeDisposition *CodeableConcept `json:"dischargeDisposition,omitempty"`
}

// VisionPrescription is a prescription for glasses or contact lenses.
type VisionPrescription struct {
	ResourceType      string              `json:"resourceType"`
	ID                string              `json:"id,omitempty"`
	Meta              *Meta               `json:"meta,omitempty"`
	Identifier        []Identifier        `json:"identifier,omitempty"`
	Status            string              `json:"status,omitempty"`
	Created           string              `json:"created,omitempty"`
	Patient           *Reference          `json:"patient,omitempty"`
	DateWritten       string              `json:"dateWritten,omitempty"`
	Prescriber        *Reference          `json:"prescriber,omitempty"`
	LensSpecification []LensSpecification `json:"lensSpecification,omitempty"`
}

// LensSpecification is one eye's lens of a VisionPrescription.
type LensSpecification struct {
	Product  *CodeableConcept `json:"product,omitempty"`
	Eye      string           `json:"eye,omitempty"`
	Sphere   *Decimal         `json:"sphere,omitempty"`
	Cylinder *Decimal         `json:"cylinder,omitempty"`
	Axis     *int64           `json:"axis,omitempty"`
	Prism    []Prism          `json:"prism,omitempty"`
	Add      *Decimal         `json:"add,omitempty"`
	Power    *Decimal         `json:"power,omitempty"`
}

// Prism is a lens's prism correction.
type Prism struct {
	Amount *Decimal `json:"amount,omitempty"`
	Base   string   `json:"base,omitempty"`
}

// claimTypeNeedsEncounter reports whether the V5.2 profiles require the
// claim's encounter: institutional and professional claims and prior
// authorizations, and oral claims; pharmacy and vision may omit it.
func claimTypeNeedsEncounter(typ, use string) bool {
	return slices.Contains([]string{ClaimTypeProfessional, ClaimTypeInstitutional}, typ) ||
		use == useClaim && typ == ClaimTypeOral
}

// toothDisplay words an FDI tooth or region code the way NPHIES's examples
// do ("UPPER RIGHT; PERMANENT TEETH # 3"); "" for a code it does not know.
func toothDisplay(code string) string {
	regions := map[string]string{"00": "WHOLE MOUTH", "01": "MAXILLARY AREA", "02": "MANDIBULAR AREA",
		"10": "UPPER RIGHT QUADRANT", "20": "UPPER LEFT QUADRANT", "30": "LOWER LEFT QUADRANT", "40": "LOWER RIGHT QUADRANT"}
	if r, ok := regions[code]; ok {
		return r
	}
	if !ValidTooth(code) || len(code) != 2 {
		return ""
	}
	q, n := code[0]-'0', code[1:]
	quadrant := [...]string{"UPPER RIGHT", "UPPER LEFT", "LOWER LEFT", "LOWER RIGHT"}[(q-1)%4]
	teeth := "PERMANENT"
	if q > 4 {
		teeth = "DECIDUOUS"
	}
	return quadrant + "; " + teeth + " TEETH # " + n
}

// ValidTooth reports whether code is an FDI tooth (11–18 … 41–48,
// deciduous 51–55 … 81–85) or one of the oral regions a dental item may
// name instead (00 the whole mouth, 01/02 an arch, 10–40 a quadrant).
func ValidTooth(code string) bool {
	if len(code) != 2 || code[0] < '0' || code[0] > '8' || code[1] < '0' || code[1] > '8' {
		return false
	}
	q, n := code[0]-'0', code[1]-'0'
	switch {
	case q == 0:
		return n <= 2
	case n == 0:
		return q <= 4
	case q <= 4:
		return true
	}
	return n <= 5
}
