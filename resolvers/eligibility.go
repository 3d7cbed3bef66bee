package resolvers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/observability"
)

// eligibilityListLimit bounds eligibilityChecks: the desk needs the latest.
const eligibilityListLimit = 50

// recordTimeout bounds recording an answer after the send returned. It runs
// on a context detached from the caller's, so a desk that gave up still
// leaves the check answered rather than PENDING.
const recordTimeout = 10 * time.Second

// errNPHIESUnavailable is what the desk sees when NPHIES could not be
// reached; the check is stored as ERROR.
var errNPHIESUnavailable = hg.Errorf(hg.EUNAVAILABLE,
	"NPHIES could not be reached; the check is stored as ERROR, try again in a moment")

// checkEligibility asks the coverage's payer, synchronously, whether the
// patient may be treated on it. The check and its request are stored before
// the send, and the answer (raw, even unreadable) with the verdict after,
// so whatever happens the check exists with every bundle exchanged.
func (r *mutationResolver) checkEligibility(ctx context.Context, patientGID, coverageGID string) (*hg.EligibilityCheck, error) {
	p, err := auth.Require(ctx, hg.RoleAdmin, hg.RoleBilling, hg.RoleReception)
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
	scope := auth.PatientScope(p)
	patient, err := r.Store.PatientByID(ctx, scope, patientID)
	if err != nil {
		return nil, err
	}
	cov, err := r.Store.CoverageByID(ctx, scope, coverageID)
	if err != nil {
		return nil, err
	}
	if cov.PatientID != patient.ID {
		return nil, hg.Invalid("coverageId", "the coverage belongs to another patient")
	}
	if r.NPHIESClient == nil || r.NPHIES == nil {
		return nil, hg.Errorf(hg.EUNAVAILABLE, "eligibility checks are unavailable: no NPHIES connection is configured")
	}

	now := time.Now()
	checkID, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("check id: %w", err)
	}
	msg, err := r.NPHIES.BuildEligibility(nphies.EligibilityInput{
		Envelope: nphies.NewEnvelope(now), RequestID: checkID, Created: now,
		Payer:    nphies.Payer{License: cov.PayerLicense, Name: cov.PayerName},
		Patient:  nphies.PatientOf(patient),
		Coverage: &nphies.CoverageInput{ID: cov.ID, MemberID: cov.MemberID, PolicyNumber: cov.PolicyNumber, PlanName: cov.Class},
		// The desk asks about today's visit.
		ServiceStart: now,
	})
	if errors.Is(err, nphies.ErrInvalidInput) {
		return nil, hg.Invalid("coverageId", "the eligibility request cannot be built: %s",
			strings.TrimPrefix(err.Error(), nphies.ErrInvalidInput.Error()+": "))
	} else if err != nil {
		return nil, fmt.Errorf("build eligibility bundle: %w", err)
	}
	// Audited with the check it creates, before the patient's data leaves
	// for NPHIES.
	check, err := r.Store.CreateEligibilityCheck(auditing(ctx, "eligibility.checked", "EligibilityCheck"), hg.NewEligibilityCheck{
		Check: hg.EligibilityCheck{ID: checkID, PatientID: patient.ID, CoverageID: cov.ID,
			PayerLicense: cov.PayerLicense, PayerName: cov.PayerName},
		Message: hg.NPHIESMessage{Direction: hg.Outbound, Event: msg.Event, BundleID: msg.BundleID.String(),
			MessageHeaderID: msg.MessageHeaderID.String(), Body: msg.Body, Delivery: hg.DeliveryPending,
			CreatedAt: now, TraceParent: observability.TraceParent(ctx)},
	})
	if err != nil {
		return nil, err
	}

	resp, sendErr := r.NPHIESClient.Send(ctx, msg)
	answer, unavailable := eligibilityAnswer(resp, sendErr)

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	out, err := r.Store.RecordEligibilityAnswer(rctx, check.ID, answer)
	if err != nil {
		return nil, fmt.Errorf("record eligibility answer: %w", err)
	}
	if unavailable {
		return nil, errNPHIESUnavailable
	}
	return out, nil
}

