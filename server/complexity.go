package server

import (
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/dataloader"
	"github.com/healthgraph/healthgraph/graph"
	"github.com/healthgraph/healthgraph/graph/model"
)

// The sizes list fields are priced at. A list bounded by paging or by a
// store limit costs that bound; a list bounded only by the data (an
// invoice's lines, a claim's messages) costs listEstimate, a generous
// figure for one clinic's records rather than the validation ceiling: at
// MaxInvoiceLines (200) a page of 20 claims with their items would cost
// 60,000 and no billing screen could ask for one.
const (
	// listEstimate prices lists that have no cap of their own.
	listEstimate = 10
	// coveragesEstimate prices a patient's policies: a few at most, and
	// the reception's day schedule (50 appointments, each patient with
	// their coverages) must fit the default budget.
	coveragesEstimate = 5
	// eligibilityChecksCap is the resolvers' limit on eligibilityChecks.
	eligibilityChecksCap = 50
	// groupsEstimate prices aggregate groupings whose size depends on the
	// data (payers, practitioners, specialties), not on the window.
	groupsEstimate = 50
	// claimStatuses is how many groups claimsSummary by STATUS can have.
	claimStatuses = 9
	// maxCost keeps products of nested page sizes far from overflow: an
	// overflow would wrap to a small number and pass the budget.
	maxCost = 1 << 40
)

// listCost is the cost of a list field of n items, each costing child: the
// field itself plus n times its items, saturating at maxCost.
func listCost(child, n int) int {
	if child < 0 {
		child = 0
	}
	if n < 1 {
		n = 1
	}
	if child > 0 && n > (maxCost-1)/child {
		return maxCost
	}
	return 1 + n*child
}

// connectionCost makes a connection cost its page size (first or last, 20
// when neither is set) times its items, so complexity bounds the rows a
// query can ask for. A negative or oversized size, or both at once, is
// priced at the cap: the resolver refuses it with its own error naming the
// field, which says more than the budget would.
func connectionCost(child int, first, last *int) int {
	n := hg.MaxPageSize
	size := first
	if size == nil {
		size = last
	}
	switch {
	case first == nil && last == nil:
		n = hg.DefaultPageSize
	case first != nil && last != nil:
	case *size > 0 && *size < n:
		n = *size
	}
	return listCost(child, n)
}

// scheduleSlots is how many slots practitionerSchedule returns for a day.
func scheduleSlots() int {
	s := hg.DefaultSchedule
	if s.SlotLength <= 0 {
		return listEstimate
	}
	return int((s.DayEnd - s.DayStart) / s.SlotLength)
}

// periodGroups is how many day or month groups an aggregate over [from, to)
// can return; a range the store will refuse is priced at one group.
func periodGroups(from, to time.Time, months bool) int {
	if !to.After(from) || to.Sub(from) > hg.MaxSummaryRange {
		return 1
	}
	days := int(to.Sub(from)/(24*time.Hour)) + 2 // snapping widens both ends
	if months {
		return days/28 + 2
	}
	return days
}

// setComplexity prices every list field. TestEveryListFieldHasACost walks
// the schema and fails on a list field added without a line here.
func setComplexity(c *graph.ComplexityRoot) {
	setConnectionCosts(c)
	setNestedListCosts(c)
	setAggregateCosts(c)
}

