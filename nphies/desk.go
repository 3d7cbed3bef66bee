package nphies

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// DeskStore is what the desk reads and writes: calls of the root package's
// store interfaces (patients, coverages, billing, practitioners,
// eligibility, claims), narrowed to the ones an exchange makes. hg.Store
// satisfies it.
type DeskStore interface {
	PatientByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.Patient, error)
	CoverageByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.Coverage, error)
	CoveragesByPatientIDs(ctx context.Context, scope hg.PatientScope, patientIDs []uuid.UUID) ([]*hg.Coverage, error)
	InvoiceByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.Invoice, error)
	PractitionerByID(ctx context.Context, id uuid.UUID) (*hg.Practitioner, error)
	CatalogueItems(ctx context.Context, ids []uuid.UUID) ([]*hg.CatalogueItem, error)
	AppointmentByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.Appointment, error)
	PriorAuthorizations(ctx context.Context, invoiceID uuid.UUID) ([]hg.PriorAuthorization, error)
	VisitFindings(ctx context.Context, scope hg.PatientScope, appointmentID uuid.UUID) (*hg.VisitFindings, error)
	ClaimByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.Claim, error)
	ClaimAttachments(ctx context.Context, claimID uuid.UUID) ([]hg.Attachment, error)
	CreateEligibilityCheck(ctx context.Context, n hg.NewEligibilityCheck) (*hg.EligibilityCheck, error)
	RecordEligibilityAnswer(ctx context.Context, id uuid.UUID, a hg.EligibilityAnswer) (*hg.EligibilityCheck, error)
	QueueClaim(ctx context.Context, n hg.NewClaim) (*hg.Claim, error)
	QueueResubmission(ctx context.Context, n hg.NewClaim) (*hg.Claim, error)
	QueueCancel(ctx context.Context, id uuid.UUID, msg hg.NPHIESMessage) (*hg.Claim, error)
	ClaimCommunicationByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.ClaimCommunication, error)
	QueueCommunication(ctx context.Context, n hg.NewCommunication) (*hg.ClaimCommunication, error)
}

var _ DeskStore = hg.Store(nil)

// Desk runs the exchanges a person at the clinic starts: an eligibility
// check, which the desk waits for, and a claim, a prior authorization or a
// cancel, which it queues for the outbox worker. The caller decides who may
// do what and passes the scope of records the caller may see; the desk
// loads within it, validates what NPHIES needs, builds the bundle, and
// stores it (audited with the caller's event) before anything leaves.
// Errors are domain errors (hg.Error) naming the caller's input field.
type Desk struct {
	// Store keeps the records and the messages.
	Store DeskStore
	// Builder builds the bundles.
	Builder *Builder
	// Client sends the synchronous requests (eligibility); nil makes them
	// UNAVAILABLE. Queued messages are sent by the Worker's own client.
	Client *Client
}

// recordTimeout bounds recording an eligibility answer after the send
// returned. It runs on a context detached from the caller's, so a desk that
// gave up still leaves the check answered rather than PENDING.
const recordTimeout = 10 * time.Second

// errNPHIESUnavailable is what the desk sees when NPHIES could not be
// reached; the check is stored as ERROR.
var errNPHIESUnavailable = hg.Errorf(hg.EUNAVAILABLE,
	"NPHIES could not be reached; the check is stored as ERROR, try again in a moment")

// EligibilityRequest asks whether a patient may be treated on a coverage
// today.
type EligibilityRequest struct {
	// PatientID and CoverageID are the caller's "patientId" and
	// "coverageId".
	PatientID, CoverageID uuid.UUID
	// Audit is the caller's audit event, appended with the check it creates
	// before the patient's data leaves for NPHIES. It is given here rather
	// than in ctx because the check makes two writes and only the first is
	// audited.
	Audit hg.AuditEvent
	// TraceParent links the stored request to the caller's trace.
	TraceParent string
}

