package rules

// Rules on the answers payers (and our mock) send: ClaimResponse and
// CoverageEligibilityResponse.

const adjudicationOutcome = "adjudication-outcome"

// outcomeOf is the adjudication-outcome extension's code of a node.
func outcomeOf(n node) (string, bool) {
	for _, e := range n.extensions(adjudicationOutcome) {
		if v, ok := e.first("valueCodeableConcept"); ok {
			return v.code(), true
		}
	}
	return "", false
}

// hasAdjudication reports whether an item has an adjudication of the category.
func hasAdjudication(item node, category string) bool {
	for _, a := range item.get("adjudication") {
		if c, ok := a.first("category"); ok && c.hasCode("", category) {
			return true
		}
	}
	return false
}

// eachResponse runs f over every ClaimResponse and collects its findings.
func eachResponse(f func(cr node, out *[]string)) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, cr := range m.resources("ClaimResponse") {
			f(cr, &out)
		}
		return out
	}
}

func init() {
	rule("BV-00228", eachResponse(func(cr node, out *[]string) {
		if o := cr.str("outcome"); (o == "error" || o == "queued") && len(cr.get("item")) > 0 {
			*out = append(*out, cr.path+".item")
		}
	}))
	rule("BV-00023", eachResponse(func(cr node, out *[]string) {
		if u := cr.str("use"); (u == "claim" || u == "preauthorization") &&
			cr.str("outcome") != "error" && cr.str("outcome") != "queued" && len(cr.get("total")) == 0 {
			*out = append(*out, cr.path+".total")
		}
	}))
	rule("BV-00250", eachResponse(func(cr node, out *[]string) {
		if _, ok := outcomeOf(cr); cr.str("outcome") == "complete" && !ok {
			*out = append(*out, cr.path+".extension")
		}
	}))
	rule("BV-00480", eachResponse(func(cr node, out *[]string) {
		if cr.str("outcome") != "complete" {
			return
		}
		for _, it := range cr.get("item") {
			if _, ok := outcomeOf(it); !ok {
				*out = append(*out, it.path+".extension")
			}
		}
	}))
	rule("BV-00396", eachResponse(func(cr node, out *[]string) {
		if _, ok := outcomeOf(cr); ok && cr.str("outcome") == "error" {
			*out = append(*out, cr.path+".extension")
		}
	}))
	rule("BV-00463", eachResponse(func(cr node, out *[]string) {
		if o, ok := outcomeOf(cr); ok && o == "pended" && cr.str("outcome") == "complete" {
			*out = append(*out, cr.path+".extension")
		}
	}))
	// The resource outcome follows the items': all approved → approved,
	// all rejected → rejected, any partial or mix → partial.
	consistency := func(id string, want func(items map[string]int, n int) string) {
		rule(id, eachResponse(func(cr node, out *[]string) {
			got, ok := outcomeOf(cr)
			items := cr.get("item")
			if !ok || len(items) == 0 {
				return
			}
			count := map[string]int{}
			for _, it := range items {
				o, _ := outcomeOf(it)
				count[o]++
			}
			if w := want(count, len(items)); w != "" && got != w {
				*out = append(*out, cr.path+".extension")
			}
		}))
	}
	consistency("BV-00393", func(c map[string]int, n int) string {
		if c["approved"] == n {
			return "approved"
		}
		return ""
	})
	consistency("BV-00394", func(c map[string]int, n int) string {
		if c["rejected"] == n {
			return "rejected"
		}
		return ""
	})
	consistency("BV-00397", func(c map[string]int, n int) string {
		if c["partial"] > 0 || (c["approved"] > 0 && c["rejected"] > 0) {
			return "partial"
		}
		return ""
	})
	rule("BV-00392", eachResponse(func(cr node, out *[]string) {
		for _, it := range cr.get("item") {
			o, _ := outcomeOf(it)
			if o != "rejected" && o != "partial" {
				continue
			}
			reason := false
			for _, a := range it.get("adjudication") {
				reason = reason || a.has("reason")
			}
			if !reason {
				*out = append(*out, it.path+".adjudication")
			}
		}
	}))
	perItem := func(id, use, category string) {
		rule(id, eachResponse(func(cr node, out *[]string) {
			if cr.str("outcome") != "complete" || cr.str("use") != use {
				return
			}
			for _, it := range cr.get("item") {
				if !hasAdjudication(it, category) {
					*out = append(*out, it.path+".adjudication")
				}
			}
		}))
	}
	perItem("BV-00497", "claim", "tax")
	perItem("BV-00498", "claim", "approved-quantity")
	perItem("BV-00499", "preauthorization", "approved-quantity")
	rule("BV-00386", eachResponse(func(cr node, out *[]string) {
		if cr.str("outcome") == "complete" && cr.str("use") == "preauthorization" && cr.str("preAuthRef") == "" {
			*out = append(*out, cr.path+".preAuthRef")
		}
	}))
	rule("BV-00387", eachResponse(func(cr node, out *[]string) {
		o, _ := outcomeOf(cr)
		if (o == "approved" || o == "partial") && cr.str("use") == "preauthorization" && !cr.has("preAuthPeriod") {
			*out = append(*out, cr.path+".preAuthPeriod")
		}
	}))
	// Totals equal the sum of the items' adjudications of each category.
	rule("BV-00374", eachResponse(func(cr node, out *[]string) {
		if cr.str("outcome") != "complete" {
			return
		}
		sum := map[string]int64{}
		for _, it := range cr.get("item") {
			for _, a := range it.get("adjudication") {
				c, _ := a.first("category")
				if amt, ok := a.first("amount"); ok {
					v, _ := money(amt)
					sum[c.code()] += v
				}
			}
		}
		for _, t := range cr.get("total") {
			c, _ := t.first("category")
			amt, ok := t.first("amount")
			if v, okv := money(amt); ok && okv && v != sum[c.code()] {
				*out = append(*out, t.path+".amount")
			}
		}
	}))

	// Eligibility answers.
	rule("BV-00503", func(m *message) []string {
		var out []string
		for _, r := range m.resources("CoverageEligibilityResponse") {
			if r.str("outcome") == "complete" && len(r.extensions("siteEligibility")) == 0 {
				out = append(out, r.path+".extension")
			}
		}
		return out
	})
	rule("BV-00536", func(m *message) []string {
		var out []string
		for _, r := range m.resources("CoverageEligibilityResponse") {
			if r.str("outcome") == "error" && len(r.get("error")) == 0 {
				out = append(out, r.path+".error")
			}
		}
		return out
	})
}
