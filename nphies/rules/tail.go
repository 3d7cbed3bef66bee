package rules

import "strings"

// Rows on resource types and on elements the sheet names loosely (its
// "Patient.gender.id", "Organization.identifier.type.code", the message's
// "Bundle.entry.messageHeader"), each read as the R4 element it means.

// resourceTypeCheck is the rule on a resource type's resourceType (one row
// per type; derived from the sheet): an entry the message says is a kind —
// by its fullUrl (".../Claim/123") or by a MessageHeader focus that finds
// it (by the type the reference names or gives) — has the resourceType kind.
// The cardinality (IC) row reports one without resourceType, the data-type
// (DT) row one that is not a string or names another type. A URL names a
// type in R4's spelling only: ".../Claimresponse/1" (examples 2b, 5b, 7b)
// names none, as ".../organization/1" finds no ".../Organization/1" entry
// for BV-00079. The bundle itself is a Bundle or Check refuses it, and a
// nested one is checked as a message only when it says it is a Bundle.
func resourceTypeCheck(kind string, missing bool) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for i, e := range m.entries {
			if e.resource.path == "" || !m.names(i, kind) {
				continue // an entry without a resource is IC-01435
			}
			v, present := e.resource.obj()["resourceType"]
			if missing && !present || !missing && present && v != kind {
				out = append(out, e.resource.path+".resourceType")
			}
		}
		return out
	}
}

// names reports whether the message says entry i is a kind.
func (m *message) names(i int, kind string) bool {
	e := m.entries[i]
	if typeInURL(e.fullURL) == kind {
		return true
	}
	for _, f := range m.header.get("focus") {
		if r, ok := m.resolve(f); ok && r.path == e.resource.path && (typeInURL(f.str("reference")) == kind || f.str("type") == kind) {
			return true
		}
	}
	return false
}

// typeInURL is the R4 resource type a URL or relative reference names by
// the segment before its id (".../Claim/123", "Claim/123"), or "".
func typeInURL(url string) string {
	segs := strings.Split(url, "/")
	if len(segs) < 2 || !r4Resources()[segs[len(segs)-2]] {
		return ""
	}
	return segs[len(segs)-2]
}

// focalResources: every focus of the MessageHeader finds an entry of the
// bundle, the profile's focal-resource entry (DT-01315). RE-00100 says the
// same of a focus by URL; a focus by identifier only names no entry.
func focalResources(m *message) []string {
	var out []string
	for _, f := range m.header.get("focus") {
		if _, ok := m.resolve(f); !ok {
			out = append(out, f.path)
		}
	}
	return out
}

// pollCount: a poll's count is a positiveInt of at most max (0: no bound).
func pollCount(max float64) func(any) bool {
	t, _ := typeOf("Task.input.valuePositiveInt")
	return func(v any) bool {
		n, ok := node{val: v}.num()
		return t.fits(v) && ok && (max == 0 || n <= max)
	}
}

func init() {
	// A primitive's id is R4's Element.id in its "_gender" twin, a string
	// as every element's id (the table has it under each; Extension.id).
	elementID, _ := typeOf("Extension.id")
	rule("DT-00973", dataTypeCheck("Patient._gender.id", elementID))
	rule("DT-01093", dataTypeCheck("Practitioner._gender.id", elementID))
	// "type.code" and "type.system" are the type's coding's: a code and a
	// uri (the R4 types of Attachment.contentType and Identifier.system),
	// each once.
	code, _ := typeOf("Attachment.contentType")
	uri, _ := typeOf("Organization.identifier.system")
	rule("DT-01395", dataTypeCheck("Organization.identifier.type.coding.code", code))
	rule("DT-01396", dataTypeCheck("Organization.identifier.type.coding.system", uri))
	rule("IC-01394", atMost("Organization.identifier.type.coding", "code", 1))
	rule("IC-01395", atMost("Organization.identifier.type.coding", "system", 1))
	// A poll's count and period inputs (the sheet's DT-01303–01306; example
	// 12a polls by message type only): a valuePositiveInt, at most 100 on
	// the request, and a valuePeriod.
	period, _ := typeOf("Task.input.valuePeriod")
	rule("DT-01303", onEvent("poll-request", pollInput("count", "valuePositiveInt", pollCount(100))))
	rule("DT-01304", onEvent("poll-request", pollInput("period", "valuePeriod", period.fits)))
	rule("DT-01305", onEvent("poll-response", pollInput("count", "valuePositiveInt", pollCount(0))))
	rule("DT-01306", onEvent("poll-response", pollInput("period", "valuePeriod", period.fits)))
	// The message's entries by their role: the first is the MessageHeader
	// (BV-00126, the same rule), the focus finds an entry.
	rule("DT-01316", sameAs("BV-00126"))
	rule("DT-01315", focalResources)
}
