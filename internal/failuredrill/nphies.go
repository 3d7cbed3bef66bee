package failuredrill

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2" // which patient: nothing secret is drawn
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/healthgraph/healthgraph/internal/drill"
	"github.com/healthgraph/healthgraph/internal/faultproxy"
)

// nphiesOutage puts a fault proxy between one replica and a flaky mock
// NPHIES (503s and withheld answers throughout), cuts it for the middle
// phase and restores it, while claims are submitted and eligibility is
// checked. submitClaim only queues (the outbox delivers), so its latency
// must not move; checkEligibility waits on NPHIES, so it must fail within
// the NPHIES timeout; every claim must reach NPHIES exactly once in the end.
func nphiesOutage(ctx context.Context, fs *flag.FlagSet, o *options) ([]string, error) {
	failRate := fs.Float64("fail-rate", 0.2, "the mock's share of 503 answers, all phases")
	timeoutRate := fs.Float64("timeout-rate", 0.1, "the mock's share of answers withheld after processing, all phases")
	timeout := fs.Duration("timeout", 3*time.Second, "the replica's HG_NPHIES_TIMEOUT")
	if err := parse(fs, o); err != nil {
		return nil, err
	}
	s, err := newStack(ctx, o, o.postgres)
	if err != nil {
		return nil, err
	}
	defer s.close()
	mk, err := s.startMock(ctx, "--fail-rate", fmt.Sprint(*failRate), "--timeout-rate", fmt.Sprint(*timeoutRate))
	if err != nil {
		return nil, err
	}
	proxy, err := faultproxy.Start(strings.TrimPrefix(mk.URL, "http://"))
	if err != nil {
		return nil, err
	}
	defer proxy.Close() //nolint:errcheck // the drill is ending
	s.env = append(s.env, "HG_NPHIES_URL=http://"+proxy.Addr(), "HG_NPHIES_TIMEOUT="+timeout.String(),
		"HG_NPHIES_POLL_INTERVAL=200ms", "HG_NPHIES_MAX_ATTEMPTS=100")
	cl, err := s.setupClinic(ctx, 40)
	if err != nil {
		return nil, err
	}
	r, err := s.serve(ctx, "replica")
	if err != nil {
		return nil, err
	}
	// Issued invoices for every claim the load will submit.
	perPhase := o.rate / 2 * int(o.phase/time.Second)
	type billed struct {
		patient insured
		invoice string
	}
	invoices := make(chan billed, 3*perPhase+o.rate)
	for range cap(invoices) {
		p := cl.patients[rand.IntN(len(cl.patients))] //nolint:gosec // load mix
		inv, err := s.issuedInvoice(r.URL, cl, p, true)
		if err != nil {
			return nil, fmt.Errorf("setup invoice: %w", err)
		}
		invoices <- billed{p, inv}
	}
	claim := func(int) error {
		select {
		case b := <-invoices:
			_, err := s.submitClaim(r.URL, cl, b.patient, b.invoice)
			return err
		default:
			return fmt.Errorf("drill ran out of invoices")
		}
	}
	var mu sync.Mutex
	var statuses map[string]int // eligibility outcomes of the current phase
	eligibility := func(int) error {
		p := cl.patients[rand.IntN(len(cl.patients))] //nolint:gosec // load mix, not a secret
		data, err := s.gql(r.URL, mEligibility, map[string]any{"p": p.patient, "c": p.coverage})
		status := drill.Code(err)
		if err == nil {
			status = field(data["checkEligibility"], "status")
		}
		mu.Lock()
		statuses[status]++
		mu.Unlock()
		return err
	}
	fmt.Printf("nphies: 1 replica, %d submitClaim/s and %d checkEligibility/s, %s phases; mock fails %.0f%% and withholds %.0f%% of answers;"+
		" NPHIES cut off during the middle phase; HG_NPHIES_TIMEOUT=%s\n\n", o.rate/2, o.rate/2, o.phase, *failRate*100, *timeoutRate*100, *timeout)
	var phases []phase
	var outcomes []string
	for _, ph := range []struct {
		name  string
		begin func()
	}{{"flaky", func() {}}, {"cut", proxy.Cut}, {"restored", proxy.Restore}} {
		ph.begin()
		statuses = map[string]int{}
		var c, e drill.Stats
		var wg sync.WaitGroup
		wg.Go(func() { c = drill.Load(o.phase, max(o.rate/2, 1), claim) })
		wg.Go(func() { e = drill.Load(o.phase, max(o.rate/2, 1), eligibility) })
		wg.Wait()
		phases = append(phases, phase{ph.name + " submitClaim", c}, phase{ph.name + " checkEligibility", e})
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(statuses)) {
			parts = append(parts, fmt.Sprintf("%s×%d", k, statuses[k]))
		}
		outcomes = append(outcomes, fmt.Sprintf("%-9s %s", ph.name, strings.Join(parts, ", ")))
	}
	start := time.Now()
	pending, err := s.waitDelivered(ctx, 120*time.Second)
	if err != nil {
		return nil, err
	}
	drained := time.Since(start)
	d, err := mockStats(ctx, mk.URL)
	if err != nil {
		return nil, err
	}
	submitted, err := s.count(ctx, "SELECT count(*) FROM claims")
	if err != nil {
		return nil, err
	}
	seen, twice := exactlyOnce(d)

	printPhases(phases)
	fmt.Println("\ncheckEligibility outcomes (status, or error code):")
	for _, l := range outcomes {
		fmt.Println("  " + l)
	}
	fmt.Printf("claims submitted %d; outbox drained %s after the load (%d still pending); mock: %d claims, %d not exactly once, %d requests, %d injected 503s, %d withheld answers\n",
		submitted, drained.Round(100*time.Millisecond), pending, seen, len(twice), d.Requests, d.InjectedFailures, d.InjectedTimeouts)

	problems := append(internal(phases), twice...)
	for _, p := range phases {
		if strings.HasSuffix(p.name, "submitClaim") && p.Failed > 0 {
			problems = append(problems, fmt.Sprintf("%d submitClaim failures %s: the outbox should take them", p.Failed, p.name))
		}
	}
	if pending > 0 || seen != submitted {
		problems = append(problems, fmt.Sprintf("%d claims submitted, %d reached NPHIES, %d messages pending", submitted, seen, pending))
	}
	return problems, nil
}
