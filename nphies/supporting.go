package nphies

import (
	"encoding/base64"
	"math"
	"slices"

	hg "github.com/healthgraph/healthgraph"
)

// Claim.supportingInfo: the minimum data set NPHIES requires of claims and
// prior authorizations (BV-00752, BV-00772–780, BV-00803–806), written the
// way the official December 2023 professional example writes it: vital
// signs as UCUM quantities, the chief complaint as an ICD-10-AM code, the
// narrative as strings, the investigation result as a code.

// Code systems of supporting information.
const (
	SystemInfoCategory        = "http://nphies.sa/terminology/CodeSystem/claim-information-category"
	SystemInvestigationResult = "http://nphies.sa/terminology/CodeSystem/investigation-result"
	SystemICD10AM             = "http://hl7.org/fhir/sid/icd-10-am"
	SystemUCUM                = "http://unitsofmeasure.org"
)

// SupportingInfo is one Claim.supportingInfo entry; the builder numbers
// them in order. Exactly one of Quantity, String or Code carries the value,
// unless the category takes a code and a value.
type SupportingInfo struct {
	// Category is a claim-information-category code (vital-sign-systolic…).
	Category string
	// Code is the entry's code (chief complaint, investigation result).
	Code *CodeableConcept
	// String is a textual value.
	String string
	// Quantity is a measured value, in Unit (a UCUM code).
	Quantity *Decimal
	Unit     string
	// Attachment is a document (category attachment).
	Attachment *AttachmentInput
}

// AttachmentsInfo is the supporting information of a claim's documents:
// one entry of category attachment each, the document its value (BV-00404),
// or, for an investigation report, of category investigation-result with
// code IRA, as the December 2023 official example sends its report
// (BV-00846).
func AttachmentsInfo(as []hg.Attachment) []SupportingInfo {
	out := make([]SupportingInfo, len(as))
	for i, a := range as {
		out[i] = SupportingInfo{Category: "attachment",
			Attachment: &AttachmentInput{ContentType: a.ContentType, Title: a.Title, Data: a.Data, Created: a.Created}}
		if a.InvestigationResult {
			code := cc(SystemInvestigationResult, "IRA")
			code.Coding[0].Display = "Investigation results attached"
			out[i].Category, out[i].Code = "investigation-result", code
		}
	}
	return out
}

// ClaimInfo is a claim's supporting information: the visit's findings, then
// its documents. An attached investigation report takes the place of the
// findings' investigation result, so the claim does not say both "attached"
// and, say, "not performed".
func ClaimInfo(f *hg.VisitFindings, docs []hg.Attachment) []SupportingInfo {
	info := FindingsInfo(f)
	if slices.ContainsFunc(docs, func(a hg.Attachment) bool { return a.InvestigationResult }) {
		info = slices.DeleteFunc(info, func(s SupportingInfo) bool { return s.Category == "investigation-result" })
	}
	return append(info, AttachmentsInfo(docs)...)
}

// FindingsInfo is the supporting information a visit's findings give a
// claim, in the official example's order; a finding not recorded is left
// out, and NPHIES's rules (and so the scrubber) then name what is missing.
func FindingsInfo(f *hg.VisitFindings) []SupportingInfo {
	if f == nil {
		return nil
	}
	var out []SupportingInfo
	v := f.Vitals
	quantity := func(category string, value *float64, unit string) {
		if value != nil {
			d := Decimal(math.Round(*value * 100))
			out = append(out, SupportingInfo{Category: category, Quantity: &d, Unit: unit})
		}
	}
	whole := func(n *int) *float64 {
		if n == nil {
			return nil
		}
		f := float64(*n)
		return &f
	}
	text := func(category, s string) {
		if s != "" {
			out = append(out, SupportingInfo{Category: category, String: s})
		}
	}
	quantity("vital-sign-systolic", whole(v.SystolicMmHg), "mm[Hg]")
	quantity("vital-sign-diastolic", whole(v.DiastolicMmHg), "mm[Hg]")
	quantity("vital-sign-height", v.HeightCm, "cm")
	quantity("vital-sign-weight", v.WeightKg, "kg")
	quantity("pulse", whole(v.PulsePerMinute), "/min")
	quantity("temperature", v.TemperatureCelsius, "Cel")
	if f.ChiefComplaintCode != "" {
		code := cc(SystemICD10AM, f.ChiefComplaintCode)
		code.Text = f.ChiefComplaint
		out = append(out, SupportingInfo{Category: "chief-complaint", Code: code})
	}
	quantity("oxygen-saturation", v.OxygenSaturationPct, "%")
	quantity("respiratory-rate", whole(v.RespiratoryRatePerMinute), "/min")
	text("patient-history", f.PatientHistory)
	if code := hg.InvestigationCodes[f.Investigation]; code != "" {
		c := cc(SystemInvestigationResult, code)
		// NPHIES wants the words with "other" (BV-00753).
		c.Text = f.InvestigationNote
		out = append(out, SupportingInfo{Category: "investigation-result", Code: c})
	}
	text("treatment-plan", f.TreatmentPlan)
	text("physical-examination", f.PhysicalExamination)
	text("history-of-present-illness", f.PresentIllness)
	return out
}

// claimSupportingInfo numbers the entries from 1.
func claimSupportingInfo(in []SupportingInfo) []ClaimSupportingInfo {
	out := make([]ClaimSupportingInfo, 0, len(in))
	for i, s := range in {
		e := ClaimSupportingInfo{Sequence: int64(i + 1), Category: cc(SystemInfoCategory, s.Category), Code: s.Code}
		switch {
		case s.Quantity != nil:
			e.ValueQuantity = &Quantity{Value: s.Quantity, System: SystemUCUM, Code: s.Unit}
		case s.String != "":
			e.ValueString = strp(s.String)
		case s.Attachment != nil:
			e.ValueAttachment = &Attachment{ContentType: s.Attachment.ContentType, Title: s.Attachment.Title,
				Creation: dateTime(s.Attachment.Created), Data: base64.StdEncoding.EncodeToString(s.Attachment.Data)}
		}
		out = append(out, e)
	}
	return out
}
