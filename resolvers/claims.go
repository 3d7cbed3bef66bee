package resolvers

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/dataloader"
	"github.com/healthgraph/healthgraph/graph/model"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/observability"
)

// desk runs the NPHIES exchanges a caller starts, over the resolver's
// store, builder and client.
func (r *Resolver) desk() *nphies.Desk {
	return &nphies.Desk{Store: r.Store, Builder: r.NPHIES, Client: r.NPHIESClient}
}

// claimRequest reads what a claim is built from out of input.
func claimRequest(ctx context.Context, use hg.ClaimUse, input model.SubmitClaimInput) (nphies.ClaimRequest, error) {
	invoiceID, err := parseID("invoiceId", "Invoice", input.InvoiceID)
	if err != nil {
		return nphies.ClaimRequest{}, err
	}
	practitionerID, err := parseID("practitionerId", "Practitioner", input.PractitionerID)
	if err != nil {
		return nphies.ClaimRequest{}, err
	}
	var appointmentID *uuid.UUID
	if input.AppointmentID != nil {
		id, err := parseID("appointmentId", "Appointment", *input.AppointmentID)
		if err != nil {
			return nphies.ClaimRequest{}, err
		}
		appointmentID = &id
	}
	diagnoses, err := parseDiagnoses(input.Diagnoses)
	if err != nil {
		return nphies.ClaimRequest{}, err
	}
	attachments, err := decodeClaimAttachments(input.Attachments)
	if err != nil {
		return nphies.ClaimRequest{}, err
	}
	req := nphies.ClaimRequest{Use: use, InvoiceID: invoiceID, PractitionerID: practitionerID, AppointmentID: appointmentID, Diagnoses: diagnoses,
		Type: hg.ClaimProfessional, Attachments: attachments, TraceParent: observability.TraceParent(ctx)}
	if input.Type != nil {
		req.Type = *input.Type
	}
	for _, it := range input.Items {
		req.Details.Items = append(req.Details.Items, *it)
	}
	req.Details.Admission, req.Details.VisionPrescription, req.Details.Emergency = input.Admission, input.VisionPrescription, input.Emergency
	if a := req.Details.Admission; a != nil {
		// The diagnoses on admission are spelt as the claim's are.
		for i, code := range a.DiagnosesOnAdmission {
			a.DiagnosesOnAdmission[i] = strings.ToUpper(strings.TrimSpace(code))
		}
	}
	return req, nil
}

// queueClaim builds a claim or prior authorization from an invoice and
// queues it, through the NPHIES desk; the outbox delivers it. A claim NPHIES
// would refuse is refused here, naming the rules, and nothing is queued.
func (r *mutationResolver) queueClaim(ctx context.Context, use hg.ClaimUse, input model.SubmitClaimInput) (*hg.Claim, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	req, err := claimRequest(ctx, use, input)
	if err != nil {
		return nil, err
	}
	req.Audit = actorEvent(ctx, "claim.queued", "Claim")
	claim, err := r.desk().QueueClaim(ctx, auth.PatientScope(p), req)
	if err != nil {
		return nil, err
	}
	r.business().ClaimStatus(string(claim.Status))
	return claim, nil
}

// claimReadiness scrubs the claim input would build, storing nothing but
// the audit of the patient data read to build it.
func (r *queryResolver) claimReadiness(ctx context.Context, use hg.ClaimUse, input model.SubmitClaimInput) (*model.ClaimReadiness, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	req, err := claimRequest(ctx, nonEmptyUse(use), input)
	if err != nil {
		return nil, err
	}
	patientID, violations, err := r.desk().ClaimReadiness(ctx, auth.PatientScope(p), req)
	if err != nil {
		return nil, err
	}
	if err := r.audit(ctx, "claim.readiness_checked", "Invoice", req.InvoiceID, &patientID); err != nil {
		return nil, err
	}
	ready := nphies.Refusal("input", violations) == nil
	return &model.ClaimReadiness{Ready: ready, Violations: pointers(violations)}, nil
}

// nonEmptyUse is use, a claim when unset.
func nonEmptyUse(use hg.ClaimUse) hg.ClaimUse {
	if use == "" {
		return hg.UseClaim
	}
	return use
}

