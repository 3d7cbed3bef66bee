package healthgraph

import "context"

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
