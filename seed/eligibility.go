package seed

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
)

var checksTable = table{"eligibility_checks", []string{"id", "patient_id", "coverage_id", "payer_license", "payer_name", "status",
	"eligible", "outcome", "site_eligibility", "inforce", "disposition", "result", "error_codes", "last_error",
	"checked_at", "created_at", "updated_at"}}

// demoCheckRate is the share of claimed visits whose coverage reception
// checked first.
const demoCheckRate = 0.3

// eligibilityOutcome picks how a demo check is answered: mostly eligible,
// some not, a few refused by the payer.
func (g *gen) eligibilityOutcome() mock.Outcome {
	switch r := g.rng.Float64(); {
	case r < 0.08:
		return mock.OutcomeNotEligible
	case r < 0.12:
		return mock.OutcomeEligibilityError
	}
	return mock.OutcomeEligible
}

// eligibility records the check reception ran before claim c's visit, as
// the desk does: the request bundle, the mock's answer and the verdict.
func (x *exchange) eligibility(g *gen, c claimed, p parties) error {
	if !g.chance(demoCheckRate) {
		return nil
	}
	at := c.invoiceCreated.Add(-45 * time.Minute)
	id := g.id(at)
	msg, err := x.clinic.BuildEligibility(nphies.EligibilityInput{Envelope: envelope(g, at), RequestID: id, Created: at,
		Payer: nphies.Payer{License: c.cov.payer.license, Name: c.cov.payer.name}, Patient: p.patient,
		Coverage: &p.coverage, ServiceStart: at})
	if err != nil {
		return fmt.Errorf("build demo eligibility bundle: %w", err)
	}
	of := owner{check: &id}
	out := g.id(at)
	x.out(out, of, msg, hg.DeliverySent, 1, nil, &at, http.StatusOK, "", at)
	resp, err := x.answer(g, out, of, msg, g.eligibilityOutcome(), at)
	if err != nil {
		return err
	}
	res := resp.Eligibility
	if res == nil {
		return fmt.Errorf("the mock's answer to a demo eligibility request is not an eligibility response")
	}
	issues, codes := []hg.EligibilityIssue{}, []string{}
	for _, is := range res.Errors {
		issues, codes = append(issues, hg.EligibilityIssue{Code: is.Code, Display: is.Display}), append(codes, is.Code)
	}
	status, lastErr := "COMPLETE", ""
	var eligible, inForce *bool
	if res.Outcome == nphies.OutcomeComplete {
		ok := res.Eligible()
		eligible = &ok
	} else {
		status, lastErr = "ERROR", "the payer answered with an error"
		if len(codes) > 0 {
			lastErr += " (" + strings.Join(codes, ", ") + ")"
		}
	}
	if len(res.Coverages) > 0 {
		inForce = &res.Inforce
	}
	x.checks = append(x.checks, []any{id, c.patientID, c.cov.id, c.cov.payer.license, c.cov.payer.name, status,
		eligible, res.Outcome, res.SiteEligibility, inForce, res.Disposition, map[string]any{"errors": issues}, codes, lastErr,
		at, at, at})
	return nil
}
