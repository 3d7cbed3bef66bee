package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.Outbox = (*DB)(nil)

// recordTimeout bounds writing down an attempt after the send returned. It
// runs on a context detached from the caller's, so a worker told to stop
// mid-send still records what it learned instead of sending again later.
const recordTimeout = 10 * time.Second

// DeliverNext takes the oldest due outgoing message with FOR UPDATE SKIP
// LOCKED, keeps the transaction (and so the row lock) open while send
// runs, and records the attempt and its consequences in that transaction.
// Two workers therefore never send the same message at once, and a worker
// that dies mid-send leaves the row as it was: due again, with the same
// bytes, once Postgres notices the dead connection.
func (db *DB) DeliverNext(ctx context.Context, send func(ctx context.Context, m *hg.NPHIESMessage) hg.Attempt) (bool, error) {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return false, translate(err, "outbox")
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, _ := tx.Query(ctx, `SELECT `+messageColumns+` FROM nphies_messages m
		WHERE m.delivery = 'PENDING' AND m.next_attempt_at <= now() AND m.event <> 'poll-request'
		ORDER BY m.next_attempt_at, m.id LIMIT 1 FOR UPDATE SKIP LOCKED`)
	m, err := pgx.CollectExactlyOneRow(rows, scanMessage)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, translate(err, "outbox")
	}
	a := send(ctx, m)

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := db.recordAttempt(rctx, tx, m, a); err != nil {
		if !applyFailure(err) {
			return true, err
		}
		// The answer could not be applied (a bug or an answer the schema
		// refuses): keep it raw, stop retrying, and put the claim in front
		// of a person rather than resend forever.
		safe := hg.Attempt{Delivery: hg.DeliveryFailed, HTTPStatus: a.HTTPStatus,
			Error: "the NPHIES answer could not be applied; it is stored for diagnosis"}
		if a.Response != nil {
			safe.Response = &hg.Received{Event: a.Response.Event, BundleID: a.Response.BundleID,
				MessageHeaderID: a.Response.MessageHeaderID, Body: a.Response.Body, Problem: safe.Error}
		}
		if err2 := db.recordAttempt(rctx, tx, m, safe); err2 != nil {
			if !applyFailure(err2) {
				return true, err2
			}
			// Not even that can be written: put the message back later, so
			// it does not stay first in line and block every other one.
			_, err3 := tx.Exec(rctx, `UPDATE nphies_messages SET attempts = attempts + 1,
					next_attempt_at = now() + interval '1 minute', last_error = 'the answer could not be recorded; retrying later'
				WHERE id = $1`, m.ID)
			if err3 != nil {
				return true, fmt.Errorf("record attempt: %w (after %w, then %w)", err3, err2, err)
			}
			if err := tx.Commit(rctx); err != nil {
				return true, translate(err, "outbox")
			}
			return true, fmt.Errorf("record attempt: %w (after %w)", err2, err)
		}
	}
	if err := tx.Commit(rctx); err != nil {
		return true, translate(err, "outbox")
	}
	return true, nil
}

