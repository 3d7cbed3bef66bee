package graph

import (
	"context"
	"io"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// plainField marshals a field that only reads its object (a struct field,
// or a method that takes no context and returns no error) and runs no
// directive, in the generated field functions in place of
// graphql.ResolveField (internal/leanexec rewrites the calls).
//
// It does what ResolveField does for such a field: the field's
// FieldContext goes on the context the value is read and marshalled under,
// a nil interface is null (an error when the field is non-null), and a
// panic while reading or marshalling becomes the field's error and null
// unless recoverFromPanic is false. What it leaves out costs about ten
// allocations a field and does nothing for a read: the closures handed to
// ResolveField, boxing the value to any and back (and into the
// FieldContext's Result, which only field middleware reads), and the field
// interceptors, which therefore see only fields that can fail or wait
// (observability's interceptor observes no others anyway). The functions
// it takes capture nothing, so passing them allocates nothing.
func plainField[O, T any](ctx context.Context, ec *executionContext, field graphql.CollectedField, obj O, read func(O) T,
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
	v := read(obj)
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

// leafField is plainField for a scalar or enum field whose FieldContext
// cannot fail to build (it has no arguments). Such a field's marshaller
// reads its context only to report a null, so leafField marshals through
// encode, the marshaller without that report (internal/leanexec derives
// it), under the parent's context, and builds the field's FieldContext
// only to report an error: a null from encode when the schema declares
// nullType non-null, a nil interface on a non-null field, or a panic.
// Every field of a page's rows is one of these; the FieldContext and the
// context value were most of what each still allocated.
func leafField[O, T any](ctx context.Context, ec *executionContext, field graphql.CollectedField, obj O, read func(O) T,
	fieldContext func(*executionContext, context.Context, graphql.CollectedField) (*graphql.FieldContext, error),
	encode func(T) graphql.Marshaler, nullType string,
	recoverFromPanic, nonNull bool,
) (ret graphql.Marshaler) {
	fieldCtx := func() context.Context {
		fc, _ := fieldContext(ec, ctx, field) // a scalar's never fails
		return graphql.WithFieldContext(ctx, fc)
	}
	if recoverFromPanic {
		defer func() {
			if r := recover(); r != nil {
				ctx := fieldCtx()
				ec.Error(ctx, ec.Recover(ctx, r))
				ret = graphql.Null
			}
		}()
	}
	v := read(obj)
	if any(v) == nil { // as plainField; a new FieldContext is never marked non-null
		if nonNull {
			graphql.AddInvalidNullError(fieldCtx(), "")
		}
		return graphql.Null
	}
	ret = encode(v)
	if ret == graphql.Null && nullType != "" {
		graphql.AddInvalidNullFromMarshaler(fieldCtx(), nullType)
	}
	return ret
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
//
// An object none of whose fields is dispatched concurrently collects its
// values in the objectJSON itself (newObjectJSON), Values and Invalids
// standing in for the FieldSet's; the others collect them in a FieldSet,
// which ResolveConcurrently needs, and hand over its Values.
type objectJSON struct {
	fields   []graphql.CollectedField
	Values   []graphql.Marshaler
	Invalids uint32
}

// newObjectJSON is an objectJSON to collect the values of fields in: one
// allocation, holding the values of up to eight fields (a page's rows
// select a handful), where NewFieldSet and the objectJSON returned were
// three.
func newObjectJSON(fields []graphql.CollectedField) *objectJSON {
	o := &struct {
		objectJSON
		inline [8]graphql.Marshaler
	}{objectJSON: objectJSON{fields: fields}}
	if len(fields) <= len(o.inline) {
		o.Values = o.inline[:len(fields):len(fields)]
	} else {
		o.Values = make([]graphql.Marshaler, len(fields))
	}
	return &o.objectJSON
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
		o.Values[i].MarshalGQL(w)
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
