// Command inlinelists runs after gqlgen and makes the generated executor
// marshal a list's elements one after another, on the caller's goroutine,
// whenever no element can wait for another.
//
// gqlgen marshals every list of objects with graphql.MarshalSliceConcurrently,
// one goroutine per element, and offers no option to turn that off. The
// goroutines exist so that resolver fields of different elements ask their
// dataloaders together; where the selection reaches no field gqlgen
// dispatches concurrently, they only cost stacks and scheduling.
//
// The command reads the generated graph/*.generated.go files, learns from
// their object functions which fields each object marshals inline (and the
// objects those marshal in turn) and which it dispatches concurrently, and:
//   - replaces each graphql.MarshalSliceConcurrently(ctx, …) call with
//     marshalSlice(ctx, sel, []string{element objects}, …), a helper of
//     package graph (graph/inline.go) that marshals inline when the
//     selection at hand reaches no concurrently dispatched field, and
//     defers to gqlgen otherwise;
//   - writes that knowledge to graph/inline_objects.generated.go.
//
// It is deterministic and idempotent: run twice, it changes nothing more.
//
//	go run ./internal/inlinelists graph
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
		fmt.Fprintln(os.Stderr, "inlinelists:", err)
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
