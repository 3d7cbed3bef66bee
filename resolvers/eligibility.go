package resolvers

import (
	"context"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/observability"
)

// eligibilityListLimit bounds eligibilityChecks: the desk needs the latest.
const eligibilityListLimit = 50

// checkEligibility asks the coverage's payer, synchronously and through
// the NPHIES desk, whether the patient may be treated on it.
func (r *mutationResolver) checkEligibility(ctx context.Context, patientGID, coverageGID string) (*hg.EligibilityCheck, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	patientID, err := parseID("patientId", "Patient", patientGID)
	if err != nil {
		return nil, err
	}
	coverageID, err := parseID("coverageId", "Coverage", coverageGID)
	if err != nil {
		return nil, err
	}
	return r.desk().CheckEligibility(ctx, auth.PatientScope(p), nphies.EligibilityRequest{
		PatientID: patientID, CoverageID: coverageID,
		Audit:       actorEvent(ctx, "eligibility.checked", "EligibilityCheck"),
		TraceParent: observability.TraceParent(ctx),
	})
}

// discoverCoverage asks a payer, synchronously and through the NPHIES
// desk, which coverages it holds for the patient.
func (r *mutationResolver) discoverCoverage(ctx context.Context, patientGID, payerLicense, payerName string) (*hg.EligibilityCheck, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	patientID, err := parseID("patientId", "Patient", patientGID)
	if err != nil {
		return nil, err
	}
	return r.desk().DiscoverCoverage(ctx, auth.PatientScope(p), nphies.DiscoveryRequest{
		PatientID: patientID, Payer: nphies.Payer{License: payerLicense, Name: payerName},
		Audit:       actorEvent(ctx, "eligibility.discovered", "EligibilityCheck"),
		TraceParent: observability.TraceParent(ctx),
	})
}

// addDiscoveredCoverage records a coverage a discovery found as one of the
// check's patient.
func (r *mutationResolver) addDiscoveredCoverage(ctx context.Context, checkGID, memberID string, subscriberGID *string) (*hg.Coverage, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	checkID, err := parseID("checkId", "EligibilityCheck", checkGID)
	if err != nil {
		return nil, err
	}
	subscriberID, err := optionalID("subscriberId", "Patient", subscriberGID)
	if err != nil {
		return nil, err
	}
	scope := auth.PatientScope(p)
	check, err := r.Store.EligibilityCheckByID(ctx, scope, checkID)
	if err != nil {
		return nil, err
	}
	found, err := check.DiscoveredCoverage(memberID)
	if err != nil {
		return nil, err
	}
	in, err := found.NewCoverage(check, subscriberID)
	if err != nil {
		return nil, err
	}
	return r.Store.AddCoverage(auditing(ctx, "coverage.added", "Coverage"), scope, in)
}

// discoveredCoverages lists the coverages a check's discovery found.
func discoveredCoverages(c *hg.EligibilityCheck) []*hg.DiscoveredCoverage {
	out := make([]*hg.DiscoveredCoverage, len(c.Discovered))
	for i := range c.Discovered {
		out[i] = &c.Discovered[i]
	}
	return out
}
