package nphies

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/nphies/rules"
)

// From a claim request's type and details (hg.ClaimDetails, as the API
// takes them) to what the builder carries: each fault is refused first,
// naming the input at fault, with nothing built.

// claimTypeCodes are NPHIES's claim-type codes of our claim types.
var claimTypeCodes = map[hg.ClaimType]string{
	hg.ClaimProfessional: ClaimTypeProfessional, hg.ClaimInstitutional: ClaimTypeInstitutional,
	hg.ClaimPharmacy: ClaimTypePharmacy, hg.ClaimDental: ClaimTypeOral, hg.ClaimVision: ClaimTypeVision,
}

// practiceCode is the shape of an NPHIES practice (specialty) code.
var practiceCode = regexp.MustCompile(`^[0-9]{2}\.[0-9]{2}$`)

// checkDetails refuses what the claim's type needs and the request lacks,
// or what it gives that belongs to another type, naming the input:
// "items.tooth", "admission.dischargedAt", "visionPrescription".
func checkDetails(typ hg.ClaimType, use hg.ClaimUse, d hg.ClaimDetails, inv *hg.Invoice, diagnoses []string, now time.Time) error {
	if _, ok := claimTypeCodes[typ]; !ok {
		return hg.Invalid("type", "unknown claim type %q", typ)
	}
	if err := checkItemDetails(typ, d.Items, inv); err != nil {
		return err
	}
	switch {
	case typ == hg.ClaimInstitutional && d.Admission == nil:
		return hg.Invalid("admission", "an institutional claim needs the admission")
	case typ != hg.ClaimInstitutional && d.Admission != nil:
		return hg.Invalid("admission", "an admission belongs to an institutional claim only")
	case typ == hg.ClaimVision && use == hg.UsePreAuth && d.VisionPrescription == nil:
		return hg.Invalid("visionPrescription", "a vision prior authorization needs the prescription")
	case typ != hg.ClaimVision && d.VisionPrescription != nil:
		return hg.Invalid("visionPrescription", "a vision prescription belongs to a vision claim only")
	case typ != hg.ClaimProfessional && d.Emergency != nil:
		// Only a professional claim's encounter may be EMER (BV-00808).
		return hg.Invalid("emergency", "an emergency belongs to a professional claim only (NPHIES BV-00808)")
	case d.Emergency != nil:
		return checkEmergency(*d.Emergency, use, now)
	case d.Admission != nil:
		return checkAdmission(*d.Admission, use, diagnoses)
	case d.VisionPrescription != nil:
		return checkVisionPrescription(*d.VisionPrescription, now)
	}
	return nil
}

