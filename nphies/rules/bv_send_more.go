package rules

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// More rules on the messages we send: emergency encounters, ventilation
// hours, investigation results, newborns' ages, entries' URLs and ids,
// identifier systems, codings, Task outputs and attachments.

// resourceID is R4's shape of a resource id.
var resourceID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// ventilated are the institutional services that need the ventilation hours (BV-00731).
var ventilated = []string{"13882-00-00", "13882-01-00", "13882-02-00", "92211-00-00"}

// emergencyNeeds: the emergency encounters of claims (of any use when
// authorizations too, else of use claim) carry the extension, when also
// cond holds.
func emergencyNeeds(name string, authorizations bool, cond func(enc node) bool) func(*message) []string {
	need := func(enc node, out *[]string) {
		if encounterClass(enc) == "EMER" && cond(enc) && len(enc.extensions(name)) == 0 {
			*out = append(*out, enc.path+".extension")
		}
	}
	if authorizations {
		return claimAndEncounter(func(_, enc node, out *[]string) { need(enc, out) })
	}
	return claimEncounters(need)
}

// daysSinceBirth is how many days after birth the date is, if both read.
func daysSinceBirth(birth, date string) (float64, bool) {
	b, okb := parseWhen(birth)
	d, okd := parseWhen(date)
	return d.Sub(b).Hours() / 24, okb && okd
}

// birthDateOf is the birth date of the patient a resource names.
func birthDateOf(m *message, r node) string {
	ref, _ := r.first("patient")
	p, _ := m.resolve(ref)
	return p.str("birthDate")
}

// newbornDates: on claims or eligibility requests for a newborn, the date
// found at element of each item (or of the request) is at most 90 days
// after the birth.
func newbornDates(kind, element string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, r := range m.resources(kind) {
			if !boolExt(r, "newborn") {
				continue
			}
			places := []node{r}
			if kind == "Claim" {
				places = r.get("item")
			}
			for _, p := range places {
				for _, d := range p.at(element) {
					s, _ := d.val.(string)
					if days, ok := daysSinceBirth(birthDateOf(m, r), s); ok && days > 90 {
						out = append(out, d.path)
					}
				}
			}
		}
		return out
	}
}

