package observability

import (
	"context"
	"fmt"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Outcomes of a GraphQL operation as recorded in healthgraph_graphql_operations_total.
const (
	OutcomeOK          = "ok"
	OutcomeClientError = "client_error"
	OutcomeServerError = "server_error"
)

// serverErrorCodes are the extensions.code values that mean the service, not
// the caller, failed; they are what the availability SLO counts against. An
// error without a code is a bug in error presentation and counts too.
var serverErrorCodes = map[string]bool{"INTERNAL": true, "UNAVAILABLE": true, "UNSPECIFIED": true}

// GraphQL returns the gqlgen extension that traces and measures operations;
// add it with srv.Use(m.GraphQL()) after the other extensions. Per response it
// starts an operation span named "<query|mutation|subscription> <Name>"
// (just the type for anonymous operations), counts the operation by bounded
// name, type and outcome, observes its latency and counts errors by
// extensions.code. Per non-trivial field (IsMethod or IsResolver, not of
// type ID) it starts a resolver span and observes resolver latency by
// "Type.field". It never
// records variables, arguments or results.
func (m *Metrics) GraphQL() graphql.HandlerExtension { return graphqlExtension{m} }

type graphqlExtension struct{ m *Metrics }

var (
	_ graphql.HandlerExtension    = graphqlExtension{}
	_ graphql.ResponseInterceptor = graphqlExtension{}
	_ graphql.FieldInterceptor    = graphqlExtension{}
)

// ExtensionName names the extension in gqlgen's stats.
func (graphqlExtension) ExtensionName() string { return "HealthGraphObservability" }

// Validate accepts every schema.
func (graphqlExtension) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse wraps each response (one per query or mutation, one per
// event for subscriptions) in an operation span and records RED metrics.
func (e graphqlExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	m := e.m
	opType, opName, start := "unknown", "", time.Now()
	if graphql.HasOperationContext(ctx) {
		oc := graphql.GetOperationContext(ctx)
		if oc.Operation != nil {
			opType = string(oc.Operation.Operation)
			opName = oc.Operation.Name
			// A query's latency includes reading, parsing and validating the
			// request; a subscription event's is just that event.
			if oc.Operation.Operation != ast.Subscription && !oc.Stats.OperationStart.IsZero() {
				start = oc.Stats.OperationStart
			}
		} else if !oc.Stats.OperationStart.IsZero() {
			start = oc.Stats.OperationStart
		}
	}
	label := m.operations.value(opName)
	spanName := opType
	if opName != "" {
		spanName = opType + " " + opName
	}
	ctx, span := m.tracer().Start(ctx, spanName,
		trace.WithTimestamp(start),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			attribute.String("graphql.operation.type", opType),
			attribute.String("graphql.operation.name", opName),
		))
	resp := next(ctx)
	if resp == nil {
		// End of a subscription stream: nothing was answered.
		span.End()
		return resp
	}
	outcome := OutcomeOK
	for _, err := range resp.Errors {
		code := m.errorCodes.value(errorCode(err))
		m.gqlErrors.WithLabelValues(label, code).Inc()
		switch {
		case serverErrorCodes[code] || code == Other:
			outcome = OutcomeServerError
		case outcome == OutcomeOK:
			outcome = OutcomeClientError
		}
	}
	m.gqlOperations.WithLabelValues(label, opType, outcome).Inc()
	m.gqlDuration.observe(ctx, time.Since(start).Seconds(), label, opType)
	if len(resp.Errors) > 0 {
		span.SetAttributes(attribute.Int("graphql.errors.count", len(resp.Errors)))
		if outcome == OutcomeServerError {
			// The message may quote user input; the status carries only codes.
			span.SetStatus(codes.Error, "server error")
			span.SetAttributes(attribute.String("error.type", firstServerCode(resp.Errors)))
		}
	}
	span.End()
	return resp
}

// InterceptField starts a span and observes latency for fields that run
// code (resolver methods and struct methods). Skipped, because they cost
// nothing and would drown the trace and the histogram: plain struct fields
// (most never reach an interceptor: graph's plainField marshals them), and
// fields of type ID, which only spell a global ID from the row's own key
// (three fields on every row of the headline page).
// Under a span that is not sampled (tracing off or the trace not chosen)
// no resolver span is started: a parent-based sampler would not record it
// either. The test is on the sampled flag, not on IsRecording: gqlgen
// resolves a field's children after the field's own resolver returned, so
// their parent span has already ended and no longer records, yet they
// belong in the trace. The common path stays small: gqlgen runs a field's
// children on the stack of its resolver's goroutine, and a large frame
// here makes every such goroutine grow (copy) its stack.
func (e graphqlExtension) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !fc.IsMethod && !fc.IsResolver || fc.Field.Definition != nil && fc.Field.Definition.Type.Name() == "ID" {
		return next(ctx)
	}
	if trace.SpanFromContext(ctx).SpanContext().IsSampled() {
		return e.traceField(ctx, fc, next)
	}
	obs := e.m.resolverObserver(fc.Object, fc.Field.Name)
	start := time.Now()
	res, err := next(ctx)
	obs.Observe(time.Since(start).Seconds())
	return res, err
}