// checkItemDetails checks the per-line details against the invoice: a
// tooth on every oral-health line of a dental claim, a days supply on every
// medicine of a pharmacy claim, and neither on another type's.
func checkItemDetails(typ hg.ClaimType, items []hg.ClaimItemDetail, inv *hg.Invoice) error {
	systems := map[int]hg.CodeSystem{}
	for _, l := range inv.Lines {
		systems[l.Sequence] = l.CodeSystem
	}
	given := map[int]hg.ClaimItemDetail{}
	for _, it := range items {
		line := fmt.Sprintf("line %d", it.Sequence)
		_, onInvoice := systems[it.Sequence]
		_, twice := given[it.Sequence]
		switch {
		case !onInvoice:
			return hg.Invalid("items.sequence", "the invoice has no line %d", it.Sequence)
		case twice:
			return hg.Invalid("items.sequence", "line %d is described twice", it.Sequence)
		case typ != hg.ClaimDental && (it.Tooth != "" || len(it.Surfaces) > 0):
			return hg.Invalid("items.tooth", "%s: teeth belong to a dental claim only", line)
		case typ != hg.ClaimPharmacy && it.DaysSupply != 0:
			return hg.Invalid("items.daysSupply", "%s: a days supply belongs to a pharmacy claim only", line)
		case typ != hg.ClaimPharmacy && it.PharmacistSelectionReason != "":
			return hg.Invalid("items.pharmacistSelectionReason", "%s: a pharmacist's selection reason belongs to a pharmacy claim only", line)
		case it.PharmacistSelectionReason != "" && !known(SystemPharmacistSelection, it.PharmacistSelectionReason):
			return hg.Invalid("items.pharmacistSelectionReason", "%s: %q is not an NPHIES pharmacist-selection-reason code (Generic, patient-request, …)",
				line, clip(it.PharmacistSelectionReason, 32))
		case it.Tooth != "" && !ValidTooth(it.Tooth):
			return hg.Invalid("items.tooth", "%s: %q is not an FDI tooth (11–48, 51–85) or oral region (00, 01, 02, 10–40)", line, clip(it.Tooth, 8))
		case len(it.Surfaces) > 0 && it.Tooth == "":
			return hg.Invalid("items.surfaces", "%s: surfaces need the tooth they are on", line)
		case it.DaysSupply < 0 || it.DaysSupply > 365:
			return hg.Invalid("items.daysSupply", "%s: the days supply must be 1 to 365", line)
		}
		given[it.Sequence] = it
	}
	for _, l := range inv.Lines {
		it := given[l.Sequence]
		switch {
		case typ == hg.ClaimDental && (l.CodeSystem == hg.SystemOralHealthOP || l.CodeSystem == hg.SystemOralHealthIP) && it.Tooth == "":
			return hg.Invalid("items.tooth", "line %d (%s %s) needs the tooth it treats, or 00 for the whole mouth", l.Sequence, l.CodeSystem, l.ServiceCode)
		case typ == hg.ClaimPharmacy && l.CodeSystem == hg.SystemMedication && it.DaysSupply == 0:
			return hg.Invalid("items.daysSupply", "line %d (medicine %s) needs its days supply (NPHIES BV-00376)", l.Sequence, l.ServiceCode)
		case typ == hg.ClaimPharmacy && l.CodeSystem == hg.SystemMedication && it.PharmacistSelectionReason == "":
			return hg.Invalid("items.pharmacistSelectionReason", "line %d (medicine %s) needs the pharmacist's selection reason (NPHIES BV-00708)",
				l.Sequence, l.ServiceCode)
		}
	}
	return nil
}

// checkAdmission checks an institutional claim's stay.
func checkAdmission(a hg.Admission, use hg.ClaimUse, diagnoses []string) error {
	discharged := a.DischargedAt != nil
	switch {
	case a.Class != hg.AdmissionInpatient && a.Class != hg.AdmissionDayCase:
		return hg.Invalid("admission.class", "unknown admission class %q", a.Class)
	case a.AdmittedAt.IsZero():
		return hg.Invalid("admission.admittedAt", "the admission time is required")
	case !known(SystemAdmitSource, a.AdmitSource):
		return hg.Invalid("admission.admitSource", "%q is not an NPHIES admit-source code (EER, WKIN, …)", clip(a.AdmitSource, 16))
	case !practiceCode.MatchString(a.AdmissionSpecialty):
		return hg.Invalid("admission.admissionSpecialty", "%q is not an NPHIES practice code (like 08.26)", clip(a.AdmissionSpecialty, 16))
	case use == hg.UseClaim && !discharged:
		return hg.Invalid("admission.dischargedAt", "a claim is for a completed stay: give the discharge")
	case discharged && a.DischargedAt.Before(a.AdmittedAt):
		return hg.Invalid("admission.dischargedAt", "the discharge is before the admission")
	case discharged && a.Class == hg.AdmissionDayCase && !sameDay(a.AdmittedAt, *a.DischargedAt):
		return hg.Invalid("admission.dischargedAt", "a day case is discharged the day it is admitted")
	case discharged && !practiceCode.MatchString(a.DischargeSpecialty):
		return hg.Invalid("admission.dischargeSpecialty", "a discharge needs the discharging specialty's practice code (like 08.26)")
	case !discharged && a.DischargeSpecialty != "":
		return hg.Invalid("admission.dischargeSpecialty", "a discharge specialty needs the discharge")
	case discharged && (a.DischargeDisposition == "" || !known(SystemDischargeDisposition, a.DischargeDisposition)):
		return hg.Invalid("admission.dischargeDisposition", "a discharge needs its NPHIES discharge-disposition code (home, died, …)")
	case !discharged && a.DischargeDisposition != "":
		return hg.Invalid("admission.dischargeDisposition", "a discharge disposition needs the discharge")
	case a.DischargeDisposition == "died" && !hg.ValidICD10AM(a.CauseOfDeath):
		return hg.Invalid("admission.causeOfDeath", "a patient who died needs the ICD-10-AM cause of death")
	case a.DischargeDisposition != "died" && a.CauseOfDeath != "":
		return hg.Invalid("admission.causeOfDeath", "a cause of death goes with the disposition died")
	case use == hg.UsePreAuth && (a.EstimatedLengthOfStayDays < 1 || a.EstimatedLengthOfStayDays > 365):
		return hg.Invalid("admission.estimatedLengthOfStayDays", "a prior authorization of a stay needs its estimated length, 1 to 365 days")
	case use == hg.UseClaim && a.EstimatedLengthOfStayDays != 0:
		return hg.Invalid("admission.estimatedLengthOfStayDays", "an estimated stay belongs to a prior authorization")
	}
	for _, code := range a.DiagnosesOnAdmission {
		if !slices.Contains(diagnoses, code) {
			return hg.Invalid("admission.diagnosesOnAdmission", "%q is not one of the claim's diagnoses", clip(code, 16))
		}
	}
	return nil
}

