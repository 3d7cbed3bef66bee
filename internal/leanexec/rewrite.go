package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// concurrentCalls are the calls by which generated code runs a field on a
// goroutine of its own (or on one shared with the object's other such
// fields): a field reaching one may wait for a dataloader batch that other
// elements of its list must join.
var concurrentCalls = map[string]bool{
	"ResolveConcurrently":     true,
	"ResolveRootConcurrently": true,
	"Concurrently":            true,
}

// object is what an object function of the executor marshals: for each
// field it marshals inline, the objects its value marshals as; a field it
// dispatches concurrently is absent.
type object struct {
	implementors []string
	inline       map[string][]string
	concurrent   bool // some field is dispatched concurrently
	always       bool // every field inline, down to the leaves
}

// executor is the parsed generated code.
type executor struct {
	fset         *token.FileSet
	funcs        map[string]*ast.FuncDecl // executionContext's methods
	implementors map[string][]string      // xImplementors variables
	objects      map[string]*object       // by GraphQL name
	reached      map[string]reach         // memo of reachFunc
	srcs         map[string][]byte        // by path
	declared     map[string]bool          // package-level functions
	encoders     map[string]encoder       // to add, by their marshaller
}

// reach is what marshalling through some code may run: the object
// functions it calls, and whether it dispatches anything concurrently
// outside them.
type reach struct {
	objects    []string
	concurrent bool
}

// rewrite returns the changed sources among srcs (by path) and the table
// file.
func rewrite(srcs map[string][]byte) (map[string][]byte, []byte, error) {
	e := &executor{fset: token.NewFileSet(), funcs: map[string]*ast.FuncDecl{},
		implementors: map[string][]string{}, objects: map[string]*object{}, reached: map[string]reach{},
		declared: map[string]bool{}, encoders: map[string]encoder{}}
	files := map[string]*ast.File{}
	for _, p := range slices.Sorted(maps.Keys(srcs)) {
		f, err := parser.ParseFile(e.fset, p, srcs[p], parser.ParseComments)
		if err != nil {
			return nil, nil, err
		}
		files[p] = f
		e.collect(f)
	}
	// Know every object function before following calls, which stop there.
	shapes := map[string]objectShape{}
	for name, fn := range e.funcs {
		if sh, ok := e.objectShape(name, fn); ok {
			shapes[name] = sh
			e.objects[strings.TrimPrefix(name, "_")] = &object{implementors: e.implementors[sh.implementors]}
		}
	}
	for name, sh := range shapes {
		e.learnFields(e.objects[strings.TrimPrefix(name, "_")], sh.fields)
	}

	e.srcs = srcs
	edits := map[string][]edit{} // by path
	used := map[string]bool{}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		for _, d := range files[p].Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			if ed, ok := e.plainFieldEdit(fn, srcs[p]); ok {
				edits[p] = append(edits[p], ed)
			}
			if _, ok := shapes[fn.Name.Name]; ok && fn.Recv != nil {
				edits[p] = append(edits[p], e.objectEdits(fn)...)
			}
			if !hasParam(fn, "sel") {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || !isCall(call, "graphql", "MarshalSliceConcurrently") || len(call.Args) != 5 {
					return true
				}
				r := e.reachNode(call.Args[4])
				if r.concurrent {
					return true
				}
				objects := "nil" // enum values marshal as themselves
				if len(r.objects) > 0 {
					objects = stringsLit(r.objects)
				}
				for _, o := range r.objects {
					used[o] = true
				}
				edits[p] = append(edits[p],
					edit{e.offset(call.Fun.Pos()), e.offset(call.Fun.End()), "marshalSlice"},
					edit{e.offset(call.Args[1].Pos()), e.offset(call.Args[1].Pos()), "sel, " + objects + ", "})
				return true
			})
			// Lists marshalled already by an earlier run count as used too.
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok && isIdentCall(call, "marshalSlice") && len(call.Args) > 2 {
					for _, o := range e.reachNode(call.Args[len(call.Args)-1]).objects {
						used[o] = true
					}
				}
				return true
			})
		}
	}
	// Each encoder leafField calls goes after its marshaller.
	for _, name := range slices.Sorted(maps.Keys(e.encoders)) {
		enc := e.encoders[name]
		fn := e.funcs[name]
		p := e.fset.Position(fn.Pos()).Filename
		edits[p] = append(edits[p], edit{e.offset(fn.End()), e.offset(fn.End()), enc.text})
	}
	out := map[string][]byte{}
	for p, ed := range edits {
		if len(ed) == 0 {
			continue
		}
		src, err := format.Source(apply(srcs[p], ed))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		out[p] = src
	}
	table, err := e.table(used)
	return out, table, err
}

