package rules

import (
	"slices"
	"strings"
)

// notEvaluable are the reasons a rule cannot be decided from one message and
// the published code lists, each with the words of the sheet that show it.
// The first reason whose words appear in a rule's description (lower case)
// classifies it; a rule matching none is "not yet".
var notEvaluable = []struct {
	reason string
	words  []string
}{
	{"needs NPHIES's or the payer's stored messages (earlier requests, responses, duplicates)", []string{
		"existing", "exiting", "previous", "already", "duplicate", "original", "same payer", "same provider",
		"related claim", "related request", "corresponding claim", "in the claim request", "claim request contains",
		"within the claim ", "request.identifier", "same identifier", "received", "stored", "resubmi", "cancelled",
		"nullified", "queued", "poll", "prior authorization response", "related claimresponse", "same patient",
		"the claim response", "related coverageeligibilityrequest", "eligibility request",
		"corresponding prescriber", "identifier of the authorization", "sent to a prescription transaction",
		"successfully posted", "hcp/hic level", "exists in nphies", "globally unique", "could not be found", "in the request",
	}},
	{"needs NPHIES's registries (licences, onboarding, accounts, certificates)", []string{
		"license", "licence", "onboard", "registered", "account", "certificate", "blocked", "active in nphies",
		"endpoint", "sender", "receiver",
	}},
	{"transport or processing at NPHIES or the payer (timeouts, availability, size, internal errors)", []string{
		"timeout", "timed out", "offline", "unavailable", "not available", "integration layer", "rhapsody",
		"xsd", "size", "mb", "internal", "error at hic", "unable to process", "parsable",
		"reponse leg", "request leg", // whether an answer is synchronous or deferred
	}},
	{"concerns NPHIES's own profile definitions, not the message", []string{
		"profile reference", "profile schema", "nphies message profile",
	}},
	{"needs the current date at NPHIES", []string{"current date", "currentdate", "date received", "future"}},
}

// classify gives a rule that has no check its status and reason.
func classify(r Rule) (Status, string) {
	text := strings.ToLower(r.Description + " " + r.Display)
	if r.Type == "GE" {
		return NotEvaluable, "a general exchange error raised by NPHIES's processing, not a property of the message"
	}
	if r.Type == "RE" && strings.Contains(text, "valid nphies profile") {
		return NotEvaluable, "concerns NPHIES's own profile definitions, not the message"
	}
	// The wording of business and FHIR-base rules says when they need
	// state beyond the message; the regular DT/IC/IB/RE rules never do.
	for _, ne := range notEvaluable {
		if r.Type != "BV" && r.Type != "FR" {
			break
		}
		for _, w := range ne.words {
			if strings.Contains(text, w) {
				return NotEvaluable, ne.reason
			}
		}
	}
	if why, ok := profileSpecific[r.ID]; ok {
		return NotYet, "disproved by the official examples: " + why
	}
	if c, ok := examined[r.ID]; ok {
		return c.status, c.reason
	}
	for reason, elements := range bindingReasons {
		if r.Type == "IB" && slices.Contains(elements, r.Element) {
			return NotYet, reason
		}
	}
	switch {
	case r.Type == "IC" && strings.Contains(text, "cardinality"):
		return NotYet, openCardinality(r)
	case r.Type == "DT":
		return dataTypeReason(r)
	case r.Type == "IB" && strings.Contains(text, "valueset"):
		return NotYet, "the sheets do not say which value set the element is bound to"
	case strings.Contains(text, "advanced") || strings.Contains(text, "prescri") || strings.Contains(text, "medicationrequest") ||
		strings.Contains(text, "dosage.timing"):
		return NotYet, "advanced-authorization and prescriber messages, which HealthGraph neither sends nor receives: no official " +
			"example shows the advanced authorization's ClaimResponse extensions (supportingInfo, diagnosis, addItem sequences " +
			"and outcomes) or the prescriber's MedicationRequest to shape the check after"
	case strings.Contains(text, "claimresponse") || strings.Contains(text, "claim response") ||
		strings.Contains(text, "eligibilityresponse") || strings.Contains(text, "paymentreconciliation") ||
		strings.Contains(text, "communicationrequest"):
		return NotYet, "rules on payers' messages not yet written (the mock's answers meet the implemented ones)"
	case strings.Contains(text, "diagnosis list") || strings.Contains(text, "morphology-diagnosis"):
		return NotYet, "the diagnosis lists it names (RTA, work-related, morphology) are published without their codes ('---' in codesystems.tsv)"
	case r.Type == "BV":
		return NotYet, "business rule on messages we send, not yet written"
	}
	return NotYet, ""
}

