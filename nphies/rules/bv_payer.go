package rules

import (
	"regexp"
	"slices"
	"strings"
)

// More rules on the payers' messages (ClaimResponse, CoverageEligibility-
// Response, PaymentReconciliation): fixed values, what a complete answer
// carries, and the arithmetic of a payment's details (their lengths are in
// bv_send_lengths.go).

// answered reports whether a ClaimResponse answers a claim or authorization
// with the outcome.
func answered(cr node, outcome string) bool {
	u := cr.str("use")
	return (u == "claim" || u == "preauthorization") && cr.str("outcome") == outcome
}

// notBoth: a resource of the kind does not carry both elements; the second
// is reported.
func notBoth(kind, used, reported string) func(*message) []string {
	return eachOf(kind, func(r node, out *[]string) {
		if r.has(used) && r.has(reported) {
			*out = append(*out, r.path+"."+reported)
		}
	})
}

// siteEligible reports whether a node's siteEligibility extension says eligible.
func siteEligible(n node) bool { return valueCode(n, "siteEligibility") == "eligible" }

// addItemSiteRule reads `When ClaimResponse.type is = "oral" then
// ClaimResponse.addItem.subSite SHALL have a value from the ValueSet "…"`.
var addItemSiteRule = regexp.MustCompile(`ClaimResponse\.type is = "(\w+)" then ClaimResponse\.addItem\.(\w+) SHALL have a value from the ValueSet "([^"]+)"`)

// addItemSiteCheck: the added items of a ClaimResponse of the type code
// their body site (or subsite) from the value set.
func addItemSiteCheck(claimType, element, valueSet string) func(*message) []string {
	return eachResponse(func(cr node, out *[]string) {
		if !typeIs(cr, claimType) {
			return
		}
		for _, it := range cr.get("addItem") {
			rm := &message{entries: []entry{{resource: it, kind: "AddItem"}}}
			*out = append(*out, bindingCheck("AddItem."+element, valueSet)(rm)...)
		}
	})
}