// parseDiagnoses normalises 1 to 12 ICD-10-AM codes, the principal first.
func parseDiagnoses(in []string) ([]string, error) {
	if len(in) == 0 || len(in) > 12 {
		return nil, hg.Invalid("diagnoses", "give 1 to 12 diagnosis codes")
	}
	out := make([]string, len(in))
	for i, d := range in {
		if out[i] = strings.ToUpper(strings.TrimSpace(d)); !hg.ValidICD10AM(out[i]) {
			return nil, hg.Invalid("diagnoses", "%q is not an ICD-10-AM code (a letter, two digits, optionally a dot and one or two digits)", truncate(d, 16))
		}
	}
	return out, nil
}

// cancel queues a cancel request for a claim, through the NPHIES desk.
func (r *mutationResolver) cancel(ctx context.Context, gid, reason string, code hg.CancelReason) (*hg.Claim, error) {
	id, err := parseID("id", "Claim", gid)
	if err != nil {
		return nil, err
	}
	if reason = strings.TrimSpace(reason); reason == "" || len(reason) > 500 {
		return nil, hg.Invalid("reason", "reason must be 1 to 500 characters")
	}
	return r.desk().Cancel(ctx, hg.PatientScope{All: true}, nphies.CancelRequest{ClaimID: id, Reason: code,
		Audit:       actorEvent(ctx, "claim.cancel_requested", "Claim"),
		TraceParent: observability.TraceParent(ctx)})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// claimWatcher returns the watcher's account as it is now when it may
// watch claims: billing and administrators, judged on the account rather
// than the token's claims, so a role removed after the token was issued is
// honoured at once. only, when set, must be a claim the watcher can see.
func (r *Resolver) claimWatcher(ctx context.Context, userID uuid.UUID, only *uuid.UUID) (*hg.User, error) {
	me, err := r.Store.UserByID(ctx, userID)
	switch {
	case hg.ErrorCode(err) == hg.ENOTFOUND || err == nil && me.Status != hg.UserActive:
		return nil, hg.Errorf(hg.EUNAUTHENTICATED, "account no longer active")
	case err != nil:
		return nil, err
	case me.Role != hg.RoleAdmin && me.Role != hg.RoleBilling:
		return nil, hg.Errorf(hg.EFORBIDDEN, "your role may not watch claims")
	}
	if only != nil {
		if _, err := r.Store.ClaimByID(ctx, auth.PatientScope(&hg.Principal{UserID: me.ID, Role: me.Role}), *only); err != nil {
			return nil, err
		}
	}
	return me, nil
}

// claimDelivery turns one event of the claims topic into what a
// claimUpdated subscriber receives: the claim as it is now, read through
// the scope-checked store (the event carries an id only), and audited as
// a read before it is shown. An event about another claim than the one
// followed is skipped.
func (r *Resolver) claimDelivery(ctx context.Context, userID uuid.UUID, only *uuid.UUID, m hg.EventMessage) (*model.ClaimChange, bool, error) {
	change := &model.ClaimChange{Gap: m.Outage || m.Resumed}
	if len(m.Payload) == 0 {
		return change, true, nil
	}
	id, err := uuid.ParseBytes(m.Payload)
	if err != nil || only != nil && id != *only {
		return nil, false, nil
	}
	me, err := r.claimWatcher(ctx, userID, nil)
	if err != nil {
		return nil, false, err
	}
	c, err := r.Store.ClaimByID(ctx, auth.PatientScope(&hg.Principal{UserID: me.ID, Role: me.Role}), id)
	if err != nil {
		return nil, false, nil
	}
	// The operation keeps its loaders for the subscription's life: each
	// delivery loads the claim's parties afresh and audits them again.
	dataloader.For(ctx).Forget()
	// Delivered only once audited; otherwise the watcher is told to
	// refetch, which is audited as any read.
	if err := r.delivered(ctx, me, "claim.delivered", "Claim", c.ID, c.PatientID); err != nil {
		change.Gap = true
	} else {
		change.Claim = model.NewClaim(c)
	}
	return change, true, nil
}

// shownClaim is c as the API shows it, and err.
func shownClaim(c *hg.Claim, err error) (*model.Claim, error) { return model.NewClaim(c), err }

// optionalAmount reads an optional amount of riyals given as field.
func optionalAmount(field string, s *string) (*hg.Halalas, error) {
	if s == nil {
		return nil, nil
	}
	h, err := hg.ParseSAR(field, *s)
	return &h, err
}

// decodeClaimAttachments decodes a claim's documents as a communication's
// and marks its investigation reports.
func decodeClaimAttachments(in []*model.ClaimAttachmentInput) ([]hg.Attachment, error) {
	docs := make([]*model.CommunicationAttachmentInput, len(in))
	for i, a := range in {
		docs[i] = &model.CommunicationAttachmentInput{Title: a.Title, ContentType: a.ContentType, Data: a.Data}
	}
	attachments, err := decodeAttachments(docs)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	for i := range attachments {
		attachments[i].Created = now
		attachments[i].InvestigationResult = in[i].Kind == hg.AttachmentInvestigationResult
	}
	return attachments, nil
}

// claimAppointment is the visit a claim carries the encounter of, shown to
// the roles that read appointments, within their scope, and audited as the
// direct read of it is.
func claimAppointment(ctx context.Context, id *uuid.UUID) (*model.Appointment, error) {
	if id == nil {
		return nil, nil
	}
	if _, err := asField(ctx, "appointments"); err != nil {
		return nil, err
	}
	a, err := party(ctx, func(l *dataloader.Loaders) (*hg.Appointment, error) { return l.Appointment(ctx, *id) },
		"appointment.read", "Appointment", appointmentSubject)
	return shownAppointment(ctx, a), err
}

// admissionOut is a claim's hospital stay as the API shows it; nil on a
// claim without one.
func admissionOut(a *hg.Admission) *model.Admission {
	if a == nil {
		return nil
	}
	return &model.Admission{Class: a.Class, AdmittedAt: a.AdmittedAt, DischargedAt: a.DischargedAt, AdmitSource: a.AdmitSource,
		AdmissionSpecialty: a.AdmissionSpecialty, DischargeSpecialty: optional(a.DischargeSpecialty),
		DischargeDisposition: optional(a.DischargeDisposition), CauseOfDeath: optional(a.CauseOfDeath),
		EstimatedLengthOfStayDays: optional(a.EstimatedLengthOfStayDays),
		DiagnosesOnAdmission:      append([]string{}, a.DiagnosesOnAdmission...)}
}

// visionPrescriptionOut is a claim's prescription as the API shows it;
// nil on a claim without one.
func visionPrescriptionOut(p *hg.VisionPrescription) *model.VisionPrescription {
	if p == nil {
		return nil
	}
	out := &model.VisionPrescription{WrittenAt: p.WrittenAt, Lenses: make([]*model.Lens, len(p.Lenses))}
	for i, l := range p.Lenses {
		out.Lenses[i] = &model.Lens{Eye: l.Eye, Product: l.Product, Sphere: l.Sphere, Cylinder: l.Cylinder, Axis: l.Axis,
			Add: l.Add, PrismAmount: l.PrismAmount, PrismBase: optional(l.PrismBase)}
	}
	return out
}

// emergencyOut is a claim's emergency as the API shows it; nil when the
// visit was none.
func emergencyOut(e *hg.Emergency) *model.Emergency {
	if e == nil {
		return nil
	}
	return &model.Emergency{TriageCategory: e.TriageCategory, TriageDate: e.TriageDate, ArrivalCode: optional(e.ArrivalCode),
		ServiceStart: e.ServiceStart, Disposition: optional(e.Disposition), CauseOfDeath: optional(e.CauseOfDeath)}
}

// prefetchClaimParties queues what a page of claims will ask for, as
// prefetchParties does: beyond the patients, coverages and invoices, the
// practitioners, the visits (for the roles that may read them) and the
// documents, when the query selects them.
func prefetchClaimParties(ctx context.Context, claims []*hg.Claim) {
	prefetchParties(ctx, claims, func(c *hg.Claim) uuid.UUID { return c.PatientID }, func(c *hg.Claim) *uuid.UUID { return c.InvoiceID })
	l := dataloader.For(ctx)
	if l == nil || len(claims) == 0 {
		return
	}
	var ids, practitioners, visits []uuid.UUID
	for _, c := range claims {
		ids = append(ids, c.ID)
		if c.PractitionerID != nil {
			practitioners = append(practitioners, *c.PractitionerID)
		}
		if c.AppointmentID != nil {
			visits = append(visits, *c.AppointmentID)
		}
	}
	// The thunks are not awaited: queuing the keys is the point.
	if selectsParty(ctx, "practitioner") {
		l.PractitionerByID.LoadAllThunk(ctx, practitioners)
	}
	if _, err := asField(ctx, "appointments"); err == nil && selectsParty(ctx, "appointment") {
		l.AppointmentByID.LoadAllThunk(ctx, visits)
	}
	if selectsParty(ctx, "attachments") {
		l.AttachmentsByClaimID.LoadAllThunk(ctx, ids)
	}
}