// checkEmergency checks an emergency's codes against NPHIES's lists, its
// times, and that a claim has what NPHIES asks of it then (BV-00728,
// BV-00732, BV-00735, BV-00855).
func checkEmergency(e hg.Emergency, use hg.ClaimUse, now time.Time) error {
	died := e.Disposition == "DED" || e.Disposition == "DOA"
	switch {
	case !known(SystemTriageCategory, e.TriageCategory):
		return hg.Invalid("emergency.triageCategory", "%q is not an NPHIES triage category (IR, VU, U, SER, NU)", clip(e.TriageCategory, 16))
	case e.TriageDate.IsZero() || e.TriageDate.After(now):
		return hg.Invalid("emergency.triageDate", "the triage must have taken place already")
	case use == hg.UseClaim && e.ArrivalCode == "":
		return hg.Invalid("emergency.arrivalCode", "an emergency claim needs how the patient arrived (NPHIES BV-00732)")
	case e.ArrivalCode != "" && !known(SystemEmergencyArrival, e.ArrivalCode):
		return hg.Invalid("emergency.arrivalCode", "%q is not an NPHIES emergency arrival code (GEMSA, PV, other, …)", clip(e.ArrivalCode, 16))
	case use == hg.UseClaim && e.ServiceStart == nil:
		return hg.Invalid("emergency.serviceStart", "an emergency claim needs when emergency care began (NPHIES BV-00735)")
	case e.ServiceStart != nil && e.ServiceStart.After(now):
		return hg.Invalid("emergency.serviceStart", "emergency care must have begun already")
	case use == hg.UseClaim && e.Disposition == "":
		return hg.Invalid("emergency.disposition", "an emergency claim needs the department's disposition (NPHIES BV-00728)")
	case e.Disposition != "" && !known(SystemEmergencyDisposition, e.Disposition):
		return hg.Invalid("emergency.disposition", "%q is not an NPHIES emergency department disposition (NAD, AH, DED, …)", clip(e.Disposition, 16))
	case died && !hg.ValidICD10AM(e.CauseOfDeath):
		return hg.Invalid("emergency.causeOfDeath", "a patient who died needs the ICD-10-AM cause of death (NPHIES BV-00855)")
	case !died && e.CauseOfDeath != "":
		return hg.Invalid("emergency.causeOfDeath", "a cause of death goes with the disposition DED or DOA")
	}
	return nil
}

// emergencyInput is the builder's emergency.
func emergencyInput(e hg.Emergency) *EmergencyInput {
	out := &EmergencyInput{TriageCategory: e.TriageCategory, TriageDate: e.TriageDate, ArrivalCode: e.ArrivalCode,
		Disposition: e.Disposition, CauseOfDeath: e.CauseOfDeath}
	if e.ServiceStart != nil {
		out.ServiceStart = *e.ServiceStart
	}
	return out
}

