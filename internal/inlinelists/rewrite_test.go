package main

import (
	"strings"
	"testing"
)

// snippet is generated code in gqlgen's shape: a list of edges whose node
// has an inline field and a resolver field, a list of an object with
// inline fields only, and a list of enum values.
const snippet = `package graph

var edgeImplementors = []string{"Edge"}
var thingImplementors = []string{"Thing", "Node"}
var tagImplementors = []string{"Tag"}

func (ec *executionContext) _Edge(ctx context.Context, sel ast.SelectionSet, obj *Edge) graphql.Marshaler {
	fields := graphql.CollectFields(ec.OperationContext, sel, edgeImplementors)
	out := graphql.NewFieldSet(fields)
	for i, field := range fields {
		switch field.Name {
		case "__typename":
			out.Values[i] = graphql.MarshalString("Edge")
		case "node":
			out.Values[i] = ec._Edge_node(ctx, field, obj)
		default:
			panic("unknown field " + strconv.Quote(field.Name))
		}
	}
	return out
}

func (ec *executionContext) _Edge_node(ctx context.Context, field graphql.CollectedField, obj *Edge) graphql.Marshaler {
	return ec.marshalNThing(ctx, field.Selections, obj.Node)
}

func (ec *executionContext) marshalNThing(ctx context.Context, sel ast.SelectionSet, v *Thing) graphql.Marshaler {
	return ec._Thing(ctx, sel, v)
}

func (ec *executionContext) _Thing(ctx context.Context, sel ast.SelectionSet, obj *Thing) graphql.Marshaler {
	fields := graphql.CollectFields(ec.OperationContext, sel, thingImplementors)
	out := graphql.NewFieldSet(fields)
	deferred := graphql.NewDeferredGroup(ctx)
	for i, field := range fields {
		switch field.Name {
		case "name":
			out.Values[i] = ec._Thing_name(ctx, field, obj)
		case "owner":
			out.ResolveConcurrently(ec.OperationContext, &deferred, i, true, true,
				func(ctx context.Context) graphql.Marshaler { return ec._Thing_owner(ctx, field, obj) })
		case "tags":
			out.Values[i] = ec.marshalNTag2ᚕ(ctx, field.Selections, obj.Tags)
		}
	}
	out.Dispatch(ctx)
	return out
}

func (ec *executionContext) _Tag(ctx context.Context, sel ast.SelectionSet, obj *Tag) graphql.Marshaler {
	fields := graphql.CollectFields(ec.OperationContext, sel, tagImplementors)
	out := graphql.NewFieldSet(fields)
	for i, field := range fields {
		switch field.Name {
		case "label":
			out.Values[i] = graphql.MarshalString(obj.Label)
		}
	}
	return out
}

func (ec *executionContext) marshalNEdge2ᚕ(ctx context.Context, sel ast.SelectionSet, v []*Edge) graphql.Marshaler {
	ret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		fc := graphql.GetFieldContext(ctx)
		fc.Result = &v[i]
		return ec._Edge(ctx, sel, v[i])
	})
	return ret
}

func (ec *executionContext) marshalNTag2ᚕ(ctx context.Context, sel ast.SelectionSet, v []*Tag) graphql.Marshaler {
	ret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, true, func(ctx context.Context, i int) graphql.Marshaler {
		return ec._Tag(ctx, sel, v[i])
	})
	return ret
}

func (ec *executionContext) marshalNRole2ᚕ(ctx context.Context, sel ast.SelectionSet, v []Role) graphql.Marshaler {
	ret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		return v[i]
	})
	return ret
}
`

func TestRewrite(t *testing.T) {
	t.Parallel()
	const path = "graph/thing.generated.go"
	out, table, err := rewrite(map[string][]byte{path: []byte(snippet)})
	if err != nil {
		t.Fatal(err)
	}
	src := string(out[path])

	t.Run("every list of objects or enums calls marshalSlice with its element's objects", func(t *testing.T) {
		for _, want := range []string{
			`marshalSlice(ctx, sel, []string{"Edge"}, len(v), 0, false, func`,
			`marshalSlice(ctx, sel, []string{"Tag"}, len(v), 0, true, func`,
			`marshalSlice(ctx, sel, nil, len(v), 0, false, func`,
		} {
			if !strings.Contains(src, want) {
				t.Errorf("rewritten source lacks %q:\n%s", want, src)
			}
		}
		if strings.Contains(src, "MarshalSliceConcurrently") {
			t.Errorf("a list is still marshalled concurrently:\n%s", src)
		}
	})

	t.Run("the table leaves out concurrent fields and marks inline-only objects", func(t *testing.T) {
		for _, want := range []string{
			`"Edge":  {implementors: []string{"Edge"}, inline: map[string][]string{"__typename": nil, "node": []string{"Thing"}}},`,
			`"Thing": {implementors: []string{"Thing", "Node"}, inline: map[string][]string{"name": nil, "tags": []string{"Tag"}}},`,
			`"Tag":   {always: true},`,
		} {
			if !strings.Contains(string(table), want) {
				t.Errorf("table lacks %q:\n%s", want, table)
			}
		}
	})

	t.Run("a second run changes nothing", func(t *testing.T) {
		again, table2, err := rewrite(map[string][]byte{path: out[path]})
		if err != nil {
			t.Fatal(err)
		}
		if len(again) != 0 {
			t.Errorf("second run rewrote again:\n%s", again[path])
		}
		if string(table2) != string(table) {
			t.Errorf("second run's table differs:\n%s\nwant\n%s", table2, table)
		}
	})
}
