package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/cache"
	"github.com/healthgraph/healthgraph/dataloader"
	"github.com/healthgraph/healthgraph/graph"
	"github.com/healthgraph/healthgraph/graph/model"
	"github.com/healthgraph/healthgraph/observability"
)

// graphQL builds the executor with explicit transports and every limit.
func (s *Server) graphQL() http.Handler {
	cfg := graph.Config{Resolvers: s.deps.Resolvers}
	cfg.Directives.HasRole = hasRole
	setComplexity(&cfg.Complexity)

	h := handler.New(graph.NewExecutableSchema(cfg))
	// socketTransport ties each WebSocket to its session (websocket.go).
	h.AddTransport(socketTransport{transport.Websocket{
		KeepAlivePingInterval: 10 * time.Second,
		Implementation:        websocketOrigins(s.cfg.CORSOrigins),
		InitFunc:              s.websocketInit,
	}})
	h.AddTransport(transport.Options{})
	h.AddTransport(postTransport{}) // gqlgen's, without re-encoding the data (transport.go)
	h.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	h.SetDisableSuggestion(s.cfg.Production)
	h.Use(introspectionPolicy{open: s.cfg.Introspection})
	if s.cfg.APQAllowList != nil {
		h.Use(allowList(s.cfg.APQAllowList))
	} else {
		h.Use(extension.AutomaticPersistedQuery{Cache: cache.NewAPQ(s.deps.Redis, 1000)})
	}
	h.SetParserTokenLimit(s.cfg.TokenLimit)
	// Shape first: it refuses in bounded time what complexity would walk
	// for ever.
	h.Use(shapeLimit{maxDepth: s.cfg.DepthLimit, maxFields: s.cfg.FieldLimit})
	h.Use(extension.FixedComplexityLimit(s.cfg.ComplexityLimit))
	h.Use(operationLimits{s})
	h.Use(s.deps.Metrics.GraphQL())
	for _, e := range s.deps.Extensions {
		h.Use(e)
	}
	// An operation on a WebSocket is authorized against its session as it
	// is now, not as it was at connection_init. Loaders are built per
	// operation from the caller's scopes, so a batch never mixes two users'
	// access, and a WebSocket operation gets the principal of its
	// connection_init rather than of the upgrade request.
	h.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		if refusal := s.checkSocketOperation(ctx); refusal != nil {
			return refusal
		}
		who := hg.PrincipalFrom(ctx)
		l := dataloader.New(tracedLoaderStore{s.deps.Loaders, s.deps.Metrics}, dataloader.Scopes{Patients: auth.PatientScope(who), Clinical: auth.ClinicalScope(who)}, s.cfg.Loaders...)
		return next(dataloader.With(ctx, l))
	})
	h.SetErrorPresenter(s.presentError)
	h.SetRecoverFunc(s.recoverResolver)
	return h
}

// errorObserver is an executor extension told of every error a response
// carries, with the context of the field that raised it, if any (the
// refused-attempt audit counts refusals so, without intercepting every
// field).
type errorObserver interface {
	ObserveError(ctx context.Context, err error)
}

// hasRole enforces @hasRole through the one policy package.
func hasRole(ctx context.Context, _ any, next graphql.Resolver, roles []model.Role) (any, error) {
	want := make([]hg.Role, len(roles))
	for i, r := range roles {
		want[i] = hg.Role(r)
	}
	if _, err := auth.Require(ctx, want...); err != nil {
		return nil, err
	}
	return next(ctx)
}