// CheckEligibility asks the coverage's payer, synchronously, whether the
// patient may be treated on it. The check and its request are stored
// before the send, and the answer (raw, even unreadable) with the verdict
// after, so whatever happens the check exists with every bundle exchanged.
// NOT_FOUND when the patient or coverage is outside scope; BAD_USER_INPUT
// naming "coverageId" when the coverage is another patient's or misses what
// NPHIES requires; UNAVAILABLE without a client, or when NPHIES could not
// be reached (the check is then stored as ERROR).
func (d *Desk) CheckEligibility(ctx context.Context, scope hg.PatientScope, req EligibilityRequest) (*hg.EligibilityCheck, error) {
	patient, err := d.Store.PatientByID(ctx, scope, req.PatientID)
	if err != nil {
		return nil, err
	}
	cov, err := d.Store.CoverageByID(ctx, scope, req.CoverageID)
	if err != nil {
		return nil, err
	}
	if cov.PatientID != patient.ID {
		return nil, hg.Invalid("coverageId", "the coverage belongs to another patient")
	}
	if d.Client == nil || d.Builder == nil {
		return nil, errNoNPHIES
	}
	subscriber, err := d.subscriber(ctx, scope, cov, "coverageId")
	if err != nil {
		return nil, err
	}
	check := hg.EligibilityCheck{PatientID: patient.ID, Purpose: hg.EligibilityValidation, CoverageID: &cov.ID,
		PayerLicense: cov.PayerLicense, PayerName: cov.PayerName}
	in := EligibilityInput{Payer: Payer{License: cov.PayerLicense, Name: cov.PayerName},
		Patient: PatientOf(patient), Coverage: ptr(CoverageOf(cov, subscriber))}
	return d.askPayer(ctx, check, in, req.Audit, req.TraceParent, "coverageId")
}

// DiscoveryRequest asks a payer which coverages it holds for a patient.
type DiscoveryRequest struct {
	// PatientID is the caller's "patientId".
	PatientID uuid.UUID
	// Payer is the payer asked: the caller's "payerLicense" and
	// "payerName".
	Payer Payer
	// Audit and TraceParent are as for EligibilityRequest.
	Audit       hg.AuditEvent
	TraceParent string
}

// DiscoverCoverage asks a payer, synchronously, which coverages it holds
// for the patient: an eligibility-request with the purpose discovery and
// no Coverage (NPHIES.md §2.4, official example 15a). The check is stored
// and answered as CheckEligibility's is; the coverages found are on the
// answered check (Discovered). NOT_FOUND when the patient is outside
// scope; BAD_USER_INPUT naming "payerLicense" or "payerName";
// UNAVAILABLE as for CheckEligibility.
func (d *Desk) DiscoverCoverage(ctx context.Context, scope hg.PatientScope, req DiscoveryRequest) (*hg.EligibilityCheck, error) {
	payer := req.Payer
	if err := hg.ValidatePayer(&payer.License, &payer.Name); err != nil {
		return nil, err
	}
	patient, err := d.Store.PatientByID(ctx, scope, req.PatientID)
	if err != nil {
		return nil, err
	}
	if d.Client == nil || d.Builder == nil {
		return nil, errNoNPHIES
	}
	check := hg.EligibilityCheck{PatientID: patient.ID, Purpose: hg.EligibilityDiscovery,
		PayerLicense: payer.License, PayerName: payer.Name}
	in := EligibilityInput{Payer: payer, Patient: PatientOf(patient), Purposes: []string{"discovery"}}
	return d.askPayer(ctx, check, in, req.Audit, req.TraceParent, "patientId")
}

// errNoNPHIES answers an eligibility exchange when no NPHIES connection is
// configured.
var errNoNPHIES = hg.Errorf(hg.EUNAVAILABLE, "eligibility checks are unavailable: no NPHIES connection is configured")

