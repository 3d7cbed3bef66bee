package healthgraph

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// PaymentStatus says how much of what the payer approved it has paid.
type PaymentStatus string

// Payment states of an adjudicated claim.
const (
	PaymentUnpaid  PaymentStatus = "UNPAID"
	PaymentPartial PaymentStatus = "PARTIALLY_PAID"
	PaymentPaid    PaymentStatus = "PAID"
)

// PaymentStatus is nil until the payer granted something, then compares
// what it paid (gross, before NPHIES's fees) with what it approved.
func (c *Claim) PaymentStatus() *PaymentStatus {
	if c.Approved == nil || *c.Approved <= 0 {
		return nil
	}
	s := PaymentPartial
	switch {
	case c.Paid <= 0:
		s = PaymentUnpaid
	case c.Paid >= *c.Approved:
		s = PaymentPaid
	}
	return &s
}

// Outstanding is what the payer approved and has not paid yet (negative
// when it paid more); nil until adjudicated.
func (c *Claim) Outstanding() *Halalas {
	if c.Approved == nil {
		return nil
	}
	o := *c.Approved - c.Paid
	return &o
}

// ClaimPayment is one payment a reconciliation made on a claim.
type ClaimPayment struct {
	ReconciliationID uuid.UUID
	// Reconciliation is the payer's PaymentReconciliation.identifier value;
	// Reference the bank transfer or cheque reference.
	Reconciliation string
	Reference      string
	Kind           string
	PaymentDate    *time.Time
	// Gross is what the payer paid for the claim, Fee the NPHIES and
	// early-payment fees taken from it (zero or negative), Amount what
	// arrived: Gross + Fee.
	Gross, Fee, Amount Halalas
	ReceivedAt         time.Time
}

// PaymentOutcome is a payer's payment reconciliation in the store's terms.
type PaymentOutcome struct {
	// Identifier is PaymentReconciliation.identifier as "system|value",
	// the key a redelivery is recognised by.
	Identifier   string
	PayerLicense string
	Reference    string
	PaymentDate  *time.Time
	Amount       Halalas
	Lines        []PaymentLine
	// Notice is the payment notice that acknowledges the reconciliation;
	// the store queues it in the outbox when it first applies it.
	Notice *NPHIESMessage
}

// PaymentLine is one claim a reconciliation pays.
type PaymentLine struct {
	// ClaimID is our claim, nil when the payer named a claim identifier
	// that is not one of ours.
	ClaimID *uuid.UUID
	// ClaimIdentifier is the claim as the payer named it ("system|value").
	ClaimIdentifier string
	Kind            string
	Gross, Fee      Halalas
	PaidOn          *time.Time
}

// PaymentReconciliation is a payer's payment as received and applied.
type PaymentReconciliation struct {
	ID           uuid.UUID
	Identifier   string
	PayerLicense string
	Reference    string
	PaymentDate  *time.Time
	Amount       Halalas
	// Duplicates counts later deliveries of the same reconciliation, which
	// changed nothing.
	Duplicates int
	Lines      []ReconciliationLine
	// NoticeDelivery is where the acknowledging payment notice is in the
	// outbox.
	NoticeDelivery *DeliveryStatus
	ReceivedAt     time.Time
}

// ReconciliationLine is one line of a reconciliation; Anomaly says why it
// could not be applied (a claim we do not have).
type ReconciliationLine struct {
	Line            int
	ClaimID         *uuid.UUID
	ClaimIdentifier string
	Kind            string
	Gross, Fee      Halalas
	Amount          Halalas
	Anomaly         string
}

// ItemCorrection is one item of a resubmitted claim as billing corrects
// it: a catalogue item, how many, and its price when the catalogue's is not
// the one to claim (nil).
type ItemCorrection struct {
	ItemID    uuid.UUID
	Quantity  int
	UnitPrice *Halalas
}

// ValidateCorrections checks the corrected items of resubmitClaim, naming
// the input at fault: 1 to MaxInvoiceLines items, with a quantity and any
// corrected price an invoice line could have.
func ValidateCorrections(items []ItemCorrection) error {
	if len(items) == 0 || len(items) > MaxInvoiceLines {
		return Invalid("input.items", "a corrected claim needs 1 to %d items", MaxInvoiceLines)
	}
	for i, it := range items {
		if err := lineQuantity("input.items.quantity", i+1, it.Quantity); err != nil {
			return err
		}
		if it.UnitPrice == nil {
			continue
		}
		if err := lineUnitPrice("input.items.unitPrice", i+1, *it.UnitPrice); err != nil {
			return err
		}
	}
	return nil
}

// ResubmissionStore keeps the money and the corrections that follow a
// payer's decision.
type ResubmissionStore interface {
	// ClaimPayments lists the payments applied to a claim, oldest first.
	ClaimPayments(ctx context.Context, claimID uuid.UUID) ([]*ClaimPayment, error)
	// Resubmissions lists the claims that correct and resubmit claimID.
	Resubmissions(ctx context.Context, claimID uuid.UUID) ([]*Claim, error)
	// PaymentReconciliations returns one page of the reconciliations
	// received, newest first, with their lines, and how many match (when
	// the page asks for the count); anomalous keeps only those with a line
	// that could not be applied or a duplicate delivery.
	PaymentReconciliations(ctx context.Context, anomalous bool, p Page) ([]*PaymentReconciliation, int, error)
	// QueueResubmission writes a corrected claim that resubmits
	// n.Claim.ResubmissionOf with its outgoing message, and marks the
	// original resubmitted, in one transaction. CONFLICT when the original
	// is not a claim the payer rejected or partly approved, or was
	// resubmitted already.
	QueueResubmission(ctx context.Context, n NewClaim) (*Claim, error)
}
