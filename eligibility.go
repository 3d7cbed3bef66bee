package healthgraph

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// EligibilityStatus is the verdict of an eligibility check.
type EligibilityStatus string

// Eligibility verdicts. PENDING: the request is stored and being sent (a
// check left PENDING means the answer was never recorded). ERROR: no
// verdict, because NPHIES could not be reached or the payer answered with
// an error; LastError and Errors say why.
const (
	EligibilityPending     EligibilityStatus = "PENDING"
	EligibilityEligible    EligibilityStatus = "ELIGIBLE"
	EligibilityNotEligible EligibilityStatus = "NOT_ELIGIBLE"
	EligibilityError       EligibilityStatus = "ERROR"
)

// EligibilityIssue is one error code a payer or NPHIES returned, such as
// 1658 (no member found), with its display text.
type EligibilityIssue struct {
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// EligibilityCheck is one question to a payer, through NPHIES, whether a
// patient's coverage may be used today, with the answer.
type EligibilityCheck struct {
	ID         uuid.UUID
	PatientID  uuid.UUID
	CoverageID uuid.UUID
	// PayerLicense and PayerName are the payer asked, as the coverage named
	// it at the time.
	PayerLicense string
	PayerName    string
	Status       EligibilityStatus
	// Outcome is the payer's outcome code (complete or error), empty when no
	// business answer came.
	Outcome string
	// SiteEligibility is the NPHIES site eligibility code (eligible,
	// not-active, not-covered, …).
	SiteEligibility string
	// InForce is the payer's in-force flag, nil when it did not say.
	InForce *bool
	// Disposition is the payer's free text.
	Disposition string
	// Errors are the payer's or NPHIES's error codes.
	Errors []EligibilityIssue
	// LastError says why the check is in ERROR, in words safe to show.
	LastError string
	CreatedAt time.Time
	// CheckedAt is when the answer (or the failure) was recorded.
	CheckedAt *time.Time
}

// NewEligibilityCheck is a check ready to send: the check (PENDING) and
// the outgoing bundle that carries it.
type NewEligibilityCheck struct {
	Check   EligibilityCheck
	Message NPHIESMessage
}

// EligibilityAnswer is what came of sending a check, recorded in one
// transaction: the verdict and, when any bytes came back, the response
// exactly as received.
type EligibilityAnswer struct {
	// Status is ELIGIBLE, NOT_ELIGIBLE or ERROR.
	Status          EligibilityStatus
	Outcome         string
	SiteEligibility string
	InForce         *bool
	Disposition     string
	Errors          []EligibilityIssue
	// LastError is required for ERROR, in words safe to show.
	LastError string
	// Delivery is SENT when NPHIES answered over HTTP with a business
	// response, FAILED otherwise; HTTPStatus is 0 when no response came.
	Delivery   DeliveryStatus
	HTTPStatus int
	// Response is the received bundle (or any other body), nil when none
	// came; it is stored even when it cannot be read.
	Response *Received
}

// EligibilityStore keeps eligibility checks and the bundles they were sent
// and answered in.
type EligibilityStore interface {
	// CreateEligibilityCheck writes the check as PENDING with its outgoing
	// message in one transaction. The message is sent by the caller, never
	// by the outbox worker. NOT_FOUND when the patient or coverage is gone.
	CreateEligibilityCheck(ctx context.Context, n NewEligibilityCheck) (*EligibilityCheck, error)
	// RecordEligibilityAnswer stores the response raw and the verdict in one
	// transaction and marks the outgoing message delivered or failed.
	// CONFLICT when the check already has an answer; NOT_FOUND when absent.
	RecordEligibilityAnswer(ctx context.Context, id uuid.UUID, a EligibilityAnswer) (*EligibilityCheck, error)
	// EligibilityCheckByID returns a check in scope; NOT_FOUND otherwise.
	EligibilityCheckByID(ctx context.Context, scope PatientScope, id uuid.UUID) (*EligibilityCheck, error)
	// EligibilityChecksByPatient lists a patient's checks, newest first, at
	// most limit of them; NOT_FOUND when the patient is out of scope.
	EligibilityChecksByPatient(ctx context.Context, scope PatientScope, patientID uuid.UUID, limit int) ([]*EligibilityCheck, error)
	// EligibilityMessages lists the bundles sent and received for a check,
	// oldest first.
	EligibilityMessages(ctx context.Context, id uuid.UUID) ([]*NPHIESMessage, error)
}
