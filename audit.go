package healthgraph

import (
	"context"

	"github.com/google/uuid"
)

type auditKey struct{}

// WithAudit returns a context carrying e as the audit event of the one write
// it is passed to. The store appends e, completed with the entity written
// and its patient, inside that write's own transaction: a change and its
// audit row commit together or not at all, so a client is never told a
// change failed when it happened (and never retries it into a duplicate),
// and no change happens unaudited. Pass it to the write call only, not to
// the reads before it.
func WithAudit(ctx context.Context, e AuditEvent) context.Context {
	return context.WithValue(ctx, auditKey{}, e)
}

// AuditOf returns the audit event ctx carries for its write, and whether it
// carries one. Writes made without one (background work, seeding) are not
// audited by the store.
func AuditOf(ctx context.Context) (AuditEvent, bool) {
	e, ok := ctx.Value(auditKey{}).(AuditEvent)
	return e, ok
}

// Refusal is one refused attempt: the caller asked for something it may
// not have (FORBIDDEN) or that is not there for it (NOT_FOUND, which is
// also what another party's id looks like). An insider trying ids one
// after another shows up as refusals.
type Refusal struct {
	// Action names what was refused, as Type.field (Query.patient,
	// Mutation.updateAppointmentStatus, Patient.latestRecords).
	Action string
	// Code is FORBIDDEN or NOT_FOUND.
	Code string
	// Subject is the id the attempt named, or uuid.Nil when it named none.
	Subject uuid.UUID
}

// RefusalStore counts refused attempts.
type RefusalStore interface {
	// AuditRefusals counts refusals of one operation by the actor of e
	// (its ActorID, ActorRole, IP and trace id) in one statement. One row
	// per actor, action, code and minute holds the count and the first
	// distinct ids asked for: a flood of refused attempts costs one small
	// update per operation and a bounded number of rows per minute, never
	// a row per attempt.
	AuditRefusals(ctx context.Context, e AuditEvent, refusals []Refusal) error
}
