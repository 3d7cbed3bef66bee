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
