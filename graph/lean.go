package graph

import (
	"context"
	"io"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// plainField marshals a field that only reads a struct field (no method,
// no resolver, no directive), in the generated field functions in place of
// graphql.ResolveField (internal/leanexec rewrites the calls).
//
// It does what ResolveField does for such a field: the field's
// FieldContext goes on the context the value is marshalled under, a nil
// interface is null (an error when the field is non-null), and a panic
// while marshalling becomes the field's error and null unless
// recoverFromPanic is false. What it leaves out costs about ten
// allocations a field and does nothing for a struct read: the closures
// handed to ResolveField, boxing the value to any and back, and the field
// interceptors, which therefore see only fields that run code (resolvers
// and methods; observability's interceptor skips plain fields anyway).
// The functions are method expressions, which cost no allocation.
func plainField[T any](ctx context.Context, ec *executionContext, field graphql.CollectedField, v T,
	fieldContext func(*executionContext, context.Context, graphql.CollectedField) (*graphql.FieldContext, error),
	marshal func(*executionContext, context.Context, ast.SelectionSet, T) graphql.Marshaler,
	recoverFromPanic, nonNull bool,
) (ret graphql.Marshaler) {
	fc, err := fieldContext(ec, ctx, field)
	if err != nil {
		return graphql.Null
	}
	ctx = graphql.WithFieldContext(ctx, fc)
	if recoverFromPanic {
		defer func() {
			if r := recover(); r != nil {
				ec.Error(ctx, ec.Recover(ctx, r))
				ret = graphql.Null
			}
		}()
	}
	if any(v) == nil { // only a nil interface; a nil pointer is the marshaller's
		if nonNull || fc.NonNull {
			graphql.AddInvalidNullError(ctx, "")
		}
		if fc.NonNull && !nonNull {
			return graphql.RequiredNull
		}
		return graphql.Null
	}
	return marshal(ec, ctx, field.Selections, v)
}

// objectJSON writes an object's collected fields and their values, in the
// generated object functions in place of the *graphql.FieldSet they
// return (internal/leanexec rewrites the returns).
//
// It writes what FieldSet writes, the first value of an alias that comes
// twice included, without FieldSet's map per object and pointer per field:
// CollectFields merges fields by alias, so a repeat is rare and a scan of
// an object's few fields finds it. Aliases are GraphQL names
// ([_A-Za-z][_0-9A-Za-z]*), which JSON needs no escaping for.
type objectJSON struct {
	fields []graphql.CollectedField
	values []graphql.Marshaler
}

func (o *objectJSON) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, "{")
	for i := range o.fields {
		if repeated(o.fields[:i], o.fields[i].Alias) {
			continue
		}
		if i > 0 {
			_, _ = io.WriteString(w, `,"`)
		} else {
			_, _ = io.WriteString(w, `"`)
		}
		_, _ = io.WriteString(w, o.fields[i].Alias)
		_, _ = io.WriteString(w, `":`)
		o.values[i].MarshalGQL(w)
	}
	_, _ = io.WriteString(w, "}")
}

// deferredGroup is graphql.NewDeferredGroup(ctx) when one of an object's
// fields is deferred, and an empty group otherwise, in the generated
// object functions (internal/leanexec rewrites the calls). Only a
// deferred field reads the group; building it anyway computes the
// object's response path, an allocation per level for every object of a
// response.
func deferredGroup(ctx context.Context, fields []graphql.CollectedField) graphql.DeferredGroup {
	for i := range fields {
		if fields[i].IsDeferred() {
			return graphql.NewDeferredGroup(ctx)
		}
	}
	return graphql.DeferredGroup{}
}

// repeated reports whether alias is among fields'.
func repeated(fields []graphql.CollectedField, alias string) bool {
	for i := range fields {
		if fields[i].Alias == alias {
			return true
		}
	}
	return false
}
