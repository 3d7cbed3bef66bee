package rules

import (
	"slices"
	"strings"
)

// Cardinality (IC) rows whose sheet text states the bound in words of its
// own ("… is not provided", "shall have only one …", "is required") or
// whose bound R4 itself fixes (an element R4 requires, a choice R4 allows
// once). Rows that only say "follow the cardinality in the profile" for an
// element R4 leaves open stay not yet (classify.go, openCardinality).

// requiredWhere: every resource of the kind for which when holds has the
// element (a key, or a choice prefix ending in "[x]").
func requiredWhere(kind, element string, when func(m *message, r node) bool) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, r := range m.resources(kind) {
			if !when(m, r) {
				continue
			}
			if prefix, isChoice := strings.CutSuffix(element, "[x]"); isChoice && !hasChoice(r, prefix) || !isChoice && len(r.get(element)) == 0 {
				out = append(out, r.path+"."+element)
			}
		}
		return out
	}
}

// choiceBound: each element at parent holds the choice prefix[x] at most
// once (R4 0..1) or, required, exactly once (R4 1..1); a second choice is
// reported where it stands, a missing one as prefix[x].
func choiceBound(parent, prefix string, required bool) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, p := range m.selectPath(parent) {
			found := choiceKeys(p, prefix)
			switch {
			case len(found) == 0 && required:
				out = append(out, p.path+"."+prefix+"[x]")
			case len(found) > 1:
				slices.Sort(found)
				for _, k := range found[1:] {
					out = append(out, p.path+"."+k)
				}
			}
		}
		return out
	}
}

// inBatch: the claims of the messages a batch request carries each have
// the extension (IC-01322–01324: batch-identifier, -number, -period; the
// batch example 16 gives every claim all three).
func inBatch(name string) func(*message) []string {
	return onEvent("batch-request", func(m *message) []string {
		var out []string
		for _, e := range m.entries {
			if e.kind != "Bundle" {
				continue
			}
			for _, c := range newMessage(e.resource).resources("Claim") {
				if len(c.extensions(name)) == 0 {
					out = append(out, c.path+".extension("+name+")")
				}
			}
		}
		return out
	})
}

// noEmptyElement: R4's ele-1 — every element has a value or children: no
// empty string, object or array anywhere in the message (IC-00324).
func noEmptyElement(m *message) []string {
	var out []string
	var walk func(n node)
	walk = func(n node) {
		switch v := n.val.(type) {
		case string:
			if v == "" {
				out = append(out, n.path)
			}
		case []any:
			if len(v) == 0 {
				out = append(out, n.path)
			}
		case map[string]any:
			if len(v) == 0 {
				out = append(out, n.path)
			}
			if n.path != "Bundle" && v["resourceType"] == "Bundle" {
				return // a nested message is checked on its own
			}
			for _, k := range sortedKeys(v) {
				if a, isArray := v[k].([]any); isArray && len(a) == 0 {
					out = append(out, n.path+"."+k)
					continue
				}
				for _, c := range n.get(k) {
					walk(c)
				}
			}
		}
	}
	walk(m.bundle)
	return out
}

// pollTypesAreEvents: the message types a poll's inputs of the type name
// are codes of ksa-message-events.
func pollTypesAreEvents(inputType string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, in := range m.selectPath("Task.input") {
			t, _ := in.first("type")
			if code, ok := in.obj()["valueCode"].(string); ok && t.code() == inputType && !codeInSet(codes().byID["ksa-message-events"], code) {
				out = append(out, in.path+".valueCode")
			}
		}
		return out
	}
}

// pollErrorsAreErrorCodes: a poll response's error outputs are coded
// from adjudication-error.
func pollErrorsAreErrorCodes(m *message) []string {
	var out []string
	vs := codes().byID["adjudication-error"]
	for _, o := range m.selectPath("Task.output") {
		if t, _ := o.first("type"); t.code() != "error" {
			continue
		}
		v, ok := o.first("valueCodeableConcept")
		good := ok
		if ok {
			good = false
			for _, cd := range v.codings() {
				good = good || validCode(vs, cd)
			}
		}
		if !good {
			out = append(out, o.path+".valueCodeableConcept")
		}
	}
	return out
}

