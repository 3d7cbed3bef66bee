package healthgraph

import (
	"context"
	"time"
)

// ClaimsGroup is one group of claimsSummary. Suppressed groups carry no
// figures: fewer than MinUtilizationGroup claims could single someone out.
type ClaimsGroup struct {
	Key        string
	Suppressed bool
	Claims     int
	Total      Halalas
	Approved   Halalas
}

// RevenueGroup is one period of revenueSummary, suppressed like ClaimsGroup.
type RevenueGroup struct {
	Key          string
	Suppressed   bool
	Invoices     int
	Billed       Halalas
	VAT          Halalas
	PatientShare Halalas
	InsurerShare Halalas
	Collected    Halalas
}

// AnalyticsStore answers the analysts' money questions with aggregates that
// never carry a patient's identity.
type AnalyticsStore interface {
	// ClaimsSummary groups claims created in [from, to) by "PAYER",
	// "STATUS" or "MONTH" (clinic time). BAD_USER_INPUT for another key or
	// an empty or over-long range.
	ClaimsSummary(ctx context.Context, from, to time.Time, groupBy string) ([]ClaimsGroup, error)
	// RevenueSummary groups invoices issued in [from, to) by "DAY" or
	// "MONTH" (clinic time); void invoices are left out.
	RevenueSummary(ctx context.Context, from, to time.Time, groupBy string) ([]RevenueGroup, error)
}

// MaxSummaryRange bounds an aggregate query's period.
const MaxSummaryRange = 3 * 366 * 24 * time.Hour

// ValidateRange checks an aggregate query's [from, to).
func ValidateRange(from, to time.Time) error {
	switch {
	case !to.After(from):
		return Invalid("to", "to must be after from")
	case to.Sub(from) > MaxSummaryRange:
		return Invalid("to", "the range may span at most three years")
	}
	return nil
}
