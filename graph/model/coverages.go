package model

import (
	"time"

	hg "github.com/healthgraph/healthgraph"
)

// Coverage is a coverage as the API shows it. Its payer, optional texts
// and whether it is active are methods without a context, which gqlgen
// calls inline: as resolvers they were concurrent fields, so a patient's
// coverages marshalled on a goroutine each (graph/inline.go). The
// subscriber, which loads, stays a resolver.
type Coverage struct {
	*hg.Coverage
}

// NewCoverage is c as the API shows it; nil when c is.
func NewCoverage(c *hg.Coverage) *Coverage {
	if c == nil {
		return nil
	}
	return &Coverage{Coverage: c}
}

// NewCoverages is NewCoverage of each of cs, in one allocation.
func NewCoverages(cs []*hg.Coverage) []*Coverage {
	shown := make([]Coverage, len(cs))
	out := make([]*Coverage, len(cs))
	for i, c := range cs {
		if c != nil {
			shown[i].Coverage = c
			out[i] = &shown[i]
		}
	}
	return out
}

// Payer is the insurer of the coverage.
func (c *Coverage) Payer() *Payer { return &Payer{License: c.PayerLicense, Name: c.PayerName} }

// MemberIDSystemShown is the payer's identifier system for member ids,
// null when none is recorded.
func (c *Coverage) MemberIDSystemShown() *string { return nonEmpty(c.MemberIDSystem) }

// PlanNameShown is the plan's name, null when none is recorded.
func (c *Coverage) PlanNameShown() *string { return nonEmpty(c.PlanName) }

// Active reports whether the coverage is valid today.
func (c *Coverage) Active() bool { return c.ActiveOn(time.Now()) }
