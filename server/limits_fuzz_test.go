package server

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/graph"
)

// shape is what a reference walk finds in an operation with every fragment
// expanded: the fields the shape limit counts, the depth of the deepest, and
// the selections visited on the way.
type shape struct{ fields, depth, visits int }

// saturate keeps counts of fragments that double at every level finite.
const saturate = 1 << 40

// referenceShape expands fragments once each by memoisation, so it is
// exact and fast where the limit's own walk would be exponential.
type referenceShape struct {
	frags ast.FragmentDefinitionList
	memo  map[string]shape
}

func (r *referenceShape) of(set ast.SelectionSet) shape {
	var s shape
	for _, sel := range set {
		s.visits = min(s.visits+1, saturate)
		var child shape
		switch sel := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(sel.Name, "__") {
				continue
			}
			child = r.of(sel.SelectionSet)
			child.fields, child.depth = child.fields+1, child.depth+1
		case *ast.InlineFragment:
			child = r.of(sel.SelectionSet)
		case *ast.FragmentSpread:
			child = r.fragment(sel.Name)
		}
		s.fields = min(s.fields+child.fields, saturate)
		s.visits = min(s.visits+child.visits, saturate)
		s.depth = max(s.depth, child.depth)
	}
	return s
}

func (r *referenceShape) fragment(name string) shape {
	if s, ok := r.memo[name]; ok {
		return s
	}
	var s shape
	if f := r.frags.ForName(name); f != nil {
		s = r.of(f.SelectionSet)
	}
	r.memo[name] = s
	return s
}

var fuzzSchema = graph.NewExecutableSchema(graph.Config{}).Schema()

// FuzzShapeLimit checks the shape limit against an exact reference on
// valid operations: it refuses exactly those deeper or wider than allowed,
// with the code of a limit really passed, counts exactly what it accepts,
// and stops within one step of the limit it passes. The introspection
// policy refuses a caller who is not staff exactly when the operation asks
// for __schema or __type at its root, and never refuses staff.
func FuzzShapeLimit(f *testing.F) {
	f.Add("{ me { id email } }", uint8(12), uint16(500))
	f.Add("{ a: me { id } b: me { id } ...F } fragment F on Query { me { id } }", uint8(2), uint16(3))
	f.Add("query { patients(first: 5) { edges { node { id coverages { id payer } } } } }", uint8(3), uint16(50))
	f.Add("{ ... on Query { __schema { types { name } } } }", uint8(1), uint16(1))
	f.Add("{ ...I } fragment I on Query { __type(name: \"Patient\") { name } }", uint8(12), uint16(500))
	f.Add(doublingFragments(6, "me { id }"), uint8(12), uint16(100))
	f.Add(doublingFragments(12, "__typename"), uint8(12), uint16(500))
	f.Fuzz(func(t *testing.T, query string, maxDepth uint8, maxFields uint16) {
		doc, errs := gqlparser.LoadQueryWithRules(fuzzSchema, query, nil) // nil: the default rules
		if len(errs) > 0 || len(doc.Operations) == 0 {
			return
		}
		oc := &graphql.OperationContext{Doc: doc, Operation: doc.Operations[0]}
		checkShapeLimit(t, oc, shapeLimit{maxDepth: int(maxDepth), maxFields: int(maxFields)})
		checkIntrospectionPolicy(t, oc)
	})
}