// applyFailure reports whether err came from the data (a constraint, a
// missing row) rather than from the database being unreachable, which a
// later attempt may cure.
func applyFailure(err error) bool {
	var dom *hg.Error
	if errors.As(err, &dom) {
		return dom.Code != hg.EUNAVAILABLE
	}
	return !isConnError(err) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

// recordAttempt writes one attempt inside a savepoint, so a failure leaves
// the enclosing transaction (and its row lock) usable for a fallback.
func (db *DB) recordAttempt(ctx context.Context, outer pgx.Tx, m *hg.NPHIESMessage, a hg.Attempt) error {
	return pgx.BeginFunc(ctx, outer, func(tx pgx.Tx) error {
		var retryAt *time.Time
		if a.Delivery == hg.DeliveryPending {
			retryAt = &a.RetryAt
		}
		_, err := tx.Exec(ctx, `UPDATE nphies_messages SET attempts = attempts + 1, delivery = $2,
				next_attempt_at = coalesce($3, next_attempt_at), http_status = $4, last_error = left($5, 1000),
				sent_at = CASE WHEN $2 = 'SENT' THEN now() ELSE sent_at END
			WHERE id = $1`, m.ID, a.Delivery, retryAt, a.HTTPStatus, a.Error)
		if err != nil {
			return translate(err, "message")
		}
		if a.Response != nil {
			if _, err := storeInbound(ctx, tx, m.ClaimID, &m.ID, a.Response); err != nil {
				return err
			}
		}
		if m.ClaimID == nil {
			return nil
		}
		switch a.Delivery {
		case hg.DeliverySent:
			return applySent(ctx, tx, *m.ClaimID, m, a.Response)
		case hg.DeliveryFailed:
			if what, ok := followUps[m.Event]; ok {
				// A message about a claim NPHIES already has: the claim
				// stands as the payer decided it, and the failure is noted.
				return addHistory(ctx, tx, *m.ClaimID, currentStatus(ctx, tx, *m.ClaimID), what+" failed: "+a.Error+"; it may be requested again")
			}
			return failClaim(ctx, tx, *m.ClaimID, "delivery failed: "+a.Error, a.Refused)
		}
		return nil
	})
}

// followUps are the outgoing messages about a claim NPHIES already has,
// named for the claim's history; a failure to deliver one leaves the claim
// as it is, and it may be requested again.
var followUps = map[string]string{
	"cancel-request": "cancellation",
	"status-check":   "status check",
	"communication":  "communication to the payer",
}

// applySent moves a claim on after its message went through: a claim
// request makes it SUBMITTED, then whatever the answer says applies.
func applySent(ctx context.Context, tx pgx.Tx, claimID uuid.UUID, m *hg.NPHIESMessage, r *hg.Received) error {
	if m.Event == "claim-request" || m.Event == "priorauth-request" {
		tag, err := tx.Exec(ctx, `UPDATE claims SET status = 'SUBMITTED', updated_at = now()
			WHERE id = $1 AND status IN ('QUEUED', 'ERROR')`, claimID)
		if err != nil {
			return translate(err, "claim")
		}
		if tag.RowsAffected() == 1 {
			if err := addHistory(ctx, tx, claimID, hg.ClaimSubmitted, "delivered to NPHIES"); err != nil {
				return err
			}
		}
	}
	if r == nil {
		return nil
	}
	return applyInbound(ctx, tx, r)
}

// applyInbound applies what a received message says about our claims.
func applyInbound(ctx context.Context, tx pgx.Tx, r *hg.Received) error {
	switch {
	case r.Claim != nil:
		return applyClaimOutcome(ctx, tx, r.Claim)
	case r.Cancel != nil:
		if r.Cancel.Done {
			return setClaimStatus(ctx, tx, r.Cancel.ClaimID, hg.ClaimCancelled, "cancelled at NPHIES",
				`status IN ('SUBMITTED','PENDING','APPROVED','PARTIAL','ERROR')`)
		}
		return addHistory(ctx, tx, r.Cancel.ClaimID, currentStatus(ctx, tx, r.Cancel.ClaimID),
			"cancellation refused: "+r.Cancel.Error)
	case r.Payment != nil:
		return applyPayment(ctx, tx, r)
	case r.Status != nil:
		note := "status check: the payer reports " + cmp.Or(r.Status.State, "no status")
		if r.Status.State == "" {
			note = "status check refused: " + cmp.Or(r.Status.Error, "no reason given")
		}
		return addHistory(ctx, tx, r.Status.ClaimID, currentStatus(ctx, tx, r.Status.ClaimID), note)
	case r.CommunicationRequest != nil:
		return storePayerRequest(ctx, tx, r.CommunicationRequest)
	}
	return nil
}

// currentStatus returns a claim's status for a history note that does not
// change it.
func currentStatus(ctx context.Context, tx pgx.Tx, id uuid.UUID) hg.ClaimStatus {
	var s hg.ClaimStatus
	_ = tx.QueryRow(ctx, `SELECT status FROM claims WHERE id = $1`, id).Scan(&s)
	return s
}

// applyClaimOutcome records a payer's decision. Only a claim still waiting
// for one changes; a decision already applied (a response delivered
// twice, a late sync answer after a polled one) changes nothing.
func applyClaimOutcome(ctx context.Context, tx pgx.Tx, o *hg.ClaimOutcome) error {
	refused := o.Status == hg.ClaimError
	lastErr := ""
	if refused {
		lastErr = "NPHIES refused the claim: " + o.Error
		if o.Error == "" {
			lastErr = "NPHIES refused the claim"
		}
	}
	var approved *hg.Halalas
	if o.Status.Final() {
		approved = o.Approved
	}
	// A payer revising a final decision (a reissue, IG26 §7.4.2.3) is
	// applied too: the history keeps the decision it replaces.
	reissue := o.Reissue != "" && o.Status.Final() && o.Status != hg.ClaimCancelled
	var prev hg.ClaimStatus
	err := tx.QueryRow(ctx, `UPDATE claims c SET status = $2, approved = $3, disposition = left($4, 2000),
			preauth_ref = left($5, 200), response_key = $6, last_error = left($7, 1000), refused = $8, updated_at = now()
		FROM (SELECT id, status FROM claims WHERE id = $1 FOR UPDATE) old
		WHERE c.id = old.id AND (c.status IN ('QUEUED', 'SUBMITTED', 'ERROR') OR (c.status = 'PENDING' AND $2 <> 'PENDING')
			OR ($9 AND c.status IN ('APPROVED', 'PARTIAL', 'REJECTED')))
		RETURNING old.status`,
		o.ClaimID, o.Status, approved, o.Disposition, o.PreAuthRef, o.ResponseKey, lastErr, refused, reissue).Scan(&prev)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return byConstraint(err, "claim", claimKnown)
	}
	for _, it := range o.Items {
		if it.Reasons == nil {
			it.Reasons = []string{}
		}
		_, err := tx.Exec(ctx, `UPDATE claim_items SET approved = $3, outcome = $4, reasons = $5
			WHERE claim_id = $1 AND sequence = $2`, o.ClaimID, it.Sequence, it.Approved, it.Outcome, it.Reasons)
		if err != nil {
			return translate(err, "claim item")
		}
	}
	note := "payer decision: " + string(o.Status)
	if reissue && prev.Final() {
		note = fmt.Sprintf("payer revised its decision (%s): %s, was %s", o.Reissue, o.Status, prev)
	}
	switch o.Status {
	case hg.ClaimPending:
		note = "queued at the payer; the answer comes by polling"
	case hg.ClaimError:
		note = lastErr
	}
	return addHistory(ctx, tx, o.ClaimID, o.Status, note)
}

