package rules

import (
	"regexp"
	"slices"
	"unicode"
	"unicode/utf8"
)

// Claim content rules: diagnoses, supporting information, amounts of
// details, payee, lengths and fixed values.

const systemTaskCode = "http://nphies.sa/terminology/CodeSystem/task-code"

const systemDiagnosisType = "http://nphies.sa/terminology/CodeSystem/diagnosis-type"

// ucumFor are the UCUM units each measured supporting-information category
// uses (BV-00414–419, 486–489, 509).
var ucumFor = map[string]struct{ id, unit string }{
	"vital-sign-weight":    {"BV-00414", "kg"},
	"vital-sign-systolic":  {"BV-00415", "mm[Hg]"},
	"vital-sign-diastolic": {"BV-00416", "mm[Hg]"},
	"vital-sign-height":    {"BV-00417", "cm"},
	"temperature":          {"BV-00486", "Cel"},
	"pulse":                {"BV-00487", "/min"},
	"oxygen-saturation":    {"BV-00488", "%"},
	"respiratory-rate":     {"BV-00489", "/min"},
	"birth-weight":         {"BV-00509", "kg"},
}

// guid is the 8-4-4-4-12 hex shape NPHIES requires of Bundle and header ids.
var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// infoOf runs f over every supportingInfo of the category in every Claim.
func infoOf(category string, f func(info node, out *[]string)) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, c := range m.resources("Claim") {
			for _, s := range c.get("supportingInfo") {
				if cat, ok := s.first("category"); ok && cat.hasCode(infoCategory, category) {
					f(s, &out)
				}
			}
		}
		return out
	}
}

// tooLong reports whether text exceeds NPHIES's limit: max characters, or
// half of it when the text has Arabic letters.
func tooLong(text string, max int) bool {
	for _, r := range text {
		if unicode.Is(unicode.Arabic, r) {
			return utf8.RuneCountInString(text) > max/2
		}
	}
	return utf8.RuneCountInString(text) > max
}

// maxLength: the string elements at path are at most max characters, half
// as many in Arabic (tooLong).
func maxLength(path string, max int) func(*message) []string { return lengthAt(path, max, true) }

