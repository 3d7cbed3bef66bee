package resolvers

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// refusalFlushTimeout bounds counting an operation's refusals; it runs
// after the answer is decided, on a context the client cannot cancel, so a
// prober who hangs up still leaves a trace.
const refusalFlushTimeout = 2 * time.Second

// RefusalAudit is the gqlgen extension that leaves a trace of refused
// attempts: every field an authenticated caller is refused with FORBIDDEN
// or NOT_FOUND, on any transport, is counted by actor, action, code and
// minute, with the id it named. It learns of refusals from the server's
// error presenter (ObserveError), which sees each field's error with the
// field's context, rather than by intercepting every field: a field
// interceptor costs an allocation and stack depth on each of the hundreds
// of fields of a page, for the few that fail. The refusals of one operation (a hundred
// aliased patient(id:) fields included) are written in one statement, so a
// flood of refusals costs one small upsert per operation and cannot be
// turned into a write-amplification attack on the audit trail.
type RefusalAudit struct {
	Store hg.RefusalStore
	// Logger receives failures to count refusals (the refusal itself
	// stands); nil drops them.
	Logger *slog.Logger
}

var (
	_ graphql.HandlerExtension     = RefusalAudit{}
	_ graphql.OperationInterceptor = RefusalAudit{}
)

// ExtensionName names the extension in gqlgen's stats.
func (RefusalAudit) ExtensionName() string { return "HealthGraphRefusalAudit" }

// Validate accepts every schema.
func (RefusalAudit) Validate(graphql.ExecutableSchema) error { return nil }

type refusalsKey struct{}

// refusals collects one operation's refusals until they are counted.
type refusals struct {
	mu   sync.Mutex
	list []hg.Refusal
}

func (rs *refusals) add(r hg.Refusal) {
	rs.mu.Lock()
	rs.list = append(rs.list, r)
	rs.mu.Unlock()
}

func (rs *refusals) take() []hg.Refusal {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := rs.list
	rs.list = nil
	return out
}

// InterceptOperation collects the operation's refusals and counts them
// once its fields have run: after each response, and after a subscription
// was refused when it started (which produces no response to intercept).
func (a RefusalAudit) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	rs := &refusals{}
	ctx = context.WithValue(ctx, refusalsKey{}, rs)
	handler := next(ctx)
	a.flush(ctx, rs)
	return func(ctx context.Context) *graphql.Response {
		resp := handler(ctx)
		a.flush(ctx, rs)
		return resp
	}
}

// ObserveError notes err if it refused a field to an authenticated
// caller; ctx is the context of the field that returned it.
func (RefusalAudit) ObserveError(ctx context.Context, err error) {
	code := hg.ErrorCode(err)
	if code != hg.EFORBIDDEN && code != hg.ENOTFOUND {
		return
	}
	rs, _ := ctx.Value(refusalsKey{}).(*refusals)
	fc := graphql.GetFieldContext(ctx)
	if rs == nil || fc == nil || hg.PrincipalFrom(ctx) == nil {
		return
	}
	// The arguments as sent (input objects as maps), not as resolved.
	var args map[string]any
	if graphql.HasOperationContext(ctx) {
		args = fc.Field.ArgumentMap(graphql.GetOperationContext(ctx).Variables)
	}
	rs.add(hg.Refusal{Action: fc.Object + "." + fc.Field.Name, Code: code, Subject: namedID(args)})
}

// flush counts the refusals collected so far, as the operation's caller.
func (a RefusalAudit) flush(ctx context.Context, rs *refusals) {
	list := rs.take()
	p := hg.PrincipalFrom(ctx)
	if len(list) == 0 || p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refusalFlushTimeout)
	defer cancel()
	e := hg.AuditEvent{ActorID: &p.UserID, ActorRole: p.Role}
	if err := a.Store.AuditRefusals(ctx, e, list); err != nil && a.Logger != nil {
		a.Logger.ErrorContext(ctx, "counting refused attempts failed", "refusals", len(list), "error", err.Error())
	}
}

// namedID returns the id a field's arguments name: id, then patientId, then
// any other argument (or field of an input object) holding a global ID, in
// name order; uuid.Nil when none does.
func namedID(args map[string]any) uuid.UUID {
	for _, name := range []string{"id", "patientId"} {
		if id, ok := asID(args[name]); ok {
			return id
		}
	}
	for _, v := range sorted(args) {
		if id, ok := asID(v); ok {
			return id
		}
		if in, ok := v.(map[string]any); ok {
			if id := namedID(in); id != uuid.Nil {
				return id
			}
		}
	}
	return uuid.Nil
}

// asID reads v as a global ID.
func asID(v any) (uuid.UUID, bool) {
	s, ok := v.(string)
	if !ok {
		return uuid.Nil, false
	}
	_, id, err := parseAnyID("id", s)
	return id, err == nil
}

// sorted returns m's values in key order.
func sorted(m map[string]any) []any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}
