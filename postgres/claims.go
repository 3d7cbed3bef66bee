package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.ClaimStore = (*DB)(nil)

const claimColumns = `c.id, c.use, c.invoice_id, c.patient_id, c.coverage_id, c.payer_license, c.payer_name,
	c.status, c.total, c.approved, c.disposition, c.preauth_ref, c.last_error, c.created_at, c.updated_at,
	c.practitioner_id, c.resubmission_of, c.resubmitted, c.paid, c.claim_type, coalesce(c.type_details, '{}'),
	c.appointment_id, c.diagnoses`

func scanClaim(row pgx.CollectableRow) (*hg.Claim, error) {
	var c hg.Claim
	err := row.Scan(&c.ID, &c.Use, &c.InvoiceID, &c.PatientID, &c.CoverageID, &c.PayerLicense, &c.PayerName,
		&c.Status, &c.Total, &c.Approved, &c.Disposition, &c.PreAuthRef, &c.LastError, &c.CreatedAt, &c.UpdatedAt,
		&c.PractitionerID, &c.ResubmissionOf, &c.Resubmitted, &c.Paid, &c.Type, &c.Details,
		&c.AppointmentID, &c.Diagnoses)
	return &c, err
}

// claimKnown maps the constraints a caller can break to clear errors.
var claimKnown = map[string]*hg.Error{
	"claims_live_per_invoice":       hg.Errorf(hg.ECONFLICT, "the invoice already has a claim in progress"),
	"claims_live_claim_per_invoice": hg.Errorf(hg.ECONFLICT, "the invoice already has a claim in progress"),
	"claims_items_sum":              hg.Invalid("items", "the claim total does not equal the sum of its items"),
	"claim_items_net":               hg.Invalid("items", "an item's net is not quantity × unit price + VAT"),
	"claims_total_check":            hg.Invalid("total", "the claim total must be more than 0.00"),
}

// QueueClaim writes the claim, its items, its first history entry and its
// outgoing message in one transaction, after checking in that transaction
// that the invoice may be claimed.
func (db *DB) QueueClaim(ctx context.Context, n hg.NewClaim) (*hg.Claim, error) {
	if n.Claim.ResubmissionOf != nil {
		return nil, hg.Invalid("id", "a resubmission is queued with QueueResubmission")
	}
	return db.queueClaim(ctx, n, nil)
}