func init() {
	rule("BV-00054", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			principal := 0
			for _, d := range c.get("diagnosis") {
				for _, t := range d.get("type") {
					if t.hasCode(systemDiagnosisType, "principal") {
						principal++
					}
				}
			}
			if principal != 1 {
				out = append(out, c.path+".diagnosis")
			}
		}
		return out
	})
	rule("BV-00057", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			seen := map[string]bool{}
			for _, d := range c.get("diagnosis") {
				cc, ok := d.first("diagnosisCodeableConcept")
				if !ok {
					continue
				}
				code := cc.code()
				if seen[code] {
					out = append(out, cc.path)
				}
				seen[code] = true
			}
		}
		return out
	})
	for _, kind := range []struct{ id, code string }{{"BV-00477", "admitting"}, {"BV-00478", "discharge"}} {
		rule(kind.id, func(m *message) []string {
			var out []string
			for _, c := range claims(m) {
				sub, _ := c.first("subType")
				inpatient := typeIs(c, "institutional") && sub.hasCode("", "ip") && c.str("use") == "claim"
				for _, d := range c.get("diagnosis") {
					for _, t := range d.get("type") {
						if t.hasCode(systemDiagnosisType, kind.code) && !inpatient {
							out = append(out, t.path)
						}
					}
				}
			}
			return out
		})
	}

	// Supporting information: the value each category requires.
	for category, u := range ucumFor {
		rule(u.id, infoOf(category, func(s node, out *[]string) {
			if q, ok := s.first("valueQuantity"); ok && (q.str("system") != systemUCUM || q.str("code") != u.unit) {
				*out = append(*out, q.path)
			}
		}))
	}
	for _, h := range []struct{ id, category string }{{"BV-00418", "icu-hours"}, {"BV-00419", "ventilation-hours"}} {
		rule(h.id, infoOf(h.category, func(s node, out *[]string) {
			if q, ok := s.first("valueQuantity"); !ok || q.str("system") != systemUCUM || q.str("code") != "h" {
				*out = append(*out, s.path+".valueQuantity")
			}
		}))
	}
	rule("BV-00402", infoOf("info", func(s node, out *[]string) {
		if s.str("valueString") == "" {
			*out = append(*out, s.path+".valueString")
		}
	}))
	rule("BV-00404", infoOf("attachment", func(s node, out *[]string) {
		if !s.has("valueAttachment") {
			*out = append(*out, s.path+".valueAttachment")
		}
	}))
	rule("BV-00531", infoOf("chief-complaint", func(s node, out *[]string) {
		if !s.has("code") {
			*out = append(*out, s.path+".code")
		}
	}))
	rule("BV-00316", maxLength("Claim.supportingInfo.valueString", 250))
	rule("BV-00321", maxLength("Coverage.dependent", 10))
	rule("BV-00322", maxLength("Coverage.class.value", 30))
	rule("BV-00323", maxLength("Coverage.class.name", 100))
	rule("BV-00324", maxLength("Coverage.network", 30))
	rule("BV-00325", maxLength("Organization.name", 250))

	// Amounts of package details.
	rule("BV-00434", netRule("item.detail", "subDetail"))
	rule("BV-00435", netRule("item.detail.subDetail", ""))
	rule("BV-00482", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			for _, f := range c.at("item.factor") {
				if v, ok := f.num(); !ok || v <= 0 {
					out = append(out, f.path)
				}
			}
		}
		return out
	})
	rule("BV-00086", inSAR("Claim.item.extension.tax"))
	rule("BV-00088", inSAR("Claim.item.extension.patientShare"))
	rule("BV-00092", inSAR("Claim.item.unitPrice"))
	rule("BV-00094", inSAR("Claim.item.detail.unitPrice"))
	rule("BV-00095", inSAR("Claim.item.detail.net"))

	// Payee: a party only, and always, for payee type other.
	payee := func(want bool) func(*message) []string {
		return func(m *message) []string {
			var out []string
			for _, c := range claims(m) {
				p, ok := c.first("payee")
				if !ok {
					continue
				}
				t, _ := p.first("type")
				if other := t.hasCode("", "other"); other == want && p.has("party") != want {
					out = append(out, p.path+".party")
				}
			}
			return out
		}
	}
	rule("BV-00485", payee(true))
	rule("BV-00494", payee(false))

	// Identifiers and fixed values.
	rule("BV-00341", func(m *message) []string {
		if !guid.MatchString(m.bundle.str("id")) {
			return []string{m.bundle.path + ".id"}
		}
		return nil
	})
	rule("BV-00168", func(m *message) []string {
		if m.hasHeader && !guid.MatchString(m.header.str("id")) {
			return []string{m.header.path + ".id"}
		}
		return nil
	})
	rule("BV-00150", nonEmptyIdentifier("Coverage"))
	rule("BV-00149", nonEmptyIdentifier("Communication"))
	rule("BV-00154", nonEmptyIdentifier("Encounter"))
	rule("BV-00330", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			if c.str("status") != "active" {
				out = append(out, c.path+".status")
			}
		}
		return out
	})
	rule("BV-00329", func(m *message) []string {
		var out []string
		for _, t := range m.resources("Task") {
			if t.str("intent") != "order" {
				out = append(out, t.path+".intent")
			}
		}
		return out
	})
	// A cancel or nullify names a claim or prior authorization (a Claim;
	// a cancel also an advanced authorization's ClaimResponse): NPHIES has
	// no cancel for eligibility requests or any other resource.
	cancelFocus := func(code string, types ...string) func(*message) []string {
		return func(m *message) []string {
			if m.event != "cancel-request" {
				return nil
			}
			var out []string
			for _, t := range m.resources("Task") {
				c, _ := t.first("code")
				focus, ok := t.first("focus")
				if c.hasCode(systemTaskCode, code) && ok && !slices.Contains(types, focus.str("type")) {
					out = append(out, focus.path+".type")
				}
			}
			return out
		}
	}
	rule("BV-00131", cancelFocus("cancel", "Claim", "ClaimResponse"))
	rule("BV-00178", cancelFocus("nullify", "Claim"))
	rule("BV-00071", func(m *message) []string {
		if m.event != "cancel-request" {
			return nil
		}
		var out []string
		for _, t := range m.resources("Task") {
			if len(t.get("reasonCode")) == 0 {
				out = append(out, t.path+".reasonCode")
			}
		}
		return out
	})
}

// nonEmptyIdentifier: every resource of the type has an identifier with a value.
func nonEmptyIdentifier(kind string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, r := range m.resources(kind) {
			ok := false
			for _, id := range r.get("identifier") {
				ok = ok || id.str("value") != ""
			}
			if !ok {
				out = append(out, r.path+".identifier")
			}
		}
		return out
	}
}