// collect records f's executionContext methods and implementor lists.
func (e *executor) collect(f *ast.File) {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv != nil && d.Body != nil {
				e.funcs[d.Name.Name] = d
			}
			if d.Recv == nil {
				e.declared[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				v, ok := s.(*ast.ValueSpec)
				if !ok || len(v.Names) != 1 || len(v.Values) != 1 || !strings.HasSuffix(v.Names[0].Name, "Implementors") {
					continue
				}
				if lit, ok := v.Values[0].(*ast.CompositeLit); ok {
					e.implementors[v.Names[0].Name] = stringElems(lit)
				}
			}
		}
	}
}

// objectShape is the shape of an object's marshal function.
type objectShape struct {
	implementors string          // the variable naming its implementors
	fields       *ast.SwitchStmt // on the collected field's name
}

// objectShape recognises the marshal function of a (non-root) object:
// _X(ctx, sel, obj) collecting its fields of xImplementors and switching on
// their names.
func (e *executor) objectShape(name string, fn *ast.FuncDecl) (objectShape, bool) {
	var sh objectShape
	if !strings.HasPrefix(name, "_") || fn.Type.Params.NumFields() != 3 {
		return sh, false
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if isCall(n, "graphql", "CollectFields") && len(n.Args) == 3 {
				if id, ok := n.Args[2].(*ast.Ident); ok {
					sh.implementors = id.Name
				}
			}
		case *ast.SwitchStmt:
			if isSelector(n.Tag, "field", "Name") {
				sh.fields = n
			}
		}
		return true
	})
	return sh, sh.implementors != "" && sh.fields != nil
}

// learnFields records, for each field the switch marshals, whether it is
// dispatched concurrently or the objects it marshals inline.
func (e *executor) learnFields(o *object, sw *ast.SwitchStmt) {
	o.inline = map[string][]string{}
	for _, s := range sw.Body.List {
		cc := s.(*ast.CaseClause)
		if len(cc.List) != 1 {
			continue // default: panics on an unknown field
		}
		lit, ok := cc.List[0].(*ast.BasicLit)
		if !ok {
			continue
		}
		field, _ := strconv.Unquote(lit.Value)
		r := reach{}
		for _, st := range cc.Body {
			r = r.join(e.reachNode(st))
		}
		if r.concurrent {
			o.concurrent = true
			continue
		}
		o.inline[field] = r.objects
	}
}

// reachNode is what code in n reaches: concurrent dispatch in n itself, and
// what the executor's functions it calls reach.
func (e *executor) reachNode(n ast.Node) reach {
	r := reach{}
	ast.Inspect(n, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && concurrentCalls[sel.Sel.Name] {
				r.concurrent = true
			}
		}
		// ec.name(…), or (*executionContext).name handed to plainField.
		sel, ok := n.(*ast.SelectorExpr)
		if ok && (isSelector(sel, "ec", sel.Sel.Name) || isMethodExpr(sel)) && marshals(sel.Sel.Name) {
			r = r.join(e.reachFunc(sel.Sel.Name))
		}
		return true
	})
	return r
}

// reachFunc is what calling the executor's function name reaches: itself if
// it is an object's, else what its body reaches.
func (e *executor) reachFunc(name string) reach {
	if _, ok := e.objects[strings.TrimPrefix(name, "_")]; ok && strings.HasPrefix(name, "_") {
		return reach{objects: []string{strings.TrimPrefix(name, "_")}}
	}
	if r, ok := e.reached[name]; ok {
		return r
	}
	fn, ok := e.funcs[name]
	if !ok {
		return reach{}
	}
	e.reached[name] = reach{} // a recursive call adds nothing new
	r := e.reachNode(fn.Body)
	e.reached[name] = r
	return r
}

