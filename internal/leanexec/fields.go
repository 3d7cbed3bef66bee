package main

import (
	"go/ast"
	"go/token"
	"slices"
	"strconv"
	"strings"
)

// plainFieldEdit rewrites the function of a field that reads a struct
// field or calls a method that takes no context and returns no error,
// which gqlgen generates as
//
//	return graphql.ResolveField(ctx, ec.OperationContext, field,
//		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
//			return ec.fieldContext_T_f(ctx, field)
//		},
//		func(ctx context.Context) (any, error) { return obj.F, nil }, // or obj.M()
//		nil, // no directive
//		func(ctx context.Context, selections ast.SelectionSet, v V) graphql.Marshaler {
//			return ec.marshalV(ctx, selections, v)
//		},
//		recoverFromPanic, nonNull)
//
// into a call of graph's plainField[O, V] with the same parts, the read as
// a function literal and the others as method expressions, none of which
// captures anything. The explicit O and V make a read whose type differs
// from the marshaller's fail to compile rather than change meaning.
func (e *executor) plainFieldEdit(fn *ast.FuncDecl, src []byte) (edit, bool) {
	ret, ok := onlyReturn(fn.Body, 1)
	if !ok {
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
	read, ok := getter(a[4])
	if !ok {
		return edit{}, false
	}
	objType := fn.Type.Params.List[len(fn.Type.Params.List)-1].Type
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
	head := "[" + text(objType) + ", " + text(typ) + "](ctx, ec, field, obj, func(obj " + text(objType) + ") " + text(typ) +
		" { return " + text(read) + " }, (*executionContext)." + fieldContext + ", "
	tail := ", " + text(a[7]) + ", " + text(a[8]) + ")"
	if enc, ok := e.encoder(marshal); ok && e.scalarFieldContext(fieldContext) {
		return edit{e.offset(call.Pos()), e.offset(call.End()), "leafField" + head + enc.name + ", " + strconv.Quote(enc.nullType) + tail}, true
	}
	return edit{e.offset(call.Pos()), e.offset(call.End()), "plainField" + head + "(*executionContext)." + marshal + tail}, true
}

// encoder returns the encoder of the marshaller name, to be added unless
// an earlier run added it.
func (e *executor) encoder(name string) (encoder, bool) {
	fn, ok := e.funcs[name]
	if !ok {
		return encoder{}, false
	}
	enc, ok := e.leafEncoder(fn, e.srcs[e.fset.Position(fn.Pos()).Filename])
	if ok && !e.declared[enc.name] {
		e.encoders[name] = enc
	}
	return enc, ok
}

// returnedCall recognises func(…) { return recv.name(args…) } and returns
// name.
func returnedCall(n ast.Expr, recv string, args ...string) (string, bool) {
	lit, ok := n.(*ast.FuncLit)
	if !ok {
		return "", false
	}
	ret, ok := onlyReturn(lit.Body, 1)
	if !ok {
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

// getter recognises func(ctx) (any, error) { return obj.F, nil } and
// func(ctx) (any, error) { return obj.M(), nil }, and returns obj.F or
// obj.M().
func getter(n ast.Expr) (ast.Expr, bool) {
	lit, ok := n.(*ast.FuncLit)
	if !ok {
		return nil, false
	}
	ret, ok := onlyReturn(lit.Body, 2)
	if !ok {
		return nil, false
	}
	if id, ok := ret.Results[1].(*ast.Ident); !ok || id.Name != "nil" {
		return nil, false
	}
	read := ret.Results[0]
	if call, ok := read.(*ast.CallExpr); ok && len(call.Args) == 0 {
		read = call.Fun
	}
	sel, ok := read.(*ast.SelectorExpr)
	if !ok || !isSelector(sel, "obj", sel.Sel.Name) {
		return nil, false
	}
	return ret.Results[0], true
}

// objectEdits rewrites an object's marshal function (objectShape) to
// build its deferred group only when a field is deferred
// (graph's deferredGroup) and to return its fields through graph's
// objectJSON rather than the *graphql.FieldSet it collected them in. An
// object that uses its FieldSet for nothing but Values, Invalids and
// Dispatch, none of its fields dispatched concurrently, collects them in
// the objectJSON itself (newObjectJSON) and dispatches nothing.
func (e *executor) objectEdits(fn *ast.FuncDecl) []edit {
	if !collectsInFieldSet(fn) {
		return nil
	}
	own := valuesOnly(fn)
	var edits []edit
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if isCall(n, "graphql", "NewDeferredGroup") && len(n.Args) == 1 {
				edits = append(edits, edit{e.offset(n.Pos()), e.offset(n.End()), "deferredGroup(ctx, fields)"})
			}
			if own && isCall(n, "graphql", "NewFieldSet") {
				edits = append(edits, edit{e.offset(n.Pos()), e.offset(n.End()), "newObjectJSON(fields)"})
			}
		case *ast.ExprStmt:
			if call, ok := n.X.(*ast.CallExpr); own && ok && isSelector(call.Fun, "out", "Dispatch") {
				edits = append(edits, edit{e.lineStart(n.Pos()), e.offset(n.End()), ""})
			}
		}
		return true
	})
	last := fn.Body.List[len(fn.Body.List)-1]
	if ret, ok := last.(*ast.ReturnStmt); ok && len(ret.Results) == 1 && !own {
		if id, ok := ret.Results[0].(*ast.Ident); ok && id.Name == "out" {
			edits = append(edits, edit{e.offset(id.Pos()), e.offset(id.End()), "&objectJSON{fields: fields, Values: out.Values}"})
		}
	}
	return edits
}

