package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.BreakGlassStore = (*DB)(nil)

const breakGlassColumns = `g.id, g.user_id, g.patient_id, g.reason, g.expires_at, g.created_at`

func scanBreakGlass(row pgx.CollectableRow) (*hg.BreakGlass, error) {
	var g hg.BreakGlass
	err := row.Scan(&g.ID, &g.UserID, &g.PatientID, &g.Reason, &g.ExpiresAt, &g.CreatedAt)
	return &g, err
}

var breakGlassConflicts = map[string]*hg.Error{
	"break_glass_grants_user_id_fkey": {Code: hg.ENOTFOUND, Field: "userId", Message: "user not found"},
}

// GrantBreakGlass records an emergency grant. The patient is selected
// without a scope: reaching a patient outside one's scope is the point, and
// the caller audits it.
func (db *DB) GrantBreakGlass(ctx context.Context, userID, patientID uuid.UUID, reason string, expiresAt time.Time) (*hg.BreakGlass, error) {
	if err := hg.ValidateBreakGlassReason(&reason); err != nil {
		return nil, err
	}
	// Postgres keeps microseconds: the audit detail states the expiry as stored.
	expiresAt = expiresAt.Truncate(time.Microsecond)
	if !expiresAt.After(time.Now()) {
		return nil, hg.Invalid("expiresAt", "a grant must expire in the future")
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	// Audited as an access to the patient: the grant is the key to the chart.
	// The row keeps the reason and the expiry, so a reviewer reads from the
	// audit trail alone why the chart was opened and for how long.
	if e, ok := hg.AuditOf(ctx); ok {
		e.Detail = breakGlassDetail(reason, expiresAt)
		ctx = hg.WithAudit(ctx, e)
	}
	return audited(ctx, db, func(q querier) (*hg.BreakGlass, error) {
		rows, _ := q.Query(ctx, `INSERT INTO break_glass_grants AS g (id, user_id, patient_id, reason, expires_at)
			SELECT @id, @user_id, p.id, @reason, @expires_at FROM patients p WHERE p.id = @patient_id
			RETURNING `+breakGlassColumns, namedArgs{
			"id": id, "user_id": userID, "patient_id": patientID, "reason": reason, "expires_at": expiresAt,
		})
		g, err := pgx.CollectExactlyOneRow(rows, scanBreakGlass)
		return g, byConstraint(err, "patient", breakGlassConflicts)
	}, func(g *hg.BreakGlass) (uuid.UUID, *uuid.UUID) { return g.PatientID, &g.PatientID })
}

// ActiveBreakGlass returns the user's unexpired grants, newest first.
func (db *DB) ActiveBreakGlass(ctx context.Context, userID uuid.UUID) ([]*hg.BreakGlass, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+breakGlassColumns+` FROM break_glass_grants g
		WHERE g.user_id = $1 AND g.expires_at > now() ORDER BY g.created_at DESC, g.id DESC`, userID)
	gs, err := pgx.CollectRows(rows, scanBreakGlass)
	return gs, translate(err, "break-glass grants")
}

// breakGlassDetail is the audit detail of a grant: its reason and expiry
// as a JSON object.
func breakGlassDetail(reason string, expiresAt time.Time) string {
	b, _ := json.Marshal(struct {
		Reason    string    `json:"reason"`
		ExpiresAt time.Time `json:"expiresAt"`
	}{reason, expiresAt.UTC()})
	return string(b)
}
