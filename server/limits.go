package server

import (
	"context"
	"mime"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	hg "github.com/healthgraph/healthgraph"
)

// shapeLimit refuses operations nested deeper than maxDepth or selecting
// more than maxFields fields (every alias and every fragment expansion
// counts), before anything runs. Complexity bounds the rows a query may
// ask for; this bounds the work of merely walking it: an alias flood of a
// cheap field, or fragments that spread each other twice per level, would
// otherwise grow exponentially. The walk itself stops at the first limit
// passed, so refusing costs at most maxFields steps. It must run before
// gqlgen's complexity extension, whose walk has no such stop and takes
// exponential time on doubling fragments.
type shapeLimit struct{ maxDepth, maxFields int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = shapeLimit{}

func (shapeLimit) ExtensionName() string                   { return "ShapeLimit" }
func (shapeLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (l shapeLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	w := walk{frags: oc.Doc.Fragments, seen: map[string]bool{}, limit: l}
	w.selections(oc.Operation.SelectionSet, 1)
	switch {
	case w.deepest > l.maxDepth:
		return refusal("DEPTH_LIMIT_EXCEEDED", "operation is nested more than %d levels deep", l.maxDepth)
	case w.fields > l.maxFields:
		return refusal("FIELD_LIMIT_EXCEEDED", "operation selects more than %d fields (aliases and fragments count each time)", l.maxFields)
	}
	return nil
}

// Shape refusals are protocol errors like gqlgen's validation errors, so
// the HTTP transport answers them with 422 too.
func init() {
	errcode.RegisterErrorType("DEPTH_LIMIT_EXCEEDED", errcode.KindProtocol)
	errcode.RegisterErrorType("FIELD_LIMIT_EXCEEDED", errcode.KindProtocol)
	errcode.RegisterErrorType("INTROSPECTION_DISABLED", errcode.KindProtocol)
}

// introspectionPolicy opens the schema to introspection when the
// configuration says so (development), and otherwise only to
// administrators and analysts, whose Playground needs it. Everyone else
// is refused before execution with a code, rather than meeting gqlgen's
// bare error halfway through.
type introspectionPolicy struct{ open bool }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = introspectionPolicy{}

func (introspectionPolicy) ExtensionName() string                   { return "IntrospectionPolicy" }
func (introspectionPolicy) Validate(graphql.ExecutableSchema) error { return nil }

func (p introspectionPolicy) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	who := hg.PrincipalFrom(ctx)
	if p.open || who != nil && (who.Role == hg.RoleAdmin || who.Role == hg.RoleAnalyst) {
		oc.DisableIntrospection = false
		return nil
	}
	oc.DisableIntrospection = true
	if introspects(oc.Operation.SelectionSet, oc.Doc.Fragments, map[string]bool{}) {
		return refusal("INTROSPECTION_DISABLED", "introspection is disabled here; administrators and analysts may use it")
	}
	return nil
}

// introspects reports whether a root selection asks for __schema or
// __type (__typename is always allowed).
func introspects(set ast.SelectionSet, frags ast.FragmentDefinitionList, seen map[string]bool) bool {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Name == "__schema" || sel.Name == "__type" {
				return true
			}
		case *ast.InlineFragment:
			if introspects(sel.SelectionSet, frags, seen) {
				return true
			}
		case *ast.FragmentSpread:
			if f := frags.ForName(sel.Name); f != nil && !seen[sel.Name] {
				seen[sel.Name] = true
				if introspects(f.SelectionSet, frags, seen) {
					return true
				}
			}
		}
	}
	return false
}

func refusal(reason, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	errcode.Set(err, reason)
	return err
}

type walk struct {
	frags           ast.FragmentDefinitionList
	seen            map[string]bool
	limit           shapeLimit
	fields, deepest int
}

// over reports that a limit is already passed, so the walk can stop.
func (w *walk) over() bool { return w.fields > w.limit.maxFields || w.deepest > w.limit.maxDepth }

func (w *walk) selections(set ast.SelectionSet, depth int) {
	for _, sel := range set {
		if w.over() {
			return
		}
		// Every selection counts, not only fields: fragments that double a
		// __typename would otherwise take 2^n steps here and in gqlgen's
		// complexity walk while counting almost nothing.
		w.fields++
		switch sel := sel.(type) {
		case *ast.Field:
			// Introspection's depth is fixed by the spec and it is switched
			// off separately in production.
			if strings.HasPrefix(sel.Name, "__") {
				continue
			}
			w.deepest = max(w.deepest, depth)
			w.selections(sel.SelectionSet, depth+1)
		case *ast.InlineFragment:
			w.selections(sel.SelectionSet, depth)
		case *ast.FragmentSpread:
			// Validation rejects cycles; the guard only keeps this loop-free.
			if f := w.frags.ForName(sel.Name); f != nil && !w.seen[sel.Name] {
				w.seen[sel.Name] = true
				w.selections(f.SelectionSet, depth)
				delete(w.seen, sel.Name)
			}
		}
	}
}

// requireTransport answers requests no GraphQL transport takes (a POST that
// is not JSON, a PUT) with the same coded error as everything else, where
// gqlgen would answer with a bare message. GraphQL over GET is refused: its
// variables (a national ID, a name) would sit in URLs, proxy and access
// logs; a GET is only the WebSocket handshake.
func requireTransport(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := r.Method == http.MethodOptions ||
			r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
		if r.Method == http.MethodPost {
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			ok = err == nil && mt == "application/json"
		}
		if !ok {
			writeError(w, r, http.StatusBadRequest, hg.Errorf(hg.EINVALID,
				"send GraphQL as a POST of application/json, or over WebSocket"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
