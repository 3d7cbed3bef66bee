package rules

import (
	"strings"
	"sync"
)

// typedExtension is the value[x] property the official examples give one
// NPHIES extension (data/extension-types.tsv): NPHIES's extension
// definitions are not vendored, and the examples use each extension with
// one value type throughout.
type typedExtension struct {
	url   string
	value string // "valueBoolean", "valueMoney", …
}

var (
	extTypesOnce sync.Once
	extTypes     []typedExtension
)

// extensionValueOf returns the value property of the extension the sheet
// calls name ("patientInvoice", "Patient-occupation"), if the examples use
// it, else if the sheet's other rules on it say (sheetTypedExtensions).
func extensionValueOf(name string) (string, bool) {
	for _, e := range extensionTypes() {
		if extensionNamed(e.url, name) {
			return e.value, true
		}
	}
	v, ok := sheetTypedExtensions[name]
	return v, ok
}

// sheetTypedExtensions are the value properties of extensions no official
// example uses, as the sheet's own rules on them give them: compared with
// "true" (newborn, BV-00506), bound to a value set (IB-00385, IB-00412–421:
// coded, and every coded NPHIES extension of the examples is a
// valueCodeableConcept; absenceOfScientificCode has codings and a text,
// BV-00698), a date and time to the second (BV-00810, BV-00828), a
// reference to a resource (RE-00185, RE-00186, RE-01510, RE-01511).
var sheetTypedExtensions = map[string]string{
	"newborn":                        "valueBoolean",
	"advancedAuth-reason":            "valueCodeableConcept",
	"emergencyDepartmentDisposition": "valueCodeableConcept",
	"conditionOnset":                 "valueCodeableConcept",
	"emergencyArrivalCode":           "valueCodeableConcept",
	"triageCategory":                 "valueCodeableConcept",
	"dischargeSpecialty":             "valueCodeableConcept",
	"causeOfDeath":                   "valueCodeableConcept",
	"intendedLengthOfStay":           "valueCodeableConcept",
	"admissionSpecialty":             "valueCodeableConcept",
	"absenceOfScientificCode":        "valueCodeableConcept",
	"triageDate":                     "valueDateTime",
	"emergencyServiceStart":          "valueDateTime",
	"medicationRequest":              "valueReference",
	"serviceProvider":                "valueReference",
	"referringProvider":              "valueReference",
}

func extensionTypes() []typedExtension {
	extTypesOnce.Do(func() {
		for _, row := range readTSV("data/extension-types.tsv")[1:] {
			if len(row) > 1 {
				extTypes = append(extTypes, typedExtension{url: row[0], value: row[1]})
			}
		}
	})
	return extTypes
}

// extensionName is the NPHIES extension a sheet path ends in
// ("Claim.item.extension.patientInvoice" → "patientInvoice"), or "".
func extensionName(path string) string {
	segs := strings.Split(path, ".")
	if n := len(segs); n >= 3 && segs[n-2] == "extension" && !extensionElement(segs[n-1]) {
		return segs[n-1]
	}
	return ""
}

// extensionTypeCheck: each extension at path carries its value as the
// value property the examples give it, of that property's R4 shape, and no
// other value.
func extensionTypeCheck(path, value string) func(*message) []string {
	t, typed := typeOf("Extension." + value)
	return func(m *message) []string {
		var out []string
		for _, e := range m.selectPath(path) {
			for k, v := range e.obj() {
				switch {
				case k == value && typed:
					out = append(out, t.misfits(e.path+"."+k, v)...)
				case k != value && strings.HasPrefix(k, "value"):
					out = append(out, e.path+"."+k)
				}
			}
		}
		return out
	}
}

// extensionValueRequired: every extension the examples give this value
// property has it ("Extension.value[x]:valueBoolean is not provided").
func extensionValueRequired(value string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, e := range m.instances("Extension") {
			want, known := extensionValueByURL(e.str("url"))
			if known && want == value && !e.has(value) {
				out = append(out, e.path+"."+value)
			}
		}
		return out
	}
}

// extensionValueByURL is the value property of the extension with this url.
func extensionValueByURL(url string) (string, bool) {
	for _, e := range extensionTypes() {
		if e.url == url {
			return e.value, true
		}
	}
	return "", false
}