// queueClaim is QueueClaim with a step that runs first in its transaction.
func (db *DB) queueClaim(ctx context.Context, n hg.NewClaim, first func(pgx.Tx) error) (*hg.Claim, error) {
	c, m := n.Claim, n.Message
	switch {
	case c.ID == uuid.Nil:
		return nil, hg.Invalid("id", "the claim has no id")
	case len(c.Items) == 0:
		return nil, hg.Invalid("items", "a claim needs at least one item")
	case m.Direction != hg.Outbound || m.BundleID == "" || m.MessageHeaderID == "" || len(m.Body) == 0:
		return nil, hg.Invalid("message", "the claim has no outgoing bundle")
	case c.Use != hg.UseClaim && c.Use != hg.UsePreAuth:
		return nil, hg.Invalid("use", "use must be claim or preauthorization")
	}
	for _, it := range c.Items {
		if it.Quantity <= 0 {
			return nil, hg.Invalid("items", "quantities must be more than 0")
		}
	}
	msgID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	var out *hg.Claim
	err = db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		if first != nil {
			if err := first(tx); err != nil {
				return err
			}
		}
		if c.InvoiceID != nil {
			if err := claimableInvoice(ctx, tx, c); err != nil {
				return err
			}
		}
		rows, _ := tx.Query(ctx, `INSERT INTO claims AS c (id, use, invoice_id, patient_id, coverage_id, payer_license,
				payer_name, status, total, practitioner_id, resubmission_of, claim_type, type_details, appointment_id, diagnoses)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'QUEUED', $8, $9, $10, $11, $12, $13, $14) RETURNING `+claimColumns,
			c.ID, c.Use, c.InvoiceID, c.PatientID, c.CoverageID, c.PayerLicense, c.PayerName, c.Total, c.PractitionerID,
			c.ResubmissionOf, claimType(c.Type), typeDetails(c.Details), c.AppointmentID, c.Diagnoses)
		var err error
		if out, err = pgx.CollectExactlyOneRow(rows, scanClaim); err != nil {
			return byConstraint(err, "claim", claimKnown)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"claim_items"},
			[]string{"claim_id", "sequence", "code_system", "service_code", "description", "quantity", "unit_price", "vat", "net", "patient_share"},
			pgx.CopyFromSlice(len(c.Items), func(k int) ([]any, error) {
				it := c.Items[k]
				return []any{c.ID, it.Sequence, string(it.CodeSystem), it.ServiceCode, it.Description, it.Quantity, it.UnitPrice, it.VAT, it.Net,
					it.PatientShare}, nil
			}))
		if err != nil {
			return byConstraint(err, "claim items", claimKnown)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"claim_attachments"},
			[]string{"claim_id", "sequence", "title", "content_type", "data", "created_at", "investigation_result"},
			pgx.CopyFromSlice(len(c.Attachments), func(k int) ([]any, error) {
				a := c.Attachments[k]
				return []any{c.ID, k + 1, a.Title, a.ContentType, a.Data, a.Created, a.InvestigationResult}, nil
			}))
		if err != nil {
			return translate(err, "claim attachments")
		}
		if err := addHistory(ctx, tx, c.ID, hg.ClaimQueued, "queued for NPHIES"); err != nil {
			return err
		}
		if err := insertOutgoing(ctx, tx, msgID, &c.ID, m); err != nil {
			return err
		}
		if err := notifyOutbox(ctx, tx); err != nil {
			return err
		}
		// Deferred checks (the claim total) run now so their error is ours.
		_, err = tx.Exec(ctx, `SET CONSTRAINTS ALL IMMEDIATE`)
		return byConstraint(err, "claim", claimKnown)
	}, func() (uuid.UUID, *uuid.UUID) { return claimSubject(out) })
	if err != nil {
		return nil, err
	}
	out.Items = c.Items
	return out, nil
}

// claimSubject is what a write of a claim is audited as.
func claimSubject(c *hg.Claim) (uuid.UUID, *uuid.UUID) { return c.ID, &c.PatientID }