// setClaimStatus changes a claim's status when cond holds and notes it.
func setClaimStatus(ctx context.Context, tx pgx.Tx, id uuid.UUID, s hg.ClaimStatus, note, cond string) error {
	tag, err := tx.Exec(ctx, `UPDATE claims SET status = $2, updated_at = now() WHERE id = $1 AND `+cond, id, s)
	if err != nil {
		return translate(err, "claim")
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	return addHistory(ctx, tx, id, s, note)
}

// failClaim puts a claim in ERROR for a person to see.
func failClaim(ctx context.Context, tx pgx.Tx, id uuid.UUID, why string, refused bool) error {
	tag, err := tx.Exec(ctx, `UPDATE claims SET status = 'ERROR', last_error = left($2, 1000), refused = $3, updated_at = now()
		WHERE id = $1 AND status NOT IN ('CANCELLED', 'REJECTED')`, id, why, refused)
	if err != nil {
		return byConstraint(err, "claim", claimKnown)
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	return addHistory(ctx, tx, id, hg.ClaimError, why)
}

func claimExists(ctx context.Context, tx pgx.Tx, id uuid.UUID) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM claims WHERE id = $1)`, id).Scan(&ok)
	return ok, translate(err, "claim")
}

// storeInbound keeps a received message exactly as it came. It reports
// false when a message with the same bundle id was stored before: the
// inbox's de-duplication.
func storeInbound(ctx context.Context, tx pgx.Tx, claimID *uuid.UUID, inResponseTo *uuid.UUID, r *hg.Received) (bool, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return false, err
	}
	body := r.Body
	if body == nil {
		body = []byte{}
	}
	tag, err := tx.Exec(ctx, `INSERT INTO nphies_messages (id, claim_id, direction, event, bundle_id, message_header_id,
			in_response_to, body, last_error)
		VALUES ($1, $2, 'IN', left($3, 100), left($4, 200), left($5, 200), $6, $7, left($8, 1000))
		ON CONFLICT (direction, bundle_id) WHERE bundle_id <> '' AND in_response_to IS NULL DO NOTHING`,
		id, claimID, r.Event, r.BundleID, r.MessageHeaderID, inResponseTo, body, r.Problem)
	if err != nil {
		return false, translate(err, "received message")
	}
	return tag.RowsAffected() == 1, nil
}

// RecordExchange stores a poll request with its response and applies the
// messages it delivered, each in its own savepoint.
func (db *DB) RecordExchange(ctx context.Context, sent *hg.NPHIESMessage, response *hg.Received, delivered []hg.Received) error {
	sentID, err := uuid.NewV7()
	if err != nil {
		return err
	}
	delivery := sent.Delivery
	if delivery != hg.DeliveryFailed {
		delivery = hg.DeliverySent
	}
	return db.InTx(ctx, func(tx pgx.Tx) error {
		// A saved poll request is updated in place; its id links the answer.
		err := tx.QueryRow(ctx, `INSERT INTO nphies_messages AS m (id, direction, event, bundle_id, message_header_id, body,
				delivery, attempts, next_attempt_at, sent_at, http_status, last_error, trace_parent)
			VALUES ($1, 'OUT', $2, $3, $4, $5, $6, 1, now(), now(), $7, left($8, 1000), $9)
			ON CONFLICT (direction, bundle_id) WHERE bundle_id <> '' AND in_response_to IS NULL
			DO UPDATE SET delivery = EXCLUDED.delivery, attempts = m.attempts + 1, sent_at = now(),
				http_status = EXCLUDED.http_status, last_error = EXCLUDED.last_error
			RETURNING m.id`,
			sentID, sent.Event, sent.BundleID, sent.MessageHeaderID, sent.Body, delivery, sent.HTTPStatus, sent.LastError,
			sent.TraceParent).Scan(&sentID)
		if err != nil {
			return translate(err, "poll request")
		}
		if response != nil {
			if _, err := storeInbound(ctx, tx, nil, &sentID, response); err != nil {
				return err
			}
		}
		for k := range delivered {
			if err := applyDelivered(ctx, tx, &delivered[k]); err != nil {
				return err
			}
		}
		return nil
	})
}

// SavePoll stores a poll request as PENDING before it is sent. The worker
// never takes poll requests; only the poller resends them.
func (db *DB) SavePoll(ctx context.Context, m *hg.NPHIESMessage) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	_, err = db.Pool.Exec(ctx, `INSERT INTO nphies_messages (id, direction, event, bundle_id, message_header_id, body,
			delivery, next_attempt_at, trace_parent)
		VALUES ($1, 'OUT', $2, $3, $4, $5, 'PENDING', now(), $6)`,
		id, m.Event, m.BundleID, m.MessageHeaderID, m.Body, m.TraceParent)
	return translate(err, "poll request")
}

// UnansweredPoll returns the oldest saved poll request not yet recorded.
func (db *DB) UnansweredPoll(ctx context.Context) (*hg.NPHIESMessage, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+messageColumns+` FROM nphies_messages m
		WHERE m.delivery = 'PENDING' AND m.event = 'poll-request' ORDER BY m.created_at, m.id LIMIT 1`)
	m, err := pgx.CollectExactlyOneRow(rows, scanMessage)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return m, translate(err, "poll request")
}

// applyDelivered stores and applies one polled message. A message that
// cannot be applied is kept raw with the reason, linked to no claim, so it
// neither blocks the poll nor vanishes.
func applyDelivered(ctx context.Context, tx pgx.Tx, r *hg.Received) error {
	err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
		claimID, err := linkedClaim(ctx, sp, r)
		if err != nil {
			return err
		}
		fresh, err := storeInbound(ctx, sp, claimID, nil, r)
		if err != nil || !fresh || r.Problem != "" || claimID == nil && r.Payment == nil {
			return err
		}
		return applyInbound(ctx, sp, r)
	})
	if err == nil || !applyFailure(err) {
		return err
	}
	kept := hg.Received{Event: r.Event, BundleID: r.BundleID, MessageHeaderID: r.MessageHeaderID, Body: r.Body,
		Problem: "the message could not be applied; it is stored for diagnosis"}
	return pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
		_, err := storeInbound(ctx, sp, nil, nil, &kept)
		return err
	})
}

// linkedClaim finds our claim a received message is about, nil when it is
// about none we know (the message is then stored unlinked, with a note).
func linkedClaim(ctx context.Context, tx pgx.Tx, r *hg.Received) (*uuid.UUID, error) {
	var id uuid.UUID
	switch {
	case r.Claim != nil:
		id = r.Claim.ClaimID
	case r.Cancel != nil:
		id = r.Cancel.ClaimID
	case r.Status != nil:
		id = r.Status.ClaimID
	case r.CommunicationRequest != nil && len(r.CommunicationRequest.ClaimIDs) > 0:
		id = r.CommunicationRequest.ClaimIDs[0]
	default:
		return nil, nil
	}
	ok, err := claimExists(ctx, tx, id)
	if err != nil || !ok {
		if err == nil && r.Problem == "" {
			r.Problem = "the message is about a claim this clinic does not have"
		}
		return nil, err
	}
	return &id, nil
}

// pollerLockKey is the advisory lock key the poller holds: an arbitrary
// constant that no other part of the schema uses.
const pollerLockKey int64 = 0x4847_4e50_4f4c_4c01 // "HGNPOLL" + 1

// TryPollerLock takes the poller's session-level advisory lock on a
// connection of its own, outside the pool, so that holding it for hours
// takes nothing from the requests the pool serves.
func (db *DB) TryPollerLock(ctx context.Context) (hg.Lock, bool, error) {
	conn, err := pgx.ConnectConfig(ctx, db.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, false, translate(err, "poller lock")
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, pollerLockKey).Scan(&ok); err != nil || !ok {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, false, translate(err, "poller lock")
	}
	return &advisoryLock{conn: conn}, true, nil
}

// advisoryLock is a held session advisory lock and its connection.
type advisoryLock struct {
	conn *pgx.Conn
}

// Check asks Postgres whether this session still holds the lock: the lock
// lives exactly as long as the session does.
func (l *advisoryLock) Check(ctx context.Context) error {
	if l.conn == nil {
		return errors.New("poller lock released")
	}
	var held bool
	err := l.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
		AND pid = pg_backend_pid() AND objid = ($1::bigint & 4294967295)::oid AND granted)`, pollerLockKey).Scan(&held)
	if err != nil {
		return translate(err, "poller lock")
	}
	if !held {
		return errors.New("poller lock lost")
	}
	return nil
}

