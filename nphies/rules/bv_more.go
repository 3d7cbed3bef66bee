package rules

// Further business rules on the messages we send: event and focus, claim
// subtype, pharmacy items, prior-authorization references, encounters and
// eligibility requests.

// focalTypes are the focal resource types of each request event.
var focalTypes = map[string]string{
	"eligibility-request": "CoverageEligibilityRequest", "priorauth-request": "Claim", "claim-request": "Claim",
	"cancel-request": "Task", "status-check": "Task", "poll-request": "Task", "communication": "Communication",
	"payment-notice": "PaymentNotice", "eligibility-response": "CoverageEligibilityResponse",
	"priorauth-response": "ClaimResponse", "claim-response": "ClaimResponse", "communication-request": "CommunicationRequest",
	"payment-reconciliation": "PaymentReconciliation", "cancel-response": "Task", "status-response": "Task",
	"poll-response": "Task",
}

// claimUse is the Claim.use each claim event carries.
var claimUse = map[string]string{"claim-request": "claim", "priorauth-request": "preauthorization"}

// subTypes are the Claim.subType codes allowed per Claim.type (BV-00364–368).
var subTypes = map[string]struct {
	id    string
	codes []string
}{
	"institutional": {"BV-00364", []string{"ip"}},
	"professional":  {"BV-00365", []string{"op", "emr"}},
	"oral":          {"BV-00366", []string{"op"}},
	"vision":        {"BV-00367", []string{"op"}},
	"pharmacy":      {"BV-00368", []string{"op"}},
}

const (
	systemMedication = "http://nphies.sa/terminology/CodeSystem/medication-codes"
	systemUCUM       = "http://unitsofmeasure.org"
)

// isMedication reports whether an item bills a medicine.
func isMedication(item node) bool {
	pos, ok := item.first("productOrService")
	return ok && pos.hasCode(systemMedication, firstCode(pos, systemMedication))
}

// firstCode is the code of the first coding of system in a CodeableConcept.
func firstCode(cc node, system string) string {
	for _, c := range cc.codings() {
		if c.str("system") == system {
			return c.str("code")
		}
	}
	return ""
}

// infoByCategory maps a Claim's supportingInfo sequences to their category.
func infoByCategory(claim node) map[string]string {
	out := map[string]string{}
	for _, s := range claim.get("supportingInfo") {
		seq, ok := s.first("sequence")
		cat, okc := s.first("category")
		if ok && okc {
			out[string(mustJSON(seq.val))] = cat.code()
		}
	}
	return out
}

// encounterClass is the Encounter's class code.
func encounterClass(enc node) string {
	c, _ := enc.first("class")
	return c.str("code")
}

