package healthgraph

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// InvoiceStatus is where an invoice is in its life.
type InvoiceStatus string

// Invoice states. DRAFT → ISSUED → PARTIALLY_PAID → PAID; DRAFT or ISSUED
// without payments → VOID.
const (
	InvoiceDraft         InvoiceStatus = "DRAFT"
	InvoiceIssued        InvoiceStatus = "ISSUED"
	InvoicePartiallyPaid InvoiceStatus = "PARTIALLY_PAID"
	InvoicePaid          InvoiceStatus = "PAID"
	InvoiceVoid          InvoiceStatus = "VOID"
)

// Valid reports whether s is a known status.
func (s InvoiceStatus) Valid() bool {
	switch s {
	case InvoiceDraft, InvoiceIssued, InvoicePartiallyPaid, InvoicePaid, InvoiceVoid:
		return true
	}
	return false
}

// PaymentMethod is how the patient paid.
type PaymentMethod string

// Payment methods.
const (
	PaymentCash     PaymentMethod = "CASH"
	PaymentCard     PaymentMethod = "CARD"
	PaymentTransfer PaymentMethod = "BANK_TRANSFER"
)

// Valid reports whether m is a known method.
func (m PaymentMethod) Valid() bool {
	return m == PaymentCash || m == PaymentCard || m == PaymentTransfer
}

// Invoice is a bill for services to one patient. The insurer's share is
// claimed through NPHIES; payments settle the patient's share.
type Invoice struct {
	ID         uuid.UUID
	Number     string
	PatientID  uuid.UUID
	CoverageID *uuid.UUID
	Status     InvoiceStatus
	// CopayPercent is the patient's share of each line, from the coverage
	// (100 without one).
	CopayPercent int
	InvoiceTotals
	Paid       Halalas
	Lines      []InvoiceLine
	IssuedAt   *time.Time
	VoidReason string
	CreatedAt  time.Time
}

// Due is what the patient still owes.
func (i *Invoice) Due() Halalas { return i.PatientShare - i.Paid }

// InvoiceTotals are the money figures of a line or a whole invoice.
type InvoiceTotals struct {
	Net          Halalas
	VAT          Halalas
	Total        Halalas
	PatientShare Halalas
	InsurerShare Halalas
}

func (t *InvoiceTotals) add(o InvoiceTotals) {
	t.Net += o.Net
	t.VAT += o.VAT
	t.Total += o.Total
	t.PatientShare += o.PatientShare
	t.InsurerShare += o.InsurerShare
}

// InvoiceLine is one billed service.
type InvoiceLine struct {
	Sequence int
	// ItemID is the catalogue item billed; CodeSystem its NPHIES system as
	// it was when billed. Both are empty on a free-text line, which can be
	// paid by the patient but not claimed.
	ItemID      *uuid.UUID
	CodeSystem  CodeSystem
	ServiceCode string
	Description string
	Quantity    int
	UnitPrice   Halalas
	InvoiceTotals
}

// NewInvoiceLine is a line as the clerk enters it: a catalogue item
// (ItemID; the store fills code, system, description and price from it), or
// free text (ServiceCode, Description, UnitPrice).
type NewInvoiceLine struct {
	ItemID *uuid.UUID
	// CodeSystem is filled by the store from the item; a line written
	// without the catalogue (the seeds) may give it with its code.
	CodeSystem  CodeSystem
	ServiceCode string
	Description string
	Quantity    int
	UnitPrice   Halalas
}

// NewInvoice is the input of createInvoice.
type NewInvoice struct {
	PatientID  uuid.UUID
	CoverageID *uuid.UUID
	Lines      []NewInvoiceLine
}

// MaxInvoiceLines bounds one invoice.
const MaxInvoiceLines = 200

// MaxLineDescription is the longest description a line may carry: NPHIES
// sends it as the item's Coding.display, which may hold at most 100
// characters (validation rule BV-00279), and says nothing of trimming.
const MaxLineDescription = 100

// Validate checks the input, naming the field at fault.
func (n *NewInvoice) Validate() error {
	if n.PatientID == uuid.Nil {
		return Invalid("patientId", "patientId is required")
	}
	if len(n.Lines) == 0 || len(n.Lines) > MaxInvoiceLines {
		return Invalid("lines", "an invoice needs 1 to %d lines", MaxInvoiceLines)
	}
	for i := range n.Lines {
		l := &n.Lines[i]
		l.ServiceCode, l.Description = strings.TrimSpace(l.ServiceCode), strings.TrimSpace(l.Description)
		if l.ItemID != nil {
			// A catalogue line: the store fills the rest from the item.
			if l.ServiceCode != "" || l.Description != "" || l.UnitPrice != 0 {
				return Invalid("lines.itemId", "line %d: give itemId or serviceCode, description and unitPrice, not both", i+1)
			}
			if err := lineQuantity("lines.quantity", i+1, l.Quantity); err != nil {
				return err
			}
			continue
		}
		switch {
		case l.CodeSystem != "" && !l.CodeSystem.ValidCode(l.ServiceCode):
			return Invalid("lines.serviceCode", "line %d: %q is not a %s code", i+1, truncate(l.ServiceCode, 32), l.CodeSystem)
		case l.ServiceCode == "" || len(l.ServiceCode) > 32:
			return Invalid("lines.serviceCode", "line %d: serviceCode must be 1 to 32 characters", i+1)
		case l.Description == "" || utf8.RuneCountInString(l.Description) > MaxLineDescription:
			return Invalid("lines.description", "line %d: description must be 1 to %d characters (NPHIES's limit, BV-00279)",
				i+1, MaxLineDescription)
		}
		if err := lineQuantity("lines.quantity", i+1, l.Quantity); err != nil {
			return err
		}
		if err := lineUnitPrice("lines.unitPrice", i+1, l.UnitPrice); err != nil {
			return err
		}
	}
	return nil
}

