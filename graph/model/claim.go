package model

import (
	hg "github.com/healthgraph/healthgraph"
)

// Claim is a claim as the API shows it. Its payer, the ids of what it
// refers to, its items and its optional texts are methods without a
// context, which gqlgen calls inline: as resolvers, each was a concurrent
// field, so a page of claims marshalled on a goroutine per claim and per
// item list (graph/inline.go marshals a list inline only when its
// selection reaches nothing concurrent). Its relations stay resolvers:
// they load, and the claims resolvers queue their keys for the whole page.
type Claim struct {
	*hg.Claim
}

// NewClaim is c as the API shows it; nil when c is.
func NewClaim(c *hg.Claim) *Claim {
	if c == nil {
		return nil
	}
	return &Claim{Claim: c}
}

// NewClaims is NewClaim of each of cs, in one allocation.
func NewClaims(cs []*hg.Claim) []*Claim {
	shown := make([]Claim, len(cs))
	out := make([]*Claim, len(cs))
	for i, c := range cs {
		if c != nil {
			shown[i].Claim = c
			out[i] = &shown[i]
		}
	}
	return out
}

// InvoiceGlobalID is the global id of the invoice the claim bills; null
// for a prior authorization asked before its invoice was issued.
func (c *Claim) InvoiceGlobalID() *string {
	if c.InvoiceID == nil {
		return nil
	}
	id := hg.GlobalID("Invoice", *c.InvoiceID)
	return &id
}

// PatientGlobalID is the global id of the claim's patient.
func (c *Claim) PatientGlobalID() string { return hg.GlobalID("Patient", c.PatientID) }

// CoverageGlobalID is the global id of the coverage the claim is made on.
func (c *Claim) CoverageGlobalID() string { return hg.GlobalID("Coverage", c.CoverageID) }

// Payer is the insurer the claim is sent to, as the claim recorded it.
func (c *Claim) Payer() *Payer { return &Payer{License: c.PayerLicense, Name: c.PayerName} }

// DispositionShown is the payer's free text, null when it gave none.
func (c *Claim) DispositionShown() *string { return nonEmpty(c.Disposition) }

// PreAuthRefShown is the reference of an approved prior authorization,
// null until there is one.
func (c *Claim) PreAuthRefShown() *string { return nonEmpty(c.PreAuthRef) }

// LastErrorShown says why the claim is in ERROR, null when it is not.
func (c *Claim) LastErrorShown() *string { return nonEmpty(c.LastError) }

// Items are the claim's items as the API shows them, pointing into the
// claim's own (c.Claim.Items, which this method hides). It keeps the
// field's name so that the executor's complexity root keeps Claim.Items.
func (c *Claim) Items() []ClaimItem {
	items := make([]ClaimItem, len(c.Claim.Items))
	for i := range c.Claim.Items {
		items[i].ClaimItem = &c.Claim.Items[i]
	}
	return items
}

// ClaimItem is a claim's item as the API shows it: its optional values
// are methods without a context, which gqlgen calls inline, as Claim's.
type ClaimItem struct {
	*hg.ClaimItem
}

// OutcomeShown is the payer's decision on the item, null until adjudicated.
func (i *ClaimItem) OutcomeShown() *string { return nonEmpty(i.Outcome) }

// ToothShown is the tooth a dental item treats, null on other claims.
func (i *ClaimItem) ToothShown() *string { return nonEmpty(i.Tooth) }

// DaysSupplyShown is how many days a pharmacy item supplies, null on other
// claims.
func (i *ClaimItem) DaysSupplyShown() *int {
	if i.DaysSupply == 0 {
		return nil
	}
	d := i.DaysSupply
	return &d
}

// PharmacistSelectionReasonShown is why the pharmacist chose the product a
// pharmacy item dispenses, null when none was given.
func (i *ClaimItem) PharmacistSelectionReasonShown() *string {
	return nonEmpty(i.PharmacistSelectionReason)
}
