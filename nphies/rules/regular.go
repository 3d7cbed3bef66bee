package rules

import "strings"

// Regular rules whose sheet row does not follow the shapes derive reads
// ("… SHALL have a valid value" with a display "… is not provided", a
// second focus, a poll's message-type inputs), written for them.

// pollInputsAreCodes: the message types a poll includes or excludes are
// given as valueCode (IB-00338, 339).
func pollInputsAreCodes(inputType string) func(*message) []string {
	return pollInput(inputType, "valueCode", nil)
}

// pollInput: a poll's inputs of the type give their value as key, and
// only as key; fits, when given, says which values of it are allowed.
func pollInput(inputType, key string, fits func(any) bool) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, in := range m.selectPath("Task.input") {
			t, _ := in.first("type")
			if t.code() != inputType {
				continue
			}
			for k := range in.obj() {
				if strings.HasPrefix(k, "value") && k != key {
					out = append(out, in.path+"."+k)
				}
			}
			if v, ok := in.obj()[key]; !ok || fits != nil && !fits(v) {
				out = append(out, in.path+"."+key)
			}
		}
		return out
	}
}

// atMost: the elements at path occur at most max times in each parent.
func atMost(parent, element string, max int) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, p := range m.selectPath(parent) {
			if list := p.get(element); len(list) > max {
				out = append(out, list[max].path)
			}
		}
		return out
	}
}

// profileUse: a ClaimResponse declaring the profile has the use it implies
// (BV-00332, 333; the profiles' URLs as the examples give them).
func profileUse(profile, use string) func(*message) []string {
	return eachResponse(func(cr node, out *[]string) {
		for _, p := range cr.at("meta.profile") {
			if s, _ := p.val.(string); strings.Contains(s, "/StructureDefinition/"+profile) && cr.str("use") != use {
				*out = append(*out, cr.path+".use")
			}
		}
	})
}

// decimalMax is the largest value NPHIES's decimals hold (7.9228 × 10^28,
// IB-00349–352).
const decimalMax = 7.9228e28

// overflow: the values of the Money elements at the paths exceed decimalMax.
func overflow(paths ...string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, p := range paths {
			for _, n := range m.selectPath(p + ".value") {
				if v, ok := n.num(); ok && (v > decimalMax || v < -decimalMax) {
					out = append(out, n.path)
				}
			}
		}
		return out
	}
}

// coverageGiven: an eligibility request not asking for discovery names a
// Coverage entry of the message for each insurance (RE-00179).
func coverageGiven(m *message) []string {
	var out []string
	for _, r := range m.resources("CoverageEligibilityRequest") {
		discovery := false
		for _, p := range r.get("purpose") {
			discovery = discovery || p.val == "discovery"
		}
		if discovery {
			continue
		}
		for _, c := range r.at("insurance.coverage") {
			if cov, ok := m.resolve(c); !ok || cov.str("resourceType") != "Coverage" {
				out = append(out, c.path)
			}
		}
		if len(r.get("insurance")) == 0 {
			out = append(out, r.path+".insurance")
		}
	}
	return out
}

func init() {
	rule("IB-00349", overflow("Claim.total"))
	rule("IB-00350", overflow("Claim.item.net"))
	rule("IB-00351", overflow("Claim.item.net"))
	rule("IB-00352", overflow("ClaimResponse.item.adjudication.amount", "ClaimResponse.total.amount"))
	rule("RE-00179", coverageGiven)
	// "The … about is not provided": the official communication examples
	// (18a-18c) each say what they are about, by type and identifier.
	for id, path := range map[string]string{
		"IC-00345": "Communication.about", "IC-00346": "Communication.about.identifier",
		"IC-00347": "Communication.about.type", "IC-00352": "CommunicationRequest.about",
		"IC-00353": "CommunicationRequest.about.identifier", "IC-00354": "CommunicationRequest.about.type",
		"IC-00380": "MessageHeader.id",
	} {
		rule(id, requiredCheck(path))
	}
	rule("IC-00378", handWritten["BV-00221"]) // one focus, the same rule
	rule("IB-00338", onEvent("poll-request", pollInputsAreCodes("include-message-type")))
	rule("IB-00339", onEvent("poll-request", pollInputsAreCodes("exclude-message-type")))
	rule("IC-01434", atMost("Claim.item.productOrService", "coding", 2))
	rule("BV-00332", profileUse("prior-auth-response", "preauthorization"))
	rule("BV-00333", profileUse("claim-response", "claim"))
}