// openCardinality says why a cardinality (IC) row whose text states no
// bound, on an element R4 leaves open, is left: the bound is the profile's.
func openCardinality(r Rule) string {
	e := strings.ToLower(r.Element)
	switch {
	case strings.HasPrefix(e, "policyholder") || strings.Contains(r.Description, "policy holder organization"):
		return "the policy holder's organization profile is not told apart from the others in the message"
	case strings.Contains(e, ".extension"):
		return "an NPHIES extension: R4 bounds no extension and the sheet states no bound; the profile's is in its cardinality table (profiles workbook, not vendored)"
	}
	// The rows on elements R4 has once are checked for that bound (derive).
	return "R4 lets the element repeat (0..*) and the sheet states no bound; the profile's is in its cardinality table (profiles workbook, not vendored)"
}

// Reasons for rows read one by one whose wording the keyword reasons miss.
const (
	storedMessages = "needs NPHIES's or the payer's stored messages (earlier requests, responses, duplicates)"
	registries     = "needs NPHIES's registries (licences, onboarding, accounts, certificates)"
	noValueNamed   = "the sheet names no value (\"SHALL have a valid value\") and the examples show one each"
	generalRef     = "a general reference-processing error; NPHIES raises it for what the per-element reference rules (RE-00001…) check"
	untyped        = "disproved by the official examples: their references by URL carry no type (18a, 18b, the claims' care team, the eligibility requests' provider and insurer); a type goes with a reference by identifier, which the sheet does not say"
)

// examined classifies those rows.
var examined = map[string]struct {
	status Status
	reason string
}{}

func init() {
	set := func(status Status, reason string, ids ...string) {
		for _, id := range ids {
			examined[id] = struct {
				status Status
				reason string
			}{status, reason}
		}
	}
	set(NotEvaluable, storedMessages, "BV-00055", "BV-00121", "BV-00145", "BV-00191", "BV-00193", "BV-00356",
		"BV-00362", "BV-00381", "BV-00401", "BV-00430", "BV-00431", "BV-00432", "BV-00510", "BV-00513",
		"BV-00547", "BV-00562", "IC-01432")
	set(NotEvaluable, registries, "BV-00353", "BV-00514", "RE-00181")
	set(NotEvaluable, generalRef, "RE-00000", "RE-00148", "RE-00166", "RE-00167", "RE-00168", "RE-00169",
		"RE-00170", "IB-00251", "RE-00171", "RE-00172", "RE-00173", "RE-00174", "RE-00175", "RE-00176", "RE-00177")
	set(NotYet, noValueNamed, "IB-00248", "IB-00249", "IB-00316", "IB-00320", "IB-00322", "IB-00323",
		"IB-00324")
	set(NotYet, "names no resource: \"Authorization\" (\"Preauthorization\") is the prior-authorization request (IC-00388) or the payer's answer to it",
		"IC-00325", "IC-00389")
	set(NotYet, untyped, "IC-00328", "IC-00341", "IC-00344", "IC-00349", "IC-00350", "IC-00351", "IC-00356",
		"IC-00358", "IC-00359", "IC-00360", "IC-00361", "IC-00362", "IC-00363")
	set(NotYet, "disproved by the official examples: example 5b is a prior-authorization response with use preauthorization; the use per profile is BV-00332, 333",
		"BV-00334")
	set(NotYet, "disproved by the official examples: the responses' Tasks are completed or failed (12b, 17b, 9c); the status per event is IB-00288, IB-00305, IC-00001",
		"IB-00254")
	set(NotYet, "the reissue-reason extension is in no official example and its definition is not vendored", "BV-00680")
	set(NotYet, "the advanced authorization's supportingInfo extension is in no official example", "BV-00685")
	set(NotYet, "needs every R4 element name of every resource (the R4 schema's whole element table; the engine carries the elements the sheet names)", "FR-00027")
	set(NotYet, "which organization NPHIES counts as itself in a poll response is not in the sheets (example 12b names it by reference only)", "RE-00178")
	set(NotYet, "the policy holder's organization profile is not told apart from the others in the message", "IB-00382")
	set(NotYet, "a resource valid as a whole: its type is checked by BV-00080 and IB-00252, its elements by the DT, IC and IB rules", "RE-00180")
	set(NotEvaluable, "a general cardinality error raised by NPHIES's validator; the element-specific cardinality rules are implemented where the sheet or R4 states the bound",
		"IC-01428")
	set(NotYet, "the sheet does not say which element must be a provider", "IC-00323")
	// Bindings the sheets leave open, each read (IB).
	set(NotEvaluable, "a general binding error raised by NPHIES's validator; the element-specific binding rules are implemented",
		"IB-00000", "IB-00237", "IB-00238", "IB-00239", "IB-00240", "IB-00241", "IB-00242", "IB-00243", "IB-00244", "IB-00245")
	set(NotYet, "the sheet does not say which resource URLs are valid", "IB-00253")
}

