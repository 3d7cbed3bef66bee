package healthgraph

import (
	"context"
	"sort"
	"time"
)

// ClaimsGroup is one group of claimsSummary. Suppressed groups carry no
// figures: fewer than MinUtilizationGroup claims could single someone out.
// A group's figures are the sum of its months that were shown; Partial says
// some were not.
type ClaimsGroup struct {
	Key        string
	Suppressed bool
	Partial    bool
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
// never carry a patient's identity. Every figure is built from cells (one
// group in one calendar period, see Cell) suppressed by Suppress, so two
// answers over different windows differ by whole shown cells only.
type AnalyticsStore interface {
	// ClaimsSummary groups claims created in [from, to), widened to whole
	// calendar months (clinic time), by "PAYER", "STATUS" or "MONTH".
	// BAD_USER_INPUT for another key or an empty or over-long range.
	ClaimsSummary(ctx context.Context, from, to time.Time, groupBy string) ([]ClaimsGroup, error)
	// RevenueSummary groups invoices issued in [from, to), widened to whole
	// days or months (clinic time), by "DAY" or "MONTH"; void invoices are
	// left out.
	RevenueSummary(ctx context.Context, from, to time.Time, groupBy string) ([]RevenueGroup, error)
}

// MaxSummaryRange bounds an aggregate query's period after widening: three
// years and the two part-months widening may add.
const MaxSummaryRange = (3*366 + 62) * 24 * time.Hour

// MaxUtilizationRange bounds one utilization query's period after
// widening: a year and the two part-months widening may add.
const MaxUtilizationRange = (366 + 62) * 24 * time.Hour

// Period is the calendar unit, in the clinic's zone, an aggregate counts in
// and its window snaps to.
type Period int

// The periods of aggregates.
const (
	PeriodDay Period = iota + 1
	PeriodMonth
)

// PeriodOf gives the period of a grouping: days for "DAY", months for
// every other (payer, status, practitioner…), so a group's figures are
// always sums of whole cells.
func PeriodOf(groupBy string) Period {
	if groupBy == "DAY" {
		return PeriodDay
	}
	return PeriodMonth
}

// Start returns the start of the period t falls in, in ClinicZone.
func (p Period) Start(t time.Time) time.Time {
	l := t.In(ClinicZone)
	if p == PeriodMonth {
		return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, ClinicZone)
	}
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, ClinicZone)
}

// Next returns the start of the period after the one starting at start.
func (p Period) Next(start time.Time) time.Time {
	if p == PeriodMonth {
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(0, 0, 1)
}

// SnapWindow widens [from, to) to whole periods: from back to the start of
// its period, to on to the start of the next unless it is one already. Two
// windows that differ inside a period snap to the same one, which is what
// makes a 1 µs shift useless and gives the cache one key for both.
func SnapWindow(from, to time.Time, p Period) (time.Time, time.Time) {
	f, t := p.Start(from), p.Start(to)
	if t.Before(to) {
		t = p.Next(t)
	}
	return f.UTC(), t.UTC()
}

// SummaryWindow checks an aggregate's [from, to) and snaps it to whole
// periods; the snapped window may span at most maxRange. It is idempotent,
// so the resolver (for the cache key) and the store may both apply it.
func SummaryWindow(from, to time.Time, p Period, maxRange time.Duration) (time.Time, time.Time, error) {
	switch {
	case from.IsZero():
		return from, to, Invalid("from", "from is required")
	case !to.After(from):
		return from, to, Invalid("to", "to must be after from")
	}
	f, t := SnapWindow(from, to, p)
	if t.Sub(f) > maxRange {
		return from, to, Invalid("to", "the range may span at most %d days once widened to whole periods", int(maxRange/(24*time.Hour)))
	}
	return f, t, nil
}

// Cell is the count of one group in one calendar period: the unit every
// aggregate figure is a sum of. Parent names the cell it partitions (the
// month a day or a payer's month belongs to, the specialty a
// practitioner's month belongs to); cells with one parent are siblings.
type Cell struct {
	Key, Period, Parent string
	Count               int
	Suppressed          bool
}

// Suppress hides every cell of fewer than MinUtilizationGroup records, then,
// among the siblings of each parent that has one hidden, hides the next
// smallest until the hidden siblings are at least two and hold at least
// MinUtilizationGroup records together, or all are hidden. Without that
// second step the parent's figure (a month, a specialty) minus its shown
// children would give the hidden one back. Cells already marked suppressed
// (children of a suppressed parent) count as hidden. Ties break by key, so
// the same data always hides the same cells.
func Suppress(cells []*Cell) {
	siblings := map[string][]*Cell{}
	for _, c := range cells {
		if c.Count < MinUtilizationGroup {
			c.Suppressed = true
		}
		siblings[c.Parent] = append(siblings[c.Parent], c)
	}
	for _, sib := range siblings {
		complement(sib)
	}
}

// complement hides the smallest shown siblings until the hidden ones
// cannot be told apart by subtraction.
func complement(sib []*Cell) {
	sort.Slice(sib, func(i, j int) bool {
		if sib[i].Count != sib[j].Count {
			return sib[i].Count < sib[j].Count
		}
		return sib[i].Key < sib[j].Key
	})
	hidden, total := 0, 0
	for _, c := range sib {
		if c.Suppressed {
			hidden, total = hidden+1, total+c.Count
		}
	}
	for _, c := range sib {
		if hidden == 0 || hidden >= 2 && total >= MinUtilizationGroup {
			return
		}
		if !c.Suppressed {
			c.Suppressed = true
			hidden, total = hidden+1, total+c.Count
		}
	}
}