// sameDay reports whether a and b fall on the same day in Riyadh.
func sameDay(a, b time.Time) bool { return date(a) == date(b) }

// checkVisionPrescription checks a prescription's lenses.
func checkVisionPrescription(p hg.VisionPrescription, now time.Time) error {
	switch {
	case p.WrittenAt.IsZero() || p.WrittenAt.After(now):
		return hg.Invalid("visionPrescription.writtenAt", "the prescription must have been written already")
	case len(p.Lenses) == 0 || len(p.Lenses) > 2:
		return hg.Invalid("visionPrescription.lenses", "give one lens per eye, 1 or 2")
	case len(p.Lenses) == 2 && p.Lenses[0].Eye == p.Lenses[1].Eye:
		return hg.Invalid("visionPrescription.lenses", "the two lenses are for the same eye (NPHIES BV-00465)")
	}
	for _, l := range p.Lenses {
		for _, pw := range []struct {
			field    string
			v        *float64
			min, max float64
		}{{"sphere", l.Sphere, -30, 30}, {"cylinder", l.Cylinder, -12, 12}, {"add", l.Add, 0, 5}, {"prismAmount", l.PrismAmount, 0.25, 30}} {
			if v := pw.v; v != nil && (*v < pw.min || *v > pw.max || math.Abs(*v*4-math.Round(*v*4)) > 1e-9) {
				return hg.Invalid("visionPrescription.lenses."+pw.field, "%s must be %g to %g dioptres in quarter steps", pw.field, pw.min, pw.max)
			}
		}
		switch {
		case l.Eye != hg.EyeLeft && l.Eye != hg.EyeRight:
			return hg.Invalid("visionPrescription.lenses.eye", "unknown eye %q", l.Eye)
		case l.Product != hg.LensGlasses && l.Product != hg.LensContact:
			return hg.Invalid("visionPrescription.lenses.product", "unknown lens product %q", l.Product)
		case l.Sphere == nil:
			return hg.Invalid("visionPrescription.lenses.sphere", "every lens needs its sphere, a contact lens's power (NPHIES IC-01417, IC-01421)")
		case l.Product == hg.LensContact && (*l.Sphere < -12 || *l.Sphere > 12):
			return hg.Invalid("visionPrescription.lenses.sphere", "a contact lens's power is -12 to 12 dioptres (NPHIES IB-00333)")
		case l.Product == hg.LensContact && l.PrismAmount != nil:
			return hg.Invalid("visionPrescription.lenses.prismAmount", "a contact lens has no prism (NPHIES IC-01419)")
		case l.Axis != nil && (*l.Axis < 1 || *l.Axis > 180):
			return hg.Invalid("visionPrescription.lenses.axis", "the axis is 1 to 180 degrees")
		case (l.Cylinder != nil) != (l.Axis != nil):
			return hg.Invalid("visionPrescription.lenses.axis", "a cylinder and its axis go together")
		case (l.PrismAmount != nil) != (l.PrismBase != ""):
			return hg.Invalid("visionPrescription.lenses.prismBase", "a prism needs its amount and its base")
		}
	}
	return nil
}

// known reports whether code is one of system's published codes.
func known(system, code string) bool { return code != "" && rules.Known(system, code) }

