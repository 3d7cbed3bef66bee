package loadgen

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/observability"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/seed"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// setup starts a server wired as the binary wires it (SQL statements and the
// pool reported in its metrics) on a clinic of 40 seeded patients, with a
// load account per role.
func setup(t *testing.T, domain string) *servertest.Env {
	t.Helper()
	metrics := observability.NewMetrics()
	db := pgtest.New(t, postgres.Options{Tracer: metrics.PgxTracer()})
	metrics.ObservePool(db.Pool.Stat)
	env := servertest.StartWith(t, db, servertest.Config(), servertest.Options{
		RedisURL: servertest.RedisURL, RedisPrefix: servertest.NewPrefix(t), Metrics: metrics})
	if _, err := seed.Patients(context.Background(), db, 40, seed.Options{Seed: 1}, nil); err != nil {
		t.Fatal(err)
	}
	d := dataset{domain: domain}
	for _, r := range roles {
		env.User(t, d.email(r), hg.Role(strings.ToUpper(r)))
	}
	return env
}

// TestLoadgenRunsEveryOperationCleanly runs every operation for a couple of
// seconds against a real server on a small seeded clinic: each must be
// sent, none may fail, and the server's metrics must be read.
func TestLoadgenRunsEveryOperationCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs load for 2 s")
	}
	t.Parallel()
	const domain = "scale.healthgraph.test"
	env := setup(t, domain)
	weights := map[string]int{}
	for name, op := range operations {
		if !op.peer {
			weights[name] = 1
		}
	}
	cfg := config{URL: env.URL, MetricsURL: env.URL + "/metrics", Clients: 4, Duration: 2 * time.Second,
		Mix: "all", Weights: weights, Domain: domain, Password: servertest.Password, Pages: 2, Seed: 1}

	res, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]OpResult{}
	for _, o := range res.Operations {
		seen[o.Operation] = o
	}
	for name := range weights {
		o := seen[name]
		if o.Requests == 0 {
			t.Errorf("%s: no requests sent", name)
		}
		if o.Errors != 0 {
			t.Errorf("%s: %d errors (%v), want none", name, o.Errors, o.ErrorCodes)
		}
	}
	if res.Server == nil {
		t.Fatalf("server figures missing: %s", res.ServerNote)
	}
	if res.Server.SQLStatements == 0 || res.Server.RSSPeakBytes == 0 {
		t.Errorf("server figures %+v: want SQL statements and an RSS", *res.Server)
	}
}
