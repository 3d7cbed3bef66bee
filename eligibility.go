package healthgraph

import (
	"context"
	"strings"
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

// EligibilityPurpose is what an eligibility check asks.
type EligibilityPurpose string

// Eligibility purposes. VALIDATION asks whether a known coverage may be
// used (NPHIES purposes benefits and validation); DISCOVERY asks a payer
// which coverages it holds for a patient the clinic has none on record
// for (NPHIES purpose discovery, sent without a Coverage).
const (
	EligibilityValidation EligibilityPurpose = "VALIDATION"
	EligibilityDiscovery  EligibilityPurpose = "DISCOVERY"
)

// DiscoveredCoverage is a coverage a payer reported in answer to a
// discovery check: what the clinic needs to record it.
type DiscoveredCoverage struct {
	MemberID       string `json:"memberId"`
	MemberIDSystem string `json:"memberIdSystem,omitempty"`
	// PolicyNumber is the group class value; PolicyName its name.
	PolicyNumber string `json:"policyNumber,omitempty"`
	PolicyName   string `json:"policyName,omitempty"`
	// Class and PlanName are the plan class, when the payer gave one.
	Class    string `json:"class,omitempty"`
	PlanName string `json:"planName,omitempty"`
	// Relationship is the patient's to the subscriber (SELF, SPOUSE, …).
	Relationship Relationship `json:"relationship"`
	InForce      bool         `json:"inForce"`
	// StartsOn and EndsOn bound the validity, when the payer gave them.
	StartsOn *time.Time `json:"startsOn,omitempty"`
	EndsOn   *time.Time `json:"endsOn,omitempty"`
}

// EligibilityIssue is one error code a payer or NPHIES returned, such as
// 1658 (no member found), with its display text.
type EligibilityIssue struct {
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// EligibilityCheck is one question to a payer, through NPHIES, whether a
// patient's coverage may be used today, with the answer.
type EligibilityCheck struct {
	ID        uuid.UUID
	PatientID uuid.UUID
	// Purpose is VALIDATION (of CoverageID) or DISCOVERY (no coverage).
	Purpose EligibilityPurpose
	// CoverageID is the coverage checked; nil for a discovery.
	CoverageID *uuid.UUID
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
	// Discovered are the coverages a discovery found.
	Discovered []DiscoveredCoverage
	// NullifiedAt and NullifyReason are set once the clinic voided the
	// check (see NullifyEligibilityCheck).
	NullifiedAt   *time.Time
	NullifyReason CancelReason
	CreatedAt     time.Time
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
	// Discovered are the coverages a discovery found.
	Discovered []DiscoveredCoverage
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
	// by the outbox worker. A VALIDATION check names a coverage of the
	// patient, a DISCOVERY none. NOT_FOUND when the patient or coverage is
	// gone.
	CreateEligibilityCheck(ctx context.Context, n NewEligibilityCheck) (*EligibilityCheck, error)
	// RecordEligibilityAnswer stores the response raw and the verdict in one
	// transaction and marks the outgoing message delivered or failed.
	// CONFLICT when the check already has an answer; NOT_FOUND when absent.
	RecordEligibilityAnswer(ctx context.Context, id uuid.UUID, a EligibilityAnswer) (*EligibilityCheck, error)
	// NullifyEligibilityCheck voids an answered check in scope, with the
	// reason, audited with the event in ctx. NPHIES defines no message for
	// it (see docs/nphies.md), so nothing is sent. NOT_FOUND when out of
	// scope; CONFLICT when the check is still PENDING or already nullified.
	NullifyEligibilityCheck(ctx context.Context, scope PatientScope, id uuid.UUID, reason CancelReason) (*EligibilityCheck, error)
	// EligibilityCheckByID returns a check in scope; NOT_FOUND otherwise.
	EligibilityCheckByID(ctx context.Context, scope PatientScope, id uuid.UUID) (*EligibilityCheck, error)
	// EligibilityChecksByPatient lists a patient's checks, newest first, at
	// most limit of them; NOT_FOUND when the patient is out of scope.
	EligibilityChecksByPatient(ctx context.Context, scope PatientScope, patientID uuid.UUID, limit int) ([]*EligibilityCheck, error)
	// EligibilityMessages lists the bundles sent and received for a check,
	// oldest first.
	EligibilityMessages(ctx context.Context, id uuid.UUID) ([]*NPHIESMessage, error)
}

// DiscoveredCoverage returns the coverage with the member ID that a DISCOVERY
// check found; BAD_USER_INPUT naming "memberId" when it found none such,
// "checkId" when the check is no discovery, is nullified or found nothing.
func (c *EligibilityCheck) DiscoveredCoverage(memberID string) (*DiscoveredCoverage, error) {
	switch {
	case c.Purpose != EligibilityDiscovery:
		return nil, Invalid("checkId", "the check is not a coverage discovery")
	case c.NullifiedAt != nil:
		return nil, Invalid("checkId", "the check is nullified")
	case len(c.Discovered) == 0:
		return nil, Invalid("checkId", "the discovery found no coverage")
	}
	for i := range c.Discovered {
		if c.Discovered[i].MemberID == strings.TrimSpace(memberID) {
			return &c.Discovered[i], nil
		}
	}
	return nil, Invalid("memberId", "the discovery found no coverage with this member ID")
}

// NewCoverage is the coverage to record for the check's patient from what
// the payer reported; subscriberID names the subscriber's patient record
// when the patient is a dependant. BAD_USER_INPUT when the payer left out
// what a coverage needs (its validity period).
func (d *DiscoveredCoverage) NewCoverage(c *EligibilityCheck, subscriberID *uuid.UUID) (NewCoverage, error) {
	if d.StartsOn == nil || d.EndsOn == nil {
		return NewCoverage{}, Invalid("memberId", "the payer gave no validity period for this coverage: add it with addCoverage")
	}
	return NewCoverage{PatientID: c.PatientID, PayerLicense: c.PayerLicense, PayerName: c.PayerName,
		MemberID: d.MemberID, MemberIDSystem: d.MemberIDSystem, PolicyNumber: d.PolicyNumber,
		Class: d.Class, PlanName: d.PlanName, Relationship: d.Relationship, SubscriberID: subscriberID,
		StartsOn: *d.StartsOn, EndsOn: *d.EndsOn}, nil
}
