package rules

import (
	"regexp"
	"strings"
	"unicode"

	hg "github.com/healthgraph/healthgraph"
)

// derive returns the check of a rule whose sheet text follows one of the
// regular shapes (a reference, a required element, a code binding), or nil.
func derive(r Rule) func(*message) []string {
	path := elementPath(r.Element)
	if _, disproved := profileSpecific[r.ID]; path == "" || disproved {
		return nil
	}
	switch r.Type {
	case "DT":
		if t, ok := typeOf(path); ok {
			return dataTypeCheck(path, t)
		}
	case "RE":
		if strings.Contains(r.Description, "SHALL use a reference to a resource") {
			return referenceCheck(path)
		}
	case "IC":
		if strings.HasSuffix(strings.TrimSpace(r.Display), "is not provided") &&
			strings.Contains(r.Description, "SHALL follow the specified cardinality within the message profile") {
			return requiredCheck(path)
		}
	case "IB":
		if m := billingRule.FindStringSubmatch(r.Description); m != nil {
			return billingCheck(path, m[1], m[2], m[3])
		}
		if m := identifierSystemRule.FindStringSubmatch(r.Description); m != nil {
			return identifierSystemCheck(m[1], m[2])
		}
		if m := profileRule.FindStringSubmatch(r.Description); m != nil {
			return profileCheck(m[1], m[2], m[3])
		}
		if m := taskFixedRule.FindStringSubmatch(r.Description); m != nil {
			return taskFixedCheck(m[1], m[2], m[3])
		}
		if strings.Contains(strings.ToLower(r.Description), "shall use a code from the specified valueset") {
			if vs := bindingOf(path); vs != "" {
				return bindingCheck(path, vs)
			}
		}
	}
	return nil
}

// elementPath normalises the sheet's element column to a dotted path rooted
// at a resource type ("claim.Item.Net " → "Claim.Item.Net"), or "" when the
// column is not a path ("Bundle first entry", "Resource reference").
func elementPath(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " (,"); i >= 0 {
		s = s[:i]
	}
	if !strings.Contains(s, ".") || strings.HasPrefix(s, "Resource.") || strings.Contains(s, ":") {
		return ""
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// profileSpecific are regular-shaped rules the official examples disprove:
// "is not provided" rules that hold in some profiles only (the examples of
// another profile omit the element), and one R4 shape NPHIES itself departs
// from. Without the profiles' tables they stay "not yet", with this reason.
var profileSpecific = map[string]string{
	"IC-00014": "Claim.careTeam is absent from the pharmacy profiles (examples 4, 9)",
	"IC-00032": "Claim.item.careTeamSequence is absent from the pharmacy profiles (examples 4, 9)",
	"DT-01067": "NPHIES sends PaymentReconciliation.paymentIdentifier as an array where R4 has one (example 13a); both are accepted",
	"IB-00297": "NPHIES's own poll response sends Task.priority stat (example 12b)",
	"IC-00073": "an error ClaimResponse has no adjudication-outcome (BV-00396) and no other extension is required",
	"IC-00082": "approved-quantity adjudications carry value, not amount (examples 2b, 7b)",
	"IC-00234": "Organization.type is absent from the December 2023 example's provider organization",
	"IC-00379": "MessageHeader.focus is absent from the poll-response (example 12b)",
	"IC-00395": "Task.reasonCode belongs to cancel requests only (examples 12a, 17b)",
	"IC-00396": "CommunicationRequest.reasonCode is absent from example 18a",
	"IC-01431": "the sheet names ClaimResponse.item.sequence, the element is itemSequence (examples 2b, 7b)",
}

// referenceCheck: a Reference with a "reference" must point at an entry of
// the bundle (identifier-only references are allowed by the profiles).
func referenceCheck(path string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, n := range m.selectPath(path) {
			if n.str("reference") == "" {
				continue
			}
			if _, ok := m.resolve(n); !ok {
				out = append(out, n.path+".reference")
			}
		}
		return out
	}
}

// requiredCheck: wherever the parent element exists, the element must too.
func requiredCheck(path string) func(*message) []string {
	segs := strings.Split(path, ".")
	last := segs[len(segs)-1]
	parent := strings.Join(segs[:len(segs)-1], ".")
	ext := len(segs) >= 3 && segs[len(segs)-2] == "extension" && !extensionElement(last)
	if ext {
		parent = strings.Join(segs[:len(segs)-2], ".")
	}
	if len(segs) == 2 || (ext && len(segs) == 3) {
		parent = segs[0]
	}
	if last == "extension" && len(segs) >= 3 {
		return primitiveExtensionRequired(strings.Join(segs[:len(segs)-2], "."), segs[len(segs)-2])
	}
	return func(m *message) []string {
		var out []string
		for _, p := range m.selectPath(parent) {
			switch {
			case ext:
				if len(p.extensions(last)) == 0 {
					out = append(out, p.path+".extension("+last+")")
				}
			case strings.HasSuffix(last, "[x]"):
				if !hasChoice(p, strings.TrimSuffix(last, "[x]")) {
					out = append(out, p.path+"."+last)
				}
			default:
				if len(p.get(last)) == 0 {
					out = append(out, p.path+"."+last)
				}
			}
		}
		return out
	}
}