// bindingReasons say, for binding (IB) rows by element, why the sheets
// leave the binding open.
var bindingReasons = map[string][]string{
	"NPHIES publishes no value set for meta.security or meta.tag; R4 binds security extensibly and tag by example only": metaRows(),
	"both NPHIES's ksa-languages and HL7's languages draw on BCP-47 and the sheets do not say which the element takes": {
		"Bundle.language", "ClaimResponse.language", "ClaimResponse.processNote.language", "Coverage.language", "Task.language"},
	"bound per claim type: the billing value-set rules for each type (IB-00267, IB-00283, …) check it": {
		"Claim.item.productOrService", "Claim.item.detail.productOrService", "Claim.item.detail.subDetail.productOrService", "Claim.item.subSite"},
	"bound per supportingInfo category (a slice): the rules on each category check it":                                                           {"Claim.supportingInfo.code", "Claim.supportingInfo.reason"},
	"bound per identifier owner (patient-, organization-, practitioner-identifier-type); Organization.identifier.type is implemented (IB-00177)": {"Identifier.type"},
	"bound per extension; the coded extensions' own rules are implemented":                                                                       {"Extension.value[x]:valueCodeableConcept"},
	"R4 binds it extensibly (marital-status) and NPHIES publishes no value set for it":                                                           {"Patient.maritalStatus"},
	"R4 binds it by example only and NPHIES publishes no value set for it": {
		"CommunicationRequest.statusReason", "Task.businessStatus", "Task.performerType"},
	"NPHIES's encounter-discharge-disposition names a code system URL that does not exist (terminology.hl7.g), HL7's another; which one the profile takes is not clear": {
		"Encounter.hospitalization.dischargeDisposition"},
	"a Task output's value is a status, an error or the delivered message by its type, and the sheet names no value set for it (the poll's own are IB-00293–303)": {"Task.input.value", "Task.output.value"},
	"the advanced authorization's ClaimResponse extensions are in no official example": {
		"ClaimResponse.extension.diagnosis.diagnosisCodeableConcept", "ClaimResponse.extension.supportingInfo.category", "ClaimResponse.extension.supportingInfo.reason"},
	"a prescriber's medicine codes are SFDA's (not enumerated in the sheets) and the profile's value set is not named": {"MedicationRequest.medication[x]"},
}

// metaRows are the meta.security and meta.tag elements of the resources NPHIES exchanges.
func metaRows() []string {
	var out []string
	for _, r := range []string{"Bundle", "Claim", "ClaimResponse", "Communication", "CommunicationRequest", "Coverage",
		"CoverageEligibilityRequest", "CoverageEligibilityResponse", "Encounter", "Location", "MessageHeader",
		"Organization", "Patient", "PaymentNotice", "PaymentReconciliation", "Practitioner", "PractitionerRole", "Task"} {
		out = append(out, r+".meta.security", r+".meta.tag")
	}
	return out
}

// dataTypeReason says why a data-type (DT) row the engine cannot type is
// left: a general error of NPHIES's validator, an extension no example
// uses, or an element R4 does not have. (The sheet's loose names of R4
// elements are mapped in looseElements and tail.go, resource types by
// resourceTypeCheck.)
func dataTypeReason(r Rule) (Status, string) {
	e := r.Element
	switch {
	case strings.HasPrefix(e, "Element") || e == "date" || e == "dateTime" || e == "period":
		return NotEvaluable, "a general data-type error raised by NPHIES's validator; the element-specific data-type rules are implemented"
	case strings.Contains(elementPath(e), ".extension."):
		return NotYet, "an NPHIES extension (or an element of one) no official example uses, whose value type the sheet's other rules do not give: it is in its definition, not vendored"
	}
	return NotYet, "names no R4 element, and none it clearly means"
}