// claimableInvoice checks, under a row lock so a concurrent void cannot
// slip in, that the invoice may be claimed: issued (or, for a prior
// authorization, at least not void), with a coverage, an insurer share and
// the claim's patient, coverage and total.
func claimableInvoice(ctx context.Context, tx pgx.Tx, c hg.Claim) error {
	var status hg.InvoiceStatus
	var patientID uuid.UUID
	var coverageID *uuid.UUID
	var total, insurer hg.Halalas
	err := tx.QueryRow(ctx, `SELECT status, patient_id, coverage_id, total, insurer_share FROM invoices WHERE id = $1 FOR UPDATE`,
		*c.InvoiceID).Scan(&status, &patientID, &coverageID, &total, &insurer)
	if err != nil {
		return translate(err, "invoice")
	}
	switch {
	case status == hg.InvoiceDraft && c.Use == hg.UseClaim:
		// A prior authorization asks before the service, so its invoice
		// may still be a draft; a claim bills what was done.
		return hg.Invalid("invoiceId", "a draft invoice cannot be claimed; issue it first")
	case status == hg.InvoiceVoid:
		return hg.Invalid("invoiceId", "a void invoice cannot be claimed")
	case coverageID == nil:
		return hg.Invalid("invoiceId", "the invoice has no insurance coverage")
	case insurer <= 0:
		return hg.Invalid("invoiceId", "the insurer owes nothing on this invoice")
	case patientID != c.PatientID || *coverageID != c.CoverageID:
		return hg.Invalid("invoiceId", "the claim's patient or coverage is not the invoice's")
	case total != c.Total && c.ResubmissionOf == nil:
		// A resubmission may correct the items, and so the total, without
		// changing what the invoice billed.
		return hg.Invalid("total", "the claim total does not equal the invoice total")
	}
	if c.Use != hg.UseClaim {
		return nil
	}
	var live bool
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM claims WHERE invoice_id = $1 AND use = 'claim'
		AND status NOT IN ('CANCELLED', 'REJECTED') AND NOT refused AND NOT resubmitted)`, *c.InvoiceID).Scan(&live)
	if err != nil {
		return translate(err, "claim")
	}
	if live {
		return hg.Errorf(hg.ECONFLICT, "the invoice already has a claim in progress")
	}
	return nil
}

// insertOutgoing queues m for the worker.
func insertOutgoing(ctx context.Context, tx pgx.Tx, id uuid.UUID, claimID *uuid.UUID, m hg.NPHIESMessage) error {
	_, err := tx.Exec(ctx, `INSERT INTO nphies_messages (id, claim_id, direction, event, bundle_id, message_header_id,
			body, delivery, next_attempt_at, trace_parent)
		VALUES ($1, $2, 'OUT', $3, $4, $5, $6, 'PENDING', coalesce($7, now()), $8)`,
		id, claimID, m.Event, m.BundleID, m.MessageHeaderID, m.Body, nullTime(m.NextAttemptAt), m.TraceParent)
	return byConstraint(err, "message", map[string]*hg.Error{
		"nphies_messages_bundle_idx": hg.Errorf(hg.ECONFLICT, "this bundle was already queued"),
	})
}

// addHistory appends a step to a claim's history.
func addHistory(ctx context.Context, tx pgx.Tx, claimID uuid.UUID, s hg.ClaimStatus, note string) error {
	_, err := tx.Exec(ctx, `INSERT INTO claim_status_history (claim_id, status, note) VALUES ($1, $2, left($3, 1000))`,
		claimID, s, note)
	return translate(err, "claim history")
}

// ClaimByID returns a claim in scope with its items.
func (db *DB) ClaimByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.Claim, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+claimColumns+` FROM claims c WHERE c.id = @id AND `+inScope("c.patient_id"),
		scopeArgs(scope, namedArgs{"id": id}))
	c, err := pgx.CollectExactlyOneRow(rows, scanClaim)
	if err != nil {
		return nil, translate(err, "claim")
	}
	return c, attachItems(ctx, db.Pool, []*hg.Claim{c})
}

// claimSorts are the orders claims can be listed in: by creation or by
// total.
var claimSorts = newestFirst("c.created_at", map[hg.SortField]sortKey{
	hg.SortAmount: {{"c.total", "bigint"}},
})

// ListClaims returns a page of claims in scope in p.Sort (newest first by
// default), with their items,
// in three statements whatever the page size.
func (db *DB) ListClaims(ctx context.Context, scope hg.PatientScope, f hg.ClaimFilter, p hg.Page) ([]*hg.Claim, int, error) {
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	where := `(@patient::uuid IS NULL OR c.patient_id = @patient)
		AND (@min_total::bigint IS NULL OR c.total >= @min_total)
		AND (@max_total::bigint IS NULL OR c.total <= @max_total)
		AND (@status::text IS NULL OR c.status = @status)
		AND (@payer::text IS NULL OR c.payer_license = @payer)
		AND (@from::timestamptz IS NULL OR c.created_at >= @from)
		AND (@to::timestamptz IS NULL OR c.created_at < @to)
		AND ` + inScope("c.patient_id")
	args := scopeArgs(scope, pageArgs(p, namedArgs{"patient": f.PatientID, "status": f.Status,
		"payer": f.PayerLicense, "from": f.From, "to": f.To, "min_total": f.MinTotal, "max_total": f.MaxTotal}))
	keyset, order, err := claimSorts.keyset(p, "c.id", args)
	if err != nil {
		return nil, 0, err
	}
	rows, _ := db.Pool.Query(ctx, `SELECT `+claimColumns+` FROM claims c WHERE `+where+` AND `+keyset+`
		ORDER BY `+order+` LIMIT @first`, args)
	cs, err := pgx.CollectRows(rows, scanClaim)
	if err != nil {
		return nil, 0, translate(err, "claims")
	}
	var total int
	switch {
	case !p.Count:
	case scope.All && f == hg.ClaimFilter{Status: f.Status}:
		if total, err = db.claimsWithStatus(ctx, f.Status); err != nil {
			return nil, 0, err
		}
	default:
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM claims c WHERE `+where, args).Scan(&total); err != nil {
			return nil, 0, translate(err, "claims")
		}
	}
	return cs, total, attachItems(ctx, db.Pool, cs)
}