// primitiveExtensionRequired: a primitive element (Patient.gender) that is
// present carries extensions in its "_gender" twin.
func primitiveExtensionRequired(owner, name string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, o := range m.selectPath(owner) {
			if !o.has(name) {
				continue
			}
			tw, ok := o.first("_" + name)
			if !ok || len(tw.get("extension")) == 0 {
				out = append(out, o.path+"."+name+".extension")
			}
		}
		return out
	}
}

// hasChoice reports whether n has some element prefix+Type.
func hasChoice(n node, prefix string) bool {
	for k := range n.obj() {
		if strings.HasPrefix(k, prefix) && len(k) > len(prefix) {
			return true
		}
	}
	return false
}

// billingRule reads "Claim - claim.item.productOrService SHALL be a valid
// code from the (…/ValueSet/professional-billing) adopted by nphies if
// Claim.type=professional" (and the "Authorization - " twin).
var billingRule = regexp.MustCompile(`^(Claim|Authorization) - .*\((http[^)]+)\).*Claim\.type=(\w+)`)

// identifierSystemRule reads `Patient.identifier.system SHALL be
// "http://nphies.sa/identifier/iqama" if the Patient.identifier.type.value="PRC"`.
var identifierSystemRule = regexp.MustCompile(`^Patient\.identifier\.system SHALL be "([^"]+)" if the Patient\.identifier\.type\.value="(\w+)"`)

// identifierSystemCheck: a patient identifier of the type code uses the system.
func identifierSystemCheck(system, typeCode string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, p := range m.resources("Patient") {
			for _, id := range p.get("identifier") {
				if t, ok := id.first("type"); ok && t.hasCode("", typeCode) && id.str("system") != system {
					out = append(out, id.path+".system")
				}
			}
		}
		return out
	}
}

// profileRule reads "When Claim.meta.profile is for … (StructureDefinition
// equals a version of "…/professional-claim") then Claim.use SHALL be "claim"".
var profileRule = regexp.MustCompile(`StructureDefinition equals a version of "([^"]+)"\) then Claim\.(type|use) SHALL be "(\w+)"`)

// profileCheck: a Claim declaring the profile has the type or use it implies.
func profileCheck(profile, element, want string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, c := range m.resources("Claim") {
			declared := false
			for _, p := range c.at("meta.profile") {
				s, _ := p.val.(string)
				declared = declared || s == profile || strings.HasPrefix(s, profile+"|")
			}
			if !declared {
				continue
			}
			got := c.str(element)
			if t, ok := c.first(element); ok && element == "type" {
				got = t.code()
			}
			if got != want {
				out = append(out, c.path+"."+element)
			}
		}
		return out
	}
}

// taskFixedRule reads `Task.intent SHALL be  "order" if MessageHeader.eventCoding="cancel-request"`.
var taskFixedRule = regexp.MustCompile(`^Task\.(\w+) SHALL be\s+"([\w-]+)" if MessageHeader\.eventCoding="([\w-]+)"`)

// taskFixedCheck: in messages of the event, every Task's element (a code or
// a CodeableConcept) has the fixed value.
func taskFixedCheck(element, want, event string) func(*message) []string {
	return func(m *message) []string {
		if m.event != event {
			return nil
		}
		var out []string
		for _, t := range m.resources("Task") {
			got := t.str(element)
			if cc, ok := t.first(element); ok && got == "" {
				got = cc.code()
			}
			if got != want {
				out = append(out, t.path+"."+element)
			}
		}
		return out
	}
}

// validCode reports whether the coding is allowed by the value set: its
// system is one of the set's and its code is in the published list or, for
// an external list, has the list's shape: the Saudi Billing System's
// NNNNN-NN-NN for services and procedures, 14-digit SFDA GTINs for
// medicines (the catalogue's shapes, hg.CodeSystem, so the catalogue and
// the rules agree). A CPT code (99213) under the services system fails here.
func validCode(valueSet string, coding node) bool {
	system, code := coding.str("system"), coding.str("code")
	if !codes().allows(valueSet, system, code) {
		return false
	}
	if cs, ok := hg.ParseCodeSystem(system); ok && system == cs.URL() {
		return cs.ValidCode(code)
	}
	return true
}

// billingCheck: every productOrService of a claim (use) of the claim type
// has a coding from the type's billing value set.
func billingCheck(path, kind, valueSet, claimType string) func(*message) []string {
	use := "claim"
	if kind == "Authorization" {
		use = "preauthorization"
	}
	return func(m *message) []string {
		var out []string
		for _, c := range m.resources("Claim") {
			if c.str("use") != use || !typeIs(c, claimType) {
				continue
			}
			cm := &message{entries: []entry{{resource: c, kind: "Claim"}}}
			for _, p := range cm.selectPath(path) {
				ok := false
				for _, cd := range p.codings() {
					ok = ok || validCode(valueSet, cd)
				}
				if !ok {
					out = append(out, p.path)
				}
			}
		}
		return out
	}
}

