package rules

import "strings"

// Further rules on the claims and authorizations we send: what each
// supporting-information category carries, items, the payee and currencies.

const systemICD10AM = "http://hl7.org/fhir/sid/icd-10-am"

// infoNeeds: supportingInfo of the category has the element (valueString,
// timingDate, …), reported at the element's place.
func infoNeeds(category string, elements ...string) func(*message) []string {
	return infoOf(category, func(s node, out *[]string) {
		for _, e := range elements {
			if strings.HasSuffix(e, "[x]") && !hasChoice(s, strings.TrimSuffix(e, "[x]")) || !strings.HasSuffix(e, "[x]") && !s.has(e) {
				*out = append(*out, s.path+"."+e)
				return
			}
		}
	})
}

// infoCoded: supportingInfo of the category has, in element (code or
// reason), a coding of system with a code.
func infoCoded(category, element, system string) func(*message) []string {
	return infoOf(category, func(s node, out *[]string) {
		cc, _ := s.first(element)
		if firstCode(cc, system) == "" {
			*out = append(*out, s.path+"."+element)
		}
	})
}

// infoQuantityIn: supportingInfo of the category has a UCUM valueQuantity in unit.
func infoQuantityIn(category, unit string) func(*message) []string {
	return infoOf(category, func(s node, out *[]string) {
		if q, ok := s.first("valueQuantity"); !ok || q.str("system") != systemUCUM || q.str("code") != unit {
			*out = append(*out, s.path+".valueQuantity")
		}
	})
}