// lineStart is the offset of the newline that ends the line before pos's,
// so that deleting from there takes pos's line with it.
func (e *executor) lineStart(pos token.Pos) int {
	src, from := e.srcs[e.fset.Position(pos).Filename], e.offset(pos)
	for from > 0 && (src[from-1] == ' ' || src[from-1] == '\t') {
		from--
	}
	if from > 0 && src[from-1] == '\n' {
		from--
	}
	return from
}

// valuesOnly reports whether fn uses its FieldSet out only through
// out.Values, out.Invalids and out.Dispatch, besides declaring and
// returning it.
func valuesOnly(fn *ast.FuncDecl) bool {
	uses, allowed := 0, 0
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			if n.Name == "out" {
				uses++
			}
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && id.Name == "out" && slices.Contains([]string{"Values", "Invalids", "Dispatch"}, n.Sel.Name) {
				allowed++
			}
		case *ast.AssignStmt:
			if len(n.Lhs) == 1 && isIdent(n.Lhs[0], "out") && n.Tok == token.DEFINE {
				allowed++
			}
		case *ast.ReturnStmt:
			if len(n.Results) == 1 && isIdent(n.Results[0], "out") {
				allowed++
			}
		}
		return true
	})
	return uses == allowed
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

// encoder is a scalar or enum marshaller without its null report: what
// graph's leafField needs in place of the marshaller.
type encoder struct {
	name     string // of the function the rewrite adds after the marshaller
	nullType string // the type its null report names; "" when it has none
	text     string // the function's source
}

// leafEncoder recognises a marshaller gqlgen generates for a scalar or an
// enum, whose context serves only to report a null:
//
//	func (ec *executionContext) marshalNX(ctx context.Context, sel ast.SelectionSet, v V) graphql.Marshaler {
//		[if v == nil { return graphql.Null }]
//		_ = sel
//		[_ = ctx]
//		res := <an expression of v alone>
//		[if res == graphql.Null { graphql.AddInvalidNullFromMarshaler(ctx, "X!") }]
//		return res
//	}
//
// and returns encodeX(v V) graphql.Marshaler, the same without ctx, sel
// and the report.
func (e *executor) leafEncoder(fn *ast.FuncDecl, src []byte) (encoder, bool) {
	params := fn.Type.Params.List
	if fn.Recv == nil || !strings.HasPrefix(fn.Name.Name, "marshal") || len(params) != 3 || len(params[2].Names) != 1 || params[2].Names[0].Name != "v" {
		return encoder{}, false
	}
	text := func(n ast.Node) string { return string(src[e.offset(n.Pos()):e.offset(n.End())]) }
	var body []string
	enc := encoder{name: "encode" + strings.TrimPrefix(fn.Name.Name, "marshal")}
	stmts := fn.Body.List
	if len(stmts) > 0 && isNilReturn(stmts[0], "v") {
		body = append(body, text(stmts[0]))
		stmts = stmts[1:]
	}
	for len(stmts) > 0 && isDiscard(stmts[0]) {
		stmts = stmts[1:]
	}
	if len(stmts) < 2 {
		return encoder{}, false
	}
	as, ok := stmts[0].(*ast.AssignStmt)
	if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 || !isIdent(as.Lhs[0], "res") || mentions(as.Rhs[0], "ctx", "sel", "ec") {
		return encoder{}, false
	}
	body = append(body, "return "+text(as.Rhs[0]))
	stmts = stmts[1:]
	if len(stmts) == 2 {
		lit, ok := nullReport(stmts[0])
		if !ok {
			return encoder{}, false
		}
		enc.nullType, _ = strconv.Unquote(lit)
		stmts = stmts[1:]
	}
	if ret, ok := stmts[0].(*ast.ReturnStmt); len(stmts) != 1 || !ok || len(ret.Results) != 1 || !isIdent(ret.Results[0], "res") {
		return encoder{}, false
	}
	enc.text = "\n\n// " + enc.name + " is " + fn.Name.Name + " without its null report (graph's leafField).\n" +
		"func " + enc.name + "(v " + text(params[2].Type) + ") graphql.Marshaler {\n" + strings.Join(body, "\n") + "\n}"
	return enc, true
}

