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
	out.Dispatch(ctx)
	return out
}

func (ec *executionContext) _Edge_node(ctx context.Context, field graphql.CollectedField, obj *Edge) (ret graphql.Marshaler) {
	return graphql.ResolveField(
		ctx,
		ec.OperationContext,
		field,
		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
			return ec.fieldContext_Edge_node(ctx, field)
		},
		func(ctx context.Context) (any, error) {
			return obj.Node, nil
		},
		nil,
		func(ctx context.Context, selections ast.SelectionSet, v *Thing) graphql.Marshaler {
			return ec.marshalNThing(ctx, selections, v)
		},
		true,
		true,
	)
}

func (ec *executionContext) _Thing_name(ctx context.Context, field graphql.CollectedField, obj *Thing) (ret graphql.Marshaler) {
	return graphql.ResolveField(ctx, ec.OperationContext, field,
		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
			return ec.fieldContext_Thing_name(ctx, field)
		},
		func(ctx context.Context) (any, error) { return obj.Name, nil },
		nil,
		func(ctx context.Context, selections ast.SelectionSet, v string) graphql.Marshaler {
			return ec.marshalNString2string(ctx, selections, v)
		},
		false, true)
}

func (ec *executionContext) fieldContext_Thing_name(_ context.Context, field graphql.CollectedField) (fc *graphql.FieldContext, err error) {
	return graphql.NewScalarFieldContext("Thing", field, false, false, "String")
}

func (ec *executionContext) marshalNString2string(ctx context.Context, sel ast.SelectionSet, v string) graphql.Marshaler {
	_ = sel
	res := graphql.MarshalString(v)
	if res == graphql.Null {
		graphql.AddInvalidNullFromMarshaler(ctx, "String!")
	}
	return res
}

func (ec *executionContext) _Thing_age(ctx context.Context, field graphql.CollectedField, obj *Thing) (ret graphql.Marshaler) {
	return graphql.ResolveField(ctx, ec.OperationContext, field,
		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
			return ec.fieldContext_Thing_age(ctx, field)
		},
		func(ctx context.Context) (any, error) { return obj.Age(), nil },
		nil,
		func(ctx context.Context, selections ast.SelectionSet, v int) graphql.Marshaler {
			return ec.marshalNInt2int(ctx, selections, v)
		},
		true, true)
}

func (ec *executionContext) _Thing_secret(ctx context.Context, field graphql.CollectedField, obj *Thing) (ret graphql.Marshaler) {
	return graphql.ResolveField(ctx, ec.OperationContext, field,
		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
			return ec.fieldContext_Thing_secret(ctx, field)
		},
		func(ctx context.Context) (any, error) { return obj.Secret, nil },
		func(ctx context.Context, next graphql.Resolver) graphql.Resolver { return hasRole(ctx, next) },
		func(ctx context.Context, selections ast.SelectionSet, v string) graphql.Marshaler {
			return ec.marshalNString2string(ctx, selections, v)
		},
		true, true)
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

	t.Run("a field that reads its object calls plainField, or leafField with an encoder, with its parts", func(t *testing.T) {
		for _, want := range []string{
			`return plainField[*Edge, *Thing](ctx, ec, field, obj, func(obj *Edge) *Thing { return obj.Node }, (*executionContext).fieldContext_Edge_node, (*executionContext).marshalNThing, true, true)`,
			`return leafField[*Thing, string](ctx, ec, field, obj, func(obj *Thing) string { return obj.Name }, (*executionContext).fieldContext_Thing_name, encodeNString2string, "String!", false, true)`,
			"func encodeNString2string(v string) graphql.Marshaler {\n\treturn graphql.MarshalString(v)\n}",
			`return plainField[*Thing, int](ctx, ec, field, obj, func(obj *Thing) int { return obj.Age() }, (*executionContext).fieldContext_Thing_age, (*executionContext).marshalNInt2int, true, true)`,
		} {
			if !strings.Contains(src, want) {
				t.Errorf("rewritten source lacks %q:\n%s", want, src)
			}
		}
		// A field under a directive runs the directive: gqlgen's path.
		if n := strings.Count(src, "graphql.ResolveField("); n != 1 {
			t.Errorf("%d fields left on graphql.ResolveField, want 1 (secret):\n%s", n, src)
		}
	})

	t.Run("objects build a deferred group only for a deferred field and return objectJSON", func(t *testing.T) {
		if strings.Contains(src, "NewDeferredGroup") || !strings.Contains(src, "deferred := deferredGroup(ctx, fields)") {
			t.Errorf("the deferred group is not built through deferredGroup:\n%s", src)
		}
		// Thing dispatches a field concurrently: its FieldSet stays.
		if n := strings.Count(src, "return &objectJSON{fields: fields, Values: out.Values}"); n != 1 {
			t.Errorf("%d objects return a FieldSet's values in objectJSON, want 1 (Thing):\n%s", n, src)
		}
		if n := strings.Count(src, "graphql.NewFieldSet(fields)"); n != 1 {
			t.Errorf("%d objects collect in a FieldSet, want 1 (Thing):\n%s", n, src)
		}
	})

	t.Run("objects without a concurrent field collect in objectJSON and dispatch nothing", func(t *testing.T) {
		if n := strings.Count(src, "out := newObjectJSON(fields)"); n != 2 {
			t.Errorf("%d objects collect in newObjectJSON, want 2 (Edge and Tag):\n%s", n, src)
		}
		if n := strings.Count(src, "out.Dispatch(ctx)"); n != 1 {
			t.Errorf("%d objects dispatch, want 1 (Thing):\n%s", n, src)
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