// Release closes the lock's session, which releases the lock whether or
// not an explicit unlock would have reached the server.
func (l *advisoryLock) Release() {
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, pollerLockKey)
	_ = l.conn.Close(ctx)
	l.conn = nil
}

// outboxChannel is the LISTEN/NOTIFY channel that announces new outgoing
// messages.
const outboxChannel = "hg_nphies_outbox"

// notifyOutbox announces, at commit, that a message is due now.
func notifyOutbox(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify('`+outboxChannel+`', '')`)
	return translate(err, "outbox")
}

// ListenOutbox returns a channel that receives a value soon after any
// replica queues an outgoing message, so an idle worker sends at once
// instead of at its next look at the table. It listens on a connection of
// its own, reconnecting after a failure (and signalling once then, since
// announcements may have been missed), until ctx ends; then the channel is
// closed.
func (db *DB) ListenOutbox(ctx context.Context) <-chan struct{} {
	wake := make(chan struct{}, 1)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	go func() {
		defer close(wake)
		for ctx.Err() == nil {
			db.listen(ctx, signal)
			t := time.NewTimer(time.Second)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	}()
	return wake
}

// listen holds one LISTEN session until it fails or ctx ends.
func (db *DB) listen(ctx context.Context, signal func()) {
	conn, err := pgx.ConnectConfig(ctx, db.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, `LISTEN `+outboxChannel); err != nil {
		return
	}
	signal()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return
		}
		signal()
	}
}

// OutboxBacklog counts outgoing messages waiting to be sent and the age of
// the oldest due one.
func (db *DB) OutboxBacklog(ctx context.Context) (int, time.Duration, error) {
	var n int
	var age float64
	err := db.Pool.QueryRow(ctx, `SELECT count(*),
			coalesce(extract(epoch FROM now() - min(next_attempt_at) FILTER (WHERE next_attempt_at <= now())), 0)
		FROM nphies_messages WHERE delivery = 'PENDING' AND event <> 'poll-request'`).Scan(&n, &age)
	if err != nil {
		return 0, 0, translate(err, "outbox")
	}
	return n, time.Duration(age * float64(time.Second)), nil
}

// nullTime is nil for the zero time, so SQL defaults apply.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// QueueStatusChecks queues status checks for claims PENDING at the payer
// for olderThan, in one transaction: each claim is taken with FOR UPDATE
// SKIP LOCKED and marked checked with its message, so a replica racing
// this one either skips the locked row or, once it is committed, finds it
// no longer due (Postgres re-checks the condition on the updated row).
func (db *DB) QueueStatusChecks(ctx context.Context, olderThan time.Duration, limit int,
	build func(c *hg.Claim, now time.Time) (hg.NPHIESMessage, error)) (int, error) {
	if olderThan <= 0 || limit <= 0 {
		return 0, hg.Invalid("olderThan", "the age and the limit must be positive")
	}
	n := 0
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+claimColumns+` FROM claims c
			WHERE c.status = 'PENDING' AND coalesce(c.status_checked_at, c.updated_at) <= now() - $1::interval
			ORDER BY coalesce(c.status_checked_at, c.updated_at), c.id LIMIT $2 FOR UPDATE SKIP LOCKED`, olderThan, limit)
		due, err := pgx.CollectRows(rows, scanClaim)
		if err != nil {
			return translate(err, "claims")
		}
		now := time.Now()
		for _, c := range due {
			m, err := build(c, now)
			if err != nil {
				return fmt.Errorf("build status check: %w", err)
			}
			msgID, err := uuid.NewV7()
			if err != nil {
				return err
			}
			m.Direction = hg.Outbound
			if err := insertOutgoing(ctx, tx, msgID, &c.ID, m); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE claims SET status_checked_at = now() WHERE id = $1`, c.ID); err != nil {
				return translate(err, "claim")
			}
			if err := addHistory(ctx, tx, c.ID, c.Status, "status check requested"); err != nil {
				return err
			}
		}
		n = len(due)
		if n == 0 {
			return nil
		}
		return notifyOutbox(ctx, tx)
	})
	return n, err
}