// claimCountRows is how many appended count rows a status may gather before
// a reader folds them into one: enough that folds are rare, few enough that
// summing them stays well under a millisecond.
const claimCountRows = 256

// claimsWithStatus counts all claims, or those with status s, from the
// per-status counts the claims triggers append (migration 0009) instead of
// walking an index of every claim.
func (db *DB) claimsWithStatus(ctx context.Context, s *hg.ClaimStatus) (int, error) {
	var total, rows int
	err := db.Pool.QueryRow(ctx, `SELECT coalesce(sum(delta), 0), count(*) FROM claim_status_counts
		WHERE $1::text IS NULL OR status = $1`, s).Scan(&total, &rows)
	if err != nil {
		return 0, translate(err, "claims")
	}
	if rows > claimCountRows {
		// Rows appended meanwhile are not seen and stay, and a concurrent
		// fold skips the rows this one deleted, so counts stay exact.
		_, err = db.Pool.Exec(ctx, `WITH folded AS (DELETE FROM claim_status_counts RETURNING status, delta)
			INSERT INTO claim_status_counts (status, delta)
			SELECT status, sum(delta) FROM folded GROUP BY status HAVING sum(delta) <> 0`)
	}
	return total, translate(err, "claim counts")
}

func attachItems(ctx context.Context, q querier, cs []*hg.Claim) error {
	if len(cs) == 0 {
		return nil
	}
	byID := make(map[uuid.UUID]*hg.Claim, len(cs))
	ids := make([]uuid.UUID, len(cs))
	for k, c := range cs {
		byID[c.ID], ids[k] = c, c.ID
	}
	rows, _ := q.Query(ctx, `SELECT claim_id, sequence, code_system, service_code, description, quantity, unit_price, vat, net,
			patient_share, approved, outcome, reasons
		FROM claim_items WHERE claim_id = ANY($1) ORDER BY claim_id, sequence`, ids)
	var claimID uuid.UUID
	var it hg.ClaimItem
	_, err := pgx.ForEachRow(rows, []any{&claimID, &it.Sequence, &it.CodeSystem, &it.ServiceCode, &it.Description, &it.Quantity,
		&it.UnitPrice, &it.VAT, &it.Net, &it.PatientShare, &it.Approved, &it.Outcome, &it.Reasons}, func() error {
		item := it
		item.Reasons = append([]string(nil), it.Reasons...)
		byID[claimID].Items = append(byID[claimID].Items, item)
		return nil
	})
	for _, c := range cs {
		c.ShowItemDetails()
	}
	return translate(err, "claim items")
}

