package rules

import "regexp"

// Type-specific rules on the claims and prior authorizations we send: the
// hospital stay of institutional claims (encounter class, admission and
// discharge), the minimum data set of institutional and dental claims, and
// where a VisionPrescription may travel.

// admitted reports whether the Encounter is an inpatient (IMP) or day-case
// (SS) admission.
func admitted(enc node) bool {
	c := encounterClass(enc)
	return c == "IMP" || c == "SS"
}

// claimEncounters runs f over every Encounter of a message that carries a
// Claim with use "claim".
func claimEncounters(f func(enc node, out *[]string)) func(*message) []string {
	return func(m *message) []string {
		isClaim := false
		for _, c := range m.resources("Claim") {
			isClaim = isClaim || c.str("use") == "claim"
		}
		if !isClaim {
			return nil
		}
		var out []string
		for _, enc := range m.resources("Encounter") {
			f(enc, &out)
		}
		return out
	}
}

// encounterOf is the Encounter the Claim names (extension-encounter) in the bundle.
func (m *message) encounterOf(claim node) (node, bool) {
	for _, x := range claim.extensions("encounter") {
		if ref, ok := x.first("valueReference"); ok {
			if enc, found := m.resolve(ref); found {
				return enc, true
			}
		}
	}
	return node{}, false
}

// claimAndEncounter runs f over every claim or authorization and the Encounter it names.
func claimAndEncounter(f func(claim, enc node, out *[]string)) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			if enc, ok := m.encounterOf(c); ok {
				f(c, enc, &out)
			}
		}
		return out
	}
}

// requireStayExtension: the admitted encounters of claims carry the
// hospitalization extension, when also cond holds.
func requireStayExtension(name string, cond func(enc node) bool) func(*message) []string {
	return claimEncounters(func(enc node, out *[]string) {
		if !admitted(enc) || !cond(enc) {
			return
		}
		for _, h := range enc.get("hospitalization") {
			if len(h.extensions(name)) > 0 {
				return
			}
		}
		*out = append(*out, enc.path+".hospitalization.extension")
	})
}

