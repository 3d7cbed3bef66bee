package resolvers

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/graph/model"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/observability"
)

// queueClaim builds a claim or prior authorization from an invoice and
// queues it with its bundle in one transaction; the outbox delivers it.
func (r *mutationResolver) queueClaim(ctx context.Context, use hg.ClaimUse, input model.SubmitClaimInput) (*hg.Claim, error) {
	p, err := auth.Require(ctx, hg.RoleAdmin, hg.RoleBilling)
	if err != nil {
		return nil, err
	}
	invoiceID, err := parseID("invoiceId", "Invoice", input.InvoiceID)
	if err != nil {
		return nil, err
	}
	practitionerID, err := parseID("practitionerId", "Practitioner", input.PractitionerID)
	if err != nil {
		return nil, err
	}
	if len(input.Diagnoses) == 0 || len(input.Diagnoses) > 12 {
		return nil, hg.Invalid("diagnoses", "give 1 to 12 diagnosis codes")
	}
	diagnoses := make([]string, len(input.Diagnoses))
	for i, d := range input.Diagnoses {
		if diagnoses[i] = strings.ToUpper(strings.TrimSpace(d)); !hg.ValidICD10(diagnoses[i]) {
			return nil, hg.Invalid("diagnoses", "%q is not an ICD-10 code", truncate(d, 16))
		}
	}

	scope := auth.PatientScope(p)
	inv, err := r.Store.InvoiceByID(ctx, scope, invoiceID)
	if err != nil {
		return nil, err
	}
	switch {
	case inv.CoverageID == nil || inv.InsurerShare == 0:
		return nil, hg.Invalid("invoiceId", "the invoice has no insurer share to claim")
	case use == hg.UseClaim && (inv.Status == hg.InvoiceDraft || inv.Status == hg.InvoiceVoid):
		return nil, hg.Invalid("invoiceId", "only an issued invoice can be claimed; this one is %s", inv.Status)
	case use == hg.UsePreAuth && inv.Status == hg.InvoiceVoid:
		return nil, hg.Invalid("invoiceId", "the invoice is void")
	}
	patient, err := r.Store.PatientByID(ctx, scope, inv.PatientID)
	if err != nil {
		return nil, err
	}
	coverages, err := r.Store.CoveragesByPatientIDs(ctx, scope, []uuid.UUID{inv.PatientID})
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(coverages, func(c *hg.Coverage) bool { return c.ID == *inv.CoverageID })
	if i < 0 {
		return nil, hg.Errorf(hg.ENOTFOUND, "coverage not found")
	}
	if !coverages[i].ActiveOn(time.Now()) {
		return nil, hg.Invalid("invoiceId", "the patient's coverage is not active today")
	}
	pr, err := r.Store.PractitionerByID(ctx, practitionerID)
	if err != nil {
		return nil, err
	}
	n, err := nphies.NewClaimMessage(r.NPHIES, use, nphies.ClaimParties{Invoice: inv, Patient: patient,
		Coverage: coverages[i], Practitioner: pr, Diagnoses: diagnoses}, time.Now())
	if err != nil {
		return nil, err
	}
	n.Message.TraceParent = observability.TraceParent(ctx)
	claim, err := r.Store.QueueClaim(auditing(ctx, "claim.queued", "Claim"), n)
	if err != nil {
		return nil, err
	}
	r.business().ClaimStatus(string(claim.Status))
	return claim, nil
}

// cancel queues a cancel request for a claim.
func (r *mutationResolver) cancel(ctx context.Context, id uuid.UUID, reason string) (*hg.Claim, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return nil, hg.Invalid("reason", "reason must be 1 to 500 characters")
	}
	claim, err := r.Store.ClaimByID(ctx, hg.PatientScope{All: true}, id)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	taskID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	msg, err := r.NPHIES.BuildCancel(nphies.TaskInput{Envelope: nphies.NewEnvelope(now), TaskID: taskID, Created: now,
		Payer: nphies.Payer{License: claim.PayerLicense, Name: claim.PayerName}, Claim: r.NPHIES.ClaimIdentifier(claim.ID)})
	if err != nil {
		return nil, err
	}
	return r.Store.QueueCancel(ctx, id, hg.NPHIESMessage{ClaimID: &claim.ID, Direction: hg.Outbound, Event: msg.Event,
		BundleID: msg.BundleID.String(), MessageHeaderID: msg.MessageHeaderID.String(), Body: msg.Body,
		Delivery: hg.DeliveryPending, NextAttemptAt: now, CreatedAt: now, TraceParent: observability.TraceParent(ctx)})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
