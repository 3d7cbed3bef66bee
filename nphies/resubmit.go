package nphies

import (
	"context"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// ResubmitRequest asks for a claim the payer rejected or partly approved
// to be corrected and sent again, linked to it.
type ResubmitRequest struct {
	// ClaimID is the caller's "id": the claim to resubmit.
	ClaimID uuid.UUID
	// PractitionerID and Diagnoses are the corrected "input.practitionerId"
	// and "input.diagnoses".
	PractitionerID uuid.UUID
	Diagnoses      []string
	// Audit is the caller's audit event, appended with the claim queued.
	Audit hg.AuditEvent
	// TraceParent links the outbox's send to the caller's trace.
	TraceParent string
}

// Resubmit builds a new claim for the original's invoice with the
// corrections, carrying Claim.related (relationship "prior") to the
// original's identifier, and queues it; the original stops holding the
// invoice. NOT_FOUND when the claim, its invoice's parties or the
// practitioner are outside scope; CONFLICT when the claim is not a claim
// the payer rejected or partly approved, or was resubmitted already.
func (d *Desk) Resubmit(ctx context.Context, scope hg.PatientScope, req ResubmitRequest) (*hg.Claim, error) {
	orig, err := d.Store.ClaimByID(ctx, scope, req.ClaimID)
	if err != nil {
		return nil, err
	}
	switch {
	case orig.Use != hg.UseClaim || orig.Status != hg.ClaimRejected && orig.Status != hg.ClaimPartial:
		return nil, hg.Errorf(hg.ECONFLICT, "only a claim the payer rejected or partly approved can be resubmitted; this one is %s", orig.Status)
	case orig.Resubmitted:
		return nil, hg.Errorf(hg.ECONFLICT, "the claim was resubmitted already")
	case orig.InvoiceID == nil:
		return nil, hg.Invalid("id", "the claim has no invoice to claim again")
	}
	inv, err := d.Store.InvoiceByID(ctx, scope, *orig.InvoiceID)
	if err != nil {
		return nil, err
	}
	patient, err := d.Store.PatientByID(ctx, scope, inv.PatientID)
	if err != nil {
		return nil, err
	}
	cov, err := d.invoiceCoverage(ctx, scope, inv)
	if err != nil {
		return nil, err
	}
	pr, err := d.Store.PractitionerByID(ctx, req.PractitionerID)
	if err != nil {
		return nil, err
	}
	n, err := NewClaimMessage(d.Builder, hg.UseClaim, ClaimParties{Invoice: inv, Patient: patient, Coverage: cov,
		Practitioner: pr, Diagnoses: req.Diagnoses, Resubmits: &orig.ID, Type: orig.Type, Details: orig.Details}, time.Now())
	if err != nil {
		return nil, err
	}
	n.Message.TraceParent = req.TraceParent
	return d.Store.QueueResubmission(audited(ctx, req.Audit), n)
}
