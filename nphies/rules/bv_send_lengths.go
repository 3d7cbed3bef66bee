package rules

import "unicode/utf8"

// NPHIES's length limits on the elements of FHIR data types wherever they
// occur (BV-00274–294, 297–308; the instances of each type are found in one
// walk, message.instances) and on some elements of one resource
// (BV-00309–326); not BV-00279 (Coding.display, 100), which the December
// 2023 example itself breaks (profileSpecific). "English and Arabic"
// limits halve for Arabic text (tooLong); the others count characters alone.

// dataTypeLimit is one limit on an element of a data type.
type dataTypeLimit struct {
	dataType, field string
	max             int
	arabic          bool // the limit halves for Arabic text
}

var dataTypeLimits = map[string]dataTypeLimit{
	"BV-00274": {"Attachment", "title", 250, true},
	"BV-00275": {"Identifier", "value", 100, false},
	"BV-00276": {"Annotation", "authorString", 100, true},
	"BV-00277": {"CodeableConcept", "text", 250, false},
	"BV-00278": {"Coding", "version", 100, false},
	"BV-00280": {"Quantity", "unit", 40, false},
	"BV-00282": {"HumanName", "text", 250, true},
	"BV-00283": {"HumanName", "family", 100, true},
	"BV-00284": {"HumanName", "given", 100, true},
	"BV-00285": {"HumanName", "prefix", 100, true},
	"BV-00286": {"HumanName", "suffix", 100, true},
	"BV-00287": {"ContactPoint", "value", 100, false},
	"BV-00288": {"Address", "text", 500, true},
	"BV-00289": {"Address", "line", 200, true},
	"BV-00290": {"Address", "city", 200, true},
	"BV-00291": {"Address", "district", 200, true},
	"BV-00292": {"Address", "state", 200, true},
	"BV-00293": {"Address", "postalCode", 50, false},
	"BV-00294": {"Address", "country", 100, true},
	"BV-00297": {"RelatedArtifact", "label", 100, true},
	"BV-00298": {"RelatedArtifact", "display", 250, true},
	"BV-00299": {"RelatedArtifact", "citation", 1000, true},
	"BV-00300": {"ParameterDefinition", "max", 10, false},
	"BV-00301": {"ParameterDefinition", "documentation", 500, true},
	"BV-00302": {"Expression", "description", 1000, false},
	"BV-00303": {"Expression", "expression", 1000, false},
	"BV-00305": {"Reference", "reference", 250, false},
	"BV-00306": {"Reference", "display", 200, false},
	"BV-00307": {"Dosage", "text", 4000, true},
	"BV-00308": {"Dosage", "patientInstruction", 4000, true},
}

// exceeds reports whether text is over the limit.
func exceeds(text string, max int, arabic bool) bool {
	if arabic {
		return tooLong(text, max)
	}
	return utf8.RuneCountInString(text) > max
}

// check returns the places where the limit is exceeded in the message.
func (l dataTypeLimit) check(m *message) []string {
	var out []string
	for _, n := range m.instances(l.dataType) {
		for _, v := range n.get(l.field) {
			if s, ok := v.val.(string); ok && exceeds(s, l.max, l.arabic) {
				out = append(out, v.path)
			}
		}
	}
	return out
}

// plainMaxLength: the string elements at path are at most max characters,
// Arabic or not.
func plainMaxLength(path string, max int) func(*message) []string { return lengthAt(path, max, false) }

// lengthAt: the string elements at path do not exceed the limit.
func lengthAt(path string, max int, arabic bool) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, n := range m.selectPath(path) {
			if s, ok := n.val.(string); ok && exceeds(s, max, arabic) {
				out = append(out, n.path)
			}
		}
		return out
	}
}

func init() {
	for id, l := range dataTypeLimits {
		rule(id, l.check)
	}
	rule("BV-00309", plainMaxLength("Task.description", 2000))
	rule("BV-00310", maxLength("CoverageEligibilityResponse.disposition", 250))
	rule("BV-00311", maxLength("CoverageEligibilityResponse.insurance.item.name", 100))
	rule("BV-00312", maxLength("CoverageEligibilityResponse.insurance.item.description", 250))
	rule("BV-00313", plainMaxLength("CoverageEligibilityResponse.insurance.item.benefit.allowedString", 60))
	rule("BV-00314", plainMaxLength("CoverageEligibilityResponse.insurance.item.benefit.usedString", 60))
	rule("BV-00315", plainMaxLength("CoverageEligibilityResponse.preAuthRef", 40))
	rule("BV-00317", plainMaxLength("ClaimResponse.disposition", 250))
	rule("BV-00318", maxLength("ClaimResponse.processNote.text", 2000))
	rule("BV-00319", maxLength("CommunicationRequest.note.authorString", 100))
	rule("BV-00320", maxLength("Communication.note.authorString", 100))
	rule("BV-00326", plainMaxLength("PaymentReconciliation.disposition", 250))
}
