package rules

import (
	"slices"
	"strings"
	"sync"
)

// Rules on references, resource types, coded types, Task error outputs,
// cancel responses, modifier extensions, codings and the events a provider
// or payer may send; and rows the sheet writes twice (two bindings, the
// Task error location per event).

func init() {
	// Every reference by URL, wherever it sits; a contained one ("#id")
	// points inside its resource.
	rule("BV-00079", func(m *message) []string {
		var out []string
		for _, r := range m.instances("Reference") {
			if s := r.str("reference"); s != "" && !strings.HasPrefix(s, "#") {
				if _, ok := m.resolve(r); !ok {
					out = append(out, r.path+".reference")
				}
			}
		}
		return out
	})
	rule("BV-00080", func(m *message) []string {
		var out []string
		for _, e := range m.entries {
			if e.kind != "" && !r4Resources()[e.kind] {
				out = append(out, e.resource.path+".resourceType")
			}
		}
		return out
	})
	// NPHIES's resource-types value set is HL7's, whose codes R4 lists.
	rule("IB-00252", handWritten["BV-00080"])
	rule("BV-00187", boundTo("Organization.type", "organization-type"))
	rule("BV-00190", boundTo("Claim.payee.type", "payeetype"))
	// R4's only payment.type; NPHIES's claim-payment-type (completed,
	// partial) is its version of R4's ex-paymenttype (complete, partial).
	rule("BV-00192", boundTo("ClaimResponse.payment.type", "claim-payment-type"))
	// A requester's type, when given, is a type R4 lets a requester be and
	// the type of the resource the reference finds.
	rule("BV-00206", func(m *message) []string {
		var out []string
		for _, kind := range []string{"Task", "CommunicationRequest", "MedicationRequest"} {
			for _, r := range m.resources(kind) {
				req, ok := r.first("requester")
				if !ok || !req.has("type") {
					continue
				}
				t := req.str("type")
				target, found := m.resolve(req)
				if !slices.Contains(requesterTypes, t) || found && target.str("resourceType") != t {
					out = append(out, req.path+".type")
				}
			}
		}
		return out
	})
	// Every Reference element of the sheet finds its resource by URL or
	// names it by identifier; a display alone is no reference.
	rule("BV-00210", func(m *message) []string {
		var out []string
		for _, p := range referenceElements() {
			for _, r := range m.selectPath(p) {
				// Of a choice (value[x]), only the Reference is one.
				choice := strings.HasSuffix(p, "[x]") && !strings.HasSuffix(r.path[strings.LastIndex(r.path, "."):], "Reference")
				if _, isExtension := r.obj()["url"].(string); isExtension {
					v, ok := r.first("valueReference")
					r = node{path: r.path + ".valueReference", val: v.val}
					if !ok {
						out = append(out, r.path)
						continue
					}
				}
				if _, isObject := r.val.(map[string]any); isObject && !choice && r.str("reference") == "" && !r.has("identifier") {
					out = append(out, r.path+".reference")
				}
			}
		}
		return out
	})
	rule("BV-00249", taskErrorsLocated)
	// The same, as the sheet writes it for poll and cancel responses.
	rule("IC-00397", onEvent("poll-response", taskErrorsLocated))
	rule("IC-00400", onEvent("cancel-response", taskErrorsLocated))
	// "claimed" says an authorization was already claimed against; the
	// cancel of a claim cannot be refused so.
	rule("BV-00464", func(m *message) []string {
		if m.event != "cancel-response" {
			return nil
		}
		var out []string
		for _, t := range m.resources("Task") {
			reason, _ := t.first("statusReason")
			if !reason.hasCode("", "claimed") {
				continue
			}
			if c, ok := m.focalClaim(t); ok && c.str("use") == "claim" {
				out = append(out, reason.path)
			}
		}
		return out
	})
	// NPHIES defines no modifier extension: neither its extensions nor
	// the official examples have one.
	rule("BV-00472", func(m *message) []string {
		var out []string
		walk(m.bundle, func(n node) {
			for _, x := range n.get("modifierExtension") {
				out = append(out, x.path)
			}
		})
		return out
	})
	// A coded element carries at most one coding from its value set's
	// systems (a provider's own coding beside it is not one).
	rule("BV-00527", func(m *message) []string {
		var out []string
		for _, b := range codedElements() {
			for _, cc := range b.elements(m) {
				n := 0
				for _, c := range cc.codings() {
					if slices.Contains(codes().valueSets[b.valueSet], c.str("system")) {
						n++
					}
				}
				if n > 1 {
					out = append(out, cc.path+".coding")
				}
			}
		}
		return out
	})
	rule("BV-00545", func(m *message) []string {
		if !slices.Contains(nphiesOnlyEvents, m.event) {
			return nil
		}
		s, _ := m.header.first("sender")
		if id, _ := s.first("identifier"); id.str("system") == systemProviderLicense || id.str("system") == systemPayerLicense {
			return []string{m.header.path + ".eventCoding"}
		}
		return nil
	})
	rule("IB-00250", sameAs("IB-00169"))
	rule("IB-00246", sameAs("IB-00048"))
}