// askPayer stores the check with its request before the send, and the
// answer (raw, even unreadable) with the verdict after, so whatever
// happens the check exists with every bundle exchanged. The check's
// identity and today's visit are filled in here; field names the input a
// bundle that cannot be built is blamed on.
func (d *Desk) askPayer(ctx context.Context, check hg.EligibilityCheck, in EligibilityInput, audit hg.AuditEvent, traceParent, field string) (*hg.EligibilityCheck, error) {
	now := time.Now()
	checkID, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("check id: %w", err)
	}
	check.ID = checkID
	in.Envelope, in.RequestID, in.Created = NewEnvelope(now), checkID, now
	// The desk asks about today's visit.
	in.ServiceStart = now
	msg, err := d.Builder.BuildEligibility(in)
	if ie := (*InputError)(nil); errors.As(err, &ie) {
		return nil, hg.Invalid(field, "the eligibility request cannot be built: %s", ie.Reason)
	} else if err != nil {
		return nil, fmt.Errorf("build eligibility bundle: %w", err)
	}
	n := hg.NewEligibilityCheck{Check: check, Message: outgoingRow(msg, nil, now)}
	n.Message.TraceParent = traceParent
	stored, err := d.Store.CreateEligibilityCheck(audited(ctx, audit), n)
	if err != nil {
		return nil, err
	}

	resp, sendErr := d.Client.Send(ctx, msg)
	answer, unavailable := eligibilityAnswer(resp, sendErr)

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	out, err := d.Store.RecordEligibilityAnswer(rctx, stored.ID, answer)
	if err != nil {
		return nil, fmt.Errorf("record eligibility answer: %w", err)
	}
	if unavailable {
		return nil, errNPHIESUnavailable
	}
	return out, nil
}

// audited returns ctx carrying e for the one write it is passed to; an
// empty event (a caller that audits nothing) leaves ctx as it is.
func audited(ctx context.Context, e hg.AuditEvent) context.Context {
	if e.Action == "" {
		return ctx
	}
	return hg.WithAudit(ctx, e)
}

// outgoingRow is a built message as the store keeps it before its first
// send.
func outgoingRow(msg *Message, claimID *uuid.UUID, now time.Time) hg.NPHIESMessage {
	return hg.NPHIESMessage{ClaimID: claimID, Direction: hg.Outbound, Event: msg.Event, BundleID: msg.BundleID.String(),
		MessageHeaderID: msg.MessageHeaderID.String(), Body: msg.Body, Delivery: hg.DeliveryPending, CreatedAt: now}
}

// eligibilityAnswer turns what Send returned into the verdict to record,
// and reports whether NPHIES was unavailable (no business answer came and
// a resend may succeed): the desk then gets UNAVAILABLE.
func eligibilityAnswer(resp *Response, sendErr error) (hg.EligibilityAnswer, bool) {
	if sendErr != nil {
		f := ClassifyFailure(resp, sendErr)
		return hg.EligibilityAnswer{Status: hg.EligibilityError, Delivery: hg.DeliveryFailed, HTTPStatus: f.HTTPStatus,
			Errors: eligibilityIssues(f.Issues), LastError: f.Reason, Response: f.Response}, f.Retryable
	}
	if resp == nil || resp.Eligibility == nil {
		// Send answered without an eligibility result and without an
		// error: not an answer to what we asked.
		a := hg.EligibilityAnswer{Status: hg.EligibilityError, Delivery: hg.DeliveryFailed,
			LastError: "NPHIES's answer is not an eligibility response; it is stored for diagnosis"}
		if resp != nil {
			a.Response = asReceived(resp, resp.Raw, a.LastError)
		}
		return a, false
	}
	return eligibilityVerdict(resp), false
}

