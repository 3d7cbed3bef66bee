package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.ResubmissionStore = (*DB)(nil)

// unknownClaim is the anomaly of a reconciliation line naming a claim we do
// not have.
const unknownClaim = "the payer names a claim this clinic does not have"

// applyPayment applies a payer's payment reconciliation once: the first
// delivery of its identifier adds each line to its claim's paid amount and
// queues the payment notice; a later delivery (in another bundle) only
// counts as a duplicate. A line naming a claim we do not have is kept with
// the anomaly and applies to nothing.
func applyPayment(ctx context.Context, tx pgx.Tx, r *hg.Received) error {
	p := r.Payment
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	var inserted bool
	err = tx.QueryRow(ctx, `INSERT INTO payment_reconciliations AS pr (id, identifier, payer_license, payment_reference,
			payment_date, amount, message_id)
		VALUES ($1, left($2, 500), left($3, 100), left($4, 500), $5, $6,
			(SELECT id FROM nphies_messages WHERE direction = 'IN' AND bundle_id = $7 AND bundle_id <> '' AND in_response_to IS NULL))
		ON CONFLICT (identifier) DO UPDATE SET duplicates = pr.duplicates + 1
		RETURNING pr.id, pr.xmax = 0`,
		id, p.Identifier, p.PayerLicense, p.Reference, p.PaymentDate, p.Amount, r.BundleID).Scan(&id, &inserted)
	if err != nil {
		return translate(err, "payment reconciliation")
	}
	if !inserted {
		return nil
	}
	for k, l := range p.Lines {
		if err := applyPaymentLine(ctx, tx, id, k+1, l, p.Reference); err != nil {
			return err
		}
	}
	if p.Notice == nil {
		return nil
	}
	noticeID, err := uuid.NewV7()
	if err != nil {
		return err
	}
	if err := insertOutgoing(ctx, tx, noticeID, nil, *p.Notice); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE payment_reconciliations SET notice_message_id = $2 WHERE id = $1`, id, noticeID); err != nil {
		return translate(err, "payment reconciliation")
	}
	return notifyOutbox(ctx, tx)
}

// applyPaymentLine records one line and adds it to its claim.
func applyPaymentLine(ctx context.Context, tx pgx.Tx, recID uuid.UUID, line int, l hg.PaymentLine, reference string) error {
	var claimID *uuid.UUID
	var status hg.ClaimStatus
	var approved *hg.Halalas
	if l.ClaimID != nil {
		err := tx.QueryRow(ctx, `SELECT status, approved FROM claims WHERE id = $1 FOR UPDATE`, *l.ClaimID).Scan(&status, &approved)
		switch {
		case err == nil:
			claimID = l.ClaimID
		case !errors.Is(err, pgx.ErrNoRows):
			return translate(err, "claim")
		}
	}
	anomaly := ""
	if claimID == nil {
		anomaly = unknownClaim
	}
	_, err := tx.Exec(ctx, `INSERT INTO claim_payments (reconciliation_id, line, claim_id, claim_identifier, kind, gross, fee,
			amount, paid_on, anomaly)
		VALUES ($1, $2, $3, left($4, 500), left($5, 50), $6, $7, $6::bigint + $7::bigint, $8, $9)`,
		recID, line, claimID, l.ClaimIdentifier, l.Kind, l.Gross, l.Fee, l.PaidOn, anomaly)
	if err != nil {
		return translate(err, "claim payment")
	}
	if claimID == nil {
		return nil
	}
	var paid hg.Halalas
	if err := tx.QueryRow(ctx, `UPDATE claims SET paid = paid + $2, updated_at = now() WHERE id = $1 RETURNING paid`,
		*claimID, l.Gross).Scan(&paid); err != nil {
		return translate(err, "claim")
	}
	c := hg.Claim{Approved: approved, Paid: paid}
	note := fmt.Sprintf("payment of %s SAR received (reference %s); paid %s SAR", l.Gross, reference, paid)
	if approved != nil {
		note += fmt.Sprintf(" of %s SAR approved", *approved)
	}
	if s := c.PaymentStatus(); s != nil {
		note += ": " + string(*s)
	}
	return addHistory(ctx, tx, *claimID, status, note)
}

// ClaimPayments lists a claim's payments, oldest first.
func (db *DB) ClaimPayments(ctx context.Context, claimID uuid.UUID) ([]*hg.ClaimPayment, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT pr.id, split_part(pr.identifier, '|', 2), pr.payment_reference, cp.kind,
			pr.payment_date, cp.gross, cp.fee, cp.amount, pr.received_at
		FROM claim_payments cp JOIN payment_reconciliations pr ON pr.id = cp.reconciliation_id
		WHERE cp.claim_id = $1 ORDER BY pr.received_at, cp.line`, claimID)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hg.ClaimPayment, error) {
		var p hg.ClaimPayment
		err := row.Scan(&p.ReconciliationID, &p.Reconciliation, &p.Reference, &p.Kind, &p.PaymentDate, &p.Gross, &p.Fee,
			&p.Amount, &p.ReceivedAt)
		return &p, err
	})
	return out, translate(err, "claim payments")
}

// reconciliationSorts: reconciliations are listed by when they arrived.
var reconciliationSorts = newestFirst("pr.received_at", nil)