// sortedKeys are the keys of an object in order, for a stable report.
func sortedKeys(v map[string]any) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func init() {
	// The display says the element "is not provided" / "is required".
	for id, path := range map[string]string{
		"IC-00064": "Claim.use", "IC-00326": "Bundle.id", "IC-00331": "Claim.identifier",
		"IC-00382": "PaymentReconciliation.identifier", "IC-00377": "MessageHeader.eventCoding",
		"IC-00403": "Attachment.contentType", "IC-00405": "Attachment.title", "IC-00406": "Attachment.creation",
		"IC-01427": "Claim.careTeam.qualification",
		// R4 requires them (1..1, 1..*); "ClaimResponse.itemsequence" is item.itemSequence.
		"IC-01353": "ClaimResponse.item.itemSequence",
		"IC-01385": "OperationOutcome.issue", "IC-01386": "OperationOutcome.issue.code",
		"IC-01390": "OperationOutcome.issue.severity", "IC-01521": "MedicationRequest.status",
		"IC-01522": "MedicationRequest.intent", "IC-01524": "MedicationRequest.subject",
		"IC-01485": "ClaimResponse.addItem.productOrService", "IC-01489": "ClaimResponse.addItem.adjudication",
		"IC-01490": "ClaimResponse.addItem.adjudication.category",
		"IC-01495": "ClaimResponse.addItem.detail.productOrService", "IC-01497": "ClaimResponse.addItem.detail.adjudication",
		"IC-01498": "ClaimResponse.addItem.detail.adjudication.category",
		"IC-01503": "ClaimResponse.addItem.detail.subDetail.productOrService",
		"IC-01505": "ClaimResponse.addItem.detail.subDetail.adjudication",
		"IC-01506": "ClaimResponse.addItem.detail.subDetail.adjudication.category",
	} {
		rule(id, requiredCheck(path))
	}
	// A prior authorization's identifier (the Claim of use preauthorization).
	rule("IC-00388", requiredWhere("Claim", "identifier", func(_ *message, c node) bool { return c.str("use") == "preauthorization" }))
	// A Task names its focus, but a poll's, which names none (examples 12a, 12b).
	rule("IC-00393", requiredWhere("Task", "focus", func(m *message, _ node) bool {
		return m.event != "poll-request" && m.event != "poll-response"
	}))
	// A response message says what it answers; a deferred response delivered
	// inside a poll response is on the request leg and does not (BV-00248, 12b).
	rule("IC-00394", requiredWhere("MessageHeader", "response", func(m *message, _ node) bool {
		return strings.HasSuffix(m.event, "-response") && m.bundle.path == "Bundle"
	}))
	// The payer's decision, but on an error or queued response (BV-00396;
	// a queued response's outcome is pended or absent).
	rule("IC-00074", eachResponse(func(cr node, out *[]string) {
		if o := cr.str("outcome"); o != "error" && o != "queued" && len(cr.extensions("adjudication-outcome")) == 0 {
			*out = append(*out, cr.path+".extension(adjudication-outcome)")
		}
	}))
	// Every patient's gender carries NPHIES's own gender code (every example's does).
	rule("IC-00240", eachOf("Patient", func(p node, out *[]string) {
		if g, ok := p.first("_gender"); !ok || len(g.extensions("ksa-administrative-gender")) == 0 {
			*out = append(*out, p.path+".gender.extension(ksa-administrative-gender)")
		}
	}))
	rule("IC-00375", atMost("MessageHeader", "destination", 1))
	rule("IC-00115", choiceBound("Communication.payload", "content", true))
	rule("IC-00125", choiceBound("CommunicationRequest.payload", "content", true))
	rule("IC-01322", inBatch("batch-identifier"))
	rule("IC-01323", inBatch("batch-number"))
	rule("IC-01324", inBatch("batch-period"))
	// Elements of data types R4 has once, which the R4 table (keyed by the
	// sheet's DT rows) does not carry.
	rule("IC-01439", atMost("PaymentReconciliation.paymentIdentifier", "type", 1))
	rule("IC-01450", atMost("Claim.supportingInfo.code", "text", 1))
	rule("IC-00324", noEmptyElement)
	// "… is not provided", on rows whose element the sheet names loosely.
	rule("IC-00327", requiredWhere("Claim", "identifier", func(_ *message, c node) bool { return c.str("use") == "claim" }))
	rule("IC-00368", requiredCheck("CoverageEligibilityRequest.identifier"))
	rule("IC-00390", handWritten["BV-00203"]) // a response's request carries an identifier, the same rule
	rule("IC-00372", requiredCheck("PaymentReconciliation.detail.request.identifier"))
	rule("IC-00391", func(m *message) []string { // a resource's identifier is its id
		var out []string
		for _, e := range m.entries {
			if e.resource.str("id") == "" {
				out = append(out, e.resource.path+".id")
			}
		}
		return out
	})
	// The message types a poll includes or excludes are message events
	// (example 12a's claim-response), and an error it reports is NPHIES's
	// error code, as on ClaimResponse.error.
	rule("IB-00293", onEvent("poll-request", pollTypesAreEvents("include-message-type")))
	rule("IB-00294", onEvent("poll-request", pollTypesAreEvents("exclude-message-type")))
	rule("IB-00300", onEvent("poll-response", pollTypesAreEvents("include-message-type")))
	rule("IB-00301", onEvent("poll-response", pollTypesAreEvents("exclude-message-type")))
	rule("IB-00303", onEvent("poll-response", pollErrorsAreErrorCodes))
	// R4's bdl-5: an entry carries a resource unless it is a request or response.
	rule("IC-01435", func(m *message) []string {
		var out []string
		for _, e := range m.bundle.get("entry") {
			if !e.has("resource") && !e.has("request") && !e.has("response") {
				out = append(out, e.path+".resource")
			}
		}
		return out
	})
	// Choices R4 allows once (0..1) or requires once (1..1), named by one of their types.
	for id, c := range map[string]struct {
		parent, prefix string
		required       bool
	}{
		"IC-01319": {"Claim.accident", "location", false}, "IC-01320": {"Claim.diagnosis", "diagnosis", true},
		"IC-01336": {"Claim.item", "serviced", false},
		"IC-01338": {"Claim.supportingInfo", "timing", false}, "IC-01339": {"Claim.supportingInfo", "timing", false},
		"IC-01340": {"Claim.supportingInfo", "value", false}, "IC-01341": {"Claim.supportingInfo", "value", false},
		"IC-01342": {"Claim.supportingInfo", "value", false}, "IC-01343": {"Claim.supportingInfo", "value", false},
		"IC-01344": {"Claim.supportingInfo", "value", false},
		"IC-01355": {"Communication.note", "author", false}, "IC-01360": {"CommunicationRequest.note", "author", false},
		"IC-01361": {"CommunicationRequest", "occurrence", false},
		"IC-01363": {"Coverage.costToBeneficiary", "value", true}, "IC-01364": {"Coverage.costToBeneficiary", "value", true},
		"IC-01369": {"CoverageEligibilityRequest", "serviced", false}, "IC-01370": {"CoverageEligibilityRequest", "serviced", false},
		"IC-01372": {"CoverageEligibilityResponse.insurance.item.benefit", "allowed", false},
		"IC-01373": {"CoverageEligibilityResponse.insurance.item.benefit", "allowed", false},
		"IC-01374": {"CoverageEligibilityResponse.insurance.item.benefit", "allowed", false},
		"IC-01375": {"CoverageEligibilityResponse.insurance.item.benefit", "used", false},
		"IC-01378": {"CoverageEligibilityResponse", "serviced", false},
		"IC-01397": {"Patient", "deceased", false}, "IC-01398": {"Patient", "deceased", false},
		"IC-01523": {"MedicationRequest", "medication", true},
		"IC-01543": {"Dosage.timing.repeat", "bounds", false},
	} {
		rule(id, choiceBound(c.parent, c.prefix, c.required))
	}
}