// toSeconds is a dateTime given to the second.
var toSeconds = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}`)

// sameReference reports whether two Reference nodes name the same thing.
func sameReference(a, b node) bool {
	return a.str("reference") == b.str("reference") && string(mustJSON(a.obj()["identifier"])) == string(mustJSON(b.obj()["identifier"]))
}

// dateTimeExtension returns the valueDateTime nodes of the Encounter's extensions of that name.
func dateTimeExtension(enc node, name string) []node {
	var out []node
	for _, x := range enc.extensions(name) {
		out = append(out, x.get("valueDateTime")...)
	}
	return out
}

func init() {
	// The encounter class of institutional claims and only of them.
	rule("BV-00741", claimAndEncounter(func(c, enc node, out *[]string) {
		if typeIs(c, "institutional") && !admitted(enc) {
			*out = append(*out, enc.path+".class")
		}
	}))
	rule("BV-00807", claimAndEncounter(func(c, enc node, out *[]string) {
		if admitted(enc) && !typeIs(c, "institutional") {
			*out = append(*out, enc.path+".class")
		}
	}))

	// Admission and discharge of an inpatient or day-case stay.
	rule("BV-00727", func(m *message) []string {
		var out []string
		for _, enc := range m.resources("Encounter") {
			if admitted(enc) && len(enc.at("hospitalization.admitSource")) == 0 {
				out = append(out, enc.path+".hospitalization.admitSource")
			}
		}
		return out
	})
	always := func(node) bool { return true }
	rule("BV-00737", requireStayExtension("admissionSpecialty", always))
	rule("BV-00744", requireStayExtension("intendedLengthOfStay", always))
	rule("BV-00758", requireStayExtension("dischargeSpecialty", func(enc node) bool {
		return len(enc.at("period.end")) > 0
	}))

	// Minimum data set of institutional claims and authorizations (the
	// vital signs and chief complaint professional ones carry, BV-00772–780)
	// and of dental ones.
	for id, cat := range map[string]string{
		"BV-00763": "vital-sign-diastolic", "BV-00764": "vital-sign-systolic", "BV-00765": "pulse",
		"BV-00766": "temperature", "BV-00767": "vital-sign-height", "BV-00768": "respiratory-rate",
		"BV-00769": "vital-sign-weight", "BV-00770": "chief-complaint", "BV-00771": "oxygen-saturation",
	} {
		rule(id, requireInfo(cat, "institutional"))
	}
	rule("BV-00751", requireInfo("chief-complaint", "oral"))
	rule("BV-00802", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			// The code system spells the category "estimated-Length-of-Stay".
			if c.str("use") == "preauthorization" && typeIs(c, "institutional") && !hasInfo(c, "estimated-Length-of-Stay") {
				out = append(out, c.path+".supportingInfo")
			}
		}
		return out
	})

	// A VisionPrescription travels only in a vision or institutional claim
	// or authorization request.
	rule("BV-00468", func(m *message) []string {
		allowed := false
		if _, ok := claimUse[m.event]; ok {
			for _, c := range claims(m) {
				allowed = allowed || typeIs(c, "vision") || typeIs(c, "institutional")
			}
		}
		var out []string
		for _, vp := range m.resources("VisionPrescription") {
			if !allowed {
				out = append(out, vp.path)
			}
		}
		return out
	})

	// The encounter against its claim: same patient and provider,
	// emergency class for emergency claims, service event type of
	// professional and dental ones.
	rule("BV-00761", claimAndEncounter(func(c, enc node, out *[]string) {
		subject, _ := enc.first("subject")
		patient, _ := c.first("patient")
		if !sameReference(subject, patient) {
			*out = append(*out, enc.path+".subject")
		}
	}))
	rule("BV-00762", claimAndEncounter(func(c, enc node, out *[]string) {
		sp, _ := enc.first("serviceProvider")
		provider, _ := c.first("provider")
		if !sameReference(sp, provider) {
			*out = append(*out, enc.path+".serviceProvider")
		}
	}))
	rule("BV-00755", claimAndEncounter(func(c, enc node, out *[]string) {
		if sub, _ := c.first("subType"); sub.hasCode("", "emr") && encounterClass(enc) != "EMER" {
			*out = append(*out, enc.path+".class")
		}
	}))
	rule("BV-00808", claimAndEncounter(func(c, enc node, out *[]string) {
		if cl := encounterClass(enc); (cl == "EMER" || cl == "HH" || cl == "VR") && !typeIs(c, "professional") {
			*out = append(*out, enc.path+".class")
		}
	}))
	rule("BV-00736", claimAndEncounter(func(c, enc node, out *[]string) {
		if (typeIs(c, "professional") || typeIs(c, "oral")) && len(enc.extensions("serviceEventType")) == 0 {
			*out = append(*out, enc.path+".extension")
		}
	}))

	// Discharge: the cause of a death, and the disposition and end of a
	// stay whose discharge specialty is given.
	rule("BV-00740", claimEncounters(func(enc node, out *[]string) {
		for _, d := range enc.at("hospitalization.dischargeDisposition") {
			if d.hasCode("", "died") && len(enc.extensions("causeOfDeath")) == 0 {
				*out = append(*out, enc.path+".extension")
			}
		}
	}))
	rule("BV-00852", claimEncounters(func(enc node, out *[]string) {
		specialty := false
		for _, h := range enc.get("hospitalization") {
			specialty = specialty || len(h.extensions("dischargeSpecialty")) > 0
		}
		if !admitted(enc) || !specialty {
			return
		}
		if len(enc.at("hospitalization.dischargeDisposition")) == 0 {
			*out = append(*out, enc.path+".hospitalization.dischargeDisposition")
		}
		if len(enc.at("period.end")) == 0 {
			*out = append(*out, enc.path+".period.end")
		}
	}))

	// Dates: emergency service after the encounter starts, the encounter
	// after the patient's birth, and times given to the second.
	rule("BV-00760", eachOf("Encounter", func(enc node, out *[]string) {
		start := ""
		if p, ok := enc.first("period"); ok {
			start = p.str("start")
		}
		for _, v := range dateTimeExtension(enc, "emergencyServiceStart") {
			if s, _ := v.val.(string); start != "" && before(s, start) {
				*out = append(*out, v.path)
			}
		}
	}))
	rule("BV-00851", func(m *message) []string {
		var out []string
		for _, enc := range m.resources("Encounter") {
			subject, _ := enc.first("subject")
			patient, found := m.resolve(subject)
			for _, s := range enc.at("period.start") {
				if start, _ := s.val.(string); found && before(start, patient.str("birthDate")) {
					out = append(out, s.path)
				}
			}
		}
		return out
	})
	toTheSecond := func(values func(enc node) []node) func(*message) []string {
		return eachOf("Encounter", func(enc node, out *[]string) {
			for _, v := range values(enc) {
				if s, _ := v.val.(string); !toSeconds.MatchString(s) {
					*out = append(*out, v.path)
				}
			}
		})
	}
	rule("BV-00810", toTheSecond(func(enc node) []node { return dateTimeExtension(enc, "emergencyServiceStart") }))
	rule("BV-00828", toTheSecond(func(enc node) []node { return dateTimeExtension(enc, "triageDate") }))
	rule("BV-00811", toTheSecond(func(enc node) []node { return append(enc.at("period.start"), enc.at("period.end")...) }))
}
