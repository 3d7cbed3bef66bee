// Command leanexec runs after gqlgen and takes out of the generated
// executor the work it does per field and per object for features a field
// or a request does not use. gqlgen offers no option for any of it, and its
// templates cannot be replaced.
//
// The command reads the generated graph/*.generated.go files and:
//   - replaces each graphql.MarshalSliceConcurrently(ctx, …) call with
//     marshalSlice(ctx, sel, []string{element objects}, …), a helper of
//     package graph (graph/inline.go) that marshals a list's elements one
//     after another when the selection at hand reaches no field gqlgen
//     dispatches concurrently (the goroutine per element exists so that
//     resolver fields of different elements ask their dataloaders
//     together), and defers to gqlgen otherwise; what it learnt of each
//     object's fields goes to graph/inline_objects.generated.go;
//   - replaces graphql.ResolveField in the functions of fields that only
//     read a struct field (no method, resolver or directive) with
//     plainField (graph/lean.go), which keeps the field's context, null
//     handling and panic recovery and drops the closures, the boxing and
//     the field interceptors;
//   - builds an object's deferred group only when one of its fields is
//     deferred (deferredGroup), and writes an object's fields through
//     objectJSON rather than graphql.FieldSet's writer.
//
// It is deterministic and idempotent: run twice, it changes nothing more.
//
//	go run ./internal/leanexec graph
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// tableFile is the file, beside the generated executor, that holds what
// the analysis learnt.
const tableFile = "inline_objects.generated.go"

func main() {
	dir := "graph"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := run(dir); err != nil {
		fmt.Fprintln(os.Stderr, "leanexec:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	paths, err := filepath.Glob(filepath.Join(dir, "*.generated.go"))
	if err != nil {
		return err
	}
	slices.Sort(paths)
	srcs := map[string][]byte{}
	for _, p := range paths {
		if filepath.Base(p) == tableFile {
			continue
		}
		if srcs[p], err = os.ReadFile(p); err != nil { //nolint:gosec // G304: the generated files of the directory go generate passes
			return err
		}
	}
	out, table, err := rewrite(srcs)
	if err != nil {
		return err
	}
	for p, src := range out {
		if err := os.WriteFile(p, src, 0o644); err != nil { //nolint:gosec // G306: committed source, readable by all
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, tableFile), table, 0o644) //nolint:gosec // G306: committed source, readable by all
}