// marshals reports whether the executor's function name can take part in
// marshalling a value; field contexts, child field lists and argument
// unmarshalling never do.
func marshals(name string) bool {
	for _, p := range []string{"fieldContext_", "childFields_", "unmarshal", "field_"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	return true
}

func (r reach) join(o reach) reach {
	objs := slices.Clone(r.objects)
	for _, x := range o.objects {
		if !slices.Contains(objs, x) {
			objs = append(objs, x)
		}
	}
	slices.Sort(objs)
	return reach{objects: objs, concurrent: r.concurrent || o.concurrent}
}

// table renders the objects reachable from the lists' elements, marking
// those that marshal inline whatever is selected.
func (e *executor) table(roots map[string]bool) ([]byte, error) {
	want := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if want[name] {
			return
		}
		want[name] = true
		if o := e.objects[name]; o != nil {
			for _, children := range o.inline {
				for _, c := range children {
					visit(c)
				}
			}
		}
	}
	for name := range roots {
		visit(name)
	}
	e.markAlways()

	var b bytes.Buffer
	b.WriteString(`// Code generated by internal/leanexec. DO NOT EDIT.

package graph

// inlineObjects is, for each object a list's element may marshal as, the
// fields its marshal function runs inline and the objects their values
// marshal as. A field absent from inline is dispatched concurrently;
// always marks an object whose every field, down to the leaves, runs inline.
var inlineObjects = map[string]inlineObject{
`)
	for _, name := range slices.Sorted(maps.Keys(want)) {
		o := e.objects[name]
		if o == nil {
			return nil, fmt.Errorf("no marshal function for object %s", name)
		}
		if o.always {
			fmt.Fprintf(&b, "%q: {always: true},\n", name)
			continue
		}
		fmt.Fprintf(&b, "%q: {implementors: %s, inline: map[string][]string{", name, stringsLit(o.implementors))
		for _, f := range slices.Sorted(maps.Keys(o.inline)) {
			children := "nil"
			if len(o.inline[f]) > 0 {
				children = stringsLit(o.inline[f])
			}
			fmt.Fprintf(&b, "%q: %s, ", f, children)
		}
		b.WriteString("}},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

// markAlways finds the objects that marshal inline whatever is selected:
// the greatest set whose fields are all inline and lead only into the set.
func (e *executor) markAlways() {
	for _, o := range e.objects {
		o.always = true
	}
	for changed := true; changed; {
		changed = false
		for _, o := range e.objects {
			if o.always && !o.allInline(e.objects) {
				o.always, changed = false, true
			}
		}
	}
}

func (o *object) allInline(objects map[string]*object) bool {
	if o.concurrent {
		return false
	}
	for _, children := range o.inline {
		for _, c := range children {
			if co := objects[c]; co == nil || !co.always {
				return false
			}
		}
	}
	return true
}

func hasParam(fn *ast.FuncDecl, name string) bool {
	for _, f := range fn.Type.Params.List {
		for _, n := range f.Names {
			if n.Name == name {
				return true
			}
		}
	}
	return false
}

// isSelector reports whether expr is x.name.
func isSelector(expr ast.Expr, x, name string) bool {
	sel, ok := expr.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == x
}

// isMethodExpr reports whether sel is (*executionContext).name.
func isMethodExpr(sel *ast.SelectorExpr) bool {
	p, ok := sel.X.(*ast.ParenExpr)
	if !ok {
		return false
	}
	star, ok := p.X.(*ast.StarExpr)
	if !ok {
		return false
	}
	id, ok := star.X.(*ast.Ident)
	return ok && id.Name == "executionContext"
}

// isCall reports whether call calls pkg.name.
func isCall(call *ast.CallExpr, pkg, name string) bool { return isSelector(call.Fun, pkg, name) }

func isIdentCall(call *ast.CallExpr, name string) bool {
	id, ok := call.Fun.(*ast.Ident)
	return ok && id.Name == name
}

func stringElems(lit *ast.CompositeLit) []string {
	var out []string
	for _, el := range lit.Elts {
		if b, ok := el.(*ast.BasicLit); ok && b.Kind == token.STRING {
			s, _ := strconv.Unquote(b.Value)
			out = append(out, s)
		}
	}
	return out
}

func stringsLit(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

// edit replaces src[from:to] with text.
type edit struct {
	from, to int
	text     string
}

func (e *executor) offset(p token.Pos) int { return e.fset.Position(p).Offset }

// apply makes edits, which do not overlap, to src.
func apply(src []byte, edits []edit) []byte {
	slices.SortFunc(edits, func(a, b edit) int { return a.from - b.from })
	var out bytes.Buffer
	at := 0
	for _, ed := range edits {
		out.Write(src[at:ed.from])
		out.WriteString(ed.text)
		at = ed.to
	}
	out.Write(src[at:])
	return out.Bytes()
}
