// Command failure-drill breaks one dependency of HealthGraph at a time under
// a bounded load of real `healthgraph serve` processes on loopback, and
// prints what clients saw and what the database holds afterwards.
//
//	failure-drill pg-restart  Postgres (a private cluster) stopped and started
//	failure-drill pg-exhaust  every pooled connection stuck behind a lock
//	failure-drill nphies      NPHIES flaky, then unreachable, then back
//	failure-drill kill        a replica SIGKILLed while billing and claiming
//	failure-drill disk-full   Postgres's tablespace volume full, then grown
//
// Each prints a short table and exits 1 when an invariant broke: an
// acknowledged write missing, an INTERNAL error, an invoice whose header is
// not the sum of its lines, a claim without its outbound message, a claim
// delivered twice. The scripts scripts/drill-*.sh build the binary and run
// one; docs/drills.md has the method and the figures.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
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

func main() {
	if len(os.Args) < 2 || drills[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: failure-drill pg-restart|pg-exhaust|nphies|kill|disk-full -bin path/to/healthgraph [flags]")
		os.Exit(2)
	}
	name, run := os.Args[1], drills[os.Args[1]]
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	o := options{args: os.Args[2:]}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	problems, err := run(ctx, fs, &o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "failure-drill %s: %v\n", name, err)
		os.Exit(1)
	}
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "failure-drill %s: FAILED: %s\n", name, p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}