// traceField resolves a field under its own span, for sampled traces.
//
//go:noinline
func (e graphqlExtension) traceField(ctx context.Context, fc *graphql.FieldContext, next graphql.Resolver) (any, error) {
	m := e.m
	field := m.resolverField(fc.Object, fc.Field.Name)
	start := time.Now()
	ctx, span := m.tracer().Start(ctx, field.name, trace.WithAttributes(
		attribute.String("graphql.field.name", fc.Field.Name),
		attribute.String("graphql.field.type", fc.Object),
	))
	res, err := next(ctx)
	observe(ctx, field.obs, time.Since(start).Seconds(), m.gqlResolver.gate)
	if err != nil {
		// Only the error's Go type goes on the span: messages of domain
		// errors may quote what the user sent.
		span.SetStatus(codes.Error, "resolver error")
		span.SetAttributes(attribute.String("error.type", errorType(err)))
	}
	span.End()
	return res, err
}

// fieldKey identifies a schema field.
type fieldKey struct{ object, field string }

// resolverField is a field's "Type.field" label and its histogram child.
type resolverField struct {
	name string
	obs  prometheus.Observer
}

// maxFields bounds the resolver label; the schema has far fewer fields, so
// only a bug could reach it.
const maxFields = 1000

// resolverObserver returns the resolver histogram's child of a field.
func (m *Metrics) resolverObserver(object, field string) prometheus.Observer {
	return m.resolverField(object, field).obs
}

// resolverField returns the label and histogram child of a field, built
// once per field: concatenating the name and looking the child up by its
// label on every call would allocate and hash on the hottest path of a
// request.
func (m *Metrics) resolverField(object, field string) resolverField {
	k := fieldKey{object, field}
	m.fieldMu.RLock()
	f, ok := m.fields[k]
	m.fieldMu.RUnlock()
	if ok {
		return f
	}
	m.fieldMu.Lock()
	defer m.fieldMu.Unlock()
	if f, ok := m.fields[k]; ok {
		return f
	}
	name := Other
	if len(m.fields) < maxFields {
		name = object + "." + field
	}
	f = resolverField{name, m.gqlResolver.WithLabelValues(name)}
	if name != Other {
		m.fields[k] = f
	}
	return f
}

// errorCode extracts extensions.code, or UNSPECIFIED.
func errorCode(err *gqlerror.Error) string {
	if err == nil || err.Extensions == nil {
		return "UNSPECIFIED"
	}
	if c, ok := err.Extensions["code"].(string); ok && c != "" {
		return c
	}
	return "UNSPECIFIED"
}

func firstServerCode(errs gqlerror.List) string {
	for _, err := range errs {
		if c := errorCode(err); serverErrorCodes[c] {
			return c
		}
	}
	return Other
}

// errorType names an error by its Go type, which says what failed without
// repeating what the user sent.
func errorType(err error) string { return fmt.Sprintf("%T", err) }