// presentError gives every error an extensions.code and the trace and
// request ids. Only domain errors and gqlgen's own complaints about the
// request keep their message; anything else is logged and shown as INTERNAL.
func (s *Server) presentError(ctx context.Context, err error) *gqlerror.Error {
	for _, e := range s.deps.Extensions {
		if o, ok := e.(errorObserver); ok {
			o.ObserveError(ctx, err)
		}
	}
	gqlErr := graphql.DefaultErrorPresenter(ctx, err)
	out := *gqlErr // never mutate gqlgen's cached validation errors
	ext := map[string]any{}
	var dom *hg.Error
	switch {
	case errors.As(err, &dom) && dom.Code == hg.EINTERNAL:
		// An INTERNAL message is written for whoever debugs it (a panic's
		// value, a row id); the client gets the request id to quote.
		s.deps.Logger.ErrorContext(ctx, "request failed", "code", dom.Code, "error", err.Error())
		out.Message = internalMessage
		ext["code"] = hg.EINTERNAL
	case errors.As(err, &dom):
		out.Message = dom.Message
		ext["code"] = dom.Code
		if len(dom.Rules) > 0 {
			ext["rules"] = dom.Rules
		}
		if dom.Field != "" {
			ext["field"] = argumentPath(ctx, dom.Field)
		} else if name, ok := inputName(ctx, gqlErr.Path); ok && dom.Code == hg.EINVALID {
			// A scalar that failed to parse (a Date, a Time, a String
			// with a NUL) knows not its name; the path ends with the
			// argument or input field.
			ext["field"] = name
		}
		if dom.Code == hg.EUNAVAILABLE {
			// UNAVAILABLE messages are constants telling the client to
			// retry; the cause behind them goes to the log.
			s.deps.Logger.ErrorContext(ctx, "request failed", "code", dom.Code, "error", err.Error())
		}
	case gqlErr.Err == nil && gqlErr.Extensions["code"] == nil && len(gqlErr.Locations) == 0:
		// The transport could not decode the body. gqlgen's message quotes
		// the whole body, which may carry patient data and would reflect
		// megabytes back: say what is wrong without it.
		out.Message = "the request body is not one GraphQL request as a JSON object"
		ext["code"], ext["reason"] = hg.EINVALID, "INVALID_REQUEST"
	case gqlErr.Err == nil:
		// Parse, validation, complexity and shape errors describe the
		// request, never the data.
		ext["code"] = hg.EINVALID
		if reason, ok := gqlErr.Extensions["code"]; ok {
			ext["reason"] = reason
		}
		if s.cfg.Production {
			out.Message = withoutSuggestion(out.Message)
		}
	default:
		s.deps.Logger.ErrorContext(ctx, "internal error", "error", err.Error())
		out.Message = internalMessage
		ext["code"] = hg.EINTERNAL
	}
	if id := observability.TraceID(ctx); id != "" {
		ext["traceId"] = id
	}
	if id := observability.RequestID(ctx); id != "" {
		ext["requestId"] = id
	}
	out.Extensions = ext
	out.Err = nil
	return &out
}

// internalMessage is all a client learns of an INTERNAL error; the
// extensions carry the request and trace ids that find the logged cause.
const internalMessage = "internal error"

// withoutSuggestion cuts gqlparser's "Did you mean …?" from a validation
// message. gqlgen's SetDisableSuggestion covers unknown fields only;
// unknown arguments, enum values, input fields and types would still spell
// out the schema that production keeps closed. gqlparser always appends
// the suggestion last, and GraphQL names cannot contain the space before it.
func withoutSuggestion(msg string) string {
	if i := strings.Index(msg, " Did you mean "); i >= 0 {
		return msg[:i]
	}
	return msg
}

// recoverResolver turns a resolver panic into an INTERNAL error.
func (s *Server) recoverResolver(ctx context.Context, v any) error {
	s.deps.Logger.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	return hg.Errorf(hg.EINTERNAL, "internal error")
}

// writeError answers outside the executor with the same error shape.
func writeError(w http.ResponseWriter, r *http.Request, status int, err *hg.Error) {
	ext := map[string]any{"code": err.Code}
	if id := observability.RequestID(r.Context()); id != "" {
		ext["requestId"] = id
	}
	if id := observability.TraceID(r.Context()); id != "" {
		ext["traceId"] = id
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": err.Message, "extensions": ext}},
	})
}

// schema is the parsed GraphQL schema, for spelling input paths.
var schema = graph.NewExecutableSchema(graph.Config{}).Schema()

// argumentPath spells the field a domain error names as the path of the
// input at fault from the failing field's arguments, the one spelling of
// extensions.field: "filter.search", "input.birthDate", "id". A validator
// of an input object names the object's own field ("birthDate"), which the
// client sent under the argument holding the object; a name that is an
// argument already, or that no argument's input object has, stays.
func argumentPath(ctx context.Context, field string) string {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil || fc.Field.Definition == nil {
		return field
	}
	head, _, _ := strings.Cut(field, ".")
	args := fc.Field.Definition.Arguments
	if args.ForName(head) != nil {
		return field
	}
	for _, a := range args {
		if def := schema.Types[a.Type.Name()]; def != nil && def.Kind == ast.InputObject && def.Fields.ForName(head) != nil {
			return a.Name + "." + field
		}
	}
	return field
}

// inputName names the argument or input field at the end of an input
// error's path as argumentPath does: from the field's argument down, list
// positions left out (createInvoice's input.lines[2].description is
// "input.lines.description"). Without the field's path it falls back to
// the last name.
func inputName(ctx context.Context, path ast.Path) (string, bool) {
	var field ast.Path
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		field = fc.Path()
	}
	if len(field) == 0 || len(path) <= len(field) || path[:len(field)].String() != field.String() {
		return lastName(path)
	}
	var names []string
	for _, el := range path[len(field):] {
		if name, ok := el.(ast.PathName); ok {
			names = append(names, string(name))
		}
	}
	if len(names) == 0 {
		return "", false
	}
	return strings.Join(names, "."), true
}

// lastName returns the last named step of a path.
func lastName(path ast.Path) (string, bool) {
	for i := len(path) - 1; i >= 0; i-- {
		if name, ok := path[i].(ast.PathName); ok {
			return string(name), true
		}
	}
	return "", false
}
