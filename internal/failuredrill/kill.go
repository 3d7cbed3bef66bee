package failuredrill

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2" // which patient: nothing secret is drawn
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// killReplica runs two replicas under a billing load (invoices created,
// issued, paid or claimed; claims delivered to the mock NPHIES), SIGKILLs
// one halfway, and then checks in SQL that nothing was half-written.
func killReplica(ctx context.Context, fs *flag.FlagSet, o *options) ([]string, error) {
	failRate := fs.Float64("fail-rate", 0.2, "the mock NPHIES's share of 503 answers")
	if err := parse(fs, o); err != nil {
		return nil, err
	}
	s, err := newStack(ctx, o, o.postgres)
	if err != nil {
		return nil, err
	}
	defer s.close()
	mk, err := s.startMock(ctx, "--fail-rate", fmt.Sprint(*failRate))
	if err != nil {
		return nil, err
	}
	s.env = append(s.env, "HG_NPHIES_URL="+mk.URL, "HG_NPHIES_TIMEOUT=5s", "HG_NPHIES_POLL_INTERVAL=200ms", "HG_NPHIES_MAX_ATTEMPTS=100")
	cl, err := s.setupClinic(ctx, 40)
	if err != nil {
		return nil, err
	}
	victim, err := s.serve(ctx, "replica-a")
	if err != nil {
		return nil, err
	}
	survivor, err := s.serve(ctx, "replica-b")
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var invoices, claims []string
	// Every request is one visit's billing: an invoice issued, then paid in
	// part (self-pay) or claimed (insured). The dead replica gets no more
	// requests once killed, as a Service stops routing to it.
	var inflight atomic.Int32 // visits in progress on the victim
	request := func(i int) error {
		r := []*drill.Process{victim, survivor}[i%2]
		if r.Exited() {
			r = survivor
		}
		if r == victim {
			inflight.Add(1)
			defer inflight.Add(-1)
		}
		p := cl.patients[rand.IntN(len(cl.patients))] //nolint:gosec // load mix, not a secret
		insuredVisit := i%3 != 0
		inv, err := s.issuedInvoice(r.URL, cl, p, insuredVisit)
		if inv != "" {
			mu.Lock()
			invoices = append(invoices, inv)
			mu.Unlock()
		}
		if err != nil {
			return err
		}
		if !insuredVisit {
			_, err = s.gql(r.URL, mPayment, map[string]any{"id": inv})
			return err
		}
		claim, err := s.submitClaim(r.URL, cl, p, inv)
		if err == nil {
			mu.Lock()
			claims = append(claims, claim)
			mu.Unlock()
		}
		return err
	}
	fmt.Printf("kill: 2 replicas, %d visits/s (invoice, issue, then payment or claim), replica-a SIGKILLed after %s; mock NPHIES fails %.0f%%\n\n",
		o.rate, o.phase, *failRate*100)
	// The kill waits (a little) for a visit in progress on the victim, so
	// that it really lands mid-write.
	var atKill int32
	killed := make(chan struct{})
	time.AfterFunc(o.phase, func() {
		defer close(killed)
		give := time.Now().Add(o.phase / 2)
		for atKill = inflight.Load(); atKill == 0 && time.Now().Before(give); atKill = inflight.Load() {
			time.Sleep(time.Millisecond)
		}
		victim.Kill()
	})
	phases := []phase{{"load (kill at " + o.phase.String() + ")", drill.Load(2*o.phase, o.rate, request)}}
	<-killed
	pending, err := s.waitDelivered(ctx, 90*time.Second)
	if err != nil {
		return nil, err
	}
	printPhases(phases)

	checks := []struct{ name, sql string }{
		{"invoices whose header is not the sum of their lines", `SELECT count(*) FROM invoices i
			LEFT JOIN LATERAL (SELECT sum(net)::bigint n, sum(vat)::bigint v, sum(total)::bigint t,
				sum(patient_share)::bigint ps, sum(insurer_share)::bigint ins FROM invoice_lines WHERE invoice_id = i.id) l ON true
			WHERE (i.net, i.vat, i.total, i.patient_share, i.insurer_share) IS DISTINCT FROM (l.n, l.v, l.t, l.ps, l.ins)`},
		{"invoices whose paid is not the sum of their payments", `SELECT count(*) FROM invoices i
			WHERE i.paid <> coalesce((SELECT sum(amount) FROM payments WHERE invoice_id = i.id), 0)`},
		{"claims without their outbound message", `SELECT count(*) FROM claims c WHERE NOT EXISTS
			(SELECT 1 FROM nphies_messages m WHERE m.claim_id = c.id AND m.direction = 'OUT')`},
		{"claims without items", `SELECT count(*) FROM claims c WHERE NOT EXISTS (SELECT 1 FROM claim_items WHERE claim_id = c.id)`},
		{"claims still queued after delivery", `SELECT count(*) FROM claims WHERE status = 'QUEUED'`},
	}
	var problems []string
	fmt.Println()
	for _, c := range checks {
		n, err := s.count(ctx, c.sql)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		fmt.Printf("%-54s %d\n", c.name, n)
		if n > 0 {
			problems = append(problems, fmt.Sprintf("%d %s", n, c.name))
		}
	}
	missingInvoices, err := s.missing(ctx, "invoices", invoices)
	if err != nil {
		return nil, err
	}
	missingClaims, err := s.missing(ctx, "claims", claims)
	if err != nil {
		return nil, err
	}
	total, err := s.count(ctx, "SELECT count(*) FROM invoices")
	if err != nil {
		return nil, err
	}
	d, err := mockStats(ctx, mk.URL)
	if err != nil {
		return nil, err
	}
	seen, twice := exactlyOnce(d)
	fmt.Printf("%-54s %d of %d acknowledged (%d in the database)\n", "invoices missing", missingInvoices, len(invoices), total)
	fmt.Printf("%-54s %d of %d acknowledged\n", "claims missing", missingClaims, len(claims))
	fmt.Printf("%-54s %d pending after 90s; %d claims at the mock, %d not exactly once\n", "NPHIES delivery", pending, seen, len(twice))
	fmt.Printf("replica-a killed (exit code %d) with %d visits in flight; their requests failed as %s\n",
		victim.ExitCode(), atKill, phases[0].CodeList())
	if missingInvoices+missingClaims > 0 {
		problems = append(problems, fmt.Sprintf("%d invoices and %d claims acknowledged but missing", missingInvoices, missingClaims))
	}
	if pending > 0 {
		problems = append(problems, fmt.Sprintf("%d NPHIES messages still pending", pending))
	}
	return append(append(problems, twice...), internal(phases)...), nil
}
