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