// isNilReturn recognises if name == nil { return graphql.Null }.
func isNilReturn(st ast.Stmt, name string) bool {
	is, ok := st.(*ast.IfStmt)
	if !ok || is.Init != nil || is.Else != nil || len(is.Body.List) != 1 {
		return false
	}
	cond, ok := is.Cond.(*ast.BinaryExpr)
	if !ok || cond.Op != token.EQL || !isIdent(cond.X, name) || !isIdent(cond.Y, "nil") {
		return false
	}
	ret, ok := is.Body.List[0].(*ast.ReturnStmt)
	return ok && len(ret.Results) == 1 && isSelector(ret.Results[0], "graphql", "Null")
}

// isDiscard recognises _ = x.
func isDiscard(st ast.Stmt) bool {
	as, ok := st.(*ast.AssignStmt)
	return ok && as.Tok == token.ASSIGN && len(as.Lhs) == 1 && isIdent(as.Lhs[0], "_")
}

// nullReport recognises
// if res == graphql.Null { graphql.AddInvalidNullFromMarshaler(ctx, "X!") }
// and returns the literal.
func nullReport(st ast.Stmt) (string, bool) {
	is, ok := st.(*ast.IfStmt)
	if !ok || is.Init != nil || is.Else != nil || len(is.Body.List) != 1 {
		return "", false
	}
	cond, ok := is.Cond.(*ast.BinaryExpr)
	if !ok || cond.Op != token.EQL || !isIdent(cond.X, "res") || !isSelector(cond.Y, "graphql", "Null") {
		return "", false
	}
	es, ok := is.Body.List[0].(*ast.ExprStmt)
	if !ok {
		return "", false
	}
	call, ok := es.X.(*ast.CallExpr)
	if !ok || !isCall(call, "graphql", "AddInvalidNullFromMarshaler") || len(call.Args) != 2 || !isIdent(call.Args[0], "ctx") {
		return "", false
	}
	lit, ok := call.Args[1].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	return lit.Value, true
}

func isIdent(x ast.Expr, name string) bool {
	id, ok := x.(*ast.Ident)
	return ok && id.Name == name
}

// mentions reports whether n refers to any of names.
func mentions(n ast.Node, names ...string) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && slices.Contains(names, id.Name) {
			found = true
		}
		return !found
	})
	return found
}

// scalarFieldContext reports whether the field context function name only
// returns graphql.NewScalarFieldContext(…), which cannot fail.
func (e *executor) scalarFieldContext(name string) bool {
	fn, ok := e.funcs[name]
	if !ok {
		return false
	}
	ret, ok := onlyReturn(fn.Body, 1)
	if !ok {
		return false
	}
	call, ok := ret.Results[0].(*ast.CallExpr)
	return ok && isCall(call, "graphql", "NewScalarFieldContext")
}

// onlyReturn recognises a body that is one return of n results.
func onlyReturn(body *ast.BlockStmt, n int) (*ast.ReturnStmt, bool) {
	if len(body.List) != 1 {
		return nil, false
	}
	ret, ok := body.List[0].(*ast.ReturnStmt)
	return ret, ok && len(ret.Results) == n
}
