package healthgraph

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// ClaimUse tells a claim from a prior authorization request.
type ClaimUse string

// Claim uses.
const (
	UseClaim   ClaimUse = "claim"
	UsePreAuth ClaimUse = "preauthorization"
)

// CancelReason is why a claim is cancelled, from NPHIES's task-reason-code
// list.
type CancelReason string

// The cancel reasons NPHIES knows.
const (
	CancelWrongInformation CancelReason = "WRONG_INFORMATION"
	CancelNotPerformed     CancelReason = "SERVICE_NOT_PERFORMED"
	CancelAlreadySubmitted CancelReason = "TRANSACTION_ALREADY_SUBMITTED"
)

// Valid reports whether r is one of the known cancel reasons.
func (r CancelReason) Valid() bool {
	return r == CancelWrongInformation || r == CancelNotPerformed || r == CancelAlreadySubmitted
}

// ClaimViolation is one of NPHIES's rules a claim would break, as the
// pre-submission scrubber finds it before anything is sent: where it is in
// the message, and what the clerk edits to mend it.
type ClaimViolation struct {
	// Rule is NPHIES's rule id (BV-00772) or, for what a payer refuses on
	// its own records, its adjudication-error code (1664).
	Rule string
	// Expression is the element's location in the bundle, e.g.
	// Bundle.entry[3].resource.item[0].productOrService.
	Expression string
	// Message is NPHIES's official display text.
	Message string
	// Blocking is true when NPHIES refuses the message for it.
	Blocking bool
	// Part is the record to edit; LineSequence the invoice line when Part
	// is ClaimPartInvoiceLine.
	Part         ClaimPart
	LineSequence int
}

// ClaimPart is the record a claim's violation is mended in.
type ClaimPart string

// The parts a violation is traced back to.
const (
	ClaimPartPatient      ClaimPart = "PATIENT"
	ClaimPartSubscriber   ClaimPart = "SUBSCRIBER"
	ClaimPartCoverage     ClaimPart = "COVERAGE"
	ClaimPartPayer        ClaimPart = "PAYER"
	ClaimPartPractitioner ClaimPart = "PRACTITIONER"
	ClaimPartInvoice      ClaimPart = "INVOICE"
	ClaimPartInvoiceLine  ClaimPart = "INVOICE_LINE"
	ClaimPartDiagnoses    ClaimPart = "DIAGNOSES"
	ClaimPartVisit        ClaimPart = "VISIT"
	ClaimPartClinic       ClaimPart = "CLINIC"
	ClaimPartClaim        ClaimPart = "CLAIM"
)

// ClaimStatus is where a claim is on its way through NPHIES.
type ClaimStatus string

// Claim states. QUEUED: written with its outgoing message, not yet sent.
// SUBMITTED: NPHIES took it. PENDING: queued at the payer, the answer comes
// by polling. ERROR: delivery failed for good or NPHIES refused it; a person
// must look (retryClaim sends it again).
const (
	ClaimDraft     ClaimStatus = "DRAFT"
	ClaimQueued    ClaimStatus = "QUEUED"
	ClaimSubmitted ClaimStatus = "SUBMITTED"
	ClaimPending   ClaimStatus = "PENDING"
	ClaimApproved  ClaimStatus = "APPROVED"
	ClaimPartial   ClaimStatus = "PARTIAL"
	ClaimRejected  ClaimStatus = "REJECTED"
	ClaimError     ClaimStatus = "ERROR"
	ClaimCancelled ClaimStatus = "CANCELLED"
)

// Final reports whether the payer has decided s.
func (s ClaimStatus) Final() bool {
	return s == ClaimApproved || s == ClaimPartial || s == ClaimRejected || s == ClaimCancelled
}