// ClaimAttachments lists the documents a claim carries, in order.
func (db *DB) ClaimAttachments(ctx context.Context, claimID uuid.UUID) ([]hg.Attachment, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT title, content_type, data, created_at, investigation_result FROM claim_attachments
		WHERE claim_id = $1 ORDER BY sequence`, claimID)
	as, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (hg.Attachment, error) {
		var a hg.Attachment
		err := row.Scan(&a.Title, &a.ContentType, &a.Data, &a.Created, &a.InvestigationResult)
		return a, err
	})
	return as, translate(err, "claim attachments")
}

// ClaimAttachmentInfos describes the documents of the claims in scope
// among claimIDs, in order within each claim, in one statement. The length
// of a stored bytea is read from its header: the content is not fetched.
func (db *DB) ClaimAttachmentInfos(ctx context.Context, scope hg.PatientScope, claimIDs []uuid.UUID) ([]*hg.ClaimAttachmentInfo, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT a.claim_id, a.title, a.content_type,
			CASE WHEN a.investigation_result THEN 'INVESTIGATION_RESULT' ELSE 'DOCUMENT' END, octet_length(a.data)
		FROM claim_attachments a JOIN claims c ON c.id = a.claim_id
		WHERE a.claim_id = ANY(@ids) AND `+inScope("c.patient_id")+`
		ORDER BY a.claim_id, a.sequence`, scopeArgs(scope, namedArgs{"ids": claimIDs}))
	as, err := pgx.CollectRows(rows, pgx.RowToAddrOfStructByPos[hg.ClaimAttachmentInfo])
	return as, translate(err, "claim attachments")
}

// ClaimMessages lists every bundle sent and received for a claim, oldest
// first.
func (db *DB) ClaimMessages(ctx context.Context, claimID uuid.UUID) ([]*hg.NPHIESMessage, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+messageColumns+` FROM nphies_messages m
		WHERE m.claim_id = $1 ORDER BY m.created_at, m.id`, claimID)
	ms, err := pgx.CollectRows(rows, scanMessage)
	return ms, translate(err, "messages")
}

const messageColumns = `m.id, m.claim_id, m.direction, m.event, m.bundle_id, m.message_header_id, m.body,
	coalesce(m.delivery, ''), m.attempts, coalesce(m.next_attempt_at, m.created_at), coalesce(m.http_status, 0),
	m.last_error, m.trace_parent, m.created_at`

func scanMessage(row pgx.CollectableRow) (*hg.NPHIESMessage, error) {
	var m hg.NPHIESMessage
	err := row.Scan(&m.ID, &m.ClaimID, &m.Direction, &m.Event, &m.BundleID, &m.MessageHeaderID, &m.Body, &m.Delivery,
		&m.Attempts, &m.NextAttemptAt, &m.HTTPStatus, &m.LastError, &m.TraceParent, &m.CreatedAt)
	return &m, err
}

