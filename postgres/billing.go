package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.BillingStore = (*DB)(nil)

const invoiceColumns = `i.id, i.number, i.patient_id, i.coverage_id, i.status, i.copay_percent, i.net, i.vat,
	i.total, i.patient_share, i.insurer_share, i.paid, i.issued_at, i.void_reason, i.created_at`

func scanInvoice(row pgx.CollectableRow) (*hg.Invoice, error) {
	var i hg.Invoice
	err := row.Scan(&i.ID, &i.Number, &i.PatientID, &i.CoverageID, &i.Status, &i.CopayPercent, &i.Net, &i.VAT,
		&i.Total, &i.PatientShare, &i.InsurerShare, &i.Paid, &i.IssuedAt, &i.VoidReason, &i.CreatedAt)
	return &i, err
}

// CreateInvoice prices the lines and writes the invoice with them in one
// transaction; the database checks the sums at commit.
func (db *DB) CreateInvoice(ctx context.Context, scope hg.PatientScope, n hg.NewInvoice) (*hg.Invoice, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	var inv *hg.Invoice
	err = db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		var found bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM patients p WHERE p.id = @id AND `+inScope("p.id")+`)`,
			scopeArgs(scope, namedArgs{"id": n.PatientID})).Scan(&found); err != nil {
			return translate(err, "patient")
		} else if !found {
			return hg.Errorf(hg.ENOTFOUND, "patient not found")
		}
		copay, err := coverageCopay(ctx, tx, n)
		if err != nil {
			return err
		}
		if err := billFromCatalogue(ctx, tx, n.Lines); err != nil {
			return err
		}
		lines, totals := hg.PriceLines(n.Lines, copay)
		rows, _ := tx.Query(ctx, `INSERT INTO invoices AS i (id, number, patient_id, coverage_id, copay_percent,
				net, vat, total, patient_share, insurer_share)
			VALUES ($1, 'INV-' || to_char(now() AT TIME ZONE 'Asia/Riyadh', 'YYYY') || '-'
				|| lpad(nextval('invoice_number_seq')::text, 6, '0'), $2, $3, $4, $5, $6, $7, $8, $9)
			RETURNING `+invoiceColumns,
			id, n.PatientID, n.CoverageID, copay, totals.Net, totals.VAT, totals.Total, totals.PatientShare, totals.InsurerShare)
		if inv, err = pgx.CollectExactlyOneRow(rows, scanInvoice); err != nil {
			return translate(err, "invoice")
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"invoice_lines"},
			[]string{"invoice_id", "sequence", "item_id", "code_system", "service_code", "description", "quantity", "unit_price",
				"net", "vat", "total", "patient_share", "insurer_share"},
			pgx.CopyFromSlice(len(lines), func(k int) ([]any, error) {
				l := lines[k]
				return []any{id, l.Sequence, l.ItemID, string(l.CodeSystem), l.ServiceCode, l.Description, l.Quantity, l.UnitPrice,
					l.Net, l.VAT, l.Total, l.PatientShare, l.InsurerShare}, nil
			}))
		inv.Lines = lines
		return translate(err, "invoice lines")
	}, func() (uuid.UUID, *uuid.UUID) { return invoiceSubject(inv) })
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// coverageCopay returns the patient's share in percent: the coverage's
// co-pay, or 100 without a coverage.
func coverageCopay(ctx context.Context, tx pgx.Tx, n hg.NewInvoice) (int, error) {
	if n.CoverageID == nil {
		return 100, nil
	}
	var patientID uuid.UUID
	var startsOn, endsOn time.Time
	var copay int
	err := tx.QueryRow(ctx, `SELECT patient_id, starts_on, ends_on, copay_percent FROM coverages WHERE id = $1`,
		*n.CoverageID).Scan(&patientID, &startsOn, &endsOn, &copay)
	if err != nil {
		return 0, translate(err, "coverage")
	}
	c := hg.Coverage{StartsOn: startsOn, EndsOn: endsOn}
	switch {
	case patientID != n.PatientID:
		return 0, hg.Invalid("coverageId", "the coverage belongs to another patient")
	case !c.ActiveOn(time.Now()):
		return 0, hg.Invalid("coverageId", "the coverage is not active today")
	}
	return copay, nil
}

// InvoiceByID returns an invoice in scope with its lines.
func (db *DB) InvoiceByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.Invoice, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+invoiceColumns+` FROM invoices i WHERE i.id = @id AND `+inScope("i.patient_id"),
		scopeArgs(scope, namedArgs{"id": id}))
	inv, err := pgx.CollectExactlyOneRow(rows, scanInvoice)
	if err != nil {
		return nil, translate(err, "invoice")
	}
	return inv, attachLines(ctx, db.Pool, []*hg.Invoice{inv})
}

// InvoicesByIDs returns the invoices among ids in scope with their lines,
// in two statements: the dataloader's batch for Claim.invoice.
func (db *DB) InvoicesByIDs(ctx context.Context, scope hg.PatientScope, ids []uuid.UUID) ([]*hg.Invoice, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+invoiceColumns+` FROM invoices i WHERE i.id = ANY(@ids) AND `+inScope("i.patient_id"),
		scopeArgs(scope, namedArgs{"ids": ids}))
	invs, err := pgx.CollectRows(rows, scanInvoice)
	if err != nil {
		return nil, translate(err, "invoices")
	}
	return invs, attachLines(ctx, db.Pool, invs)
}

// invoiceSorts: invoices are listed by creation.
var invoiceSorts = newestFirst("i.created_at", nil)

// ListInvoices returns a page of invoices in scope in p.Sort (newest first by default), with their
// lines, in three statements whatever the page size.
func (db *DB) ListInvoices(ctx context.Context, scope hg.PatientScope, f hg.InvoiceFilter, p hg.Page) ([]*hg.Invoice, int, error) {
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	where := `(@patient::uuid IS NULL OR i.patient_id = @patient)
		AND (@status::text IS NULL OR i.status = @status)
		AND (@from::timestamptz IS NULL OR i.created_at >= @from)
		AND (@to::timestamptz IS NULL OR i.created_at < @to)
		AND ` + inScope("i.patient_id")
	args := scopeArgs(scope, pageArgs(p, namedArgs{"patient": f.PatientID, "status": f.Status, "from": f.From, "to": f.To}))
	keyset, order, err := invoiceSorts.keyset(p, "i.id", args)
	if err != nil {
		return nil, 0, err
	}
	rows, _ := db.Pool.Query(ctx, `SELECT `+invoiceColumns+` FROM invoices i WHERE `+where+` AND `+keyset+`
		ORDER BY `+order+` LIMIT @first`, args)
	invs, err := pgx.CollectRows(rows, scanInvoice)
	if err != nil {
		return nil, 0, translate(err, "invoices")
	}
	var total int
	if p.Count {
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM invoices i WHERE `+where, args).Scan(&total); err != nil {
			return nil, 0, translate(err, "invoices")
		}
	}
	return invs, total, attachLines(ctx, db.Pool, invs)
}