func init() {
	// Supporting information: what each category carries.
	for id, category := range map[string]string{
		"BV-00782": "treatment-plan", "BV-00783": "patient-history", "BV-00784": "physical-examination",
		"BV-00785": "history-of-present-illness",
	} {
		rule(id, infoNeeds(category, "valueString"))
	}
	for id, category := range map[string]string{
		"BV-00812": "vital-sign-weight", "BV-00813": "vital-sign-systolic", "BV-00814": "vital-sign-diastolic",
		"BV-00815": "vital-sign-height", "BV-00816": "temperature", "BV-00817": "pulse",
		"BV-00818": "oxygen-saturation", "BV-00819": "respiratory-rate",
	} {
		rule(id, infoOf(category, func(s node, out *[]string) {
			if !s.has("valueQuantity") && !s.has("reason") {
				*out = append(*out, s.path+".valueQuantity")
			}
		}))
	}
	rule("BV-00787", infoQuantityIn("admission-weight", "kg"))
	rule("BV-00788", infoQuantityIn("estimated-Length-of-Stay", "d"))
	rule("BV-00409", infoNeeds("employmentImpacted", "timingPeriod"))
	rule("BV-00490", infoNeeds("last-menstrual-period", "timingDate"))
	rule("BV-00405", infoCoded("missingtooth", "code", "http://nphies.sa/terminology/CodeSystem/fdi-oral-region"))
	rule("BV-00407", infoCoded("missingtooth", "reason", "http://nphies.sa/terminology/CodeSystem/missing-tooth-reason"))
	rule("BV-00406", infoOf("missingtooth", func(s node, out *[]string) {
		if r, _ := s.first("reason"); r.hasCode("", "extraction") && !s.has("timingDate") {
			*out = append(*out, s.path+".timingDate")
		}
	}))
	onsetCode := infoCoded("onset", "code", systemICD10AM)
	rule("BV-00428", func(m *message) []string {
		return dedupe(append(onsetCode(m), infoNeeds("onset", "timingDate")(m)...))
	})
	rule("BV-00429", infoOf("chief-complaint", func(s node, out *[]string) {
		if cc, ok := s.first("code"); ok && len(cc.codings()) > 0 && firstCode(cc, systemICD10AM) == "" {
			*out = append(*out, cc.path)
		}
	}))

	// Items, payee, currencies.
	rule("BV-00439", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			for _, it := range c.get("item") {
				if it.has("servicedPeriod") && it.has("servicedDate") {
					out = append(out, it.path+".servicedDate")
				}
			}
		}
		return out
	})
	// Go runs a package's init functions file by file in name order, so
	// bv_claim2.go's payee rule is registered by now.
	rule("BV-00056", handWritten["BV-00485"])
	rule("BV-00492", func(m *message) []string {
		var out []string
		for _, t := range append(m.selectPath("Claim.payee.type"), m.selectPath("ClaimResponse.payeeType")...) {
			if code := t.code(); code != "provider" && code != "other" {
				out = append(out, t.path)
			}
		}
		return out
	})
	rule("BV-00087", inSAR("Claim.item.extension.payerShare"))
	rule("BV-00089", inSAR("Claim.item.detail.extension.tax"))
	rule("BV-00090", inSAR("Coverage.costToBeneficiary.valueMoney"))
	rule("BV-00091", inSAR("PaymentNotice.amount"))

	// Codes each category takes from its own system.
	rule("BV-00410", infoCoded("lab-test", "code", "http://loinc.org"))
	rule("BV-00412", infoCoded("reason-for-visit", "code", "http://nphies.sa/terminology/CodeSystem/visit-reason"))
	rule("BV-00781", infoCoded("morphology", "code", "http://nphies.sa/terminology/CodeSystem/morphology-code"))
	rule("BV-00786", infoCoded("investigation-result", "code", "http://nphies.sa/terminology/CodeSystem/investigation-result"))
	// Why a vital sign was not measured, from its absence-reason value set.
	for id, v := range map[string]struct{ category, valueSet string }{
		"BV-00820": {"vital-sign-weight", "weight-absence-reason"}, "BV-00821": {"vital-sign-systolic", "blood-pressure-absence-reason"},
		"BV-00822": {"vital-sign-diastolic", "blood-pressure-absence-reason"}, "BV-00823": {"vital-sign-height", "height-absence-reason"},
		"BV-00824": {"temperature", "temperature-absence-reason"}, "BV-00825": {"pulse", "pulse-absence-reason"},
		"BV-00826": {"oxygen-saturation", "oxygen-saturation-absence-reason"}, "BV-00827": {"respiratory-rate", "respiratory-rate-absence-reason"},
	} {
		rule(id, infoOf(v.category, func(s node, out *[]string) {
			for _, r := range s.get("reason") {
				for _, c := range r.codings() {
					if !validCode(codes().byID[v.valueSet], c) {
						*out = append(*out, c.path)
					}
				}
			}
		}))
	}
	// An infant's inpatient claim carries the admission weight.
	rule("BV-00849", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			enc, ok := m.encounterOf(c)
			start := enc.at("period.start")
			if !ok || c.str("use") != "claim" || encounterClass(enc) != "IMP" || len(start) == 0 || hasInfo(c, "admission-weight") {
				continue
			}
			began, _ := start[0].val.(string)
			if days, ok := daysSinceBirth(birthDateOf(m, c), began); ok && days < 365 {
				out = append(out, c.path+".supportingInfo")
			}
		}
		return out
	})

	// Coded reasons "others" say what in text.
	for id, path := range map[string]string{
		"BV-00698": "Claim.item.extension.absenceOfScientificCode", "BV-00721": "Claim.item.detail.extension.absenceOfScientificCode",
		"BV-00722": "Claim.item.detail.subDetail.extension.absenceOfScientificCode",
		"BV-00719": "Claim.item.extension.pharmacistSubstitute", "BV-00718": "Claim.item.detail.extension.pharmacistSubstitute",
	} {
		rule(id, func(m *message) []string {
			var out []string
			for _, x := range m.selectPath(path) {
				if v, ok := x.first("valueCodeableConcept"); ok && v.hasCode("", "others") && v.str("text") == "" {
					out = append(out, v.path+".text")
				}
			}
			return out
		})
	}

	// A non-package item with details is priced at the sum of theirs.
	rule("BV-00372", sumRule("item", "detail", "unitPrice"))
	// Items served either on a date or over a period, in authorizations
	// as in claims (the sheet states the rule twice).
	rule("BV-00122", handWritten["BV-00066"])
	rule("BV-00123", handWritten["BV-00066"])
	// A supporting code other than a chief complaint is coded.
	rule("BV-00530", eachOf("Claim", func(c node, out *[]string) {
		for _, s := range c.get("supportingInfo") {
			cat, _ := s.first("category")
			if code, ok := s.first("code"); ok && !cat.hasCode("", "chief-complaint") && len(code.codings()) == 0 {
				*out = append(*out, code.path+".coding")
			}
		}
	}))
}
