package graph

import (
	"context"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// selection is a selection set of fields, each with its own.
func selection(fields ...*ast.Field) ast.SelectionSet {
	out := make(ast.SelectionSet, len(fields))
	for i, f := range fields {
		out[i] = f
	}
	return out
}

func field(name string, sub ...*ast.Field) *ast.Field {
	return &ast.Field{Name: name, Alias: name, SelectionSet: selection(sub...)}
}

// request is a context as the executor gives a list field.
func request() context.Context {
	ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{RecoverFunc: graphql.DefaultRecover})
	return graphql.WithResponseContext(ctx, graphql.DefaultErrorPresenter, graphql.DefaultRecover)
}

func TestMarshalsInlineFollowsTheSelection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sel  ast.SelectionSet
		want bool
	}{
		{"fields and methods without a context", selection(field("cursor"),
			field("node", field("id"), field("patient", field("mrn")), field("practitioner", field("license")))), true},
		{"a resolver field below", selection(field("node", field("patient", field("latestRecords", field("kind"))))), false},
		{"a resolver field in a fragment", selection(field("node", &ast.Field{Name: "patient", Alias: "patient",
			SelectionSet: ast.SelectionSet{&ast.InlineFragment{TypeCondition: "Patient", SelectionSet: selection(field("upcomingAppointments", field("id")))}}})), false},
		{"a resolver field in a fragment on another type", selection(field("node", &ast.Field{Name: "patient", Alias: "patient",
			SelectionSet: ast.SelectionSet{&ast.InlineFragment{TypeCondition: "User", SelectionSet: selection(field("role"))}}})), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			oc := graphql.GetOperationContext(request())
			if got := marshalsInline(oc, tc.sel, []string{"AppointmentEdge"}); got != tc.want {
				t.Errorf("marshalsInline = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMarshalSliceInline(t *testing.T) {
	t.Parallel()
	inline := selection(field("cursor"))

	t.Run("marshals each element in turn with its index", func(t *testing.T) {
		t.Parallel()
		var order []int // unguarded: marshalling on goroutines would race
		ret := marshalSlice(request(), inline, []string{"AppointmentEdge"}, 3, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
			order = append(order, *graphql.GetFieldContext(ctx).Index)
			return graphql.MarshalInt(i)
		})
		if len(ret) != 3 || ret[2] == graphql.Null || len(order) != 3 || order[0] != 0 || order[1] != 1 || order[2] != 2 {
			t.Errorf("got %d values in order %v, want 3 in order [0 1 2]", len(ret), order)
		}
	})

	t.Run("a panicking element is null and reports an error", func(t *testing.T) {
		t.Parallel()
		ctx := request()
		ret := marshalSlice(ctx, inline, []string{"AppointmentEdge"}, 3, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
			if i == 1 {
				panic("boom")
			}
			return graphql.MarshalInt(i)
		})
		errs := graphql.GetErrors(ctx)
		if ret[1] != graphql.Null || ret[0] == graphql.Null || ret[2] == graphql.Null || len(errs) != 1 {
			t.Fatalf("got %v with errors %v, want element 1 null and one error", ret, errs)
		}
		if path := errs[0].Path.String(); !strings.HasSuffix(path, "[1]") {
			t.Errorf("error path %q, want one ending in the element's index [1]", path)
		}
	})

	t.Run("with omitPanicHandler a panic goes up", func(t *testing.T) {
		t.Parallel()
		defer func() {
			if recover() == nil {
				t.Error("no panic, want the element's")
			}
		}()
		marshalSlice(request(), inline, []string{"AppointmentEdge"}, 2, 0, true, func(ctx context.Context, i int) graphql.Marshaler {
			panic("boom")
		})
	})

	t.Run("an empty list is an empty array", func(t *testing.T) {
		t.Parallel()
		ret := marshalSlice(request(), inline, []string{"AppointmentEdge"}, 0, 0, false, nil)
		if ret == nil || len(ret) != 0 {
			t.Errorf("got %#v, want an empty array", ret)
		}
	})

	t.Run("a selection with a resolver field still gets every element", func(t *testing.T) {
		t.Parallel()
		sel := selection(field("node", field("patient", field("coverages", field("memberId")))))
		ret := marshalSlice(request(), sel, []string{"AppointmentEdge"}, 3, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
			return graphql.MarshalInt(*graphql.GetFieldContext(ctx).Index)
		})
		for i, v := range ret {
			if v == graphql.Null {
				t.Errorf("element %d is null", i)
			}
		}
	})
}
