package graph

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// outcome is what marshalling one field gave: the JSON, and the errors
// the response collected.
type outcome struct {
	json   string
	errors string
}

// fieldRequest is a context and an executionContext as the executor has
// them for a field of an object at path "thing".
func fieldRequest() (context.Context, *executionContext) {
	oc := &graphql.OperationContext{
		RecoverFunc:        graphql.DefaultRecover,
		ResolverMiddleware: func(ctx context.Context, next graphql.Resolver) (any, error) { return next(ctx) },
	}
	ctx := graphql.WithOperationContext(context.Background(), oc)
	ctx = graphql.WithResponseContext(ctx, graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "thing"}}})
	return ctx, &executionContext{&graphql.ExecutionContextState[ResolverRoot, DirectiveRoot, ComplexityRoot]{OperationContext: oc}}
}

func marshalled(ctx context.Context, m graphql.Marshaler) outcome {
	var b bytes.Buffer
	m.MarshalGQL(&b)
	return outcome{b.String(), graphql.GetErrors(ctx).Error()}
}

// compareWithResolveField marshals v as a plain field through plainField
// and through gqlgen's graphql.ResolveField, whose behaviour it must keep.
func compareWithResolveField[T any](t *testing.T, v T, recoverFromPanic, nonNull bool, fcErr error,
	marshal func(ctx context.Context, sel ast.SelectionSet, v T) graphql.Marshaler,
) {
	t.Helper()
	field := graphql.CollectedField{Field: &ast.Field{Name: "name", Alias: "name"}}
	newFC := func(context.Context, graphql.CollectedField) (*graphql.FieldContext, error) {
		if fcErr != nil {
			return nil, fcErr
		}
		return graphql.NewScalarFieldContext("Thing", field, false, false, "String")
	}

	ctx, ec := fieldRequest()
	want := marshalled(ctx, graphql.ResolveField(ctx, ec.OperationContext, field, newFC,
		func(context.Context) (any, error) { return v, nil }, nil, marshal, recoverFromPanic, nonNull))

	ctx, ec = fieldRequest()
	got := marshalled(ctx, plainField(ctx, ec, field, v, func(v T) T { return v },
		func(_ *executionContext, ctx context.Context, f graphql.CollectedField) (*graphql.FieldContext, error) {
			return newFC(ctx, f)
		},
		func(_ *executionContext, ctx context.Context, sel ast.SelectionSet, v T) graphql.Marshaler {
			return marshal(ctx, sel, v)
		}, recoverFromPanic, nonNull))

	if got != want {
		t.Errorf("plainField gave %+v, graphql.ResolveField %+v", got, want)
	}
}

