package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.EligibilityStore = (*DB)(nil)

const eligibilityColumns = `e.id, e.patient_id, e.purpose, e.coverage_id, e.payer_license, e.payer_name,
	CASE WHEN e.status = 'QUEUED' THEN 'PENDING' WHEN e.status = 'ERROR' THEN 'ERROR'
		WHEN e.eligible THEN 'ELIGIBLE' ELSE 'NOT_ELIGIBLE' END,
	e.outcome, e.site_eligibility, e.inforce, e.disposition, coalesce(e.result->'errors', '[]'::jsonb),
	e.last_error, coalesce(e.result->'coverages', '[]'::jsonb), e.nullified_at, e.nullify_reason,
	e.created_at, e.checked_at`

func scanEligibility(row pgx.CollectableRow) (*hg.EligibilityCheck, error) {
	var c hg.EligibilityCheck
	err := row.Scan(&c.ID, &c.PatientID, &c.Purpose, &c.CoverageID, &c.PayerLicense, &c.PayerName, &c.Status, &c.Outcome,
		&c.SiteEligibility, &c.InForce, &c.Disposition, &c.Errors, &c.LastError, &c.Discovered, &c.NullifiedAt,
		&c.NullifyReason, &c.CreatedAt, &c.CheckedAt)
	return &c, err
}

// CreateEligibilityCheck writes the check as QUEUED (PENDING to callers)
// with its outgoing message in one transaction. The message is PENDING
// with no due time: the caller sends it, the outbox worker never does.
func (db *DB) CreateEligibilityCheck(ctx context.Context, n hg.NewEligibilityCheck) (*hg.EligibilityCheck, error) {
	c, m := n.Check, n.Message
	if c.Purpose == "" {
		c.Purpose = hg.EligibilityValidation
	}
	switch {
	case c.ID == uuid.Nil || c.PatientID == uuid.Nil:
		return nil, hg.Invalid("id", "the check needs an id and a patient")
	case c.Purpose == hg.EligibilityValidation && (c.CoverageID == nil || *c.CoverageID == uuid.Nil):
		return nil, hg.Invalid("coverageId", "a validation names the coverage checked")
	case c.Purpose == hg.EligibilityDiscovery && c.CoverageID != nil:
		return nil, hg.Invalid("coverageId", "a discovery names no coverage")
	case c.Purpose != hg.EligibilityValidation && c.Purpose != hg.EligibilityDiscovery:
		return nil, hg.Invalid("purpose", "the purpose must be VALIDATION or DISCOVERY")
	case m.Direction != hg.Outbound || m.BundleID == "" || m.MessageHeaderID == "" || len(m.Body) == 0:
		return nil, hg.Invalid("message", "the check has no outgoing bundle")
	}
	msgID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	var out *hg.EligibilityCheck
	err = db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		var ok bool
		err := tx.QueryRow(ctx, `SELECT CASE WHEN $1::uuid IS NULL THEN EXISTS (SELECT 1 FROM patients WHERE id = $2)
			ELSE EXISTS (SELECT 1 FROM coverages WHERE id = $1 AND patient_id = $2) END`,
			c.CoverageID, c.PatientID).Scan(&ok)
		if err != nil {
			return translate(err, "coverage")
		} else if !ok {
			return hg.Errorf(hg.ENOTFOUND, "patient or coverage not found")
		}
		_, err = tx.Exec(ctx, `INSERT INTO eligibility_checks (id, patient_id, purpose, coverage_id, payer_license, payer_name, status)
			VALUES ($1, $2, $3, $4, left($5, 100), left($6, 200), 'QUEUED')`,
			c.ID, c.PatientID, c.Purpose, c.CoverageID, c.PayerLicense, c.PayerName)
		if err != nil {
			return translate(err, "eligibility check")
		}
		_, err = tx.Exec(ctx, `INSERT INTO nphies_messages (id, eligibility_check_id, direction, event, bundle_id,
				message_header_id, body, delivery, next_attempt_at, trace_parent)
			VALUES ($1, $2, 'OUT', $3, $4, $5, $6, 'PENDING', NULL, $7)`,
			msgID, c.ID, m.Event, m.BundleID, m.MessageHeaderID, m.Body, m.TraceParent)
		if err != nil {
			return translate(err, "message")
		}
		rows, _ := tx.Query(ctx, `UPDATE eligibility_checks e SET request_message_id = $2 WHERE e.id = $1
			RETURNING `+eligibilityColumns, c.ID, msgID)
		out, err = pgx.CollectExactlyOneRow(rows, scanEligibility)
		return translate(err, "eligibility check")
	}, func() (uuid.UUID, *uuid.UUID) { return out.ID, &out.PatientID })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RecordEligibilityAnswer stores the response raw and the verdict in one
