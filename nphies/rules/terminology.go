package rules

import (
	"strings"
	"sync"
)

// codeSystem is one code system of codesystems.tsv.
type codeSystem struct {
	url   string
	codes map[string]bool // nil when the sheet publishes the codes elsewhere ("---")
}

// terminology is the code lists of codesystems.tsv and valuesets.tsv.
type terminology struct {
	systems   map[string]*codeSystem
	valueSets map[string][]string // value set URL → code system URLs
	byID      map[string]string   // value set id ("admit-source") → URL; NPHIES's win over HL7's
}

var (
	termOnce sync.Once
	term     terminology
)

// codes returns the code lists, read once.
func codes() *terminology {
	termOnce.Do(func() {
		term = terminology{systems: map[string]*codeSystem{}, valueSets: map[string][]string{}, byID: map[string]string{}}
		var cur *codeSystem
		for _, row := range readTSV("data/codesystems.tsv")[1:] {
			for len(row) < 12 {
				row = append(row, "")
			}
			if u := cleanURL(row[1]); u != "" {
				cur = &codeSystem{url: u, codes: map[string]bool{}}
				term.systems[u] = cur
			}
			if cur == nil {
				continue
			}
			switch c := row[10]; {
			case c == "---":
				cur.codes = nil
			case c != "" && cur.codes != nil:
				cur.codes[strings.ToLower(c)] = true
			}
		}
		var vs string
		for _, row := range readTSV("data/valuesets.tsv")[1:] {
			if len(row) < 11 {
				continue
			}
			if u := cleanURL(row[1]); strings.Contains(u, "/ValueSet/") {
				vs = u
				id := u[strings.LastIndex(u, "/")+1:]
				if _, taken := term.byID[id]; !taken || strings.HasPrefix(u, "http://nphies.sa/") {
					term.byID[id] = u
				}
			}
			if cs := cleanURL(row[10]); vs != "" && cs != "" {
				term.valueSets[vs] = append(term.valueSets[vs], cs)
			}
		}
	})
	return &term
}

// cleanURL trims the export's stray quotes and " | " markers around a URL.
func cleanURL(s string) string {
	s = strings.Trim(strings.TrimSpace(s), "\"| ")
	if !strings.Contains(s, ":") || strings.ContainsAny(s, " \t") {
		return ""
	}
	return s
}

// known reports whether code belongs to system. ok is false when the sheet
// does not enumerate the system's codes (external lists such as ICD-10-AM or
// the SBS services), so only the system can be checked. Codes compare
// ignoring case: the sheet spells some HL7 codes its own way (coPay for
// HL7's copay).
func (t *terminology) known(system, code string) (in, ok bool) {
	cs := t.systems[system]
	if cs == nil || cs.codes == nil {
		return false, false
	}
	return cs.codes[strings.ToLower(code)], true
}

// allows reports whether a coding (system, code) is allowed by the value set.
func (t *terminology) allows(valueSet, system, code string) bool {
	for _, s := range t.valueSets[valueSet] {
		if s != system {
			continue
		}
		in, ok := t.known(system, code)
		return in || !ok
	}
	return false
}

// Known reports whether code is one of system's codes as the sheets publish
// them; a system whose codes are listed elsewhere (ICD-10-AM, the SBS
// services) admits any code. The claim desk checks the codes a clerk types
// (an admit source, a discharge disposition) against it before a claim is
// built.
func Known(system, code string) bool {
	in, ok := codes().known(system, code)
	return in || !ok
}
