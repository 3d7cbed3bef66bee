// Command hg-drill is HealthGraph's tooling binary: the load generator and
// the drills that break a dependency under load and check what clients saw
// and what the database kept. It is not shipped: the product is
// cmd/healthgraph; the code lives in internal/ packages.
//
//	hg-drill load     [flags]   the screen mix against a running server (docs/performance.md)
//	hg-drill failure  NAME -bin path/to/healthgraph [flags]
//	                            pg-restart, pg-exhaust, nphies, kill or disk-full (docs/drills.md)
//	hg-drill rollout  [flags]   a zero-downtime rolling upgrade (docs/rollout.md)
//	hg-drill redis    -bin path/to/healthgraph [flags]
//	                            Redis cut off under load, then restored (docs/redis.md)
//	hg-drill migrate  -bin path/to/healthgraph [flags]
//	                            each migration reverted and reapplied under writes (docs/drills.md)
//
// `hg-drill COMMAND -h` lists a command's flags. `make drills` runs every
// drill; `make drill-NAME` one. The exit status is 0 when the run kept its
// invariants, 1 when it did not or could not run, 2 for a wrong command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/healthgraph/healthgraph/internal/drill"
	"github.com/healthgraph/healthgraph/internal/failuredrill"
	"github.com/healthgraph/healthgraph/internal/loadgen"
	"github.com/healthgraph/healthgraph/internal/migratedrill"
	"github.com/healthgraph/healthgraph/internal/redisdrill"
	"github.com/healthgraph/healthgraph/internal/rolloutdrill"
)

// command is one subcommand; run gets the arguments after its name.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string) error
}

var commands = []command{
	{"load", "[flags]", "the screen mix against a running server (docs/performance.md)", loadgen.Main},
	{"failure", "NAME -bin path/to/healthgraph [flags]", "one failure drill, NAME: " + strings.Join(failuredrill.Names(), ", ") + " (docs/drills.md)", failuredrill.Main},
	{"rollout", "[flags]", "a zero-downtime rolling upgrade of three replicas (docs/rollout.md)", rolloutdrill.Main},
	{"redis", "-bin path/to/healthgraph [flags]", "Redis cut off under load, then restored (docs/redis.md)", redisdrill.Main},
	{"migrate", "-bin path/to/healthgraph [flags]", "each migration reverted and reapplied on a seeded database under writes (docs/drills.md)", migratedrill.Main},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	// The first signal cancels the run, which cleans up; a second one kills.
	go func() { <-ctx.Done(); stop() }()
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to a command and maps its outcome to the exit status.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stderr)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return exitCode(stderr, c.name, c.run(ctx, args[1:]))
		}
	}
	fmt.Fprintf(stderr, "hg-drill: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func exitCode(stderr io.Writer, name string, err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	}
	for line := range strings.Lines(err.Error()) {
		fmt.Fprintf(stderr, "hg-drill %s: %s", name, strings.TrimSuffix(line, "\n")+"\n")
	}
	if errors.Is(err, drill.ErrUsage) {
		return 2
	}
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hg-drill COMMAND [arguments]   (tooling; the product is cmd/healthgraph)")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n  %-8s   %s\n", c.name, c.args, "", c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "hg-drill COMMAND -h lists its flags; make drills runs every drill (docs/drills.md).")
}