// transaction, under a lock on the check so it is answered once.
func (db *DB) RecordEligibilityAnswer(ctx context.Context, id uuid.UUID, a hg.EligibilityAnswer) (*hg.EligibilityCheck, error) {
	status, eligible := "ERROR", (*bool)(nil)
	switch a.Status {
	case hg.EligibilityEligible, hg.EligibilityNotEligible:
		status = "COMPLETE"
		ok := a.Status == hg.EligibilityEligible
		eligible = &ok
	case hg.EligibilityError:
		if a.LastError == "" {
			return nil, hg.Invalid("lastError", "an ERROR check must say why")
		}
	default:
		return nil, hg.Invalid("status", "the answer must be ELIGIBLE, NOT_ELIGIBLE or ERROR")
	}
	if a.Delivery != hg.DeliverySent && a.Delivery != hg.DeliveryFailed {
		return nil, hg.Invalid("delivery", "the request must be SENT or FAILED")
	}
	errs, found := a.Errors, a.Discovered
	if errs == nil {
		errs = []hg.EligibilityIssue{}
	}
	if found == nil {
		found = []hg.DiscoveredCoverage{}
	}
	codes := make([]string, len(errs))
	for i, e := range errs {
		codes[i] = e.Code
	}
	var out *hg.EligibilityCheck
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		var cur string
		var reqID *uuid.UUID
		err := tx.QueryRow(ctx, `SELECT status, request_message_id FROM eligibility_checks WHERE id = $1 FOR UPDATE`, id).
			Scan(&cur, &reqID)
		if err != nil {
			return translate(err, "eligibility check")
		}
		if cur != "QUEUED" {
			return hg.Errorf(hg.ECONFLICT, "the eligibility check already has an answer")
		}
		_, err = tx.Exec(ctx, `UPDATE nphies_messages SET attempts = attempts + 1, delivery = $2,
				http_status = nullif($3, 0), last_error = left($4, 1000),
				sent_at = CASE WHEN $2 = 'SENT' THEN now() ELSE sent_at END
			WHERE id = $1`, reqID, a.Delivery, a.HTTPStatus, a.LastError)
		if err != nil {
			return translate(err, "message")
		}
		var respID *uuid.UUID
		if r := a.Response; r != nil {
			rid, err := uuid.NewV7()
			if err != nil {
				return err
			}
			body := r.Body
			if body == nil {
				body = []byte{}
			}
			_, err = tx.Exec(ctx, `INSERT INTO nphies_messages (id, eligibility_check_id, direction, event, bundle_id,
					message_header_id, in_response_to, body, http_status, last_error)
				VALUES ($1, $2, 'IN', left($3, 100), left($4, 200), left($5, 200), $6, $7, nullif($8, 0), left($9, 1000))`,
				rid, id, r.Event, r.BundleID, r.MessageHeaderID, reqID, body, a.HTTPStatus, r.Problem)
			if err != nil {
				return translate(err, "received message")
			}
			respID = &rid
		}
		rows, _ := tx.Query(ctx, `UPDATE eligibility_checks e SET status = $2, eligible = $3, outcome = left($4, 50),
				site_eligibility = left($5, 50), inforce = $6, disposition = left($7, 2000),
				result = jsonb_build_object('errors', $8::jsonb, 'coverages', $12::jsonb), error_codes = $9,
				last_error = left($10, 1000), response_message_id = $11, checked_at = now(), updated_at = now()
			WHERE e.id = $1 RETURNING `+eligibilityColumns,
			id, status, eligible, a.Outcome, a.SiteEligibility, a.InForce, a.Disposition, errs, codes, a.LastError, respID, found)
		out, err = pgx.CollectExactlyOneRow(rows, scanEligibility)
		return translate(err, "eligibility check")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// NullifyEligibilityCheck voids an answered check in scope, audited, under
// a lock on the check so it is nullified once.
func (db *DB) NullifyEligibilityCheck(ctx context.Context, scope hg.PatientScope, id uuid.UUID, reason hg.CancelReason) (*hg.EligibilityCheck, error) {
	if !reason.Valid() {
		return nil, hg.Invalid("reason", "the reason is not one of NPHIES's cancel reasons")
	}
	var out *hg.EligibilityCheck
	err := db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		var status string
		var nullified *time.Time
		err := tx.QueryRow(ctx, `SELECT e.status, e.nullified_at FROM eligibility_checks e
			WHERE e.id = @id AND `+inScope("e.patient_id")+` FOR UPDATE`, scopeArgs(scope, namedArgs{"id": id})).
			Scan(&status, &nullified)
		switch {
		case err != nil:
			return translate(err, "eligibility check")
		case status == "QUEUED":
			return hg.Errorf(hg.ECONFLICT, "the eligibility check has no answer yet")
		case nullified != nil:
			return hg.Errorf(hg.ECONFLICT, "the eligibility check is already nullified")
		}
		rows, _ := tx.Query(ctx, `UPDATE eligibility_checks e SET nullified_at = now(), nullify_reason = $2, updated_at = now()
			WHERE e.id = $1 RETURNING `+eligibilityColumns, id, reason)
		out, err = pgx.CollectExactlyOneRow(rows, scanEligibility)
		return translate(err, "eligibility check")
	}, func() (uuid.UUID, *uuid.UUID) { return out.ID, &out.PatientID })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EligibilityCheckByID returns a check whose patient is in scope.