// typeIs reports whether the Claim's type is code (the sheet says "oral"
// where the claim-type code system has "oral").
func typeIs(claim node, code string) bool {
	t, ok := claim.first("type")
	return ok && t.hasCode("", code)
}

// bindings name the value set of elements whose name does not say it, as
// the NPHIES profiles bind them (ids of value sets in valuesets.tsv).
var bindings = map[string]string{
	"Claim.careTeam.role": "claim-careteamrole", "Claim.careTeam.qualification": "practice-codes",
	"Claim.payee.type": "payeetype", "Claim.priority": "process-priority", "Claim.status": "fm-status",
	"Claim.related.relationship": "related-claim-relationship", "Claim.supportingInfo.category": "claim-information-category",
	"ClaimResponse.item.adjudication.category": "adjudication", "ClaimResponse.total.category": "adjudication",
	"ClaimResponse.addItem.adjudication.category": "adjudication", "ClaimResponse.payeeType": "payeetype",
	"ClaimResponse.status": "fm-status", "ClaimResponse.subType": "claim-subtype", "ClaimResponse.type": "claim-type",
	"ClaimResponse.use": "claim-use", "ClaimResponse.error.code": "adjudication-error",
	"Communication.priority": "request-priority", "Communication.reasonCode": "communication-reason",
	"Communication.status": "event-status", "CommunicationRequest.category": "communication-category",
	"CommunicationRequest.priority": "request-priority", "CommunicationRequest.reasonCode": "communication-reason",
	"CommunicationRequest.status": "request-status", "Coverage.class.type": "coverage-class",
	"Coverage.relationship": "subscriber-relationship", "Coverage.status": "fm-status",
	"Coverage.costToBeneficiary.type": "coverage-copay-type", "Coverage.costToBeneficiary.exception.type": "coverage-financial-exception",
	"CoverageEligibilityRequest.priority": "process-priority", "CoverageEligibilityRequest.purpose": "eligibilityrequest-purpose",
	"CoverageEligibilityRequest.status": "fm-status", "CoverageEligibilityResponse.purpose": "eligibilityresponse-purpose",
	"CoverageEligibilityResponse.status": "fm-status", "CoverageEligibilityResponse.outcome": "remittance-outcome",
	"CoverageEligibilityResponse.error.code":              "adjudication-error",
	"CoverageEligibilityResponse.insurance.item.category": "benefit-category",
	"CoverageEligibilityResponse.insurance.item.network":  "benefit-network",
	"CoverageEligibilityResponse.insurance.item.term":     "benefit-term",
	"CoverageEligibilityResponse.insurance.item.unit":     "benefit-unit",
	"Encounter.status": "encounter-status", "Encounter.priority": "v3-ActPriority",
	"Location.status": "location-status", "MedicationRequest.intent": "medicationrequest-intent",
	"MedicationRequest.status": "medicationrequest-status", "OperationOutcome.issue.severity": "issue-severity",
}

// bindingOf returns the value set an element is bound to: from bindings,
// else guessed from its name the way NPHIES names its value sets
// ("Encounter.hospitalization.admitSource" → admit-source, "Claim.subType"
// → claim-subtype); "" when none fits.
func bindingOf(path string) string {
	if id, ok := bindings[path]; ok {
		return codes().byID[id]
	}
	segs := strings.Split(path, ".")
	last := kebab(segs[len(segs)-1])
	if last == "" || last == "status" {
		return ""
	}
	owner := segs[len(segs)-2]                 // the element's parent names the set: diagnosis.type → diagnosis-type
	flat := strings.ToLower(segs[len(segs)-1]) // subType → claim-subtype
	for _, id := range []string{kebab(owner) + "-" + last, kebab(owner) + "-" + flat, last} {
		if u, ok := codes().byID[id]; ok {
			return u
		}
	}
	return ""
}

// kebab turns "admitSource" into "admit-source".
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// bindingCheck: a coded element carries a code of its value set — a
// CodeableConcept needs one allowed coding, a Coding or code must be allowed.
func bindingCheck(path, valueSet string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, n := range m.selectPath(path) {
			switch v := n.val.(type) {
			case string:
				if !codeInSet(valueSet, v) {
					out = append(out, n.path)
				}
			case map[string]any:
				cds := n.codings()
				if _, isCoding := v["code"]; isCoding {
					cds = []node{n}
				}
				ok := len(cds) == 0
				for _, cd := range cds {
					ok = ok || validCode(valueSet, cd)
				}
				if !ok {
					out = append(out, n.path)
				}
			}
		}
		return out
	}
}

// codeInSet reports whether a bare code is in one of the value set's
// systems; true when a system's codes are not enumerated.
func codeInSet(valueSet, code string) bool {
	for _, s := range codes().valueSets[valueSet] {
		in, ok := codes().known(s, code)
		if in || !ok {
			return true
		}
	}
	return false
}