// lineQuantity checks the quantity of line n, given as field.
func lineQuantity(field string, n, quantity int) error {
	if quantity < 1 || quantity > 10_000 {
		return Invalid(field, "line %d: quantity must be from 1 to 10000", n)
	}
	return nil
}

// lineUnitPrice checks the unit price of line n, given as field: at most
// what keeps the largest quantity's total within MaxAmount.
func lineUnitPrice(field string, n int, price Halalas) error {
	if price <= 0 || price > MaxAmount/10_000 {
		return Invalid(field, "line %d: unitPrice must be more than 0.00 and at most %s", n, MaxAmount/10_000)
	}
	return nil
}

// PriceLines computes every money figure of an invoice, in the one place
// they are computed: net = quantity × unit price, VAT 15% of net rounded half
// up, the patient's share copayPercent of the line total, the insurer's the
// rest. The database re-checks each identity.
func PriceLines(in []NewInvoiceLine, copayPercent int) ([]InvoiceLine, InvoiceTotals) {
	lines := make([]InvoiceLine, len(in))
	var sum InvoiceTotals
	for i, l := range in {
		net := l.UnitPrice * Halalas(l.Quantity)
		vat := net.Share(VATBasisPoints)
		total := net + vat
		patient := total.Share(int64(copayPercent) * 100)
		t := InvoiceTotals{Net: net, VAT: vat, Total: total, PatientShare: patient, InsurerShare: total - patient}
		lines[i] = InvoiceLine{Sequence: i + 1, ItemID: l.ItemID, CodeSystem: l.CodeSystem, ServiceCode: l.ServiceCode, Description: l.Description,
			Quantity: l.Quantity, UnitPrice: l.UnitPrice, InvoiceTotals: t}
		sum.add(t)
	}
	return lines, sum
}

// Payment settles part of an invoice's patient share.
type Payment struct {
	ID         uuid.UUID
	InvoiceID  uuid.UUID
	Amount     Halalas
	Method     PaymentMethod
	Reference  string
	ReceivedAt time.Time
}

// InvoiceFilter narrows invoices(filter). Nil fields do not filter.
type InvoiceFilter struct {
	PatientID *uuid.UUID
	Status    *InvoiceStatus
	From, To  *time.Time
}

// Validate checks the filter's window.
func (f InvoiceFilter) Validate() error { return validWindow(f.From, f.To) }

// BillingStore keeps invoices and payments. Reads take the caller's
// PatientScope and apply it in SQL.
type BillingStore interface {
	// CreateInvoice prices and inserts a DRAFT invoice in one transaction.
	// NOT_FOUND when the patient or coverage does not exist or is outside
	// scope; BAD_USER_INPUT when the coverage is another patient's or not
	// active today.
	CreateInvoice(ctx context.Context, scope PatientScope, n NewInvoice) (*Invoice, error)
	// InvoiceByID returns NOT_FOUND when absent or outside scope.
	InvoiceByID(ctx context.Context, scope PatientScope, id uuid.UUID) (*Invoice, error)
	// InvoicesByIDs returns the invoices among ids in scope, in no
	// particular order; missing or out-of-scope ids are left out.
	InvoicesByIDs(ctx context.Context, scope PatientScope, ids []uuid.UUID) ([]*Invoice, error)
	// ListInvoices returns one page, newest first, and how many match.
	ListInvoices(ctx context.Context, scope PatientScope, f InvoiceFilter, p Page) ([]*Invoice, int, error)
	// IssueInvoice moves a DRAFT to ISSUED (PAID when the patient owes
	// nothing). CONFLICT from any other status.
	IssueInvoice(ctx context.Context, id uuid.UUID) (*Invoice, error)
	// VoidInvoice voids a DRAFT or an ISSUED invoice without payments.
	// CONFLICT otherwise.
	VoidInvoice(ctx context.Context, id uuid.UUID, reason string) (*Invoice, error)
	// RecordPayment adds a payment to an ISSUED or PARTIALLY_PAID invoice.
	// BAD_USER_INPUT (field amount) when it would pay more than is due;
	// CONFLICT in any other status.
	RecordPayment(ctx context.Context, p Payment) (*Invoice, error)
	// PaymentsByInvoice lists an invoice's payments, oldest first.
	PaymentsByInvoice(ctx context.Context, invoiceID uuid.UUID) ([]*Payment, error)
}