func (db *DB) EligibilityCheckByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.EligibilityCheck, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+eligibilityColumns+` FROM eligibility_checks e
		WHERE e.id = @id AND `+inScope("e.patient_id"), scopeArgs(scope, namedArgs{"id": id}))
	c, err := pgx.CollectExactlyOneRow(rows, scanEligibility)
	if err != nil {
		return nil, translate(err, "eligibility check")
	}
	return c, nil
}

// EligibilityChecksByPatient lists a patient's checks, newest first.
func (db *DB) EligibilityChecksByPatient(ctx context.Context, scope hg.PatientScope, patientID uuid.UUID, limit int) ([]*hg.EligibilityCheck, error) {
	var ok bool
	err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM patients p WHERE p.id = @id AND `+inScope("p.id")+`)`,
		scopeArgs(scope, namedArgs{"id": patientID})).Scan(&ok)
	if err != nil {
		return nil, translate(err, "patient")
	} else if !ok {
		return nil, hg.Errorf(hg.ENOTFOUND, "patient not found")
	}
	rows, _ := db.Pool.Query(ctx, `SELECT `+eligibilityColumns+` FROM eligibility_checks e
		WHERE e.patient_id = $1 ORDER BY e.created_at DESC, e.id DESC LIMIT $2`, patientID, limit)
	cs, err := pgx.CollectRows(rows, scanEligibility)
	if err != nil {
		return nil, translate(err, "eligibility checks")
	}
	return cs, nil
}

// EligibilityMessages lists the bundles sent and received for a check,
// oldest first.
func (db *DB) EligibilityMessages(ctx context.Context, id uuid.UUID) ([]*hg.NPHIESMessage, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+messageColumns+` FROM nphies_messages m
		WHERE m.eligibility_check_id = $1 ORDER BY m.created_at, m.id`, id)
	ms, err := pgx.CollectRows(rows, scanMessage)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return ms, translate(err, "messages")
}
