package nphies

import (
	"context"
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
	// Items are the corrected "input.items", checked with
	// hg.ValidateCorrections; nil claims the invoice's lines again.
	Items []hg.ItemCorrection
	// Audit is the caller's audit event, appended with the claim queued.
	Audit hg.AuditEvent
	// TraceParent links the outbox's send to the caller's trace.
	TraceParent string
}

// Resubmit builds a new claim for the original's invoice and visit with
// the corrections (diagnoses, practitioner, items), carrying Claim.related
// (relationship "prior") to the original's identifier, the visit's
// findings and the prior authorizations the invoice has, scrubs it and
// queues it; the original stops holding the invoice. NOT_FOUND when the
// claim, its invoice's parties or the practitioner are outside scope;
// BAD_USER_INPUT naming "input.items" for a corrected item not in the
// catalogue or a claim type whose items carry details, naming
// "input.practitionerId" when the visit was with another practitioner, and
// naming "id" when the corrected claim breaks a rule NPHIES would refuse it
// for (the rule ids in the error's Rules; nothing is queued); CONFLICT when
// the claim is not a claim the payer rejected or partly approved, or was
// resubmitted already.
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
	case orig.AppointmentID == nil && orig.Type.NeedsEncounter():
		// Claims made before claims named their visit have no encounter
		// to send again, and none is made up.
		return nil, hg.Invalid("id", "the claim names no visit, and NPHIES needs its encounter: it cannot be resubmitted")
	case req.Items != nil && len(orig.Details.Items) > 0:
		return nil, hg.Invalid("input.items", "the items of a %s claim carry per-line details (a tooth, a days supply) that cannot be corrected yet", orig.Type)
	}
	if orig.AppointmentID != nil {
		visit, err := d.Store.AppointmentByID(ctx, scope, *orig.AppointmentID)
		if err != nil {
			return nil, err
		}
		if visit.PractitionerID != req.PractitionerID {
			return nil, hg.Invalid("input.practitionerId", "the claim is for a visit with another practitioner; name the visit's")
		}
	}
	// The documents go again with the corrected claim.
	attachments, err := d.Store.ClaimAttachments(ctx, orig.ID)
	if err != nil {
		return nil, err
	}
	n, violations, err := d.draftClaim(ctx, scope, ClaimRequest{Use: hg.UseClaim, InvoiceID: *orig.InvoiceID,
		PractitionerID: req.PractitionerID, AppointmentID: orig.AppointmentID, Diagnoses: req.Diagnoses,
		Type: orig.Type, Details: orig.Details, Attachments: attachments, resubmits: &orig.ID, corrections: req.Items})
	if err != nil {
		return nil, err
	}
	if err := Refusal("id", violations); err != nil {
		return nil, err
	}
	n.Message.TraceParent = req.TraceParent
	return d.Store.QueueResubmission(audited(ctx, req.Audit), n)
}

// corrected is inv with its lines replaced by the corrected items, each
// taken from the catalogue (at its price unless corrected) and priced as
// an invoice line, and its totals recomputed; the stored invoice is not
// changed.
func (d *Desk) corrected(ctx context.Context, inv *hg.Invoice, items []hg.ItemCorrection) (*hg.Invoice, error) {
	lines := make([]hg.NewInvoiceLine, len(items))
	for i, it := range items {
		lines[i] = hg.NewInvoiceLine{ItemID: &it.ItemID, Quantity: it.Quantity}
	}
	find := func(ids []uuid.UUID) ([]*hg.CatalogueItem, error) { return d.Store.CatalogueItems(ctx, ids) }
	if err := hg.BillFromCatalogue(lines, "input.items.itemId", find); err != nil {
		return nil, err
	}
	for i, it := range items {
		if it.UnitPrice != nil {
			lines[i].UnitPrice = *it.UnitPrice
		}
	}
	out := *inv
	out.Lines, out.InvoiceTotals = hg.PriceLines(lines, inv.CopayPercent)
	return &out, nil
}