func init() {
	rule("BV-00167", func(m *message) []string {
		want, ok := focalTypes[m.event]
		if !ok {
			return nil
		}
		var out []string
		for _, f := range m.header.get("focus") {
			r, found := m.resolve(f)
			if !found {
				continue // RE-00169 is NPHIES's verdict on an unresolvable focus
			}
			if r.str("resourceType") != want || (claimUse[m.event] != "" && r.str("use") != claimUse[m.event]) {
				out = append(out, f.path)
			}
		}
		return out
	})
	for claimType, st := range subTypes {
		rule(st.id, func(m *message) []string {
			var out []string
			for _, c := range claims(m) {
				sub, ok := c.first("subType")
				if !typeIs(c, claimType) || !ok {
					continue
				}
				allowed := false
				for _, code := range st.codes {
					allowed = allowed || sub.hasCode("", code)
				}
				if !allowed {
					out = append(out, sub.path)
				}
			}
			return out
		})
	}

	// Pharmacy: medicines name the diagnosis and exactly one days-supply.
	rule("BV-00723", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			if !typeIs(c, "pharmacy") {
				continue
			}
			for _, it := range c.get("item") {
				if isMedication(it) && len(it.get("diagnosisSequence")) == 0 {
					out = append(out, it.path+".diagnosisSequence")
				}
			}
		}
		return out
	})
	rule("BV-00376", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			if !typeIs(c, "pharmacy") {
				continue
			}
			cats := infoByCategory(c)
			for _, it := range c.get("item") {
				if !isMedication(it) {
					continue
				}
				n := 0
				for _, s := range it.get("informationSequence") {
					if cats[string(mustJSON(s.val))] == "days-supply" {
						n++
					}
				}
				if n != 1 {
					out = append(out, it.path+".informationSequence")
				}
			}
		}
		return out
	})
	// The pharmacist says why they dispensed what they did, on every
	// medicine line and line detail of a pharmacy claim, the profile the
	// extension belongs to (as BV-00376's days supply); a medicine given
	// in a clinic or a physician's request has no pharmacist.
	rule("BV-00708", pharmacistSelection(false))
	rule("BV-00710", pharmacistSelection(true))
	rule("BV-00413", func(m *message) []string {
		var out []string
		for _, c := range m.resources("Claim") {
			for _, s := range c.get("supportingInfo") {
				cat, _ := s.first("category")
				if !cat.hasCode(infoCategory, "days-supply") {
					continue
				}
				q, ok := s.first("valueQuantity")
				if !ok || q.str("system") != systemUCUM {
					out = append(out, s.path+".valueQuantity")
				}
			}
		}
		return out
	})

	// Prior-authorization references and the extensions that justify them.
	rule("BV-00420", func(m *message) []string {
		var out []string
		for _, c := range m.resources("Claim") {
			if len(c.extensions("authorizationOfflineDate")) > 0 && !hasPreAuthRef(c) {
				out = append(out, c.path+".insurance")
			}
		}
		return out
	})
	rule("BV-00462", func(m *message) []string {
		var out []string
		for _, c := range m.resources("Claim") {
			for _, ins := range c.get("insurance") {
				focal, _ := ins.obj()["focal"].(bool)
				if focal && len(ins.get("preAuthRef")) > 0 &&
					len(c.extensions("authorizationOfflineDate")) == 0 && len(c.extensions("priorauthResponse")) == 0 {
					out = append(out, ins.path+".preAuthRef")
				}
			}
		}
		return out
	})

	// Encounters of claims: emergency start, inpatient discharge.
	rule("BV-00735", claimEncounters(func(enc node, out *[]string) {
		if encounterClass(enc) == "EMER" && len(enc.extensions("emergencyServiceStart")) == 0 {
			*out = append(*out, enc.path+".extension")
		}
	}))
	rule("BV-00759", claimEncounters(func(enc node, out *[]string) {
		end := len(enc.at("period.end")) > 0
		if admitted(enc) && end && len(enc.at("hospitalization.dischargeDisposition")) == 0 {
			*out = append(*out, enc.path+".hospitalization.dischargeDisposition")
		}
	}))
	rule("BV-00801", claimEncounters(func(enc node, out *[]string) {
		if admitted(enc) && len(enc.at("hospitalization.dischargeDisposition")) > 0 && len(enc.at("period.end")) == 0 {
			*out = append(*out, enc.path+".period.end")
		}
	}))

	// Eligibility requests.
	rule("BV-00437", func(m *message) []string {
		var out []string
		for _, r := range m.resources("CoverageEligibilityRequest") {
			if !r.has("servicedDate") && !r.has("servicedPeriod") {
				out = append(out, r.path+".serviced[x]")
			}
		}
		return out
	})
	fixedActive := func(kind string) func(*message) []string {
		return func(m *message) []string {
			var out []string
			for _, r := range m.resources(kind) {
				if r.str("status") != "active" {
					out = append(out, r.path+".status")
				}
			}
			return out
		}
	}
	rule("BV-00538", fixedActive("CoverageEligibilityRequest"))
	rule("BV-00539", fixedActive("CoverageEligibilityResponse"))
}

// hasPreAuthRef reports whether any insurance of the Claim quotes a prior authorization.
func hasPreAuthRef(claim node) bool {
	for _, ins := range claim.get("insurance") {
		if len(ins.get("preAuthRef")) > 0 {
			return true
		}
	}
	return false
}

// payerChecks are adjudication-error codes (the CC appendix payers answer
// with, not rules of the sheet) that the message alone already decides.
var payerChecks = map[string]func(*message) []string{
	// 1664 "Policy is cancelled/expired": a service date outside the
	// period of the coverage the claim or eligibility request names.
	"1664": func(m *message) []string {
		var out []string
		outside := func(cov node, date string) {
			p, ok := cov.first("period")
			if !ok || date == "" {
				return
			}
			if s := p.str("start"); s != "" && before(date, s) {
				out = append(out, p.path)
			} else if e := p.str("end"); e != "" && before(e, date) {
				out = append(out, p.path)
			}
		}
		coverages := func(r node) []node {
			var covs []node
			for _, ins := range r.get("insurance") {
				if ref, ok := ins.first("coverage"); ok {
					if cov, found := m.resolve(ref); found {
						covs = append(covs, cov)
					}
				}
			}
			return covs
		}
		for _, c := range claims(m) {
			for _, cov := range coverages(c) {
				for _, it := range c.get("item") {
					date := it.str("servicedDate")
					if p, ok := it.first("servicedPeriod"); ok {
						date = p.str("start")
					}
					outside(cov, date)
				}
			}
		}
		for _, r := range m.resources("CoverageEligibilityRequest") {
			date := r.str("servicedDate")
			if p, ok := r.first("servicedPeriod"); ok {
				date = p.str("start")
			}
			for _, cov := range coverages(r) {
				outside(cov, date)
			}
		}
		return dedupe(out)
	},
}

// dedupe drops repeated expressions, keeping the first.
func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// pharmacistSelection: every medicine item (or, with details, item detail)
// of a pharmacy claim or authorization carries
// extension-pharmacistSelectionReason.
func pharmacistSelection(details bool) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			if !typeIs(c, "pharmacy") {
				continue
			}
			for _, it := range c.get("item") {
				lines := []node{it}
				if details {
					lines = it.get("detail")
				}
				for _, l := range lines {
					if isMedication(l) && len(l.extensions("pharmacistSelectionReason")) == 0 {
						out = append(out, l.path+".extension")
					}
				}
			}
		}
		return out
	}
}
