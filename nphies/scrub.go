package nphies

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/nphies/rules"
)

// The pre-submission scrubber: a claim's bundle is checked against NPHIES's
// validation rules (nphies/rules, the same checks the mock runs) before it
// is queued, and each violation is traced from its place in the message
// back to the record a billing clerk edits.

// policyExpired is the adjudication-error code a payer answers a claim on
// a cancelled or expired policy with; the scrubber reports it from our own
// records, as no message rule can see the policy's validity.
const policyExpired = "1664"

// Scrub checks a claim or prior-authorization bundle built for the coverage
// cov on the service date of serviced and returns every violation, traced
// back to what the clerk edits.
func Scrub(body []byte, cov *hg.Coverage, serviced time.Time) ([]hg.ClaimViolation, error) {
	vs, err := rules.Check(body)
	if err != nil {
		return nil, fmt.Errorf("scrub: %w", err)
	}
	m, err := readMessage(body)
	if err != nil {
		return nil, err
	}
	out := make([]hg.ClaimViolation, 0, len(vs)+1)
	if !cov.ActiveOn(serviced) {
		out = append(out, hg.ClaimViolation{Rule: policyExpired, Blocking: true, Part: hg.ClaimPartCoverage,
			Expression: m.entryOf("Coverage") + ".period",
			Message: fmt.Sprintf("Policy is cancelled/expired: the coverage runs %s to %s, the service is on %s",
				cov.StartsOn.Format(time.DateOnly), cov.EndsOn.Format(time.DateOnly), hg.DateOf(serviced).Format(time.DateOnly))})
	}
	for _, v := range vs {
		part, line := m.partOf(v.Expression)
		out = append(out, hg.ClaimViolation{Rule: v.Rule, Expression: v.Expression, Message: v.Message,
			Blocking: v.Severity == rules.SeverityError, Part: part, LineSequence: line})
	}
	return out, nil
}

// Refusal is the error a claim with blocking violations is refused with:
// BAD_USER_INPUT on field, listing the rule ids, or nil when none blocks.
func Refusal(field string, vs []hg.ClaimViolation) error {
	var ids []string
	seen := map[string]bool{}
	for _, v := range vs {
		if v.Blocking && !seen[v.Rule] {
			seen[v.Rule] = true
			ids = append(ids, v.Rule)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return &hg.Error{Code: hg.EINVALID, Field: field, Rules: ids, Message: fmt.Sprintf(
		"NPHIES would refuse this claim (%s); claimReadiness says what to change", strings.Join(ids, ", "))}
}

// scrubbed is what the scrubber needs to know of a built message: each
// entry's resource type, profile and id, and the claim's item sequences.
type scrubbed struct {
	entries []scrubEntry
	// beneficiary is the fullUrl of the Claim's patient.
	beneficiary string
}

// scrubEntry is the part of an entry the scrubber reads.
type scrubEntry struct {
	FullURL  string `json:"fullUrl"`
	Resource struct {
		ResourceType string `json:"resourceType"`
		Meta         struct {
			Profile []string `json:"profile"`
		} `json:"meta"`
		Patient *Reference  `json:"patient"`
		Item    []scrubItem `json:"item"`
	} `json:"resource"`
}

// scrubItem is a Claim item's sequence, which is its invoice line's.
type scrubItem struct {
	Sequence int `json:"sequence"`
}

func readMessage(body []byte) (*scrubbed, error) {
	var b struct {
		Entry json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("scrub: %w", err)
	}
	m := &scrubbed{}
	if err := json.Unmarshal(b.Entry, &m.entries); err != nil {
		return nil, fmt.Errorf("scrub: %w", err)
	}
	for _, e := range m.entries {
		if e.Resource.ResourceType == "Claim" && e.Resource.Patient != nil {
			m.beneficiary = e.Resource.Patient.Reference
		}
	}
	return m, nil
}

// entryOf is the expression of the first entry of resource type rt.
func (m *scrubbed) entryOf(rt string) string {
	for i, e := range m.entries {
		if e.Resource.ResourceType == rt {
			return fmt.Sprintf("Bundle.entry[%d].resource", i)
		}
	}
	return "Bundle"
}

var (
	entryExpr = regexp.MustCompile(`^Bundle\.entry\[(\d+)\]\.resource(.*)$`)
	itemExpr  = regexp.MustCompile(`^\.item\[(\d+)\]`)
)

// partOf traces an expression to the record it is mended in and, for a
// claim item, the invoice line's sequence.
func (m *scrubbed) partOf(expr string) (hg.ClaimPart, int) {
	g := entryExpr.FindStringSubmatch(expr)
	if g == nil {
		return hg.ClaimPartClaim, 0
	}
	i, _ := strconv.Atoi(g[1])
	if i >= len(m.entries) {
		return hg.ClaimPartClaim, 0
	}
	e, rest := m.entries[i], g[2]
	profile := ""
	if p := e.Resource.Meta.Profile; len(p) > 0 {
		profile = p[0]
	}
	switch e.Resource.ResourceType {
	case "Patient":
		if e.FullURL != m.beneficiary {
			return hg.ClaimPartSubscriber, 0
		}
		return hg.ClaimPartPatient, 0
	case "Coverage":
		return hg.ClaimPartCoverage, 0
	case "Organization":
		switch {
		case strings.Contains(profile, "/insurer-organization"):
			return hg.ClaimPartPayer, 0
		case strings.Contains(profile, "/policyholder-organization"):
			return hg.ClaimPartCoverage, 0
		}
		return hg.ClaimPartClinic, 0
	case "Location":
		return hg.ClaimPartClinic, 0
	case "Practitioner", "PractitionerRole":
		return hg.ClaimPartPractitioner, 0
	case "Encounter":
		return hg.ClaimPartVisit, 0
	case "Claim":
		return claimPart(rest, e.Resource.Item)
	}
	return hg.ClaimPartClaim, 0
}

// claimPart traces an expression inside the Claim: an item to its invoice
// line, and the other elements to the record they come from.
func claimPart(rest string, items []scrubItem) (hg.ClaimPart, int) {
	if g := itemExpr.FindStringSubmatch(rest); g != nil {
		i, _ := strconv.Atoi(g[1])
		if i < len(items) {
			return hg.ClaimPartInvoiceLine, items[i].Sequence
		}
		return hg.ClaimPartInvoiceLine, 0
	}
	for prefix, part := range map[string]hg.ClaimPart{
		".diagnosis": hg.ClaimPartDiagnoses, ".supportingInfo": hg.ClaimPartVisit, ".careTeam": hg.ClaimPartPractitioner,
		".insurance": hg.ClaimPartCoverage, ".total": hg.ClaimPartInvoice, ".item": hg.ClaimPartInvoiceLine,
	} {
		if strings.HasPrefix(rest, prefix) {
			return part, 0
		}
	}
	return hg.ClaimPartClaim, 0
}