func init() {
	// Emergency encounters.
	always := func(node) bool { return true }
	rule("BV-00732", emergencyNeeds("emergencyArrivalCode", false, always))
	rule("BV-00733", emergencyNeeds("triageDate", true, always))
	rule("BV-00734", emergencyNeeds("triageCategory", true, always))
	rule("BV-00728", emergencyNeeds("emergencyDepartmentDisposition", false, func(enc node) bool {
		return len(enc.at("period.end")) > 0
	}))
	rule("BV-00855", claimEncounters(func(enc node, out *[]string) {
		if d := valueCode(enc, "emergencyDepartmentDisposition"); (d == "DED" || d == "DOA") && len(enc.extensions("causeOfDeath")) == 0 {
			*out = append(*out, enc.path+".extension")
		}
	}))

	// Ventilation hours of a ventilated inpatient's claim.
	rule("BV-00731", eachOf("Claim", func(c node, out *[]string) {
		if c.str("use") != "claim" || !typeIs(c, "institutional") || hasInfo(c, "ventilation-hours") {
			return
		}
		for _, it := range c.get("item") {
			pos, _ := it.first("productOrService")
			for _, code := range ventilated {
				if pos.hasCode("", code) {
					*out = append(*out, c.path+".supportingInfo")
					return
				}
			}
		}
	}))

	// Investigation results: "other" says what, IRA attaches it.
	rule("BV-00753", infoOf("investigation-result", func(s node, out *[]string) {
		if code, ok := s.first("code"); ok && code.hasCode("", "other") && code.str("text") == "" {
			*out = append(*out, code.path+".text")
		}
	}))
	rule("BV-00846", infoOf("investigation-result", func(s node, out *[]string) {
		if code, ok := s.first("code"); ok && code.hasCode("", "IRA") && !s.has("valueAttachment") {
			*out = append(*out, s.path+".valueAttachment")
		}
	}))

	// A newborn is claimed for in the first 90 days.
	rule("BV-00553", newbornDates("Claim", "servicedDate"))
	rule("BV-00556", newbornDates("Claim", "servicedPeriod.end"))
	rule("BV-00554", newbornDates("CoverageEligibilityRequest", "servicedDate"))
	rule("BV-00555", newbornDates("CoverageEligibilityRequest", "servicedPeriod.end"))

	// Entries: the URL ends with the resource's type and id, the id has
	// R4's shape. NPHIES's own examples spell the type in any case
	// ("Claimresponse/618390").
	rule("BV-00207", entryURL(func(segs []string, r node) bool { return segs[len(segs)-1] == r.str("id") }))
	rule("BV-00208", entryURL(func(segs []string, r node) bool {
		return len(segs) > 1 && strings.EqualFold(segs[len(segs)-2], r.str("resourceType"))
	}))
	rule("BV-00209", func(m *message) []string {
		var out []string
		for _, e := range m.entries {
			if id, ok := e.resource.obj()["id"]; ok {
				if s, _ := id.(string); !resourceID.MatchString(s) {
					out = append(out, e.resource.path+".id")
				}
			}
		}
		return out
	})

	// Identifier systems are URLs (or URNs); the codings of a concept
	// each come from another system.
	rule("BV-00219", func(m *message) []string {
		var out []string
		for _, id := range m.instances("Identifier") {
			for _, s := range id.get("system") {
				if text, _ := s.val.(string); !validURI(text) {
					out = append(out, s.path)
				}
			}
		}
		return out
	})
	rule("BV-00526", func(m *message) []string {
		var out []string
		for _, cc := range m.instances("CodeableConcept") {
			seen := map[string]bool{}
			for _, c := range cc.codings() {
				sys := c.str("system")
				if sys != "" && seen[sys] {
					out = append(out, c.path+".system")
				}
				seen[sys] = true
			}
		}
		return out
	})

	// Task outputs: a type and a value; on a cancel, only errors.
	rule("BV-00239", taskOutputs(func(_ node, o node) bool { return o.has("type") }, ".type"))
	rule("BV-00240", taskOutputs(func(_ node, o node) bool { return hasChoice(o, "value") }, ".value[x]"))
	rule("BV-00241", taskOutputs(func(t node, o node) bool {
		code, _ := t.first("code")
		typ, _ := o.first("type")
		return !code.hasCode("", "cancel") || typ.hasCode("", "error")
	}, ".type"))

	// The parties and places a message names carry an identifier, and
	// its patients are active.
	for id, kind := range map[string]string{
		"BV-00133": "CareTeam", "BV-00153": "Device", "BV-00159": "Group", "BV-00162": "Location",
		"BV-00183": "Organization", "BV-00197": "PractitionerRole", "BV-00198": "Practitioner",
	} {
		rule(id, nonEmptyIdentifier(kind))
	}
	rule("BV-00339", eachOf("Patient", func(p node, out *[]string) {
		if active, _ := p.obj()["active"].(bool); !active {
			*out = append(*out, p.path+".active")
		}
	}))

	rule("BV-00346", eachOf("OperationOutcome", func(o node, out *[]string) {
		if !guid.MatchString(o.str("id")) {
			*out = append(*out, o.path+".id")
		}
	}))

	// A status check, its answer and a nullify's answer are about a claim
	// or an authorization (a Claim either way), and a cancel's answer
	// goes to the provider.
	for id, t := range map[string]struct{ event, code string }{
		"BV-00134": {"status-check", ""}, "BV-00135": {"status-response", ""}, "BV-00179": {"cancel-response", "nullify"},
	} {
		rule(id, onEvent(t.event, eachOf("Task", func(task node, out *[]string) {
			code, _ := task.first("code")
			focus, ok := task.first("focus")
			if ok && (t.code == "" || code.hasCode("", t.code)) && focus.str("type") != "Claim" {
				*out = append(*out, focus.path+".type")
			}
		})))
	}
	rule("BV-00245", onEvent("cancel-response", func(m *message) []string {
		var out []string
		for _, d := range m.header.get("destination") {
			r, _ := d.first("receiver")
			if id, _ := r.first("identifier"); id.str("system") != systemProviderLicense {
				out = append(out, d.path+".receiver")
			}
		}
		return out
	}))
	// An authorization response NPHIES generates itself carries no items.
	rule("BV-00246", eachResponse(func(r node, out *[]string) {
		generated := false
		for _, tag := range r.at("meta.tag") {
			generated = generated || tag.str("code") == "nphies-generated"
		}
		if generated && r.str("use") == "preauthorization" && r.has("item") {
			*out = append(*out, r.path+".item")
		}
	}))
	rule("BV-00558", eachOf("CoverageEligibilityResponse", func(r node, out *[]string) {
		if valueCode(r, "siteEligibility") == "eligible" && !r.has("insurance") {
			*out = append(*out, r.path+".extension")
		}
	}))
	rule("BV-00704", fixedValue("MedicationRequest", "status", "active"))
	rule("BV-00705", fixedValue("MedicationRequest", "intent", "order"))

	// A lab test has its measured value in UCUM.
	rule("BV-00411", infoOf("lab-test", func(s node, out *[]string) {
		if q, ok := s.first("valueQuantity"); !ok || q.str("system") != systemUCUM {
			*out = append(*out, s.path+".valueQuantity")
		}
	}))
	rule("BV-00138", nonEmptyIdentifier("Claim"))
	rule("BV-00188", nonEmptyIdentifier("Patient"))
	// A response names its request by identifier, not by reference.
	requests := func(m *message) []node {
		return append(m.selectPath("ClaimResponse.request"), m.selectPath("CoverageEligibilityResponse.request")...)
	}
	rule("BV-00203", func(m *message) []string {
		var out []string
		for _, r := range requests(m) {
			if id, _ := r.first("identifier"); id.str("value") == "" {
				out = append(out, r.path+".identifier")
			}
		}
		return out
	})
	rule("BV-00204", func(m *message) []string {
		var out []string
		for _, r := range requests(m) {
			if r.has("reference") {
				out = append(out, r.path+".reference")
			}
		}
		return out
	})

	// The claims of a batch all carry the batch's identifier, number and
	// period, the same identifier and period in each.
	for _, b := range []struct{ id, ext string }{{"BV-00451", "batch-identifier"}, {"BV-00421", "batch-period"}} {
		rule(b.id, onEvent("batch-request", func(m *message) []string {
			var out []string
			first := ""
			for _, c := range batchClaims(m) {
				x := c.extensions(b.ext)
				if len(x) == 0 {
					out = append(out, c.path+".extension")
					continue
				}
				v := string(mustJSON(x[0].obj()))
				if first == "" {
					first = v
				} else if v != first {
					out = append(out, x[0].path)
				}
			}
			return out
		}))
	}
	rule("BV-00452", onEvent("batch-request", func(m *message) []string {
		var out []string
		for _, c := range batchClaims(m) {
			for _, name := range []string{"batch-identifier", "batch-number", "batch-period"} {
				if len(c.extensions(name)) == 0 {
					out = append(out, c.path+".extension")
					break
				}
			}
		}
		return out
	}))

	// A reference's type, when given, is one R4 lets the element name.
	for id, r := range map[string]struct {
		paths []string
		types []string
	}{
		"BV-00156": {[]string{"Claim.enterer"}, []string{"Practitioner", "PractitionerRole"}},
		"BV-00157": {[]string{"Claim.facility"}, []string{"Location"}},
		"BV-00160": {[]string{"Claim.insurance.coverage", "CoverageEligibilityRequest.insurance.coverage"}, []string{"Coverage"}},
		"BV-00164": {[]string{"Patient.managingOrganization"}, []string{"Organization"}},
		"BV-00200": {[]string{"Claim.provider", "CoverageEligibilityRequest.provider"}, []string{"Practitioner", "PractitionerRole", "Organization"}},
		"BV-00202": {[]string{"Communication.recipient", "CommunicationRequest.recipient"}, []string{"Device", "Organization", "Patient",
			"Practitioner", "PractitionerRole", "RelatedPerson", "Group", "CareTeam", "HealthcareService"}},
		"BV-00205": {[]string{"ClaimResponse.request", "CoverageEligibilityResponse.request"}, []string{"Claim", "CoverageEligibilityRequest"}},
	} {
		rule(id, func(m *message) []string {
			var out []string
			for _, p := range r.paths {
				for _, ref := range m.selectPath(p) {
					if t := ref.str("type"); t != "" && !slices.Contains(r.types, t) {
						out = append(out, ref.path+".type")
					}
				}
			}
			return out
		})
	}

	// An attachment by URL carries its hash.
	rule("BV-00345", func(m *message) []string {
		var out []string
		for _, a := range m.instances("Attachment") {
			if a.str("url") != "" && a.str("hash") == "" {
				out = append(out, a.path+".hash")
			}
		}
		return out
	})
}

