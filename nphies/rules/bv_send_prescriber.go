package rules

import "slices"

// Rules on the prescriber and advanced-authorization messages, which
// HealthGraph neither sends nor receives yet; those the message alone
// decides are checked all the same, so the mock and the scrubber hold if it
// ever does. Their events: a prescriber's request and its response, and
// the payer's advanced authorization (a ClaimResponse with no request).

// Events of the prescriber and advanced-authorization messages.
const (
	eventPrescriberRequest  = "prescriber-request"
	eventPrescriberResponse = "prescriber-response"
	eventAdvancedAuth       = "advanced-authorization"
)

// onEvent runs f only on messages of the event.
func onEvent(event string, f func(*message) []string) func(*message) []string {
	return func(m *message) []string {
		if m.event != event {
			return nil
		}
		return f(m)
	}
}

// eachOf runs f over every resource of the kind.
func eachOf(kind string, f func(r node, out *[]string)) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, r := range m.resources(kind) {
			f(r, &out)
		}
		return out
	}
}

// onlyCodes: the CodeableConcept element of every Claim is one of codes.
func onlyCodes(element string, codes ...string) func(*message) []string {
	return eachOf("Claim", func(c node, out *[]string) {
		for _, cc := range c.get(element) {
			if !slices.Contains(codes, cc.code()) {
				*out = append(*out, cc.path)
			}
		}
	})
}

// valueCode is the code of the node's extension of that name.
func valueCode(n node, name string) string {
	for _, e := range n.extensions(name) {
		if v, ok := e.first("valueCodeableConcept"); ok {
			return v.code()
		}
	}
	return ""
}

func init() {
	// A prescriber's request: a professional outpatient claim whose
	// medicines say whether they lack a scientific code, with at most one
	// days supply each.
	rule("BV-00672", onEvent(eventPrescriberRequest, onlyCodes("subType", "op")))
	rule("BV-00690", onEvent(eventPrescriberRequest, onlyCodes("type", "professional")))
	rule("BV-00697", onEvent(eventPrescriberRequest, eachOf("Claim", func(c node, out *[]string) {
		for _, it := range c.get("item") {
			if isMedication(it) && len(it.extensions("absenceOfScientificCode")) == 0 {
				*out = append(*out, it.path+".extension")
			}
		}
	})))
	rule("BV-00696", onEvent(eventPrescriberRequest, eachOf("Claim", func(c node, out *[]string) {
		cats := infoByCategory(c)
		for _, it := range c.get("item") {
			n := 0
			for _, s := range it.get("informationSequence") {
				if cats[string(mustJSON(s.val))] == "days-supply" {
					n++
				}
			}
			if n > 1 {
				*out = append(*out, it.path+".informationSequence")
			}
		}
	})))

	// A prescriber's response: complete or not, never partial or "not
	// required", and one approved duration per item.
	rule("BV-00714", onEvent(eventPrescriberResponse, eachResponse(func(r node, out *[]string) {
		if r.str("outcome") == "partial" {
			*out = append(*out, r.path+".outcome")
		}
	})))
	rule("BV-00715", onEvent(eventPrescriberResponse, eachResponse(func(r node, out *[]string) {
		if valueCode(r, "adjudication-outcome") == "not-required" {
			*out = append(*out, r.path+".extension")
		}
	})))
	rule("BV-00670", onEvent(eventPrescriberResponse, eachResponse(func(r node, out *[]string) {
		for _, it := range r.get("item") {
			n := 0
			for _, a := range it.get("adjudication") {
				if cat, ok := a.first("category"); ok && cat.hasCode("", "approved-duration") {
					n++
				}
			}
			if n != 1 {
				*out = append(*out, it.path+".adjudication")
			}
		}
	})))

	// The payer's advanced authorization: an active, complete
	// preauthorization that answers no request.
	rule("BV-00644", onEvent(eventAdvancedAuth, func(m *message) []string {
		if m.header.has("response") {
			return []string{m.header.path + ".response"}
		}
		return nil
	}))
	rule("BV-00569", onEvent(eventAdvancedAuth, fixedValue("ClaimResponse", "use", "preauthorization")))
	rule("BV-00570", onEvent(eventAdvancedAuth, fixedValue("ClaimResponse", "outcome", "complete")))
	rule("BV-00607", onEvent(eventAdvancedAuth, fixedValue("ClaimResponse", "status", "active")))
	rule("BV-00614", onEvent(eventAdvancedAuth, eachResponse(func(r node, out *[]string) {
		for _, it := range r.get("addItem") {
			if it.has("subSite") && !it.has("bodySite") {
				*out = append(*out, it.path+".subSite")
			}
		}
	})))
	// Reissued with reason "cancel": only an advanced authorization, and
	// then with no outcome and no items.
	rule("BV-00567", func(m *message) []string {
		if m.event == eventAdvancedAuth {
			return nil
		}
		return eachResponse(func(r node, out *[]string) {
			if valueCode(r, "reissue-reason") == "cancel" {
				*out = append(*out, r.path+".extension")
			}
		})(m)
	})
	rule("BV-00684", eachResponse(func(r node, out *[]string) {
		if valueCode(r, "reissue-reason") != "cancel" {
			return
		}
		if len(r.extensions("adjudication-outcome")) > 0 {
			*out = append(*out, r.path+".extension")
		}
		if r.has("addItem") {
			*out = append(*out, r.path+".addItem")
		}
	}))

	// Communications are about a claim or an advanced authorization.
	about := func(kind string) func(*message) []string {
		return eachOf(kind, func(r node, out *[]string) {
			for _, a := range r.get("about") {
				if t := a.str("type"); t != "Claim" && t != "ClaimResponse" {
					*out = append(*out, a.path+".type")
				}
			}
		})
	}
	rule("BV-00233", about("CommunicationRequest"))
	rule("BV-00234", about("Communication"))
}