func TestPlainFieldBehavesAsResolveField(t *testing.T) {
	t.Parallel()
	str := func(_ context.Context, _ ast.SelectionSet, v string) graphql.Marshaler {
		return graphql.MarshalString(v)
	}
	optional := func(_ context.Context, _ ast.SelectionSet, v *string) graphql.Marshaler {
		if v == nil {
			return graphql.Null
		}
		return graphql.MarshalString(*v)
	}
	anything := func(_ context.Context, _ ast.SelectionSet, v any) graphql.Marshaler { return graphql.MarshalAny(v) }
	// The marshaller names the field it finds on its context: plainField
	// must put the field's own FieldContext there.
	named := func(ctx context.Context, _ ast.SelectionSet, v string) graphql.Marshaler {
		return graphql.MarshalString(v + " " + graphql.GetFieldContext(ctx).Field.Name + " " + graphql.GetPath(ctx).String())
	}
	panicking := func(context.Context, ast.SelectionSet, string) graphql.Marshaler { panic("boom") }

	t.Run("a string", func(t *testing.T) { compareWithResolveField(t, "Amal", true, true, nil, str) })
	t.Run("a string that needs escaping", func(t *testing.T) { compareWithResolveField(t, "a \"b\" <c>\n", true, true, nil, str) })
	t.Run("a nil pointer on a nullable field", func(t *testing.T) { compareWithResolveField[*string](t, nil, true, false, nil, optional) })
	t.Run("a nil interface on a non-null field", func(t *testing.T) { compareWithResolveField[any](t, nil, true, true, nil, anything) })
	t.Run("a nil interface on a nullable field", func(t *testing.T) { compareWithResolveField[any](t, nil, true, false, nil, anything) })
	t.Run("the field's context under the marshaller", func(t *testing.T) { compareWithResolveField(t, "at", true, true, nil, named) })
	t.Run("a marshaller that panics", func(t *testing.T) { compareWithResolveField(t, "x", true, true, nil, panicking) })
	t.Run("a read that panics", func(t *testing.T) {
		ctx, ec := fieldRequest()
		field := graphql.CollectedField{Field: &ast.Field{Name: "name", Alias: "name"}}
		want := marshalled(ctx, graphql.ResolveField(ctx, ec.OperationContext, field,
			func(context.Context, graphql.CollectedField) (*graphql.FieldContext, error) {
				return graphql.NewScalarFieldContext("Thing", field, true, false, "String")
			},
			func(context.Context) (any, error) { panic("boom") }, nil, str, true, true))
		ctx, ec = fieldRequest()
		got := marshalled(ctx, plainField(ctx, ec, field, "x", func(string) string { panic("boom") },
			func(*executionContext, context.Context, graphql.CollectedField) (*graphql.FieldContext, error) {
				return graphql.NewScalarFieldContext("Thing", field, true, false, "String")
			},
			func(_ *executionContext, ctx context.Context, sel ast.SelectionSet, v string) graphql.Marshaler {
				return str(ctx, sel, v)
			},
			true, true))
		if got != want {
			t.Errorf("plainField gave %+v, graphql.ResolveField %+v", got, want)
		}
	})
	t.Run("a field context that fails", func(t *testing.T) {
		compareWithResolveField(t, "x", true, true, errors.New("no such field"), str)
	})
	t.Run("a panic with the handler omitted goes up", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("no panic, want the marshaller's")
			}
		}()
		ctx, ec := fieldRequest()
		field := graphql.CollectedField{Field: &ast.Field{Name: "name", Alias: "name"}}
		plainField(ctx, ec, field, "x", func(v string) string { return v }, func(*executionContext, context.Context, graphql.CollectedField) (*graphql.FieldContext, error) {
			return graphql.NewScalarFieldContext("Thing", field, false, false, "String")
		}, func(_ *executionContext, ctx context.Context, sel ast.SelectionSet, v string) graphql.Marshaler {
			return panicking(ctx, sel, v)
		}, false, true)
	})
}

// compareLeafWithResolveField marshals v as a leaf field through
// leafField with encode and nullType, and through graph.ResolveField with
// the marshaller gqlgen generates from them.
func compareLeafWithResolveField[T any](t *testing.T, v T, read func(T) T, recoverFromPanic, nonNull bool, encode func(T) graphql.Marshaler, nullType string) {
	t.Helper()
	field := graphql.CollectedField{Field: &ast.Field{Name: "when", Alias: "when"}}
	newFC := func(context.Context, graphql.CollectedField) (*graphql.FieldContext, error) {
		return graphql.NewScalarFieldContext("Thing", field, false, false, "Time")
	}
	marshal := func(ctx context.Context, _ ast.SelectionSet, v T) graphql.Marshaler {
		res := encode(v)
		if res == graphql.Null && nullType != "" {
			graphql.AddInvalidNullFromMarshaler(ctx, nullType)
		}
		return res
	}

	ctx, ec := fieldRequest()
	want := marshalled(ctx, graphql.ResolveField(ctx, ec.OperationContext, field, newFC,
		func(context.Context) (any, error) { return read(v), nil }, nil, marshal, recoverFromPanic, nonNull))

	ctx, ec = fieldRequest()
	got := marshalled(ctx, leafField(ctx, ec, field, v, read,
		func(_ *executionContext, ctx context.Context, f graphql.CollectedField) (*graphql.FieldContext, error) {
			return newFC(ctx, f)
		}, encode, nullType, recoverFromPanic, nonNull))

	if got != want {
		t.Errorf("leafField gave %+v, graphql.ResolveField %+v", got, want)
	}
}