// entryURL: every entry's fullUrl that is not a URN passes ok, given its
// path segments and the resource.
func entryURL(ok func(segs []string, r node) bool) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for i, e := range m.entries {
			if e.fullURL == "" || strings.HasPrefix(e.fullURL, "urn:") {
				continue
			}
			if !ok(strings.Split(e.fullURL, "/"), e.resource) {
				out = append(out, m.bundle.path+".entry["+itoa(i)+"].fullUrl")
			}
		}
		return out
	}
}

// validURI reports whether s is an absolute URI: a scheme and no spaces.
// A host is not required: NPHIES's own poll request (example 12a) names
// its system "http:/sgh.com.sa/task".
func validURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Opaque+u.Host+u.Path != "" && !strings.ContainsAny(s, " \t\n")
}

// taskOutputs: every output of every Task passes ok, else is reported at suffix.
func taskOutputs(ok func(task, output node) bool, suffix string) func(*message) []string {
	return eachOf("Task", func(t node, out *[]string) {
		for _, o := range t.get("output") {
			if !ok(t, o) {
				*out = append(*out, o.path+suffix)
			}
		}
	})
}

// batchClaims are the Claims of the messages a batch request carries.
func batchClaims(m *message) []node {
	var out []node
	for _, e := range m.entries {
		if e.kind == "Bundle" {
			out = append(out, newMessage(e.resource).resources("Claim")...)
		}
	}
	return out
}
