// Package failuredrill is `hg-drill failure`: it breaks one dependency of
// HealthGraph at a time under a bounded load of real `healthgraph serve`
// processes on loopback, and prints what clients saw and what the database
// holds afterwards.
//
//	hg-drill failure pg-restart  Postgres (a private cluster) stopped and started
//	hg-drill failure pg-exhaust  every pooled connection stuck behind a lock
//	hg-drill failure nphies      NPHIES flaky, then unreachable, then back
//	hg-drill failure kill        a replica SIGKILLed while billing and claiming
//	hg-drill failure disk-full   Postgres's tablespace volume full, then grown
//
// Each prints a short table and exits 1 when an invariant broke: an
// acknowledged write missing, an INTERNAL error, an invoice whose header is
// not the sum of its lines, a claim without its outbound message, a claim
// delivered twice. `make drill-<name>` builds the binary and runs one;
// docs/drills.md has the method and the figures.
package failuredrill

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// options are the flags every drill takes.
type options struct {
	bin, postgres string
	phase         time.Duration
	rate          int
	keep          bool
	args          []string // the drill's flags, parsed by parse
}

// drills by subcommand.
// Each adds its own flags to fs, parses o.args and then reads o.
var drills = map[string]func(ctx context.Context, fs *flag.FlagSet, o *options) (problems []string, err error){
	"pg-restart": pgRestart,
	"pg-exhaust": pgExhaust,
	"nphies":     nphiesOutage,
	"kill":       killReplica,
	"disk-full":  diskFull,
}

// Names are the drills, sorted, for hg-drill's help.
func Names() []string { return slices.Sorted(maps.Keys(drills)) }

// Main runs the drill args[0] with the flags that follow; the error is a
// drill.Broken when the drill ran and an invariant broke.
func Main(ctx context.Context, args []string) error {
	if len(args) < 1 || drills[args[0]] == nil {
		fmt.Fprintf(os.Stderr, "usage: hg-drill failure %s -bin path/to/healthgraph [flags]\n", strings.Join(Names(), "|"))
		return fmt.Errorf("%w: name one drill", drill.ErrUsage)
	}
	name, run := args[0], drills[args[0]]
	fs := flag.NewFlagSet("hg-drill failure "+name, flag.ContinueOnError)
	problems, err := run(ctx, fs, &options{args: args[1:]})
	if err != nil {
		return err
	}
	return drill.Check(problems)
}
