// Package rules is NPHIES's validation rules as code: every active rule of
// the official validation-rule sheet (data/validation-rules.tsv) that can be
// evaluated on a message and the published code lists is a check named by
// its rule id, reporting the element's location and the rule's official
// display text. The pre-submission scrubber and the mock NPHIES run the same
// checks, so a bundle the real exchange would refuse fails before it leaves
// and fails in tests.
//
// Regular rules (references, required elements, code bindings) are derived
// from the sheet itself; the business rules that matter for the messages we
// send and the answers the mock gives are written by hand in bv_*.go.
// Catalogue says, for every rule id, whether it is implemented, cannot be
// evaluated offline (and why), or is not done yet.
package rules

//go:generate go run ./gendoc -summary ../../docs/nphies.md -list ../../docs/nphies-rules.md

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// Severities of a Violation.
const (
	// SeverityError blocks the message: NPHIES refuses it.
	SeverityError = "error"
	// SeverityWarning is reported but does not block.
	SeverityWarning = "warning"
)

// Violation is one broken rule at one place in a message.
type Violation struct {
	Rule       string // rule id, e.g. "BV-00772"
	Expression string // FHIRPath-like location, e.g. "Bundle.entry[3].resource.item[0].productOrService"
	Message    string // the official display text of the rule
	Severity   string // SeverityError or SeverityWarning
}

// ErrNotBundle is returned by Check when the input is not a JSON FHIR Bundle.
var ErrNotBundle = errors.New("rules: not a JSON FHIR Bundle")

// Check runs every implemented rule over a message bundle and returns the
// violations ordered by expression, then rule id. The error is only for input
// that is not a JSON Bundle; a Bundle that breaks rules is not an error.
func Check(bundle []byte) ([]Violation, error) {
	dec := json.NewDecoder(bytes.NewReader(bundle))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotBundle, err)
	}
	if root["resourceType"] != "Bundle" {
		return nil, fmt.Errorf("%w: resourceType %v", ErrNotBundle, root["resourceType"])
	}
	out := checkMessage(newMessage(node{path: "Bundle", val: root}))
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Expression != out[j].Expression {
			return out[i].Expression < out[j].Expression
		}
		return out[i].Rule < out[j].Rule
	})
	return out, nil
}

// checkMessage runs every check over m and over the message bundles nested
// in it (a batch request's claims, a poll response's delivered messages),
// whose expressions start at their entry ("Bundle.entry[2].resource.entry[1]…").
func checkMessage(m *message) []Violation {
	var out []Violation
	for _, c := range registry() {
		for _, expr := range c.check(m) {
			out = append(out, Violation{Rule: c.id, Expression: expr, Message: c.display, Severity: c.severity})
		}
	}
	for _, e := range m.entries {
		if e.kind == "Bundle" {
			out = append(out, checkMessage(newMessage(e.resource))...)
		}
	}
	return out
}

// Blocking returns the error-severity violations of vs.
func Blocking(vs []Violation) []Violation {
	var out []Violation
	for _, v := range vs {
		if v.Severity == SeverityError {
			out = append(out, v)
		}
	}
	return out
}
