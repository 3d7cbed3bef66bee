package postgres

import (
	"context"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.AuditStore = (*DB)(nil)

// withRequest fills the event's IP and trace id from the request when the
// caller left them blank.
func withRequest(ctx context.Context, e *hg.AuditEvent) {
	meta := hg.RequestMetaFrom(ctx)
	if e.IP == "" {
		e.IP = meta.IP
	}
	if e.TraceID == "" {
		e.TraceID = meta.TraceID
	}
}

// AuditReads appends one event per subject in one INSERT.
func (db *DB) AuditReads(ctx context.Context, e hg.AuditEvent, subjects []hg.AuditSubject) error {
	if len(subjects) == 0 {
		return nil
	}
	withRequest(ctx, &e)
	ids, entities, patients := make([]uuid.UUID, len(subjects)), make([]uuid.UUID, len(subjects)), make([]uuid.UUID, len(subjects))
	for i, s := range subjects {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		ids[i], entities[i], patients[i] = id, s.Entity, s.Patient
	}
	_, err := db.Pool.Exec(ctx, `INSERT INTO audit_events
		(id, actor_id, actor_role, action, entity_type, entity_id, patient_id, ip, trace_id, detail)
		SELECT s.id, $4, $5, $6, $7, s.entity, s.patient, $8, $9, $10
		FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS s (id, entity, patient)`,
		ids, entities, patients, e.ActorID, e.ActorRole, e.Action, e.EntityType, e.IP, e.TraceID, e.Detail)
	return translate(err, "audit events")
}

// Audit appends an audit event.
func (db *DB) Audit(ctx context.Context, e *hg.AuditEvent) error {
	withRequest(ctx, e)
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
