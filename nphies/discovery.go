package nphies

import (
	"time"

	hg "github.com/healthgraph/healthgraph"
)

// discovered maps the coverages a payer returned with their Coverage
// resources (a discovery's answer) to what a check keeps; a coverage
// returned by reference only (a validation's answer names ours) is left
// out.
func discovered(cs []EligibilityCoverage) []hg.DiscoveredCoverage {
	var out []hg.DiscoveredCoverage
	for _, c := range cs {
		f := c.Found
		if f == nil || f.MemberID == "" {
			continue
		}
		out = append(out, hg.DiscoveredCoverage{MemberID: f.MemberID, MemberIDSystem: f.MemberSystem,
			PolicyNumber: f.PolicyNumber, PolicyName: f.PolicyName, Class: f.Plan, PlanName: f.PlanName,
			Relationship: relationshipOf(f.Relationship), InForce: c.Inforce,
			StartsOn: dateOf(f.Start), EndsOn: dateOf(f.End)})
	}
	return out
}

// relationshipOf is our relationship for a subscriber-relationship code;
// OTHER for a code we do not know.
func relationshipOf(code string) hg.Relationship {
	if code == "" {
		return hg.RelationshipSelf
	}
	for r, c := range relationshipCodes {
		if c == code {
			return r
		}
	}
	return hg.RelationshipOther
}

// dateOf reads a FHIR date (or the date of a dateTime); nil when absent or
// unreadable.
func dateOf(s string) *time.Time {
	if len(s) < len(time.DateOnly) {
		return nil
	}
	d, err := time.Parse(time.DateOnly, s[:len(time.DateOnly)])
	if err != nil {
		return nil
	}
	return &d
}
