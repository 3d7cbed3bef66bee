package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.CommunicationStore = (*DB)(nil)

// communicationColumns reads a communication with, for a payer request,
// whether an answer not given up on exists, and for ours, where its
// message is.
const communicationColumns = `k.id, k.claim_id, k.direction, k.payer_system, k.payer_value, k.in_reply_to, k.reasons,
	k.texts, k.attachments,
	k.direction = 'FROM_PAYER' AND EXISTS (SELECT 1 FROM claim_communications a JOIN nphies_messages am ON am.id = a.message_id
		WHERE a.in_reply_to = k.id AND am.delivery <> 'FAILED'),
	coalesce((SELECT m.delivery FROM nphies_messages m WHERE m.id = k.message_id AND k.direction = 'TO_PAYER'), ''),
	k.created_at`

func scanCommunication(row pgx.CollectableRow) (*hg.ClaimCommunication, error) {
	var c hg.ClaimCommunication
	err := row.Scan(&c.ID, &c.ClaimID, &c.Direction, &c.PayerSystem, &c.PayerValue, &c.InReplyTo, &c.Reasons, &c.Texts,
		&c.Attachments, &c.Answered, &c.Delivery, &c.CreatedAt)
	return &c, err
}

// ClaimCommunications lists a claim's communications, oldest first.
func (db *DB) ClaimCommunications(ctx context.Context, claimID uuid.UUID) ([]*hg.ClaimCommunication, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+communicationColumns+` FROM claim_communications k
		WHERE k.claim_id = $1 ORDER BY k.created_at, k.id`, claimID)
	cs, err := pgx.CollectRows(rows, scanCommunication)
	return cs, translate(err, "communications")
}

// ClaimCommunicationByID returns a communication whose claim's patient is
// in scope.
func (db *DB) ClaimCommunicationByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.ClaimCommunication, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+communicationColumns+` FROM claim_communications k
		JOIN claims c ON c.id = k.claim_id WHERE k.id = @id AND `+inScope("c.patient_id"),
		scopeArgs(scope, namedArgs{"id": id}))
	c, err := pgx.CollectExactlyOneRow(rows, scanCommunication)
	return c, translate(err, "communication")
}

// QueueCommunication writes our communication with its outgoing message,
// under a lock on the claim so two answers to one request cannot both be
// queued.
func (db *DB) QueueCommunication(ctx context.Context, n hg.NewCommunication) (*hg.ClaimCommunication, error) {
	c, m := n.Communication, n.Message
	switch {
	case c.ID == uuid.Nil || c.ClaimID == uuid.Nil:
		return nil, hg.Invalid("id", "the communication needs an id and a claim")
	case m.BundleID == "" || m.MessageHeaderID == "" || len(m.Body) == 0:
		return nil, hg.Invalid("message", "the communication has no outgoing bundle")
	case len(c.Texts) == 0 && len(c.Attachments) == 0:
		return nil, hg.Invalid("texts", "a communication needs a text or an attachment")
	}
	msgID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	texts, attachments := c.Texts, c.Attachments
	if texts == nil {
		texts = []string{}
	}
	if attachments == nil {
		attachments = []hg.AttachmentInfo{}
	}
	var patientID uuid.UUID
	var out *hg.ClaimCommunication
	err = db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		var status hg.ClaimStatus
		err := tx.QueryRow(ctx, `SELECT status, patient_id FROM claims WHERE id = $1 FOR UPDATE`, c.ClaimID).Scan(&status, &patientID)
		if err != nil {
			return translate(err, "claim")
		}
		switch status {
		case hg.ClaimSubmitted, hg.ClaimPending, hg.ClaimApproved, hg.ClaimPartial, hg.ClaimRejected:
		default:
			return hg.Errorf(hg.ECONFLICT, "a claim that is %s is not with the payer; nothing can be sent about it", status)
		}
		if c.InReplyTo != nil {
			var dir hg.CommunicationDirection
			var about uuid.UUID
			var answered bool
			err := tx.QueryRow(ctx, `SELECT k.direction, k.claim_id, EXISTS (SELECT 1 FROM claim_communications a
					JOIN nphies_messages am ON am.id = a.message_id WHERE a.in_reply_to = k.id AND am.delivery <> 'FAILED')
				FROM claim_communications k WHERE k.id = $1`, *c.InReplyTo).Scan(&dir, &about, &answered)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				return hg.Invalid("inReplyTo", "no such request from the payer")
			case err != nil:
				return translate(err, "communication")
			case dir != hg.FromPayer || about != c.ClaimID:
				return hg.Invalid("inReplyTo", "not a request from the payer about this claim")
			case answered:
				return hg.Errorf(hg.ECONFLICT, "the payer's request was already answered")
			}
		}
		m.Direction = hg.Outbound
		if err := insertOutgoing(ctx, tx, msgID, &c.ClaimID, m); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `INSERT INTO claim_communications AS k (id, claim_id, direction, in_reply_to, texts,
				attachments, message_id)
			VALUES ($1, $2, 'TO_PAYER', $3, $4, $5, $6) RETURNING `+communicationColumns,
			c.ID, c.ClaimID, c.InReplyTo, texts, attachments, msgID)
		if out, err = pgx.CollectExactlyOneRow(rows, scanCommunication); err != nil {
			return translate(err, "communication")
		}
		note := "communication sent to the payer"
		if c.InReplyTo != nil {
			note = "the payer's request for information answered"
		}
		if err := addHistory(ctx, tx, c.ClaimID, status, note); err != nil {
			return err
		}
		return notifyOutbox(ctx, tx)
	}, func() (uuid.UUID, *uuid.UUID) { return c.ClaimID, &patientID })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// storePayerRequest keeps a payer's request for information on each claim
// of ours it is about, once however often it is delivered.
func storePayerRequest(ctx context.Context, tx pgx.Tx, cr *hg.CommunicationRequestOutcome) error {
	if cr.Value == "" {
		return errors.New("the payer's request has no identifier")
	}
	reasons, texts := cr.Reasons, cr.Texts
	if reasons == nil {
		reasons = []string{}
	}
	if texts == nil {
		texts = []string{}
	}
	for _, claimID := range cr.ClaimIDs {
		if ok, err := claimExists(ctx, tx, claimID); err != nil {
			return err
		} else if !ok {
			continue
		}
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO claim_communications (id, claim_id, direction, payer_system, payer_value,
				reasons, texts)
			VALUES ($1, $2, 'FROM_PAYER', left($3, 500), left($4, 200), $5, $6)
			ON CONFLICT (claim_id, payer_system, payer_value) WHERE direction = 'FROM_PAYER' DO NOTHING`,
			id, claimID, cr.System, cr.Value, reasons, texts)
		if err != nil {
			return translate(err, "communication request")
		}
		if tag.RowsAffected() == 0 {
			continue
		}
		if err := addHistory(ctx, tx, claimID, currentStatus(ctx, tx, claimID), "the payer asked for more information"); err != nil {
			return err
		}
	}
	return nil
}
