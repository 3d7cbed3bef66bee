package postgres

import (
	"context"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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

// AuditReads appends one event naming every subject: a single subject
// fills entity_id and patient_id as any event does; several fill
// entity_ids and patient_ids, pairwise, and patient_id too when they all
// concern one patient (a chart's records), so the patient index finds it.
// Events of several subjects are written by the DB's audit writer, with
// those of concurrent requests (see auditbatch.go); it returns once the
// event is committed.
func (db *DB) AuditReads(ctx context.Context, e hg.AuditEvent, subjects []hg.AuditSubject) error {
	switch len(subjects) {
	case 0:
		return nil
	case 1:
		e.EntityID, e.PatientID = &subjects[0].Entity, &subjects[0].Patient
		return insertAudit(ctx, db.Pool, &e)
	}
	withRequest(ctx, &e)
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	q := &queuedRead{ctx: ctx, id: id, e: e, done: make(chan error, 1),
		entities: make([]uuid.UUID, len(subjects)), patients: make([]uuid.UUID, len(subjects))}
	for i, s := range subjects {
		q.entities[i], q.patients[i] = s.Entity, s.Patient
	}
	if !slices.ContainsFunc(q.patients, func(p uuid.UUID) bool { return p != q.patients[0] }) {
		q.patient = &q.patients[0]
	}
	return db.reads.write(ctx, q)
}

// Audit appends an audit event.
func (db *DB) Audit(ctx context.Context, e *hg.AuditEvent) error {
	return insertAudit(ctx, db.Pool, e)
}

// insertAudit appends e through q, which is the pool or a write's
// transaction, filling its ID and CreatedAt.
func insertAudit(ctx context.Context, q querier, e *hg.AuditEvent) error {
	withRequest(ctx, e)
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	err = q.QueryRow(ctx, `INSERT INTO audit_events
		(id, actor_id, actor_role, action, entity_type, entity_id, patient_id, ip, trace_id, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING created_at`,
		id, e.ActorID, e.ActorRole, e.Action, e.EntityType, e.EntityID, e.PatientID, e.IP, e.TraceID, e.Detail).Scan(&e.CreatedAt)
	if err != nil {
		return translate(err, "audit event")
	}
	e.ID = id
	return nil
}

// auditWrite appends, in the write's transaction tx, the audit event ctx
// carries for that write (see hg.WithAudit), naming the entity written and
// its patient (nil for none). Without an event it does nothing.
func auditWrite(ctx context.Context, tx pgx.Tx, entity uuid.UUID, patient *uuid.UUID) error {
	e, ok := hg.AuditOf(ctx)
	if !ok {
		return nil
	}
	e.EntityID, e.PatientID = &entity, patient
	return insertAudit(ctx, tx, &e)
}

// audited runs a single-statement write and, when ctx carries an audit
// event for it, appends the event in the same transaction, naming what
// subject says the written value is about. Without an event the write runs
// alone, as before.
func audited[T any](ctx context.Context, db *DB, write func(q querier) (T, error), subject func(T) (entity uuid.UUID, patient *uuid.UUID)) (T, error) {
	if _, ok := hg.AuditOf(ctx); !ok {
		return write(db.Pool)
	}
	var out T
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		if out, err = write(tx); err != nil {
			return err
		}
		entity, patient := subject(out)
		return auditWrite(ctx, tx, entity, patient)
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// inAuditedTx is InTx for a write of several statements: once fn
// succeeded, the audit event ctx carries is appended in the same
// transaction, naming what subject says was written.
func (db *DB) inAuditedTx(ctx context.Context, fn func(pgx.Tx) error, subject func() (entity uuid.UUID, patient *uuid.UUID)) error {
	return db.InTx(ctx, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		entity, patient := subject()
		return auditWrite(ctx, tx, entity, patient)
	})
}

var _ hg.RefusalStore = (*DB)(nil)

// maxRefusalSubjects is how many distinct ids a refusal row keeps: enough
// to see whose records were tried, bounded so a flood cannot grow a row.
const maxRefusalSubjects = 20

// AuditRefusals counts an operation's refusals into the current minute's
// rows in one upsert, grouped by action and code.
func (db *DB) AuditRefusals(ctx context.Context, e hg.AuditEvent, refusals []hg.Refusal) error {
	if len(refusals) == 0 || e.ActorID == nil {
		return nil
	}
	withRequest(ctx, &e)
	actions, codes, subjects := make([]string, len(refusals)), make([]string, len(refusals)), make([]uuid.UUID, len(refusals))
	for i, r := range refusals {
		actions[i], codes[i], subjects[i] = r.Action, r.Code, r.Subject
	}
	_, err := db.Pool.Exec(ctx, `INSERT INTO audit_refusals AS r
			(actor_id, actor_role, action, code, minute, attempts, subjects, ip, trace_id)
		SELECT $1, $2, s.action, s.code, date_trunc('minute', now()), count(*),
			coalesce((array_agg(DISTINCT s.subject) FILTER (WHERE s.subject <> '00000000-0000-0000-0000-000000000000'))[1:$8], '{}'),
			$6, $7
		FROM unnest($3::text[], $4::text[], $5::uuid[]) AS s (action, code, subject)
		GROUP BY s.action, s.code
		ON CONFLICT (actor_id, minute, action, code) DO UPDATE SET
			attempts = r.attempts + EXCLUDED.attempts,
			subjects = (r.subjects || ARRAY(SELECT x FROM unnest(EXCLUDED.subjects) AS x WHERE x <> ALL (r.subjects)))[1:$8],
			last_at = greatest(r.last_at, now())`,
		e.ActorID, e.ActorRole, actions, codes, subjects, e.IP, e.TraceID, maxRefusalSubjects)
	return translate(err, "refusal counts")
}