// PaymentReconciliations reads one page of reconciliations, newest first,
// then their lines in one query.
func (db *DB) PaymentReconciliations(ctx context.Context, anomalous bool, p hg.Page) ([]*hg.PaymentReconciliation, int, error) {
	where := `(NOT @anomalous OR pr.duplicates > 0
		OR EXISTS (SELECT 1 FROM claim_payments cp WHERE cp.reconciliation_id = pr.id AND cp.anomaly <> ''))`
	args := pageArgs(p, namedArgs{"anomalous": anomalous})
	keyset, order, err := reconciliationSorts.keyset(p, "pr.id", args)
	if err != nil {
		return nil, 0, err
	}
	rows, _ := db.Pool.Query(ctx, `SELECT pr.id, pr.identifier, pr.payer_license, pr.payment_reference, pr.payment_date,
			pr.amount, pr.duplicates, m.delivery, pr.received_at
		FROM payment_reconciliations pr LEFT JOIN nphies_messages m ON m.id = pr.notice_message_id
		WHERE `+where+` AND `+keyset+` ORDER BY `+order+` LIMIT @first`, args)
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hg.PaymentReconciliation, error) {
		var r hg.PaymentReconciliation
		err := row.Scan(&r.ID, &r.Identifier, &r.PayerLicense, &r.Reference, &r.PaymentDate, &r.Amount, &r.Duplicates,
			&r.NoticeDelivery, &r.ReceivedAt)
		return &r, err
	})
	if err != nil {
		return nil, 0, translate(err, "payment reconciliations")
	}
	var total int
	if p.Count {
		err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM payment_reconciliations pr WHERE `+where, args).Scan(&total)
		if err != nil {
			return nil, 0, translate(err, "payment reconciliations")
		}
	}
	if len(recs) == 0 {
		return recs, total, nil
	}
	byID := make(map[uuid.UUID]*hg.PaymentReconciliation, len(recs))
	ids := make([]uuid.UUID, len(recs))
	for i, r := range recs {
		byID[r.ID], ids[i] = r, r.ID
	}
	rows, _ = db.Pool.Query(ctx, `SELECT reconciliation_id, line, claim_id, claim_identifier, kind, gross, fee, amount, anomaly
		FROM claim_payments WHERE reconciliation_id = ANY($1) ORDER BY reconciliation_id, line`, ids)
	var recID uuid.UUID
	var l hg.ReconciliationLine
	_, err = pgx.ForEachRow(rows, []any{&recID, &l.Line, &l.ClaimID, &l.ClaimIdentifier, &l.Kind, &l.Gross, &l.Fee, &l.Amount,
		&l.Anomaly}, func() error {
		r := byID[recID]
		r.Lines = append(r.Lines, l)
		return nil
	})
	if err != nil {
		return nil, 0, translate(err, "payment reconciliations")
	}
	return recs, total, nil
}

// Resubmissions lists the claims that resubmit claimID, oldest first.
func (db *DB) Resubmissions(ctx context.Context, claimID uuid.UUID) ([]*hg.Claim, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+claimColumns+` FROM claims c WHERE c.resubmission_of = $1
		ORDER BY c.created_at, c.id`, claimID)
	cs, err := pgx.CollectRows(rows, scanClaim)
	if err != nil {
		return nil, translate(err, "claims")
	}
	return cs, attachItems(ctx, db.Pool, cs)
}

// QueueResubmission marks the original resubmitted, under its row lock, and
// queues the corrected claim that resubmits it.
func (db *DB) QueueResubmission(ctx context.Context, n hg.NewClaim) (*hg.Claim, error) {
	if n.Claim.ResubmissionOf == nil {
		return nil, hg.Invalid("id", "a resubmission names the claim it resubmits")
	}
	orig := *n.Claim.ResubmissionOf
	return db.queueClaim(ctx, n, func(tx pgx.Tx) error {
		var use hg.ClaimUse
		var status hg.ClaimStatus
		var resubmitted bool
		var invoiceID *uuid.UUID
		err := tx.QueryRow(ctx, `SELECT use, status, resubmitted, invoice_id FROM claims WHERE id = $1 FOR UPDATE`, orig).
			Scan(&use, &status, &resubmitted, &invoiceID)
		switch {
		case err != nil:
			return translate(err, "claim")
		case use != hg.UseClaim || status != hg.ClaimRejected && status != hg.ClaimPartial:
			return hg.Errorf(hg.ECONFLICT, "only a claim the payer rejected or partly approved can be resubmitted; this one is %s", status)
		case resubmitted:
			return hg.Errorf(hg.ECONFLICT, "the claim was resubmitted already")
		case invoiceID == nil || n.Claim.InvoiceID == nil || *invoiceID != *n.Claim.InvoiceID:
			return hg.Invalid("id", "a resubmission claims the original's invoice")
		}
		_, err = tx.Exec(ctx, `UPDATE claims SET resubmitted = true, updated_at = now() WHERE id = $1`, orig)
		if err != nil {
			return translate(err, "claim")
		}
		return addHistory(ctx, tx, orig, status, "corrected and resubmitted as claim "+n.Claim.ID.String())
	})
}