// ClaimHistory lists a claim's status changes, oldest first.
func (db *DB) ClaimHistory(ctx context.Context, claimID uuid.UUID) ([]*hg.ClaimStatusChange, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT status, note, at FROM claim_status_history WHERE claim_id = $1 ORDER BY id`, claimID)
	hs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hg.ClaimStatusChange, error) {
		var h hg.ClaimStatusChange
		err := row.Scan(&h.Status, &h.Note, &h.At)
		return &h, err
	})
	return hs, translate(err, "claim history")
}

// RetryClaim makes a claim in ERROR due again: its failed outgoing message
// is rescheduled now with the same bytes and identity, so NPHIES can
// recognise a resend of something that did arrive.
func (db *DB) RetryClaim(ctx context.Context, id uuid.UUID) (*hg.Claim, error) {
	var out *hg.Claim
	err := db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE claims c SET status = 'QUEUED', last_error = '', refused = false, updated_at = now()
			WHERE c.id = $1 AND c.status = 'ERROR' RETURNING `+claimColumns, id)
		var err error
		out, err = pgx.CollectExactlyOneRow(rows, scanClaim)
		if errors.Is(err, pgx.ErrNoRows) {
			var status hg.ClaimStatus
			if err := tx.QueryRow(ctx, `SELECT status FROM claims WHERE id = $1`, id).Scan(&status); err != nil {
				return translate(err, "claim")
			}
			return hg.Errorf(hg.ECONFLICT, "only a claim in ERROR can be retried; this one is %s", status)
		} else if err != nil {
			return byConstraint(err, "claim", claimKnown)
		}
		// The newest outgoing message that did not go through is the one to
		// resend; attempts restart so it gets the full retry budget.
		tag, err := tx.Exec(ctx, `UPDATE nphies_messages SET delivery = 'PENDING', attempts = 0, next_attempt_at = now(),
				last_error = ''
			WHERE id = (SELECT id FROM nphies_messages WHERE claim_id = $1 AND direction = 'OUT'
				ORDER BY created_at DESC, id DESC LIMIT 1)`, id)
		if err != nil {
			return translate(err, "message")
		}
		if tag.RowsAffected() != 1 {
			return hg.Errorf(hg.ECONFLICT, "the claim has no message to resend")
		}
		if err := notifyOutbox(ctx, tx); err != nil {
			return err
		}
		if err := addHistory(ctx, tx, id, hg.ClaimQueued, "retry requested"); err != nil {
			return err
		}
		// Read in the transaction, so a committed retry is never answered
		// with an error.
		return attachItems(ctx, tx, []*hg.Claim{out})
	}, func() (uuid.UUID, *uuid.UUID) { return claimSubject(out) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// QueueCancel queues a cancel request for a claim NPHIES has; the claim is
// marked CANCELLED when NPHIES confirms.
func (db *DB) QueueCancel(ctx context.Context, id uuid.UUID, msg hg.NPHIESMessage) (*hg.Claim, error) {
	if msg.BundleID == "" || msg.MessageHeaderID == "" || len(msg.Body) == 0 {
		return nil, hg.Invalid("message", "the cancel request has no bundle")
	}
	msgID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	var out *hg.Claim
	err = db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+claimColumns+` FROM claims c WHERE c.id = $1 FOR UPDATE`, id)
		var err error
		if out, err = pgx.CollectExactlyOneRow(rows, scanClaim); err != nil {
			return translate(err, "claim")
		}
		switch out.Status {
		case hg.ClaimSubmitted, hg.ClaimPending, hg.ClaimApproved, hg.ClaimPartial:
		default:
			return hg.Errorf(hg.ECONFLICT, "a claim that is %s cannot be cancelled", out.Status)
		}
		var busy bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM nphies_messages WHERE claim_id = $1
				AND direction = 'OUT' AND delivery = 'PENDING')`, id).Scan(&busy); err != nil {
			return translate(err, "message")
		}
		if busy {
			return hg.Errorf(hg.ECONFLICT, "a message for this claim is still being delivered")
		}
		msg.Direction = hg.Outbound
		if err := insertOutgoing(ctx, tx, msgID, &id, msg); err != nil {
			return err
		}
		if err := notifyOutbox(ctx, tx); err != nil {
			return err
		}
		if err := addHistory(ctx, tx, id, out.Status, "cancellation requested"); err != nil {
			return err
		}
		return attachItems(ctx, tx, []*hg.Claim{out})
	}, func() (uuid.UUID, *uuid.UUID) { return claimSubject(out) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PriorAuthorizations returns an invoice's approved prior authorizations,
// oldest first.
func (db *DB) PriorAuthorizations(ctx context.Context, invoiceID uuid.UUID) ([]hg.PriorAuthorization, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT preauth_ref, response_key FROM claims
		WHERE invoice_id = $1 AND use = 'preauthorization' AND status IN ('APPROVED', 'PARTIAL') AND preauth_ref <> ''
		ORDER BY created_at, id`, invoiceID)
	pas, err := pgx.CollectRows(rows, pgx.RowToStructByPos[hg.PriorAuthorization])
	return pas, translate(err, "prior authorizations")
}

// claimType is the type a claim is stored with: professional unless given.
func claimType(t hg.ClaimType) hg.ClaimType {
	if t == "" {
		return hg.ClaimProfessional
	}
	return t
}

// typeDetails is what a claim keeps for its type, NULL when nothing (a
// professional claim that was no emergency).
func typeDetails(d hg.ClaimDetails) any {
	if len(d.Items) == 0 && d.Admission == nil && d.VisionPrescription == nil && d.Emergency == nil {
		return nil
	}
	return d
}