// eligibilityAnswer turns what Send returned into the verdict to record,
// and reports whether NPHIES was unavailable (no business answer came and
// a resend may succeed): the desk then gets UNAVAILABLE.
func eligibilityAnswer(resp *nphies.Response, sendErr error) (hg.EligibilityAnswer, bool) {
	if sendErr == nil && resp != nil && resp.Eligibility != nil {
		res := resp.Eligibility
		a := hg.EligibilityAnswer{Delivery: hg.DeliverySent, HTTPStatus: 200, Response: received(resp, nil, ""),
			Outcome: res.Outcome, SiteEligibility: res.SiteEligibility, Disposition: res.Disposition,
			Errors: issues(res.Errors)}
		if len(res.Coverages) > 0 {
			inForce := res.Inforce
			a.InForce = &inForce
		}
		switch {
		case res.Outcome == nphies.OutcomeComplete && res.Eligible():
			a.Status = hg.EligibilityEligible
		case res.Outcome == nphies.OutcomeComplete:
			a.Status = hg.EligibilityNotEligible
		default:
			a.Status = hg.EligibilityError
			a.LastError = "the payer answered with an error" + codesSuffix(a.Errors)
		}
		return a, false
	}
	a := hg.EligibilityAnswer{Status: hg.EligibilityError, Delivery: hg.DeliveryFailed}
	var ne *nphies.Error
	if !errors.As(sendErr, &ne) {
		// Send answered without an eligibility result and without a
		// Send error: not an answer to what we asked.
		a.LastError = "NPHIES's answer is not an eligibility response; it is stored for diagnosis"
		if resp != nil {
			a.Response = received(resp, resp.Raw, a.LastError)
		}
		return a, sendErr != nil
	}
	a.HTTPStatus = ne.StatusCode
	a.Errors = issues(ne.Issues)
	raw := ne.Raw
	if raw == nil && resp != nil {
		raw = resp.Raw
	}
	switch {
	case errors.Is(sendErr, nphies.ErrTransport):
		a.LastError = "NPHIES could not be reached (no answer)"
	case errors.Is(sendErr, nphies.ErrServerError):
		a.LastError = fmt.Sprintf("NPHIES answered HTTP %d", ne.StatusCode) + codesSuffix(a.Errors)
	case errors.Is(sendErr, nphies.ErrMalformed):
		a.LastError = "NPHIES's answer could not be read; it is stored for diagnosis"
	case errors.Is(sendErr, nphies.ErrRejected):
		a.LastError = "NPHIES refused the request" + codesSuffix(a.Errors)
	default:
		a.LastError = "NPHIES's answer does not answer this request; it is stored for diagnosis"
	}
	if raw != nil {
		problem := ""
		if errors.Is(sendErr, nphies.ErrMalformed) || errors.Is(sendErr, nphies.ErrUnexpected) {
			problem = a.LastError
		}
		a.Response = received(resp, raw, problem)
	}
	return a, nphies.Retryable(sendErr)
}

// received is the response to store: its identity when it could be read,
// and the raw bytes always.
func received(resp *nphies.Response, raw []byte, problem string) *hg.Received {
	r := &hg.Received{Body: raw, Problem: problem}
	if resp != nil {
		r.Event, r.BundleID, r.MessageHeaderID = resp.Event, resp.BundleID, resp.MessageHeaderID
		if r.Body == nil {
			r.Body = resp.Raw
		}
	}
	return r
}

// issues maps NPHIES issues to the codes a check keeps.
func issues(in []nphies.Issue) []hg.EligibilityIssue {
	out := make([]hg.EligibilityIssue, 0, len(in))
	for _, is := range in {
		out = append(out, hg.EligibilityIssue{Code: is.Code, Display: is.Display})
	}
	return out
}

// codesSuffix lists error codes for a message, e.g. " (1658)".
func codesSuffix(is []hg.EligibilityIssue) string {
	if len(is) == 0 {
		return ""
	}
	codes := make([]string, len(is))
	for i, e := range is {
		codes[i] = e.Code
	}
	return " (" + strings.Join(codes, ", ") + ")"
}
