// Package rolloutdrill is `hg-drill rollout`: it rehearses a zero-downtime
// upgrade of HealthGraph on one machine, with real processes on 127.0.0.1
// and nothing else.
//
// It builds cmd/healthgraph twice, stamped rollout-v1 and rollout-v2 (or
// takes --bin, and --bin-v2 for the new version), creates a fresh database
// named hg_rollout_<random>, migrates it, seeds patients and a BILLING
// account, and starts --replicas replicas of v1. In front of them it runs a
// reverse proxy in this process (net/http/httputil.ReverseProxy) that plays
// a Kubernetes Service with readiness gates: it polls every replica's
// /ready each --poll and round-robins only over those that answered 200
// and are not terminating.
//
// Through the proxy it drives a steady, bounded load: --workers closed-loop
// workers sharing --rate requests per second for at least --duration, a mix
// of queries (me, invoices(first: 20)) and mutations (createInvoice, and a
// few signups with unique emails). Every request is recorded (latency,
// status, GraphQL errors) and so is every write the server acknowledged
// (the id it returned).
//
// After a quarter of the duration it upgrades, the way `helm upgrade` does
// with maxSurge 1 and maxUnavailable 0:
//
//  1. Expand migration. v2's schema change is applied while v1 serves:
//     an additive, backward-compatible DDL (a new table and a nullable
//     column on invoices) under a short lock_timeout. The real migration
//     set is fixed, so the drill emulates v2's migration with these
//     statements; the rule they stand for is expand/contract: a release
//     only adds what the previous release can ignore, and removes what the
//     previous release needed only in a later release.
//  2. For each old replica in turn: start its v2 replacement, wait until
//     the replacement's /ready answers and the proxy routes to it, then
//     take the old one out of the proxy's endpoints (the EndpointSlice
//     update on pod deletion; --deregister=false leaves only the readiness
//     poll to notice), wait --prestop (the chart's preStop sleep, during
//     which routers catch up), send SIGTERM, and wait for the exit within
//     the rest of --grace (terminationGracePeriodSeconds). The exit code
//     must be 0: the server drains in-flight requests within
//     HG_SHUTDOWN_TIMEOUT (--shutdown-timeout) and exits cleanly.
//
// The load goes on for the rest of the duration, at least a quarter of it,
// so latency is measured before, during and after the roll. Then the drill
// compares the acknowledged writes with the rows in the database (they
// must be equal; missing ids are listed), prints a report (requests sent
// and failed, by phase and by kind, p50/p95/p99, writes acknowledged vs
// found, every old replica's exit code and the time of every swap), stops
// the v2 replicas and drops the database unless --keep. It exits 1 when any
// request failed, any acknowledged write is missing or any replica exited
// other than 0.
//
// The proxy retries a request that got no response (connection refused or
// reset, closed before the answer) once on another ready replica, but only
// when it is a query: a mutation may have run on the replica that failed to
// answer, so sending it again could write twice. A failed mutation is
// recorded as a failure, as a Kubernetes Service (which never retries)
// would pass it on. docs/rollout.md has the method and the figures.
//
// Usage:
//
//	go run ./cmd/hg-drill rollout [--workers 16] [--duration 30s] [--rate 200] [--prestop 5s] [--keep]
package rolloutdrill

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// Main parses args, runs the drill and prints its report; the error is a
// drill.Broken when a request failed, a write went missing or a replica
// exited other than 0.
func Main(ctx context.Context, args []string) error {
	o := defaultOptions()
	fs := flag.NewFlagSet("hg-drill rollout", flag.ContinueOnError)
	fs.StringVar(&o.Bin, "bin", "", "a healthgraph binary to use as both versions instead of building (default: build v1 and v2)")
	fs.StringVar(&o.BinV2, "bin-v2", "", "the new version's binary, with --bin (default: --bin)")
	fs.StringVar(&o.Postgres, "postgres", o.Postgres, "a Postgres URL whose role may create databases")
	fs.StringVar(&o.Redis, "redis", o.Redis, `the replicas' HG_REDIS_URL ("none", or e.g. redis://127.0.0.1:6379/0 with a unique prefix)`)
	fs.IntVar(&o.Replicas, "replicas", o.Replicas, "replicas before and after the roll")
	fs.IntVar(&o.Workers, "workers", o.Workers, "concurrent load workers")
	fs.IntVar(&o.Rate, "rate", o.Rate, "requests per second at most, over all workers")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "minimum length of the load; the roll starts after a quarter of it")
	fs.DurationVar(&o.Poll, "poll", o.Poll, "how often the proxy polls each replica's /ready")
	fs.DurationVar(&o.PreStop, "prestop", o.PreStop, "pause between taking a replica out of the proxy and SIGTERM (the preStop sleep)")
	fs.BoolVar(&o.Deregister, "deregister", o.Deregister, "take a terminating replica out of the proxy at once, as an EndpointSlice update does")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", o.ShutdownTimeout, "the replicas' HG_SHUTDOWN_TIMEOUT")
	fs.DurationVar(&o.Grace, "grace", o.Grace, "terminationGracePeriod: preStop plus drain must end within it, or the replica is killed")
	fs.IntVar(&o.Patients, "patients", o.Patients, "synthetic patients to bill")
	fs.BoolVar(&o.Keep, "keep", false, "keep the database and the logs")
	if err := drill.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: rollout takes no arguments; see -h", drill.ErrUsage)
	}
	o.Out = os.Stdout
	rep, err := run(ctx, o)
	if err != nil {
		return err
	}
	return drill.Check(rep.Problems())
}

// Options configure a drill; defaultOptions gives the documented defaults.
type Options struct {
	Bin, BinV2      string
	Postgres, Redis string
	Replicas        int
	Workers, Rate   int
	Duration, Poll  time.Duration
	PreStop         time.Duration
	Deregister      bool
	ShutdownTimeout time.Duration
	Grace           time.Duration
	Patients        int
	Keep            bool
	Out             io.Writer
}

func defaultOptions() Options {
	pg := os.Getenv("HG_TEST_DATABASE_URL")
	if pg == "" {
		pg = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	// The timings are the chart's defaults: preStopSleepSeconds 5,
	// shutdownTimeoutSeconds 25, terminationGracePeriodSeconds 40.
	return Options{
		Postgres: pg, Redis: "none", Replicas: 3, Workers: 16, Rate: 200,
		Duration: 30 * time.Second, Poll: 200 * time.Millisecond,
		PreStop: 5 * time.Second, Deregister: true,
		ShutdownTimeout: 25 * time.Second, Grace: 40 * time.Second, Patients: 30,
	}
}

func (o Options) validate() error {
	switch {
	case o.Replicas < 1 || o.Replicas > 10:
		return errors.New("--replicas must be from 1 to 10")
	case o.Workers < 1 || o.Workers > 256:
		return errors.New("--workers must be from 1 to 256")
	case o.Rate < 1 || o.Rate > 5000:
		return errors.New("--rate must be from 1 to 5000 requests per second")
	case o.Duration < 4*time.Second || o.Duration > 30*time.Minute:
		return errors.New("--duration must be from 4s to 30m")
	case o.Poll < 10*time.Millisecond:
		return errors.New("--poll must be at least 10ms")
	case o.Grace <= o.PreStop+o.ShutdownTimeout:
		return errors.New("--grace must exceed --prestop plus --shutdown-timeout, as the chart requires")
	case o.Patients < 1:
		return errors.New("--patients must be at least 1")
	}
	return nil
}