// taskErrorsLocated: a Task's error output names the element at fault.
func taskErrorsLocated(m *message) []string {
	var out []string
	for _, t := range m.resources("Task") {
		for _, o := range t.get("output") {
			if ty, _ := o.first("type"); ty.code() != "error" {
				continue
			}
			cc, ok := o.first("valueCodeableConcept")
			if !ok {
				out = append(out, o.path+".valueCodeableConcept")
				continue
			}
			if !hasExpression(cc) {
				out = append(out, cc.path+".extension")
			}
		}
	}
	return out
}

// requesterTypes are the targets R4 allows every requester NPHIES
// exchanges (Task, CommunicationRequest, MedicationRequest): the same six.
var requesterTypes = []string{"Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"}

// nphiesOnlyEvents are sent by NPHIES itself, never by a provider or a
// payer: the poll response (example 12b's sender is NPHIES) and the error
// notice NPHIES sends a payer.
var nphiesOnlyEvents = []string{"poll-response", "error-notice"}

// r4Resources are R4's resource types (data/fhir-resources.tsv).
var r4Resources = sync.OnceValue(func() map[string]bool {
	out := map[string]bool{}
	for _, row := range readTSV("data/fhir-resources.tsv")[1:] {
		out[row[0]] = true
	}
	return out
})

// boundTo checks the element against a value set of the sheets (by id).
func boundTo(path, valueSet string) func(*message) []string {
	return func(m *message) []string { return bindingCheck(path, codes().byID[valueSet])(m) }
}

// sameAs is the check of another rule of the sheet (derived or written),
// for rows the sheet writes twice.
func sameAs(id string) func(*message) []string {
	var once sync.Once
	var f func(*message) []string
	return func(m *message) []string {
		once.Do(func() {
			f = handWritten[id]
			for _, r := range catalogue {
				if r.ID == id && f == nil {
					f = derive(r)
				}
			}
			if f == nil {
				panic("rules: " + id + " has no check to share")
			}
		})
		return f(m)
	}
}

// hasExpression reports whether an error's CodeableConcept, or one of its
// codings (where ClaimResponse errors carry it), names the element at
// fault in an expression extension.
func hasExpression(cc node) bool {
	for _, n := range append([]node{cc}, cc.codings()...) {
		for _, name := range []string{"expression", "error-expression"} {
			for _, x := range n.extensions(name) {
				if x.str("valueString") != "" {
					return true
				}
			}
		}
	}
	return false
}

// focalClaim is the Claim a Task's focus names, when the message carries
// it: by reference, or by the Claim's identifier. A cancel response that
// names the claim by identifier alone says nothing of its use, and passes.
func (m *message) focalClaim(t node) (node, bool) {
	f, ok := t.first("focus")
	if !ok {
		return node{}, false
	}
	if r, found := m.resolve(f); found {
		return r, r.str("resourceType") == "Claim"
	}
	want, ok := f.first("identifier")
	if !ok {
		return node{}, false
	}
	for _, c := range m.resources("Claim") {
		for _, id := range c.get("identifier") {
			if id.str("system") == want.str("system") && id.str("value") == want.str("value") {
				return c, true
			}
		}
	}
	return node{}, false
}

// referenceElements are the Reference elements of the sheet's reference
// (RE) rules, active or not.
var referenceElements = sync.OnceValue(func() []string {
	var refs []string
	for _, r := range catalogue {
		if p := elementPath(r.Element); r.Type == "RE" && p != "" && strings.Contains(r.Description, "SHALL use a reference to a resource") &&
			!slices.Contains(refs, p) {
			refs = append(refs, p)
		}
	}
	return refs
})

// codedElement is an element with the value set (URL) it is bound to; a billing
// binding holds for the claims of one use and type only.
type codedElement struct {
	path, valueSet string
	use, claimType string
}

// elements returns the element's instances in m.
func (b codedElement) elements(m *message) []node {
	if b.claimType == "" {
		return m.selectPath(b.path)
	}
	var out []node
	for _, c := range m.resources("Claim") {
		if c.str("use") == b.use && typeIs(c, b.claimType) {
			cm := &message{entries: []entry{{resource: c, kind: "Claim"}}}
			out = append(out, cm.selectPath(b.path)...)
		}
	}
	return out
}

// codedElements are the elements of the sheet's binding (IB) rules whose
// value set the engine knows, by name or by claim type.
var codedElements = sync.OnceValue(func() []codedElement {
	var coded []codedElement
	for _, r := range catalogue {
		p := elementPath(r.Element)
		if r.Type != "IB" || p == "" {
			continue
		}
		c := codedElement{path: p, valueSet: bindingOf(p)}
		if m := billingRule.FindStringSubmatch(r.Description); m != nil {
			c = billing(p, m[1], m[2], m[3])
		}
		if c.valueSet != "" && !slices.Contains(coded, c) {
			coded = append(coded, c)
		}
	}
	return coded
})