func attachLines(ctx context.Context, q querier, invs []*hg.Invoice) error {
	if len(invs) == 0 {
		return nil
	}
	byID := make(map[uuid.UUID]*hg.Invoice, len(invs))
	ids := make([]uuid.UUID, len(invs))
	for k, inv := range invs {
		byID[inv.ID], ids[k] = inv, inv.ID
	}
	rows, _ := q.Query(ctx, `SELECT invoice_id, sequence, item_id, code_system, service_code, description, quantity, unit_price,
			net, vat, total, patient_share, insurer_share
		FROM invoice_lines WHERE invoice_id = ANY($1) ORDER BY invoice_id, sequence`, ids)
	var invID uuid.UUID
	var l hg.InvoiceLine
	_, err := pgx.ForEachRow(rows, []any{&invID, &l.Sequence, &l.ItemID, &l.CodeSystem, &l.ServiceCode, &l.Description, &l.Quantity,
		&l.UnitPrice, &l.Net, &l.VAT, &l.Total, &l.PatientShare, &l.InsurerShare}, func() error {
		byID[invID].Lines = append(byID[invID].Lines, l)
		l.ItemID = nil // the next row's item id goes into a new pointer, not this line's
		return nil
	})
	return translate(err, "invoice lines")
}

// IssueInvoice issues a draft; with nothing for the patient to pay it is
// paid at once.
func (db *DB) IssueInvoice(ctx context.Context, id uuid.UUID) (*hg.Invoice, error) {
	return db.changeInvoice(ctx, id, "issue", `UPDATE invoices i SET
			status = CASE WHEN patient_share = 0 THEN 'PAID' ELSE 'ISSUED' END,
			issued_at = now(), updated_at = now()
		WHERE i.id = $1 AND i.status = 'DRAFT' RETURNING `+invoiceColumns, id)
}

// VoidInvoice voids an invoice nobody has paid anything on.
func (db *DB) VoidInvoice(ctx context.Context, id uuid.UUID, reason string) (*hg.Invoice, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return nil, hg.Invalid("reason", "reason must be 1 to 500 characters")
	}
	return db.changeInvoice(ctx, id, "void", `UPDATE invoices i SET status = 'VOID', void_reason = $2, updated_at = now()
		WHERE i.id = $1 AND i.status IN ('DRAFT', 'ISSUED') AND i.paid = 0 RETURNING `+invoiceColumns, id, reason)
}