// Claim is a claim or prior authorization sent to a payer through NPHIES.
// Its bundle identity is fixed when it is created and reused on every
// retry, so NPHIES can recognise a resend.
type Claim struct {
	ID  uuid.UUID
	Use ClaimUse
	// Type is the kind of claim; Details what it carries for its type.
	Type         ClaimType
	Details      ClaimDetails
	InvoiceID    *uuid.UUID
	PatientID    uuid.UUID
	CoverageID   uuid.UUID
	PayerLicense string
	PayerName    string
	Status       ClaimStatus
	// Total is the claim's gross total as NPHIES counts it (the sum of the
	// item nets including VAT); Approved is the benefit the payer granted.
	Total    Halalas
	Approved *Halalas
	// Disposition is the payer's free text; PreAuthRef the reference of an
	// approved prior authorization.
	Disposition string
	PreAuthRef  string
	// LastError says why the claim is in ERROR, in words safe to show.
	LastError string
	// PractitionerID is the practitioner the claim bills for, when known.
	PractitionerID *uuid.UUID
	// AppointmentID is the visit the claim is for: its encounter, whose
	// findings it carries. Nil on claims made before claims named it.
	AppointmentID *uuid.UUID
	// Diagnoses are the ICD-10-AM codes the claim was sent with, the
	// principal first. Nil on claims made before claims kept them.
	Diagnoses []string
	// ResubmissionOf is the claim this one corrects and resubmits;
	// Resubmitted says this one was corrected and resubmitted itself.
	ResubmissionOf *uuid.UUID
	Resubmitted    bool
	// Paid is what the payer has paid so far, before NPHIES's fees.
	Paid  Halalas
	Items []ClaimItem
	// Attachments are the documents the claim carries, written with it
	// and read only by ClaimAttachments (reads of claims leave them out).
	Attachments []Attachment
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ClaimItem is one service line of a claim with its adjudication.
type ClaimItem struct {
	Sequence int
	// CodeSystem is the NPHIES system ServiceCode is sent under.
	CodeSystem   CodeSystem
	ServiceCode  string
	Description  string
	Quantity     int
	UnitPrice    Halalas
	VAT          Halalas
	Net          Halalas
	PatientShare Halalas
	// Approved is what the payer granted for the line once adjudicated;
	// Outcome its decision (approved, rejected, partial) and Reasons the
	// payer's reason codes.
	Approved *Halalas
	Outcome  string
	Reasons  []string
	// Tooth, Surfaces, DaysSupply and PharmacistSelectionReason are what
	// the claim's type carries on the item (ClaimDetails), shown with it.
	Tooth                     string
	Surfaces                  []ToothSurface
	DaysSupply                int
	PharmacistSelectionReason string
}

// ShowItemDetails copies what the claim carries for its type on each
// invoice line onto the item of that line.
func (c *Claim) ShowItemDetails() {
	for _, d := range c.Details.Items {
		for i := range c.Items {
			if c.Items[i].Sequence == d.Sequence {
				c.Items[i].Tooth, c.Items[i].Surfaces, c.Items[i].DaysSupply = d.Tooth, d.Surfaces, d.DaysSupply
				c.Items[i].PharmacistSelectionReason = d.PharmacistSelectionReason
			}
		}
	}
}

// AttachmentKind is what a claim's document is to NPHIES.
type AttachmentKind string

// The kinds of a claim's documents: a plain document (supportingInfo of
// category attachment) or the visit's investigation report (category
// investigation-result, code IRA).
const (
	AttachmentDocument            AttachmentKind = "DOCUMENT"
	AttachmentInvestigationResult AttachmentKind = "INVESTIGATION_RESULT"
)

// ClaimAttachmentInfo describes a document a claim carries, without its
// content, which stays in the store and in the bundle that carried it.
type ClaimAttachmentInfo struct {
	ClaimID     uuid.UUID
	Title       string
	ContentType string
	Kind        AttachmentKind
	// Size is the content's length in bytes.
	Size int
}

// ClaimStatusChange is one step of a claim's history.
type ClaimStatusChange struct {
	Status ClaimStatus
	Note   string
	At     time.Time
}

// MessageDirection tells bundles we sent from bundles we received.
type MessageDirection string

// Directions.
const (
	Outbound MessageDirection = "OUT"
	Inbound  MessageDirection = "IN"
)

// DeliveryStatus is where an outgoing message is in the outbox.
type DeliveryStatus string

// Outbox states. PENDING messages are due at NextAttemptAt; FAILED ones gave
// up after the retry limit or a permanent refusal.
const (
	DeliveryPending DeliveryStatus = "PENDING"
	DeliverySent    DeliveryStatus = "SENT"
	DeliveryFailed  DeliveryStatus = "FAILED"
)

// NPHIESMessage is one bundle we sent or received, kept for audit. Body is
// the exact bytes; it carries PHI and is never logged.
type NPHIESMessage struct {
	ID              uuid.UUID
	ClaimID         *uuid.UUID
	Direction       MessageDirection
	Event           string
	BundleID        string
	MessageHeaderID string
	Body            []byte
	// Outbound only: delivery state, attempts so far and when to try next.
	Delivery      DeliveryStatus
	Attempts      int
	NextAttemptAt time.Time
	HTTPStatus    int
	LastError     string
	// TraceParent links the worker's trace to the request that queued it.
	TraceParent string
	CreatedAt   time.Time
}

// NewClaim is a claim ready to queue: the claim row with its items, and the
// bundle that carries it, built once.
type NewClaim struct {
	Claim   Claim
	Message NPHIESMessage
}

// ClaimFilter narrows claims(filter). Nil fields do not filter. From and
// To bound the creation time, From inclusive, To exclusive; MinTotal and
// MaxTotal bound the total, both inclusive.
type ClaimFilter struct {
	Status             *ClaimStatus
	PatientID          *uuid.UUID
	PayerLicense       *string
	From, To           *time.Time
	MinTotal, MaxTotal *Halalas
}

// Validate checks the filter's ranges.
func (f ClaimFilter) Validate() error {
	if err := validWindow(f.From, f.To); err != nil {
		return err
	}
	if f.MinTotal != nil && f.MaxTotal != nil && *f.MaxTotal < *f.MinTotal {
		return Invalid("filter.maxAmount", "maxAmount must not be below minAmount")
	}
	return nil
}

// validWindow checks a filter's [from, to) window is not empty.
func validWindow(from, to *time.Time) error {
	if from != nil && to != nil && !to.After(*from) {
		return Invalid("filter.to", "to must be after from")
	}
	return nil
}

// ClaimStore keeps claims and their messages.
type ClaimStore interface {
	// QueueClaim writes the claim, its items, its first history entry and its
	// outgoing message in one transaction. CONFLICT when the invoice already
	// has a live claim.
	QueueClaim(ctx context.Context, n NewClaim) (*Claim, error)
	// ClaimByID returns a claim in scope with its items; NOT_FOUND otherwise.
	ClaimByID(ctx context.Context, scope PatientScope, id uuid.UUID) (*Claim, error)
	// ListClaims returns one page, newest first, and how many match.
	ListClaims(ctx context.Context, scope PatientScope, f ClaimFilter, p Page) ([]*Claim, int, error)
	// ClaimMessages lists every bundle sent and received for a claim, oldest
	// first.
	ClaimMessages(ctx context.Context, claimID uuid.UUID) ([]*NPHIESMessage, error)
	// PriorAuthorizations returns the approved (in full or in part) prior
	// authorizations of an invoice, oldest first.
	PriorAuthorizations(ctx context.Context, invoiceID uuid.UUID) ([]PriorAuthorization, error)
	// ClaimAttachments lists the documents a claim carries, in order.
	ClaimAttachments(ctx context.Context, claimID uuid.UUID) ([]Attachment, error)
	// ClaimAttachmentInfos describes, without their content, the documents
	// of the claims in scope among claimIDs, in order within each claim.
	ClaimAttachmentInfos(ctx context.Context, scope PatientScope, claimIDs []uuid.UUID) ([]*ClaimAttachmentInfo, error)
	// ClaimHistory lists a claim's status changes, oldest first.
	ClaimHistory(ctx context.Context, claimID uuid.UUID) ([]*ClaimStatusChange, error)
	// RetryClaim makes a claim in ERROR due again with the same bundle.
	// CONFLICT in any other status.
	RetryClaim(ctx context.Context, id uuid.UUID) (*Claim, error)
	// QueueCancel queues a cancel request for a submitted claim and marks it
	// CANCELLED once NPHIES confirms. CONFLICT when it cannot be cancelled.
	QueueCancel(ctx context.Context, id uuid.UUID, msg NPHIESMessage) (*Claim, error)
}

// PriorAuthorization is a payer's approval of a prior authorization, as a
// claim that follows it quotes it.
type PriorAuthorization struct {
	// Ref is the payer's authorization reference (ClaimResponse.preAuthRef).
	Ref string
	// ResponseKey is the payer's ClaimResponse identifier as "system|value".
	ResponseKey string
}
