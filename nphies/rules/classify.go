package rules

import "strings"

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
	}},
	{"concerns NPHIES's own profile definitions, not the message", []string{
		"profile reference", "profile schema", "nphies message profile",
	}},
	{"needs the current date at NPHIES", []string{"current date", "date received", "future"}},
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
	switch {
	case r.Type == "IC" && strings.Contains(text, "cardinality"):
		return NotYet, "needs the profiles' cardinality tables (profiles workbook, not vendored)"
	case r.Type == "DT":
		return NotYet, "the element is an NPHIES extension, a slice or a data type, which the R4 schema does not type alone"
	case r.Type == "IB" && strings.Contains(text, "valueset"):
		return NotYet, "the sheets do not say which value set the element is bound to"
	case strings.Contains(text, "advanced") || strings.Contains(text, "prescri"):
		return NotYet, "advanced-authorization and prescriber messages, which HealthGraph neither sends nor receives: no official " +
			"example shows the advanced authorization's ClaimResponse extensions (supportingInfo, diagnosis, addItem sequences " +
			"and outcomes) or the prescriber's MedicationRequest to shape the check after"
	case strings.Contains(text, "claimresponse") || strings.Contains(text, "claim response") ||
		strings.Contains(text, "eligibilityresponse") || strings.Contains(text, "paymentreconciliation") ||
		strings.Contains(text, "communicationrequest"):
		return NotYet, "rules on payers' messages not yet written (the mock's answers meet the implemented ones)"
	case r.Type == "BV":
		return NotYet, "business rule on messages we send, not yet written"
	}
	return NotYet, ""
}
