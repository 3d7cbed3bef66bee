package rules

import (
	"embed"
	"sort"
	"strings"
	"sync"
)

//go:embed data/*.tsv
var data embed.FS

// Status says what the engine does with a rule.
type Status string

// Statuses of a Rule.
const (
	// Implemented rules are checked by Check.
	Implemented Status = "implemented"
	// NotEvaluable rules cannot be decided from a message and the code lists
	// alone (payer-side state, NPHIES's registries, transport); Reason says why.
	NotEvaluable Status = "not evaluable"
	// NotYet rules could be checked offline but are not yet; Reason may say what is missing.
	NotYet Status = "not yet"
	// Deactivated rules carry a deactivation date in the sheet and are not applied.
	Deactivated Status = "deactivated"
)

// Rule is one row of NPHIES's validation-rule sheet and what the engine does with it.
type Rule struct {
	ID          string // "BV-00772"
	Type        string // BV, DT, IC, IB, RE, GE or FR
	Element     string // the element the rule is about, as the sheet writes it
	Description string // the rule as the sheet states it
	Display     string // the official message NPHIES returns
	Status      Status
	Reason      string // why a rule is not evaluable (or not yet done)
}

// Active reports whether NPHIES still applies the rule.
func (r Rule) Active() bool { return r.Status != Deactivated }

// check is one implemented rule: it returns the expressions of the places
// in the message that break it.
type check struct {
	id       string
	display  string
	severity string
	check    func(*message) []string
}

var (
	loadOnce  sync.Once
	catalogue []Rule
	checks    []check
)

// Catalogue returns every rule of the sheet, in sheet order, with its status.
func Catalogue() []Rule {
	load()
	return append([]Rule(nil), catalogue...)
}

// registry returns the implemented checks.
func registry() []check {
	load()
	return checks
}

// load reads the sheet, derives the data-driven checks, adds the
// hand-written ones and classifies the rest.
func load() {
	loadOnce.Do(func() {
		catalogue = readSheet()
		impl := map[string]func(*message) []string{}
		for _, r := range catalogue {
			if r.Status == Deactivated {
				continue
			}
			if f := derive(r); f != nil {
				impl[r.ID] = f
			}
		}
		for id, f := range handWritten {
			impl[id] = f // a hand-written check replaces a derived one
		}
		for i := range catalogue {
			r := &catalogue[i]
			if r.Status == Deactivated {
				continue
			}
			if f, ok := impl[r.ID]; ok {
				r.Status, r.Reason = Implemented, ""
				checks = append(checks, check{id: r.ID, display: r.Display, severity: SeverityError, check: f})
				continue
			}
			r.Status, r.Reason = classify(*r)
		}
		payerCodes := map[string]string{}
		for _, row := range readTSV("data/adjudication-error.tsv")[1:] {
			if len(row) > 1 {
				payerCodes[row[0]] = row[1]
			}
		}
		for code, f := range payerChecks {
			checks = append(checks, check{id: code, display: payerCodes[code], severity: SeverityError, check: f})
		}
		sort.Slice(checks, func(i, j int) bool { return checks[i].id < checks[j].id })
	})
}

// readSheet parses validation-rules.tsv (13 tab-separated columns, short
// rows padded; the sheet's quotes are literal text, not CSV quoting).
func readSheet() []Rule {
	rows := readTSV("data/validation-rules.tsv")
	var out []Rule
	for _, row := range rows[1:] {
		for len(row) < 13 {
			row = append(row, "")
		}
		r := Rule{
			ID:          strings.TrimSpace(row[0]),
			Type:        strings.TrimSpace(row[1]),
			Element:     strings.TrimSpace(row[3]),
			Description: strings.TrimSpace(row[4]),
			Display:     strings.TrimSpace(row[5]),
			Status:      NotYet,
		}
		if r.Display == "" {
			r.Display = r.Description
		}
		if strings.TrimSpace(row[10]) != "" {
			r.Status = Deactivated
		}
		out = append(out, r)
	}
	return out
}

// readTSV reads an embedded tab-separated export: one record per line,
// columns split on tabs. The sheets' quotes are literal text (and not
// always balanced), so no CSV quoting applies.
func readTSV(name string) [][]string {
	raw, err := data.ReadFile(name)
	if err != nil {
		panic("rules: embedded " + name + ": " + err.Error())
	}
	var rows [][]string
	for _, line := range strings.Split(strings.ReplaceAll(string(raw), "\r", ""), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		for i, c := range cols {
			cols[i] = strings.TrimSpace(c)
		}
		rows = append(rows, cols)
	}
	return rows
}