// RecordPayment settles part of the patient's share. The conditional
// update makes concurrent payments unable to overpay together.
func (db *DB) RecordPayment(ctx context.Context, p hg.Payment) (*hg.Invoice, error) {
	switch {
	case p.Amount <= 0 || p.Amount > hg.MaxAmount:
		return nil, hg.Invalid("amount", "amount must be more than 0.00")
	case !p.Method.Valid():
		return nil, hg.Invalid("method", "unknown payment method")
	case len(p.Reference) > 100:
		return nil, hg.Invalid("reference", "reference must be at most 100 characters")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	var inv *hg.Invoice
	err = db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE invoices i SET paid = paid + $2, updated_at = now(),
				status = CASE WHEN paid + $2 = patient_share THEN 'PAID' ELSE 'PARTIALLY_PAID' END
			WHERE i.id = $1 AND i.status IN ('ISSUED', 'PARTIALLY_PAID') AND i.paid + $2 <= i.patient_share
			RETURNING `+invoiceColumns, p.InvoiceID, p.Amount)
		inv, err = pgx.CollectExactlyOneRow(rows, scanInvoice)
		if errors.Is(err, pgx.ErrNoRows) {
			return db.whyNot(ctx, tx, p.InvoiceID, "pay", &p.Amount)
		} else if err != nil {
			return translate(err, "invoice")
		}
		_, err := tx.Exec(ctx, `INSERT INTO payments (id, invoice_id, amount, method, reference) VALUES ($1, $2, $3, $4, $5)`,
			id, p.InvoiceID, p.Amount, p.Method, p.Reference)
		if err != nil {
			return translate(err, "payment")
		}
		// Read in the transaction: an error after the commit would tell
		// the client a payment failed that was recorded.
		return attachLines(ctx, tx, []*hg.Invoice{inv})
	}, func() (uuid.UUID, *uuid.UUID) { return invoiceSubject(inv) })
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// PaymentsByInvoice lists payments oldest first.
func (db *DB) PaymentsByInvoice(ctx context.Context, invoiceID uuid.UUID) ([]*hg.Payment, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT id, invoice_id, amount, method, reference, received_at
		FROM payments WHERE invoice_id = $1 ORDER BY received_at, id`, invoiceID)
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hg.Payment, error) {
		var p hg.Payment
		err := row.Scan(&p.ID, &p.InvoiceID, &p.Amount, &p.Method, &p.Reference, &p.ReceivedAt)
		return &p, err
	})
	return ps, translate(err, "payments")
}

// changeInvoice runs a conditional state change and explains a refusal.
func (db *DB) changeInvoice(ctx context.Context, id uuid.UUID, verb, sql string, args ...any) (*hg.Invoice, error) {
	var inv *hg.Invoice
	err := db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, sql, args...)
		var err error
		inv, err = pgx.CollectExactlyOneRow(rows, scanInvoice)
		if errors.Is(err, pgx.ErrNoRows) {
			return db.whyNot(ctx, tx, id, verb, nil)
		} else if err != nil {
			return translate(err, "invoice")
		}
		return attachLines(ctx, tx, []*hg.Invoice{inv})
	}, func() (uuid.UUID, *uuid.UUID) { return invoiceSubject(inv) })
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// invoiceSubject is what a write of an invoice is audited as.
func invoiceSubject(i *hg.Invoice) (uuid.UUID, *uuid.UUID) { return i.ID, &i.PatientID }

// whyNot explains why a conditional update matched no invoice.
func (db *DB) whyNot(ctx context.Context, tx pgx.Tx, id uuid.UUID, verb string, amount *hg.Halalas) error {
	var status hg.InvoiceStatus
	var due, paid hg.Halalas
	err := tx.QueryRow(ctx, `SELECT status, patient_share - paid, paid FROM invoices WHERE id = $1`, id).Scan(&status, &due, &paid)
	if err != nil {
		return translate(err, "invoice")
	}
	if amount != nil && (status == hg.InvoiceIssued || status == hg.InvoicePartiallyPaid) && *amount > due {
		return hg.Invalid("amount", "amount %s is more than the %s due", *amount, due)
	}
	if verb == "void" && paid > 0 {
		return hg.Errorf(hg.ECONFLICT, "an invoice with payments cannot be voided")
	}
	return hg.Errorf(hg.ECONFLICT, "cannot %s an invoice that is %s", verb, status)
}
