package rules

import "strings"

// More claim rules: packages and their sums, the encounter period,
// insurances, body sites, supporting-information links, newborns.

// boolExt is the valueBoolean of a node's extension of that name.
func boolExt(n node, name string) bool {
	for _, e := range n.extensions(name) {
		if b, ok := e.obj()["valueBoolean"].(bool); ok {
			return b
		}
	}
	return false
}

// sumRule: a non-package element at path with children has, in field, the
// sum of theirs (BV-00224 items' and BV-00433 details' nets, BV-00372
// items' unit prices).
func sumRule(path, children, field string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			for _, n := range c.at(path) {
				kids := n.get(children)
				net, ok := n.first(field)
				if len(kids) == 0 || boolExt(n, "package") || !ok {
					continue
				}
				var sum int64
				for _, k := range kids {
					if kn, has := k.first(field); has {
						v, _ := money(kn)
						sum += v
					}
				}
				if v, _ := money(net); v != sum {
					out = append(out, net.path)
				}
			}
		}
		return out
	}
}

// withinEncounter: the items of claims of the use are served within the
// period of the Encounter the claim names (extension-encounter).
func withinEncounter(use string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, c := range m.resources("Claim") {
			if c.str("use") != use {
				continue
			}
			for _, x := range c.extensions("encounter") {
				ref, ok := x.first("valueReference")
				enc, found := m.resolve(ref)
				p, hasPeriod := enc.first("period")
				if !ok || !found || !hasPeriod {
					continue
				}
				start, end := p.str("start"), p.str("end")
				for _, it := range c.get("item") {
					d := it.str("servicedDate")
					if sp, has := it.first("servicedPeriod"); has {
						d = sp.str("start")
					}
					if d != "" && ((start != "" && before(d, start)) || (end != "" && before(end, d))) {
						out = append(out, it.path+".serviced[x]")
					}
				}
			}
		}
		return out
	}
}

func init() {
	rule("BV-00224", sumRule("item", "detail", "net"))
	rule("BV-00433", sumRule("item.detail", "subDetail", "net"))
	rule("BV-00036", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			for _, it := range c.get("item") {
				if boolExt(it, "package") && len(it.get("detail")) == 0 {
					out = append(out, it.path+".detail")
				}
			}
		}
		return out
	})
	rule("BV-00041", withinEncounter("claim"))
	rule("BV-00118", withinEncounter("preauthorization"))
	rule("BV-00027", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			if typeIs(c, "institutional") {
				continue
			}
			for _, d := range c.get("diagnosis") {
				if d.has("onAdmission") {
					out = append(out, d.path+".onAdmission")
				}
			}
		}
		return out
	})
	rule("BV-00400", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			ins := c.get("insurance")
			if len(ins) < 2 {
				continue
			}
			focal := 0
			for _, i := range ins {
				if f, _ := i.obj()["focal"].(bool); f {
					focal++
				}
			}
			if focal != 1 {
				out = append(out, c.path+".insurance")
			}
		}
		return out
	})
	rule("BV-00484", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			for _, it := range c.get("item") {
				if it.has("subSite") && !it.has("bodySite") {
					out = append(out, it.path+".subSite")
				}
			}
		}
		return out
	})
	rule("BV-00508", func(m *message) []string {
		var out []string
		for _, c := range m.resources("Claim") {
			if u := c.str("use"); (u == "claim" || u == "predetermination") && len(c.extensions("transfer")) > 0 {
				out = append(out, c.path+".extension")
			}
		}
		return out
	})
	rule("BV-00165", func(m *message) []string {
		want, ok := claimUse[m.event]
		if !ok {
			return nil
		}
		var out []string
		for _, f := range m.header.get("focus") {
			if r, found := m.resolve(f); found && r.str("resourceType") == "Claim" && r.str("use") != want {
				out = append(out, r.path+".use")
			}
		}
		return out
	})
	// Newborns: a Z38 diagnosis, and the birth weight on institutional and
	// professional claims.
	rule("BV-00557", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			if !boolExt(c, "newborn") {
				continue
			}
			z38 := false
			for _, d := range c.get("diagnosis") {
				cc, _ := d.first("diagnosisCodeableConcept")
				z38 = z38 || strings.HasPrefix(cc.code(), "Z38")
			}
			if !z38 {
				out = append(out, c.path+".diagnosis")
			}
		}
		return out
	})
	for _, nb := range []struct{ id, claimType string }{{"BV-00506", "institutional"}, {"BV-00507", "professional"}} {
		rule(nb.id, func(m *message) []string {
			var out []string
			for _, c := range claims(m) {
				if boolExt(c, "newborn") && typeIs(c, nb.claimType) && !hasInfo(c, "birth-weight") {
					out = append(out, c.path+".supportingInfo")
				}
			}
			return out
		})
	}
}
