package rules

import (
	"encoding/json"
	"math"
	"strconv"
)

// Claim and prior-authorization rules (Claim.use claim or preauthorization).

const infoCategory = "http://nphies.sa/terminology/CodeSystem/claim-information-category"

// claims returns the Claims of a claim or prior-authorization message. The
// sheet says "authorization" where Claim.use is "preauthorization".
func claims(m *message) []node {
	var out []node
	for _, c := range m.resources("Claim") {
		if u := c.str("use"); u == "claim" || u == "preauthorization" {
			out = append(out, c)
		}
	}
	return out
}

// hasInfo reports whether the Claim carries supportingInfo of the category.
func hasInfo(claim node, category string) bool {
	for _, s := range claim.get("supportingInfo") {
		if cat, ok := s.first("category"); ok && cat.hasCode(infoCategory, category) {
			return true
		}
	}
	return false
}

// requireInfo is the minimum-data-set rule shape: claims (of the types
// given, or all) carry supportingInfo of the category.
func requireInfo(category string, types ...string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			applies := len(types) == 0
			for _, t := range types {
				applies = applies || typeIs(c, t)
			}
			if applies && !hasInfo(c, category) {
				out = append(out, c.path+".supportingInfo")
			}
		}
		return out
	}
}

// uniqueSequence: the sequence of every element under list is unique in its Claim.
func uniqueSequence(list, key string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, c := range m.resources("Claim") {
			seen := map[string]bool{}
			for _, n := range c.get(list) {
				s, ok := n.first(key)
				if !ok {
					continue
				}
				k := string(mustJSON(s.val))
				if seen[k] {
					out = append(out, s.path)
				}
				seen[k] = true
			}
		}
		return out
	}
}

// itemPointers: every item's pointer (careTeamSequence, …) names an
// existing sequence of the list in the same Claim.
func itemPointers(pointer, list string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, c := range m.resources("Claim") {
			have := map[string]bool{}
			for _, n := range c.get(list) {
				if s, ok := n.first("sequence"); ok {
					have[string(mustJSON(s.val))] = true
				}
			}
			for _, it := range c.get("item") {
				for _, p := range it.get(pointer) {
					if !have[string(mustJSON(p.val))] {
						out = append(out, p.path)
					}
				}
			}
		}
		return out
	}
}

// money is the amount of a Money node in halalas.
func money(n node) (int64, bool) {
	v, ok := n.first("value")
	if !ok {
		return 0, false
	}
	f, ok := v.num()
	return int64(math.Round(f * 100)), ok
}

