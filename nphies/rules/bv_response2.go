package rules

// More rules on payers' messages: completeness, amounts and currencies,
// fixed values, site eligibility, payment reconciliation sums.

// fixedValue: every resource of the kind has element = want.
func fixedValue(kind, element, want string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, r := range m.resources(kind) {
			if r.str(element) != want {
				out = append(out, r.path+"."+element)
			}
		}
		return out
	}
}

// adjudicationAmounts maps an item's adjudication categories to amounts.
func adjudicationAmounts(item node) map[string]int64 {
	out := map[string]int64{}
	for _, a := range item.get("adjudication") {
		c, _ := a.first("category")
		if amt, ok := a.first("amount"); ok {
			out[c.code()], _ = money(amt)
		}
	}
	return out
}

func init() {
	rule("BV-00020", eachResponse(func(cr node, out *[]string) {
		if cr.str("outcome") == "complete" && len(cr.get("item")) == 0 {
			*out = append(*out, cr.path+".item")
		}
	}))
	rule("BV-00022", eachResponse(func(cr node, out *[]string) {
		if cr.str("outcome") == "complete" && cr.str("use") == "claim" && len(cr.get("total")) == 0 {
			*out = append(*out, cr.path+".total")
		}
	}))
	rule("BV-00505", eachResponse(func(cr node, out *[]string) {
		if cr.str("outcome") == "error" && len(cr.get("error")) == 0 {
			*out = append(*out, cr.path+".error")
		}
	}))
	rule("BV-00371", eachResponse(func(cr node, out *[]string) {
		if cr.str("outcome") != "complete" {
			return
		}
		for _, it := range cr.get("item") {
			if o, _ := outcomeOf(it); o == "pended" {
				*out = append(*out, it.path+".extension")
			}
		}
	}))
	rule("BV-00391", eachResponse(func(cr node, out *[]string) {
		for _, it := range cr.get("item") {
			seen := map[string]bool{}
			for _, a := range it.get("adjudication") {
				c, _ := a.first("category")
				if seen[c.code()] {
					*out = append(*out, c.path)
				}
				seen[c.code()] = true
			}
		}
	}))
	rule("BV-00450", eachResponse(func(cr node, out *[]string) {
		for _, it := range cr.get("item") {
			amt := adjudicationAmounts(it)
			e, ok := amt["eligible"]
			if sub, has := amt["submitted"]; ok && has && e > sub {
				*out = append(*out, it.path+".adjudication")
			}
		}
	}))
	rule("BV-00232", fixedValue("ClaimResponse", "status", "active"))
	rule("BV-00335", fixedValue("CommunicationRequest", "status", "active"))
	rule("BV-00337", fixedValue("PaymentReconciliation", "status", "active"))
	rule("BV-00338", fixedValue("PaymentReconciliation", "outcome", "complete"))
	rule("BV-00147", nonEmptyIdentifier("ClaimResponse"))
	rule("BV-00194", nonEmptyIdentifier("PaymentReconciliation"))
	rule("BV-00082", inSAR("PaymentReconciliation.detail.amount"))
	rule("BV-00083", inSAR("PaymentReconciliation.paymentAmount"))
	rule("BV-00084", inSAR("CoverageEligibilityResponse.insurance.item.benefit.allowedMoney"))
	rule("BV-00085", inSAR("CoverageEligibilityResponse.insurance.item.benefit.usedMoney"))
	rule("BV-00229", inSAR("ClaimResponse.total.amount"))
	rule("BV-00458", inSAR("ClaimResponse.item.adjudication.amount"))

	// Site eligibility is never "eligible" for a coverage not in force.
	rule("BV-00560", func(m *message) []string {
		var out []string
		for _, r := range m.resources("CoverageEligibilityResponse") {
			for _, ins := range r.get("insurance") {
				inforce, ok := ins.obj()["inforce"].(bool)
				for _, x := range ins.extensions("siteEligibility") {
					if v, has := x.first("valueCodeableConcept"); has && ok && !inforce && v.code() == "eligible" {
						out = append(out, x.path)
					}
				}
			}
		}
		return out
	})
	rule("BV-00535", func(m *message) []string {
		var out []string
		for _, r := range m.resources("CoverageEligibilityResponse") {
			ins := r.get("insurance")
			anyInForce := len(ins) == 0
			for _, i := range ins {
				if b, ok := i.obj()["inforce"].(bool); !ok || b {
					anyInForce = true
				}
			}
			for _, x := range r.extensions("siteEligibility") {
				if v, ok := x.first("valueCodeableConcept"); ok && v.code() == "eligible" && !anyInForce {
					out = append(out, x.path)
				}
			}
		}
		return out
	})

	// Payment reconciliation: the payment is the sum of the details, never negative.
	rule("BV-00354", func(m *message) []string {
		var out []string
		for _, pr := range m.resources("PaymentReconciliation") {
			pa, ok := pr.first("paymentAmount")
			if !ok {
				continue
			}
			var sum int64
			for _, d := range pr.get("detail") {
				if a, has := d.first("amount"); has {
					v, _ := money(a)
					sum += v
				}
			}
			if v, _ := money(pa); v != sum {
				out = append(out, pa.path)
			}
		}
		return out
	})
	rule("BV-00470", func(m *message) []string {
		var out []string
		for _, pa := range m.selectPath("PaymentReconciliation.paymentAmount") {
			if v, ok := money(pa); ok && v < 0 {
				out = append(out, pa.path)
			}
		}
		return out
	})
	rule("BV-00053", func(m *message) []string {
		var out []string
		for _, pr := range m.resources("PaymentReconciliation") {
			if e := pr.at("period.end"); len(e) > 0 {
				end, _ := e[0].val.(string)
				if c := pr.str("created"); c != "" && before(c, end) {
					out = append(out, e[0].path)
				}
			}
		}
		return out
	})
}