func TestLeafFieldBehavesAsResolveField(t *testing.T) {
	t.Parallel()
	same := func(v time.Time) time.Time { return v }
	// Like MarshalTime, null for the zero time.
	encodeTime := func(v time.Time) graphql.Marshaler {
		if v.IsZero() {
			return graphql.Null
		}
		return graphql.MarshalTime(v)
	}
	at := time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC)

	t.Run("a time", func(t *testing.T) { compareLeafWithResolveField(t, at, same, true, true, encodeTime, "Time!") })
	t.Run("a null from the encoder on a non-null field", func(t *testing.T) {
		compareLeafWithResolveField(t, time.Time{}, same, true, true, encodeTime, "Time!")
	})
	t.Run("a null from the encoder on a nullable field", func(t *testing.T) {
		compareLeafWithResolveField(t, time.Time{}, same, true, false, encodeTime, "")
	})
	t.Run("a read that panics", func(t *testing.T) {
		compareLeafWithResolveField(t, at, func(time.Time) time.Time { panic("boom") }, true, true, encodeTime, "Time!")
	})
	t.Run("an encoder that panics", func(t *testing.T) {
		compareLeafWithResolveField(t, at, same, true, true, func(time.Time) graphql.Marshaler { panic("boom") }, "Time!")
	})
	anything := func(v any) graphql.Marshaler { return graphql.MarshalAny(v) }
	t.Run("a nil interface on a non-null field", func(t *testing.T) {
		compareLeafWithResolveField[any](t, nil, func(v any) any { return v }, true, true, anything, "")
	})
	t.Run("a nil interface on a nullable field", func(t *testing.T) {
		compareLeafWithResolveField[any](t, nil, func(v any) any { return v }, true, false, anything, "")
	})
}

func TestObjectJSONWritesWhatFieldSetWrites(t *testing.T) {
	t.Parallel()
	collected := func(aliases ...string) []graphql.CollectedField {
		out := make([]graphql.CollectedField, len(aliases))
		for i, a := range aliases {
			out[i] = graphql.CollectedField{Field: &ast.Field{Name: a, Alias: a}}
		}
		return out
	}
	for name, fields := range map[string][]graphql.CollectedField{
		"no fields":                       nil,
		"one field":                       collected("id"),
		"several fields":                  collected("id", "firstName", "__typename"),
		"an alias that comes twice":       collected("id", "name", "id"),
		"an alias that comes three times": collected("a", "a", "b", "a"),
		"more fields than it holds":       collected("a", "b", "c", "d", "e", "f", "g", "h", "i", "a"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fs, own := graphql.NewFieldSet(fields), newObjectJSON(fields)
			if len(own.Values) != len(fields) || cap(own.Values) != len(fields) {
				t.Fatalf("newObjectJSON holds %d values (capacity %d) for %d fields", len(own.Values), cap(own.Values), len(fields))
			}
			for i := range fields {
				fs.Values[i] = graphql.MarshalString("v" + string(rune('0'+i)) + "\"")
				own.Values[i] = fs.Values[i]
			}
			var want, got, gotOwn bytes.Buffer
			fs.MarshalGQL(&want)
			(&objectJSON{fields: fields, Values: fs.Values}).MarshalGQL(&got)
			own.MarshalGQL(&gotOwn)
			if got.String() != want.String() || gotOwn.String() != want.String() {
				t.Errorf("objectJSON wrote %s and %s (its own values), FieldSet %s", got.String(), gotOwn.String(), want.String())
			}
		})
	}
}

func TestDeferredGroupOnlyForADeferredField(t *testing.T) {
	t.Parallel()
	ctx, _ := fieldRequest()
	plain := []graphql.CollectedField{{Field: &ast.Field{Name: "id", Alias: "id"}}}
	if g := deferredGroup(ctx, plain); g.Path != nil || g.Defers != nil || g.FieldSet != nil {
		t.Errorf("deferredGroup built %+v for no deferred field, want the empty group", g)
	}
	deferred := append(plain, graphql.CollectedField{Field: &ast.Field{Name: "chart", Alias: "chart"},
		Deferrables: []*graphql.Deferrable{{Label: "later"}}})
	g := deferredGroup(ctx, deferred)
	if g.Defers == nil || g.FieldSet == nil || g.Path.String() != "thing" {
		t.Errorf("deferredGroup built %+v for a deferred field, want graphql.NewDeferredGroup's (path thing)", g)
	}
}
