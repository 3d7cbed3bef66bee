package main

import (
	"go/ast"
)

// plainFieldEdit rewrites a field function that only reads a struct field,
// which gqlgen generates as
//
//	return graphql.ResolveField(ctx, ec.OperationContext, field,
//		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
//			return ec.fieldContext_T_f(ctx, field)
//		},
//		func(ctx context.Context) (any, error) { return obj.F, nil },
//		nil, // no directive
//		func(ctx context.Context, selections ast.SelectionSet, v V) graphql.Marshaler {
//			return ec.marshalV(ctx, selections, v)
//		},
//		recoverFromPanic, nonNull)
//
// into a call of graph's plainField[V] with the same parts as method
// expressions. The explicit V makes a field whose type differs from the
// marshaller's fail to compile rather than change meaning.
func (e *executor) plainFieldEdit(fn *ast.FuncDecl, src []byte) (edit, bool) {
	if len(fn.Body.List) != 1 {
		return edit{}, false
	}
	ret, ok := fn.Body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		return edit{}, false
	}
	call, ok := ret.Results[0].(*ast.CallExpr)
	if !ok || !isCall(call, "graphql", "ResolveField") || len(call.Args) != 9 {
		return edit{}, false
	}
	a := call.Args
	fieldContext, ok := returnedCall(a[3], "ec", "ctx", "field")
	if !ok {
		return edit{}, false
	}
	read, ok := structRead(a[4])
	if !ok {
		return edit{}, false
	}
	if id, ok := a[5].(*ast.Ident); !ok || id.Name != "nil" {
		return edit{}, false // directives run around the field
	}
	marshal, ok := returnedCall(a[6], "ec", "ctx", "selections", "v")
	if !ok {
		return edit{}, false
	}
	params := a[6].(*ast.FuncLit).Type.Params.List
	typ := params[len(params)-1].Type
	text := func(n ast.Node) string { return string(src[e.offset(n.Pos()):e.offset(n.End())]) }
	return edit{e.offset(call.Pos()), e.offset(call.End()),
		"plainField[" + text(typ) + "](ctx, ec, field, " + text(read) +
			", (*executionContext)." + fieldContext + ", (*executionContext)." + marshal +
			", " + text(a[7]) + ", " + text(a[8]) + ")"}, true
}

// returnedCall recognises func(…) { return recv.name(args…) } and returns
// name.
func returnedCall(n ast.Expr, recv string, args ...string) (string, bool) {
	lit, ok := n.(*ast.FuncLit)
	if !ok || len(lit.Body.List) != 1 {
		return "", false
	}
	ret, ok := lit.Body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		return "", false
	}
	call, ok := ret.Results[0].(*ast.CallExpr)
	if !ok || len(call.Args) != len(args) {
		return "", false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || !isSelector(sel, recv, sel.Sel.Name) {
		return "", false
	}
	for i, arg := range call.Args {
		if id, ok := arg.(*ast.Ident); !ok || id.Name != args[i] {
			return "", false
		}
	}
	return sel.Sel.Name, true
}

// structRead recognises func(ctx) (any, error) { return obj.F, nil } and
// returns obj.F.
func structRead(n ast.Expr) (ast.Expr, bool) {
	lit, ok := n.(*ast.FuncLit)
	if !ok || len(lit.Body.List) != 1 {
		return nil, false
	}
	ret, ok := lit.Body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 2 {
		return nil, false
	}
	if id, ok := ret.Results[1].(*ast.Ident); !ok || id.Name != "nil" {
		return nil, false
	}
	sel, ok := ret.Results[0].(*ast.SelectorExpr)
	if !ok || !isSelector(sel, "obj", sel.Sel.Name) {
		return nil, false
	}
	return sel, true
}

// objectEdits rewrites an object's marshal function (objectShape) to
// build its deferred group only when a field is deferred
// (graph's deferredGroup) and to return its fields through graph's
// objectJSON rather than the *graphql.FieldSet it collected them in.
func (e *executor) objectEdits(fn *ast.FuncDecl) []edit {
	if !collectsInFieldSet(fn) {
		return nil
	}
	var edits []edit
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok && isCall(call, "graphql", "NewDeferredGroup") && len(call.Args) == 1 {
			edits = append(edits, edit{e.offset(call.Pos()), e.offset(call.End()), "deferredGroup(ctx, fields)"})
		}
		return true
	})
	last := fn.Body.List[len(fn.Body.List)-1]
	if ret, ok := last.(*ast.ReturnStmt); ok && len(ret.Results) == 1 {
		if id, ok := ret.Results[0].(*ast.Ident); ok && id.Name == "out" {
			edits = append(edits, edit{e.offset(id.Pos()), e.offset(id.End()), "&objectJSON{fields, out.Values}"})
		}
	}
	return edits
}

// collectsInFieldSet reports whether fn holds its values in
// out := graphql.NewFieldSet(fields).
func collectsInFieldSet(fn *ast.FuncDecl) bool {
	for _, st := range fn.Body.List {
		as, ok := st.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			continue
		}
		id, ok := as.Lhs[0].(*ast.Ident)
		call, isCallExpr := as.Rhs[0].(*ast.CallExpr)
		if ok && id.Name == "out" && isCallExpr && isCall(call, "graphql", "NewFieldSet") && len(call.Args) == 1 {
			arg, ok := call.Args[0].(*ast.Ident)
			return ok && arg.Name == "fields"
		}
	}
	return false
}
