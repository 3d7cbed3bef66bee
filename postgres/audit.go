package postgres

import (
	"context"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.AuditStore = (*DB)(nil)

// Audit appends an audit event. The request's IP and trace id fill the
// event when the caller left them blank.
func (db *DB) Audit(ctx context.Context, e *hg.AuditEvent) error {
	meta := hg.RequestMetaFrom(ctx)
	if e.IP == "" {
		e.IP = meta.IP
	}
	if e.TraceID == "" {
		e.TraceID = meta.TraceID
	}
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	err = db.Pool.QueryRow(ctx, `INSERT INTO audit_events
		(id, actor_id, actor_role, action, entity_type, entity_id, patient_id, ip, trace_id, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING created_at`,
		id, e.ActorID, e.ActorRole, e.Action, e.EntityType, e.EntityID, e.PatientID, e.IP, e.TraceID, e.Detail).Scan(&e.CreatedAt)
	if err != nil {
		return translate(err, "audit event")
	}
	e.ID = id
	return nil
}