func init() {
	rule("BV-00331", fixedValue("ClaimResponse", "status", "active"))
	rule("BV-00255", eachResponse(func(cr node, out *[]string) {
		if o := cr.str("outcome"); (o == "complete" || o == "partial") && len(cr.get("item")) == 0 {
			*out = append(*out, cr.path+".item")
		}
	}))
	rule("BV-00390", eachResponse(func(cr node, out *[]string) {
		if !answered(cr, "complete") {
			return
		}
		for _, it := range cr.get("item") {
			if _, ok := adjudicationAmounts(it)["benefit"]; !ok {
				*out = append(*out, it.path+".adjudication")
			}
		}
	}))
	rule("BV-00519", eachResponse(func(cr node, out *[]string) {
		for _, a := range cr.at("item.adjudication") {
			if c, ok := a.first("category"); ok && (c.hasCode("", "approved-quantity") || c.hasCode("", "approved-duration")) && a.has("amount") {
				*out = append(*out, a.path+".amount")
			}
		}
	}))
	rule("BV-00853", eachResponse(func(cr node, out *[]string) {
		if answered(cr, "complete") && len(cr.get("insurance")) == 0 {
			*out = append(*out, cr.path+".insurance")
		}
	}))
	rule("BV-00854", eachResponse(func(cr node, out *[]string) {
		if u := cr.str("use"); u != "claim" && u != "preauthorization" || len(cr.get("insurance")) == 0 {
			return
		}
		focal := 0
		for _, ins := range cr.get("insurance") {
			if ins.obj()["focal"] == true {
				focal++
			}
		}
		if focal != 1 {
			*out = append(*out, cr.path+".insurance")
		}
	}))
	// The subtype follows the type: outpatient for oral, vision and
	// pharmacy, outpatient or emergency for professional, inpatient for
	// institutional (codes compare ignoring case: the sheet writes "OP").
	for id, want := range map[string]struct {
		claimType string
		subTypes  []string
	}{
		"BV-00609": {"oral", []string{"op"}}, "BV-00610": {"vision", []string{"op"}},
		"BV-00611": {"pharmacy", []string{"op"}}, "BV-00799": {"professional", []string{"op", "emr"}},
		"BV-00800": {"institutional", []string{"ip"}},
	} {
		rule(id, eachResponse(func(cr node, out *[]string) {
			st, ok := cr.first("subType")
			if !ok || !typeIs(cr, want.claimType) {
				return
			}
			if !slices.Contains(want.subTypes, strings.ToLower(st.code())) {
				*out = append(*out, st.path)
			}
		}))
	}
	// A payment or adjustment detail names the claim and the response it pays.
	for id, element := range map[string]string{"BV-00355": "request", "BV-00370": "response"} {
		rule(id, func(m *message) []string {
			var out []string
			for _, d := range m.selectPath("PaymentReconciliation.detail") {
				t, _ := d.first("type")
				if c := strings.ToLower(t.code()); (c == "payment" || c == "adjustment") && !d.has(element) {
					out = append(out, d.path+"."+element)
				}
			}
			return out
		})
	}
	rule("BV-00479", func(m *message) []string {
		var out []string
		for _, d := range m.selectPath("PaymentReconciliation.detail") {
			amount, ok := d.first("amount")
			total, has := money(amount)
			var sum int64
			for _, name := range []string{"component-payment", "component-early-fee", "component-nphies-fee"} {
				for _, e := range d.extensions(name) {
					if v, ok := e.first("valueMoney"); ok {
						c, _ := money(v)
						sum += c
					}
				}
			}
			if ok && has && len(d.get("extension")) > 0 && sum != total {
				out = append(out, amount.path)
			}
		}
		return out
	})
	// A transfer provider the response names within the message has a name.
	for id, kind := range map[string]string{"BV-00551": "Practitioner", "BV-00552": "Organization"} {
		rule(id, func(m *message) []string {
			var out []string
			for _, e := range m.selectPath("ClaimResponse.extension.transferAuthorizationProvider") {
				ref, ok := e.first("valueReference")
				if r, found := m.resolve(ref); ok && found && r.str("resourceType") == kind && len(r.get("name")) == 0 {
					out = append(out, ref.path)
				}
			}
			return out
		})
	}
	// The response's site eligibility says eligible when one of its
	// insurances does, and not when all of them say they are not (an
	// insurance that does not say leaves the answer to the response, as in
	// example 14b).
	siteAgreement := func(id string, broken func(top, anyEligible, allSay bool) bool) {
		rule(id, eachOf("CoverageEligibilityResponse", func(r node, out *[]string) {
			if len(r.extensions("siteEligibility")) == 0 {
				return
			}
			anyEligible, allSay := false, len(r.get("insurance")) > 0
			for _, ins := range r.get("insurance") {
				anyEligible = anyEligible || siteEligible(ins)
				allSay = allSay && len(ins.extensions("siteEligibility")) > 0
			}
			if broken(siteEligible(r), anyEligible, allSay) {
				*out = append(*out, r.extensions("siteEligibility")[0].path)
			}
		}))
	}
	siteAgreement("BV-00559", func(top, anyEligible, _ bool) bool { return anyEligible && !top })
	siteAgreement("BV-00561", func(top, anyEligible, allSay bool) bool { return top && allSay && !anyEligible })
	rule("IC-01413", notBoth("CoverageEligibilityRequest", "servicedPeriod", "servicedDate"))
	rule("IC-01414", notBoth("CoverageEligibilityRequest", "servicedDate", "servicedPeriod"))
	rule("IC-01415", notBoth("CoverageEligibilityResponse", "servicedPeriod", "servicedDate"))
	rule("IC-01416", notBoth("CoverageEligibilityResponse", "servicedDate", "servicedPeriod"))
}