// eligibilityVerdict reads the payer's business answer: ELIGIBLE,
// NOT_ELIGIBLE, or ERROR when the payer answered with an error.
func eligibilityVerdict(resp *Response) hg.EligibilityAnswer {
	res := resp.Eligibility
	a := hg.EligibilityAnswer{Delivery: hg.DeliverySent, HTTPStatus: 200, Response: asReceived(resp, nil, ""),
		Outcome: res.Outcome, SiteEligibility: res.SiteEligibility, Disposition: res.Disposition,
		Errors: eligibilityIssues(res.Errors), Discovered: discovered(res.Coverages)}
	if len(res.Coverages) > 0 {
		inForce := res.Inforce
		a.InForce = &inForce
	}
	switch {
	case res.Outcome == OutcomeComplete && res.Eligible():
		a.Status = hg.EligibilityEligible
	case res.Outcome == OutcomeComplete:
		a.Status = hg.EligibilityNotEligible
	default:
		a.Status = hg.EligibilityError
		a.LastError = "the payer answered with an error" + codesSuffix(a.Errors)
	}
	return a
}

// eligibilityIssues maps NPHIES issues to the codes a check keeps.
func eligibilityIssues(in []Issue) []hg.EligibilityIssue {
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

// ClaimRequest asks for an invoice's insurer share to be claimed, or
// authorized in advance.
type ClaimRequest struct {
	// Use is a claim or a prior authorization.
	Use hg.ClaimUse
	// InvoiceID and PractitionerID are the caller's "invoiceId" and
	// "practitionerId".
	InvoiceID, PractitionerID uuid.UUID
	// AppointmentID is the caller's "appointmentId": the visit, whose
	// encounter the claim carries.
	AppointmentID *uuid.UUID
	// Diagnoses are validated ICD-10-AM codes, the principal first.
	Diagnoses []string
	// Type is the caller's "type" (professional when empty) and Details
	// its "items", "admission" and "visionPrescription".
	Type    hg.ClaimType
	Details hg.ClaimDetails
	// Attachments are the caller's "attachments": documents the claim
	// carries, each with the time it was attached.
	Attachments []hg.Attachment
	// Audit is the caller's audit event, appended with the claim queued.
	Audit hg.AuditEvent
	// TraceParent links the outbox's send to the caller's trace.
	TraceParent string
	// resubmits is the claim this one corrects and corrections its
	// corrected items (Resubmit's; nil claims the invoice's lines).
	resubmits   *uuid.UUID
	corrections []hg.ItemCorrection
}

// QueueClaim builds a claim or prior authorization from an invoice and
// queues it with its bundle in one transaction; the outbox delivers it.
// NOT_FOUND when the invoice, its patient or coverage, or the practitioner
// is outside scope; BAD_USER_INPUT naming "invoiceId" when the invoice
// cannot be claimed (no insurer share, not issued, void), misses what
// NPHIES requires, or breaks a rule NPHIES would refuse it for (the rule
// ids in the error's Rules; nothing is queued); CONFLICT when the invoice
// already has a live claim.
func (d *Desk) QueueClaim(ctx context.Context, scope hg.PatientScope, req ClaimRequest) (*hg.Claim, error) {
	n, violations, err := d.draftClaim(ctx, scope, req)
	if err != nil {
		return nil, err
	}
	if err := Refusal("invoiceId", violations); err != nil {
		return nil, err
	}
	n.Message.TraceParent = req.TraceParent
	return d.Store.QueueClaim(audited(ctx, req.Audit), n)
}

// visit loads the appointment a claim names, which must be the invoice's
// patient's with the treating practitioner; nil when none is named.
func (d *Desk) visit(ctx context.Context, scope hg.PatientScope, req ClaimRequest, inv *hg.Invoice) (*hg.Appointment, error) {
	if req.AppointmentID == nil {
		return nil, nil
	}
	a, err := d.Store.AppointmentByID(ctx, scope, *req.AppointmentID)
	switch {
	case err != nil:
		return nil, err
	case a.PatientID != inv.PatientID:
		return nil, hg.Invalid("appointmentId", "the appointment is another patient's")
	case a.PractitionerID != req.PractitionerID:
		return nil, hg.Invalid("appointmentId", "the appointment is with another practitioner")
	}
	return a, nil
}

// ClaimReadiness builds the claim QueueClaim would queue for req, without
// storing or sending anything, and returns every rule of NPHIES's it
// breaks, traced back to the record to edit, with the claim's patient (for
// the caller's audit of what it read). Errors as QueueClaim's, but for the
// violations, which are the answer.
func (d *Desk) ClaimReadiness(ctx context.Context, scope hg.PatientScope, req ClaimRequest) (uuid.UUID, []hg.ClaimViolation, error) {
	n, violations, err := d.draftClaim(ctx, scope, req)
	return n.Claim.PatientID, violations, err
}

// draftClaim loads what a claim is built from, builds it and scrubs it.
func (d *Desk) draftClaim(ctx context.Context, scope hg.PatientScope, req ClaimRequest) (hg.NewClaim, []hg.ClaimViolation, error) {
	if err := hg.ValidAttachments(req.Attachments); err != nil {
		return hg.NewClaim{}, nil, err
	}
	inv, err := d.Store.InvoiceByID(ctx, scope, req.InvoiceID)
	if err != nil {
		return hg.NewClaim{}, nil, err
	}
	if err := claimable(req.Use, inv); err != nil {
		return hg.NewClaim{}, nil, err
	}
	if req.corrections != nil {
		if inv, err = d.corrected(ctx, inv, req.corrections); err != nil {
			return hg.NewClaim{}, nil, err
		}
	}
	patient, err := d.Store.PatientByID(ctx, scope, inv.PatientID)
	if err != nil {
		return hg.NewClaim{}, nil, err
	}
	cov, err := d.invoiceCoverage(ctx, scope, inv)
	if err != nil {
		return hg.NewClaim{}, nil, err
	}
	subscriber, err := d.subscriber(ctx, scope, cov, "invoiceId")
	if err != nil {
		return hg.NewClaim{}, nil, err
	}
	pr, err := d.Store.PractitionerByID(ctx, req.PractitionerID)
	if err != nil {
		return hg.NewClaim{}, nil, err
	}
	visit, err := d.visit(ctx, scope, req, inv)
	if err != nil {
		return hg.NewClaim{}, nil, err
	}
	var auths []hg.PriorAuthorization
	if req.Use == hg.UseClaim {
		// A claim after an approved prior authorization quotes it
		// (BV-00449), or the payer rejects what it had authorized.
		if auths, err = d.Store.PriorAuthorizations(ctx, inv.ID); err != nil {
			return hg.NewClaim{}, nil, err
		}
	}
	var findings *hg.VisitFindings
	if visit != nil {
		if findings, err = d.Store.VisitFindings(ctx, scope, visit.ID); err != nil {
			return hg.NewClaim{}, nil, err
		}
	}
	now := time.Now()
	typ := req.Type
	if typ == "" {
		typ = hg.ClaimProfessional
	}
	if err := checkDetails(typ, req.Use, req.Details, inv, req.Diagnoses, now); err != nil {
		return hg.NewClaim{}, nil, err
	}
	n, err := NewClaimMessage(d.Builder, req.Use, ClaimParties{Invoice: inv, Patient: patient,
		Coverage: cov, Subscriber: subscriber, Practitioner: pr, Appointment: visit, Findings: findings,
		Diagnoses: req.Diagnoses, PriorAuths: auths, Resubmits: req.resubmits, Type: typ, Details: req.Details,
		Attachments: req.Attachments}, now)
	if err != nil {
		return hg.NewClaim{}, nil, err
	}
	violations, err := Scrub(n.Message.Body, cov, inv.CreatedAt)
	return n, violations, err
}

// claimable refuses an invoice that cannot be claimed for use: one without
// an insurer share, a void one, and for a claim one not issued yet (a prior
// authorization may ask before).
func claimable(use hg.ClaimUse, inv *hg.Invoice) error {
	switch {
	case inv.CoverageID == nil || inv.InsurerShare == 0:
		return hg.Invalid("invoiceId", "the invoice has no insurer share to claim")
	case use == hg.UseClaim && (inv.Status == hg.InvoiceDraft || inv.Status == hg.InvoiceVoid):
		return hg.Invalid("invoiceId", "only an issued invoice can be claimed; this one is %s", inv.Status)
	case use == hg.UsePreAuth && inv.Status == hg.InvoiceVoid:
		return hg.Invalid("invoiceId", "the invoice is void")
	}
	return nil
}

// invoiceCoverage returns the coverage the invoice bills; whether it was in
// force on the service date is the scrubber's question.
func (d *Desk) invoiceCoverage(ctx context.Context, scope hg.PatientScope, inv *hg.Invoice) (*hg.Coverage, error) {
	coverages, err := d.Store.CoveragesByPatientIDs(ctx, scope, []uuid.UUID{inv.PatientID})
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(coverages, func(c *hg.Coverage) bool { return c.ID == *inv.CoverageID })
	if i < 0 {
		return nil, hg.Errorf(hg.ENOTFOUND, "coverage not found")
	}
	return coverages[i], nil
}

// subscriber loads the subscriber of a dependant's coverage; nil when the
// patient is her own. A subscriber the caller may not see refuses the
// exchange on field, as NPHIES could not be told who holds the policy.
func (d *Desk) subscriber(ctx context.Context, scope hg.PatientScope, cov *hg.Coverage, field string) (*hg.Patient, error) {
	if cov.SubscriberID == nil {
		return nil, nil
	}
	s, err := d.Store.PatientByID(ctx, scope, *cov.SubscriberID)
	if hg.ErrorCode(err) == hg.ENOTFOUND {
		return nil, hg.Invalid(field, "the coverage's subscriber is not a patient you may see")
	}
	return s, err
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// CancelRequest asks NPHIES to cancel a submitted claim.
type CancelRequest struct {
	// ClaimID is the caller's "id".
	ClaimID uuid.UUID
	// Reason is the caller's "reasonCode"; WRONG_INFORMATION when empty.
	Reason hg.CancelReason
	// Audit is the caller's audit event, appended with the cancel queued.
	Audit hg.AuditEvent
	// TraceParent links the outbox's send to the caller's trace.
	TraceParent string
}

// cancelReasons are NPHIES's task-reason-code codes for our cancel reasons.
var cancelReasons = map[hg.CancelReason]string{
	hg.CancelWrongInformation: "WI", hg.CancelNotPerformed: "NP", hg.CancelAlreadySubmitted: "TAS",
}

// Cancel queues a cancel request for a claim; the claim becomes CANCELLED
// once NPHIES confirms. NOT_FOUND when the claim is outside scope;
// BAD_USER_INPUT naming "reasonCode" for a reason NPHIES does not know;
// CONFLICT when it cannot be cancelled.
func (d *Desk) Cancel(ctx context.Context, scope hg.PatientScope, req CancelRequest) (*hg.Claim, error) {
	reason, ok := cancelReasons[req.Reason]
	if req.Reason == "" {
		reason, ok = "WI", true
	}
	if !ok {
		return nil, hg.Invalid("reasonCode", "cancel reason %q is not one NPHIES knows", req.Reason)
	}
	claim, err := d.Store.ClaimByID(ctx, scope, req.ClaimID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	taskID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	msg, err := d.Builder.BuildCancel(TaskInput{Envelope: NewEnvelope(now), TaskID: taskID, Created: now,
		Payer: Payer{License: claim.PayerLicense, Name: claim.PayerName}, Claim: d.Builder.ClaimIdentifier(claim.ID),
		Reason: reason})
	if err != nil {
		return nil, err
	}
	m := outgoingRow(msg, &claim.ID, now)
	m.NextAttemptAt, m.TraceParent = now, req.TraceParent
	return d.Store.QueueCancel(audited(ctx, req.Audit), req.ClaimID, m)
}