// typed fills in what the claim's type carries: the item details, the
// admission (which also makes the encounter), the prescription.
func typed(in *ClaimInput, typ hg.ClaimType, d hg.ClaimDetails, now time.Time) {
	in.Type = claimTypeCodes[typ]
	byLine := map[int64]hg.ClaimItemDetail{}
	for _, it := range d.Items {
		byLine[int64(it.Sequence)] = it
	}
	for i := range in.Items {
		it := byLine[in.Items[i].Sequence]
		in.Items[i].Tooth, in.Items[i].DaysSupply = it.Tooth, int64(it.DaysSupply)
		in.Items[i].PharmacistSelectionReason = it.PharmacistSelectionReason
		for _, s := range it.Surfaces {
			in.Items[i].Surfaces = append(in.Items[i].Surfaces, hg.ToothSurfaceCodes[s])
		}
	}
	if a := d.Admission; a != nil {
		in.Admission = admissionInput(*a)
		for i := range in.Diagnoses {
			in.Diagnoses[i].OnAdmission = "n"
			if slices.Contains(a.DiagnosesOnAdmission, in.Diagnoses[i].Code) {
				in.Diagnoses[i].OnAdmission = "y"
			}
		}
		// The services of a stay are dated within it (BV-00041), though
		// billed before or after.
		for i := range in.Items {
			sd := &in.Items[i].ServicedDate
			if date(*sd) < date(a.AdmittedAt) {
				*sd = a.AdmittedAt
			}
			if end := in.Admission.End; !end.IsZero() && date(*sd) > date(end) {
				*sd = end
			}
		}
		enc := in.Encounter
		enc.Start, enc.End = a.AdmittedAt, in.Admission.End
		switch {
		case !enc.End.IsZero():
			enc.Status = EncounterFinished
		case a.AdmittedAt.After(now):
			enc.Status = EncounterPlanned
		default:
			enc.Status = EncounterInProgress
		}
	}
	if p := d.VisionPrescription; p != nil {
		in.VisionPrescription = visionPrescriptionInput(*p, in.ClaimID)
	}
	if e := d.Emergency; e != nil && in.Encounter != nil {
		// An emergency visit's claim has subtype emr (BV-00755, BV-00365).
		in.Encounter.Emergency, in.SubType = emergencyInput(*e), SubTypeEmergency
	}
}

// admissionInput is the builder's admission.
func admissionInput(a hg.Admission) *AdmissionInput {
	out := &AdmissionInput{Class: EncounterInpatient, Start: a.AdmittedAt, AdmitSource: a.AdmitSource,
		AdmissionSpecialty: a.AdmissionSpecialty, DischargeSpecialty: a.DischargeSpecialty,
		DischargeDisposition: a.DischargeDisposition, CauseOfDeath: a.CauseOfDeath,
		EstimatedStayDays: int64(a.EstimatedLengthOfStayDays)}
	if a.Class == hg.AdmissionDayCase {
		out.Class = EncounterDayCase
	}
	if a.DischargedAt != nil {
		out.End = *a.DischargedAt
	}
	return out
}

// lensProducts and eyes are NPHIES's codes of ours.
var (
	lensProducts = map[hg.LensProduct]string{hg.LensGlasses: "lens", hg.LensContact: "contact"}
	eyes         = map[hg.Eye]string{hg.EyeLeft: "left", hg.EyeRight: "right"}
	prismBases   = map[hg.PrismBase]string{hg.PrismUp: "up", hg.PrismDown: "down", hg.PrismIn: "in", hg.PrismOut: "out"}
)

// visionPrescriptionInput is the builder's prescription; its id derives
// from the claim's, so a rebuild of the claim names the same resource.
func visionPrescriptionInput(p hg.VisionPrescription, claimID uuid.UUID) *VisionPrescriptionInput {
	out := &VisionPrescriptionInput{ID: uuid.NewSHA1(claimID, []byte("visionprescription")), Written: p.WrittenAt}
	dioptres := func(v *float64) *Decimal {
		if v == nil {
			return nil
		}
		d := Decimal(math.Round(*v * 100))
		return &d
	}
	for _, l := range p.Lenses {
		li := LensInput{Product: lensProducts[l.Product], Eye: eyes[l.Eye], Sphere: dioptres(l.Sphere),
			Cylinder: dioptres(l.Cylinder), Add: dioptres(l.Add), PrismAmount: dioptres(l.PrismAmount), PrismBase: prismBases[l.PrismBase]}
		if l.Axis != nil {
			axis := int64(*l.Axis)
			li.Axis = &axis
		}
		out.Lenses = append(out.Lenses, li)
	}
	return out
}

// clip shortens what a clerk typed for quoting it in an error.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
