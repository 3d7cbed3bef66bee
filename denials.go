package healthgraph

import (
	"context"
	"time"
)

// DenialGroupBy is how denialSummary groups claims.
type DenialGroupBy string

// Denial groupings.
const (
	DenialsByPayer        DenialGroupBy = "PAYER"
	DenialsByReason       DenialGroupBy = "REASON"
	DenialsByService      DenialGroupBy = "SERVICE"
	DenialsByPractitioner DenialGroupBy = "PRACTITIONER"
	DenialsByMonth        DenialGroupBy = "MONTH"
)

// Valid reports whether g is a known grouping.
func (g DenialGroupBy) Valid() bool {
	switch g {
	case DenialsByPayer, DenialsByReason, DenialsByService, DenialsByPractitioner, DenialsByMonth:
		return true
	}
	return false
}

// NoReason is the reason key of a denied item the payer gave no reason
// code for. Migration 0024 writes it into claim_denial_facts.
const NoReason = "UNSPECIFIED"

// DenialFigures are the denial figures of a set of adjudicated claims:
// original claims only (a resubmission counts as its original's recovery),
// money in halalas of the insurer's share (item net less patient share).
type DenialFigures struct {
	// Claims adjudicated (approved, partial or rejected); Denied those with
	// at least one item rejected or cut.
	Claims, Denied int
	// Claimed is the insurer share asked; DeniedAmount what the payer did
	// not grant of it on rejected or cut items; Recovered how much of that
	// a resubmission of the claim later won (item by item).
	Claimed, DeniedAmount, Recovered Halalas
	// Paid claims, and the days from submission to first payment summed
	// over them.
	Paid, PaymentDays int
}

// Add adds o to f.
func (f *DenialFigures) Add(o DenialFigures) {
	f.Claims += o.Claims
	f.Denied += o.Denied
	f.Claimed += o.Claimed
	f.DeniedAmount += o.DeniedAmount
	f.Recovered += o.Recovered
	f.Paid += o.Paid
	f.PaymentDays += o.PaymentDays
}

// DenialGroup is one group of denialSummary, suppressed like ClaimsGroup.
// Key is the payer licence, reason code, service code, practitioner id or
// month (YYYY-MM); Label names it for people where there is a name.
type DenialGroup struct {
	Key, Label string
	Suppressed bool
	Partial    bool
	DenialFigures
}

// DenialTotal is one series of the denial metrics: all-time figures of a
// payer, or of one reason across payers. Groups of fewer than
// MinUtilizationGroup claims are folded into "other".
type DenialTotal struct {
	Payer, Reason string
	DenialFigures
}

// DenialStore answers why claims are denied and what came of them.
type DenialStore interface {
	// DenialSummary groups the original claims created in [from, to),
	// widened to whole calendar months (clinic time). Grouped by REASON or
	// SERVICE the figures count the items of that reason or service (by
	// REASON, denied items only, each under its first reason code).
	// BAD_USER_INPUT for another grouping or an empty or over-long range.
	DenialSummary(ctx context.Context, from, to time.Time, groupBy DenialGroupBy) ([]DenialGroup, error)
	// DenialTotals returns the metrics' series: one per payer (Reason
	// empty) and one per reason (Payer empty), each over every claim.
	DenialTotals(ctx context.Context) ([]DenialTotal, error)
	// PaymentAnomalies counts reconciliation lines naming a claim we do not
	// have, and duplicate deliveries of reconciliations.
	PaymentAnomalies(ctx context.Context) (unknownClaims, duplicates int, err error)
}
