package rules

import (
	"strconv"
	"strings"
)

// handWritten are the business rules checked by code written for them,
// keyed by rule id. Each function returns the expressions of the places
// that break the rule.
var handWritten = map[string]func(*message) []string{}

// rule registers a hand-written check.
func rule(id string, f func(*message) []string) {
	if _, dup := handWritten[id]; dup {
		panic("rules: " + id + " written twice")
	}
	handWritten[id] = f
}

func init() {
	// Envelope.
	rule("BV-00126", func(m *message) []string {
		if !m.hasHeader {
			return []string{m.bundle.path + ".entry[0].resource"}
		}
		return nil
	})
	rule("BV-00130", func(m *message) []string {
		if m.bundle.str("type") != "message" {
			return []string{m.bundle.path + ".type"}
		}
		return nil
	})
	rule("BV-00221", func(m *message) []string {
		if !m.hasHeader || strings.HasPrefix(m.event, "batch-") {
			return nil
		}
		if f := m.header.get("focus"); len(f) > 1 {
			return []string{f[1].path}
		}
		return nil
	})
	rule("FR-00007", func(m *message) []string {
		seen := map[string]bool{}
		var out []string
		for i, e := range m.entries {
			if e.fullURL == "" {
				continue
			}
			if seen[e.fullURL] {
				out = append(out, m.bundle.path+".entry["+strconv.Itoa(i)+"].fullUrl")
			}
			seen[e.fullURL] = true
		}
		return out
	})
	rule("FR-00012", handWritten["BV-00126"])
	rule("FR-00019", func(m *message) []string {
		var out []string
		walk(m.bundle, func(n node) {
			for _, e := range n.get("extension") {
				if len(e.get("extension")) > 0 == hasChoice(e, "value") {
					out = append(out, e.path)
				}
			}
		})
		return out
	})
	rule("FR-00021", func(m *message) []string {
		var out []string
		for _, o := range m.resources("Organization") {
			if len(o.get("identifier")) == 0 && o.str("name") == "" {
				out = append(out, o.path)
			}
		}
		return out
	})
	rule("BV-00052", func(m *message) []string {
		var out []string
		walk(m.bundle, func(n node) {
			for k := range n.obj() {
				if !strings.HasSuffix(k, "Period") && k != "period" {
					continue
				}
				for _, p := range n.get(k) {
					s, e := p.str("start"), p.str("end")
					if s != "" && e != "" && before(e, s) {
						out = append(out, p.path+".end")
					}
				}
			}
		})
		return out
	})
}

// walk calls f on the bundle n and every object below it, except nested
// message bundles, which are checked on their own.
func walk(n node, f func(node)) {
	v, ok := n.val.(map[string]any)
	if !ok {
		return
	}
	f(n)
	for k := range v {
		for _, c := range n.get(k) {
			if c.str("resourceType") != "Bundle" {
				walk(c, f)
			}
		}
	}
}

// before reports whether FHIR date/dateTime a is earlier than b, comparing
// the calendar date when either has no time (so "2024-01-05" is not before
// "2024-01-05T10:00:00+03:00").
func before(a, b string) bool {
	ta, oka := parseWhen(a)
	tb, okb := parseWhen(b)
	if !oka || !okb {
		return false
	}
	if len(a) <= 10 || len(b) <= 10 {
		return ta.Format("2006-01-02") < tb.Format("2006-01-02")
	}
	return ta.Before(tb)
}

const (
	systemProviderLicense = "http://nphies.sa/license/provider-license"
	systemPayerLicense    = "http://nphies.sa/license/payer-license"
)

// licenceMatch: the licence a MessageHeader party (sender, or the first
// destination's receiver) carries under system is the licence of an
// Organization of the bundle with that system, when the bundle has one.
func licenceMatch(party, system string) func(*message) []string {
	return func(m *message) []string {
		if !m.hasHeader {
			return nil
		}
		var ref node
		var ok bool
		if party == "sender" {
			ref, ok = m.header.first("sender")
		} else if d, has := m.header.first("destination"); has {
			ref, ok = d.first("receiver")
		}
		id, hasID := ref.first("identifier")
		if !ok || !hasID || id.str("system") != system {
			return nil
		}
		orgs := 0
		for _, o := range m.resources("Organization") {
			for _, oid := range o.get("identifier") {
				if oid.str("system") == system {
					orgs++
					if oid.str("value") == id.str("value") {
						return nil
					}
				}
			}
		}
		if orgs == 0 {
			return nil
		}
		return []string{id.path + ".value"}
	}
}

func init() {
	rule("GE-00031", licenceMatch("sender", systemProviderLicense))
	rule("GE-00032", licenceMatch("receiver", systemProviderLicense))
	rule("GE-00033", licenceMatch("sender", systemPayerLicense))
	rule("GE-00034", licenceMatch("receiver", systemPayerLicense))
	rule("FR-00005", func(m *message) []string {
		var out []string
		for i, e := range m.entries {
			if e.kind == "" {
				out = append(out, m.bundle.path+".entry["+strconv.Itoa(i)+"]")
			}
		}
		return out
	})
	rule("FR-00006", func(m *message) []string {
		var out []string
		walk(m.bundle, func(n node) {
			for k, v := range n.obj() {
				if empty(v) {
					out = append(out, n.path+"."+k)
				}
			}
		})
		return out
	})
	rule("FR-00008", func(m *message) []string {
		var out []string
		for i, e := range m.entries {
			if strings.Contains(e.fullURL, "/_history/") {
				out = append(out, m.bundle.path+".entry["+strconv.Itoa(i)+"].fullUrl")
			}
		}
		return out
	})
	homeUse := func(element string) func(*message) []string {
		return func(m *message) []string {
			var out []string
			for _, o := range m.resources("Organization") {
				for _, x := range o.get(element) {
					if x.str("use") == "home" {
						out = append(out, x.path+".use")
					}
				}
			}
			return out
		}
	}
	rule("FR-00022", homeUse("address"))
	rule("FR-00023", homeUse("telecom"))
	rule("FR-00024", func(m *message) []string {
		var out []string
		for _, p := range m.resources("Patient") {
			for _, c := range p.get("contact") {
				if !c.has("name") && !c.has("telecom") && !c.has("address") && !c.has("organization") {
					out = append(out, c.path)
				}
			}
		}
		return out
	})
}

// empty reports whether a JSON value is an empty string, object or array
// (FHIR elements have a value or children; NPHIES refuses empty elements).
func empty(v any) bool {
	switch x := v.(type) {
	case string:
		return x == ""
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}