// checkShapeLimit holds the limit to an exact reference: it refuses exactly
// what is too deep or too wide, counting every selection it visits.
func checkShapeLimit(t *testing.T, oc *graphql.OperationContext, l shapeLimit) {
	ref := (&referenceShape{frags: oc.Doc.Fragments, memo: map[string]shape{}}).of(oc.Operation.SelectionSet)
	tooBig := ref.depth > l.maxDepth || ref.fields > l.maxFields
	err := l.MutateOperationContext(context.Background(), oc)
	switch code := errCode(err); {
	case err == nil && tooBig:
		t.Fatalf("accepted %d fields %d deep under %+v", ref.fields, ref.depth, l)
	case err != nil && !tooBig && ref.visits <= l.maxFields:
		t.Fatalf("refused %d fields %d deep under %+v: %v", ref.fields, ref.depth, l, err)
	case code == "DEPTH_LIMIT_EXCEEDED" && ref.depth <= l.maxDepth,
		code == "FIELD_LIMIT_EXCEEDED" && ref.fields <= l.maxFields && ref.visits <= l.maxFields:
		t.Fatalf("refused %d fields %d deep under %+v with %s", ref.fields, ref.depth, l, code)
	case err != nil && code != "DEPTH_LIMIT_EXCEEDED" && code != "FIELD_LIMIT_EXCEEDED":
		t.Fatalf("refused with code %q: %v", code, err)
	}
	w := walk{frags: oc.Doc.Fragments, seen: map[string]bool{}, limit: l}
	w.selections(oc.Operation.SelectionSet, 1)
	if err == nil && (w.fields != ref.fields && w.fields != ref.visits || w.deepest != ref.depth) {
		t.Fatalf("walk counted %d fields %d deep, want %d (%d selections) %d", w.fields, w.deepest, ref.fields, ref.visits, ref.depth)
	}
	if w.fields > l.maxFields+1 || w.deepest > l.maxDepth+1 {
		t.Fatalf("walk went on to %d fields %d deep past %+v", w.fields, w.deepest, l)
	}
	// The walk visits every selection of an operation it accepts, so its
	// work is bounded only because every selection counts.
	if err == nil && ref.visits > l.maxFields {
		t.Fatalf("accepted after visiting %d selections (%d fields) under %+v", ref.visits, ref.fields, l)
	}
}

func checkIntrospectionPolicy(t *testing.T, oc *graphql.OperationContext) {
	asks := rootIntrospection(oc.Operation.SelectionSet, oc.Doc.Fragments, map[string]bool{})
	for _, who := range []*hg.Principal{nil, {Role: hg.RolePatient}, {Role: hg.RoleAdmin}, {Role: hg.RoleAnalyst}} {
		staff := who != nil && (who.Role == hg.RoleAdmin || who.Role == hg.RoleAnalyst)
		ctx := context.Background()
		if who != nil {
			ctx = hg.WithPrincipal(ctx, who)
		}
		err := introspectionPolicy{}.MutateOperationContext(ctx, oc)
		switch code := errCode(err); {
		case err == nil && asks && !staff:
			t.Fatalf("introspection allowed to %+v", who)
		case err != nil && (!asks || staff || code != "INTROSPECTION_DISABLED"):
			t.Fatalf("refused %+v (asks: %v) with %q: %v", who, asks, code, err)
		case oc.DisableIntrospection == staff:
			t.Fatalf("introspection disabled = %v for %+v", oc.DisableIntrospection, who)
		}
	}
}

// rootIntrospection reports whether a root selection, through any
// fragment and whatever its directives, is __schema or __type.
func rootIntrospection(set ast.SelectionSet, frags ast.FragmentDefinitionList, seen map[string]bool) bool {
	for _, sel := range set {
		var inner ast.SelectionSet
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Name == "__schema" || sel.Name == "__type" {
				return true
			}
		case *ast.InlineFragment:
			inner = sel.SelectionSet
		case *ast.FragmentSpread:
			if f := frags.ForName(sel.Name); f != nil && !seen[sel.Name] {
				seen[sel.Name] = true
				inner = f.SelectionSet
			}
		}
		if rootIntrospection(inner, frags, seen) {
			return true
		}
	}
	return false
}

func errCode(err *gqlerror.Error) string {
	if err == nil {
		return ""
	}
	code, _ := err.Extensions["code"].(string)
	return code
}

// doublingFragments builds an operation whose fragment n spreads fragment
// n-1 twice, and fragment 0 selects leaf: 2^n copies of leaf.
func doublingFragments(n int, leaf string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{ ...F%d } fragment F0 on Query { %s } ", n, leaf)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d } ", i, i-1, i-1)
	}
	return b.String()
}