func init() {
	// Minimum data set: vital signs for professional claims and
	// authorizations, the clinical narrative for every claim.
	for id, cat := range map[string]string{
		"BV-00772": "vital-sign-diastolic", "BV-00773": "vital-sign-systolic", "BV-00774": "pulse",
		"BV-00775": "temperature", "BV-00776": "vital-sign-height", "BV-00777": "respiratory-rate",
		"BV-00778": "vital-sign-weight", "BV-00779": "chief-complaint", "BV-00780": "oxygen-saturation",
	} {
		rule(id, requireInfo(cat, "professional"))
	}
	for id, cat := range map[string]string{
		"BV-00803": "treatment-plan", "BV-00804": "patient-history", "BV-00805": "physical-examination",
		"BV-00806": "history-of-present-illness", "BV-00752": "investigation-result",
	} {
		rule(id, requireInfo(cat))
	}

	// Sequences.
	rule("BV-00002", uniqueSequence("careTeam", "sequence"))
	rule("BV-00044", uniqueSequence("item", "sequence"))
	rule("BV-00453", uniqueSequence("supportingInfo", "sequence"))
	rule("BV-00454", uniqueSequence("diagnosis", "sequence"))
	rule("BV-00442", itemPointers("careTeamSequence", "careTeam"))
	rule("BV-00443", itemPointers("informationSequence", "supportingInfo"))
	rule("BV-00444", itemPointers("diagnosisSequence", "diagnosis"))
	rule("BV-00502", func(m *message) []string {
		var out []string
		for _, c := range m.resources("Claim") {
			for _, it := range c.get("item") {
				seen := map[string]bool{}
				for _, p := range it.get("informationSequence") {
					k := string(mustJSON(p.val))
					if seen[k] {
						out = append(out, p.path)
					}
					seen[k] = true
				}
			}
		}
		return out
	})

	// Amounts: net = quantity × unitPrice × factor + tax; total = Σ net.
	rule("BV-00251", netRule("item", "detail"))
	rule("BV-00059", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			total, ok := c.first("total")
			if !ok {
				continue
			}
			want, ok := money(total)
			var sum int64
			for _, it := range c.get("item") {
				if n, has := it.first("net"); has {
					v, _ := money(n)
					sum += v
				}
			}
			if ok && sum != want {
				out = append(out, total.path)
			}
		}
		return out
	})
	rule("BV-00093", inSAR("Claim.item.net"))
	rule("BV-00096", inSAR("Claim.total"))

	// Dates.
	rule("BV-00061", func(m *message) []string {
		var out []string
		for _, c := range m.resources("Claim") {
			created := c.str("created")
			if c.str("use") != "claim" || created == "" {
				continue
			}
			for _, it := range c.get("item") {
				if d := it.str("servicedDate"); d != "" && before(created, d) {
					out = append(out, it.path+".servicedDate")
				}
				for _, p := range it.get("servicedPeriod") {
					if s := p.str("start"); s != "" && before(created, s) {
						out = append(out, p.path+".start")
					}
				}
			}
		}
		return out
	})
	rule("BV-00066", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			for _, it := range c.get("item") {
				if it.has("servicedDate") == it.has("servicedPeriod") {
					out = append(out, it.path)
				}
			}
		}
		return out
	})

	// Coverage: one plan class; preAuthRef after an approved authorization.
	rule("BV-00729", func(m *message) []string {
		var out []string
		for _, cov := range m.resources("Coverage") {
			plans := 0
			for _, cl := range cov.get("class") {
				if t, ok := cl.first("type"); ok && t.hasCode("", "plan") {
					plans++
				}
			}
			if plans != 1 {
				out = append(out, cov.path+".class")
			}
		}
		return out
	})
	rule("BV-00340", func(m *message) []string {
		var out []string
		for _, cov := range m.resources("Coverage") {
			if cov.str("status") != "active" {
				out = append(out, cov.path+".status")
			}
		}
		return out
	})
	rule("BV-00449", func(m *message) []string {
		var out []string
		for _, c := range m.resources("Claim") {
			if len(c.extensions("priorauthResponse")) == 0 {
				continue
			}
			refs := 0
			for _, ins := range c.get("insurance") {
				refs += len(ins.get("preAuthRef"))
			}
			if refs == 0 {
				out = append(out, c.path+".insurance")
			}
		}
		return out
	})
}

// netRule: the net of every element at path of a claim (item, item.detail,
// …) is quantity × unitPrice × factor + tax, unless it has children, whose
// nets it then sums (BV-00224, BV-00433).
func netRule(path, children string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			for _, n := range c.at(path) {
				if children != "" && len(n.get(children)) > 0 {
					continue
				}
				if bad, at := netMismatch(n); bad {
					out = append(out, at)
				}
			}
		}
		return out
	}
}

// inSAR: the Money at path (or an extension's valueMoney) is in SAR.
func inSAR(path string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, n := range m.selectPath(path) {
			if v, ok := n.first("valueMoney"); ok {
				n = v
			}
			if cur := n.str("currency"); cur != "" && cur != "SAR" {
				out = append(out, n.path+".currency")
			}
		}
		return out
	}
}

// netMismatch checks one item's net against quantity × unitPrice × factor + tax.
func netMismatch(it node) (bool, string) {
	net, ok := it.first("net")
	if !ok {
		return false, ""
	}
	got, ok1 := money(net)
	price, hasPrice := it.first("unitPrice")
	up, ok2 := money(price)
	if !ok1 || !hasPrice || !ok2 {
		return false, ""
	}
	qty := 1.0
	if q, ok := it.first("quantity"); ok {
		if v, ok := q.first("value"); ok {
			qty, _ = v.num()
		}
	}
	factor := 1.0
	if f, ok := it.first("factor"); ok {
		factor, _ = f.num()
	}
	var tax int64
	for _, t := range it.extensions("tax") {
		if v, ok := t.first("valueMoney"); ok {
			tax, _ = money(v)
		}
	}
	want := int64(math.Round(qty*float64(up)*factor)) + tax
	return want != got, net.path
}

// itoa formats an index.
func itoa(i int) string { return strconv.Itoa(i) }

// mustJSON renders a decoded JSON value back to text, for comparing
// sequences that may be numbers or strings.
func mustJSON(v any) []byte {
	switch x := v.(type) {
	case string:
		return []byte(strconv.Quote(x))
	default:
		b, _ := json.Marshal(x)
		return b
	}
}