func setConnectionCosts(c *graph.ComplexityRoot) {
	c.Query.Users = func(child int, first *int, _ *string, last *int, _ *string, _ *model.Role) int {
		return connectionCost(child, first, last)
	}
	c.Query.Patients = func(child int, _ *model.PatientFilter, _ *model.PatientOrder, first *int, _ *string, last *int, _ *string) int {
		return connectionCost(child, first, last)
	}
	c.Query.Practitioners = func(child int, _ *string, first *int, _ *string, last *int, _ *string) int {
		return connectionCost(child, first, last)
	}
	c.Query.Appointments = func(child int, _ *model.AppointmentFilter, _ *model.AppointmentOrder, first *int, _ *string, last *int, _ *string) int {
		return connectionCost(child, first, last)
	}
	c.Query.MedicalRecords = func(child int, _ string, _ *model.RecordFilter, first *int, _ *string, last *int, _ *string) int {
		return connectionCost(child, first, last)
	}
	c.Query.Invoices = func(child int, _ *model.InvoiceFilter, first *int, _ *string, last *int, _ *string) int {
		return connectionCost(child, first, last)
	}
	c.Query.Claims = func(child int, _ *model.ClaimFilter, _ *model.ClaimOrder, first *int, _ *string, last *int, _ *string) int {
		return connectionCost(child, first, last)
	}
	c.Query.Catalogue = func(child int, _ *model.CatalogueFilter, first *int, _ *string, last *int, _ *string) int {
		return connectionCost(child, first, last)
	}
	c.Query.PaymentReconciliations = func(child int, _ *bool, first *int, _ *string, last *int, _ *string) int {
		return connectionCost(child, first, last)
	}
}

func setNestedListCosts(c *graph.ComplexityRoot) {
	capped := func(n int) func(int) int { return func(child int) int { return listCost(child, n) } }
	c.Patient.Coverages = capped(coveragesEstimate)
	c.Patient.UpcomingAppointments = capped(dataloader.UpcomingAppointmentsLimit)
	c.Patient.LatestRecords = capped(dataloader.LatestRecordsLimit)
	c.Invoice.Lines = capped(listEstimate)
	c.Invoice.Payments = capped(listEstimate)
	c.Claim.Items = capped(listEstimate)
	c.Claim.Messages = capped(listEstimate)
	c.Claim.History = capped(listEstimate)
	c.Claim.Payments = capped(listEstimate)
	c.Claim.Resubmissions = capped(listEstimate)
	c.PaymentReconciliation.Lines = capped(listEstimate)
	c.Claim.Communications = capped(listEstimate)
	c.ClaimCommunication.Attachments = capped(listEstimate)
	c.Claim.Attachments = capped(listEstimate)
	// A prescription has one lens per eye (claimdetails refuses more).
	c.VisionPrescription.Lenses = capped(2)
	c.EligibilityCheck.Errors = capped(listEstimate)
	c.EligibilityCheck.DiscoveredCoverages = capped(listEstimate)
	c.ClaimReadiness.Violations = capped(listEstimate)
	// claimReadiness builds a whole bundle and runs every NPHIES rule on
	// it: priced as a page of its violations on top of that work.
	c.Query.ClaimReadiness = func(child int, _ model.SubmitClaimInput, _ *hg.ClaimUse) int {
		return listCost(1, listEstimate) + child
	}
	c.EligibilityCheck.Messages = capped(listEstimate)
	c.Query.EligibilityChecks = func(child int, _ string) int { return listCost(child, eligibilityChecksCap) }
	c.Query.PractitionerSchedule = func(child int, _ string, _ time.Time) int { return listCost(child, scheduleSlots()) }
}

func setAggregateCosts(c *graph.ComplexityRoot) {
	c.Query.RevenueSummary = func(child int, from, to time.Time, by model.RevenueGroupBy) int {
		return listCost(child, periodGroups(from, to, by == model.RevenueGroupByMonth))
	}
	c.Query.ClaimsSummary = func(child int, from, to time.Time, by model.ClaimsGroupBy) int {
		switch by {
		case model.ClaimsGroupByMonth:
			return listCost(child, periodGroups(from, to, true))
		case model.ClaimsGroupByStatus:
			return listCost(child, claimStatuses)
		}
		return listCost(child, groupsEstimate)
	}
	c.Query.DenialSummary = func(child int, from, to time.Time, by hg.DenialGroupBy) int {
		if by == hg.DenialsByMonth {
			return listCost(child, periodGroups(from, to, true))
		}
		return listCost(child, groupsEstimate)
	}
	c.Query.AppointmentUtilization = func(child int, from, to time.Time, by hg.UtilizationGroupBy) int {
		if by == hg.GroupByDay {
			return listCost(child, periodGroups(from, to, false))
		}
		return listCost(child, groupsEstimate)
	}
}
