package rolloutdrill

import (
	"context"
	"fmt"
	"math/rand/v2" // the load mix only: nothing secret is drawn
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// Phases of the drill, in order.
const (
	phaseBefore = iota
	phaseDuring
	phaseAfter
	numPhases
)

var phaseNames = [numPhases]string{"before", "during", "after"}

// Kinds of request in the mix.
const (
	kindMe = iota
	kindInvoices
	kindCreateInvoice
	kindSignup
	numKinds
)

var kindNames = [numKinds]string{"me", "invoices", "createInvoice", "signup"}

// mix is the cumulative weight of each kind, out of 100: mostly reads, a
// steady stream of cheap writes, and a few signups, which hash a password
// with argon2id and would otherwise take the two shared cores.
var mix = [numKinds]int{35, 70, 96, 100}

func pickKind() int {
	n := rand.IntN(100) //nolint:gosec // load mix, not a secret
	for k, w := range mix {
		if n < w {
			return k
		}
	}
	return kindMe
}

// result is one request as the client saw it.
type result struct {
	kind, phase int
	latency     time.Duration
	err         string // empty when the request succeeded
}

// recorder collects every request and every acknowledged write.
type recorder struct {
	mu       sync.Mutex
	results  []result
	invoices []string // global IDs createInvoice returned
	users    []string // global IDs signup returned
}

func (r *recorder) add(res result, invoiceID, userID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, res)
	if invoiceID != "" {
		r.invoices = append(r.invoices, invoiceID)
	}
	if userID != "" {
		r.users = append(r.users, userID)
	}
}

// loadGen drives the proxy with closed-loop workers that share one token
// bucket, so the rate is bounded whatever the latency.
type loadGen struct {
	url, token string
	patients   []string
	phase      atomic.Int32
	rec        recorder
	client     *http.Client
	seq        atomic.Int64
	runID      string
}

func (g *loadGen) run(ctx context.Context, workers, rate int) {
	tokens := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range tokens {
				g.one()
			}
		})
	}
	t := time.NewTicker(time.Second / time.Duration(rate))
	defer t.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-t.C:
			// A token nobody takes at once is dropped rather than queued,
			// so a slow moment does not turn into a burst afterwards.
			select {
			case tokens <- struct{}{}:
			default:
			}
		}
	}
	close(tokens)
	wg.Wait()
}

// one sends a request of a random kind and records the outcome. It takes
// no context on purpose: a request started before the end of the load runs
// to completion, so the drill never abandons a write it would then miss.
func (g *loadGen) one() {
	kind := pickKind()
	phase := int(g.phase.Load())
	var body map[string]any
	token := g.token
	switch kind {
	case kindMe:
		body = map[string]any{"query": "query Me { me { id email role } }"}
	case kindInvoices:
		body = map[string]any{"query": "query Recent { invoices(first: 20) { totalCount edges { node { id number status } } } }"}
	case kindCreateInvoice:
		body = map[string]any{
			"query": `mutation Bill($in: CreateInvoiceInput!) { createInvoice(input: $in) { id number } }`,
			"variables": map[string]any{"in": map[string]any{
				"patientId": g.patients[rand.IntN(len(g.patients))], //nolint:gosec // load mix, not a secret
				"lines":     []map[string]any{{"serviceCode": "99213", "description": "Rollout drill consultation", "quantity": 1, "unitPrice": "250.00"}},
			}},
		}
	case kindSignup:
		token = ""
		body = map[string]any{
			"query": `mutation Join($in: SignupInput!) { signup(input: $in) { id } }`,
			"variables": map[string]any{"in": map[string]any{ //nolint:gosec // synthetic signups in the drill's own database
				"email":    fmt.Sprintf("drill-%s-%d@rollout.test", g.runID, g.seq.Add(1)),
				"password": "rollout-drill-2026",
				"fullName": "Rollout Drill",
			}},
		}
	}
	start := time.Now()
	data, err := drill.PostGraphQL(g.client, g.url, token, body)
	res := result{kind: kind, phase: phase, latency: time.Since(start)}
	var invoiceID, userID string
	if err != nil {
		res.err = err.Error()
	} else {
		switch kind {
		case kindCreateInvoice:
			invoiceID = drill.ID(data, "createInvoice")
			if invoiceID == "" {
				res.err = "createInvoice answered without an id"
			}
		case kindSignup:
			userID = drill.ID(data, "signup")
			if userID == "" {
				res.err = "signup answered without an id"
			}
		}
	}
	g.rec.add(res, invoiceID, userID)
}

// sorted are the sorted latencies of a set of results.
func sorted(rs []result) drill.Latencies {
	l := make([]time.Duration, len(rs))
	for i, r := range rs {
		l[i] = r.latency
	}
	return drill.Sorted(l)
}
