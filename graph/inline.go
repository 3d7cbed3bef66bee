// Package graph is the GraphQL executor gqlgen generates from graph/schema,
// and the hand-written helpers the generated code calls.
package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// inlineObject is what internal/leanexec learnt of one object's marshal
// function (see inline_objects.generated.go).
type inlineObject struct {
	implementors []string
	inline       map[string][]string
	always       bool
}

// marshalSlice marshals a list whose elements marshal as objects, in the
// generated list functions in place of graphql.MarshalSliceConcurrently
// (internal/leanexec rewrites the calls).
//
// gqlgen marshals each element on a goroutine of its own so that resolver
// fields of different elements ask their dataloaders together. When sel
// reaches no field that runs concurrently, no element can wait for
// another, and the goroutines only cost stacks and scheduling: then the
// elements are marshalled in turn here, each as MarshalSliceConcurrently
// would (its FieldContext with Index, a panic recovered into an error and
// Null unless omitPanicHandler). Otherwise, and for fewer than two
// elements, which gqlgen marshals inline already, it defers to gqlgen.
//
// Fields marshalled inline may still load through a dataloader, as the
// relations of model.Appointment do: a list of such values must queue its
// elements' keys together before the first waits (model.NewAppointments).
func marshalSlice(ctx context.Context, sel ast.SelectionSet, objects []string, length int, workerLimit int64, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler,
) graphql.Array {
	if length < 2 || !marshalsInline(graphql.GetOperationContext(ctx), sel, objects) {
		return graphql.MarshalSliceConcurrently(ctx, length, workerLimit, omitPanicHandler, marshalElement)
	}
	ret := make(graphql.Array, length)
	for i := range length {
		ctx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
		if omitPanicHandler {
			ret[i] = marshalElement(ctx, i)
			continue
		}
		ret[i] = marshalRecovering(ctx, i, marshalElement)
	}
	return ret
}

// marshalRecovering is marshalElement(ctx, i), or Null with the panic
// added as an error, as MarshalSliceConcurrently reports one.
func marshalRecovering(ctx context.Context, i int, marshalElement func(ctx context.Context, i int) graphql.Marshaler) (ret graphql.Marshaler) {
	defer func() {
		if r := recover(); r != nil {
			graphql.AddError(ctx, graphql.Recover(ctx, r))
			ret = graphql.Null
		}
	}()
	return marshalElement(ctx, i)
}

// marshalsInline reports whether sel, on a value that marshals as one of
// objects, reaches only fields that marshal inline.
func marshalsInline(oc *graphql.OperationContext, sel ast.SelectionSet, objects []string) bool {
	for _, name := range objects {
		o, ok := inlineObjects[name]
		if !ok {
			return false
		}
		if o.always {
			continue
		}
		for _, f := range graphql.CollectFields(oc, sel, o.implementors) {
			children, ok := o.inline[f.Name]
			if !ok || len(children) > 0 && !marshalsInline(oc, f.Selections, children) {
				return false
			}
		}
	}
	return true
}
