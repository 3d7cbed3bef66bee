package rolloutdrill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// backend is one replica as the proxy sees it: an endpoint with a readiness
// bit, like an entry of a Kubernetes EndpointSlice.
type backend struct {
	name   string
	target *url.URL
	// ready is the last /ready answer; terminating is set by the drill when
	// the replica's pod would be deleted, which removes it from the
	// endpoints at once whatever its readiness says.
	ready, terminating atomic.Bool
	served             atomic.Int64
}

func (b *backend) routable() bool { return b.ready.Load() && !b.terminating.Load() }

// balancer is the in-process stand-in for a Service and its readiness
// gates: it round-robins over the replicas whose /ready answered 200 at the
// last poll and retries a failed connection once elsewhere, but only for
// requests that are safe to send twice.
type balancer struct {
	mu       sync.Mutex
	backends []*backend
	next     int

	proxy  *httputil.ReverseProxy
	client *http.Client

	retried        atomic.Int64 // queries sent a second time after a connection error
	mutationErrors atomic.Int64 // mutations whose connection failed: not retried
	noBackend      atomic.Int64 // requests that found no ready replica
}

type ctxKey int

const (
	keyBackend ctxKey = iota
	keyAttempt
)

// attempt is what the proxy knows about one incoming request: where it
// went and whether it may be repeated.
type attempt struct {
	body       []byte
	idempotent bool
	tried      []*backend
}

func newBalancer() *balancer {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	b := &balancer{client: &http.Client{Timeout: time.Second, Transport: tr}}
	b.proxy = &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			be := pr.In.Context().Value(keyBackend).(*backend)
			pr.SetURL(be.target)
			pr.SetXForwarded()
		},
		ErrorHandler: b.failed,
	}
	return b
}

// add puts a replica into the endpoint list; it receives traffic once a
// readiness poll has seen it ready.
func (b *balancer) add(name, rawURL string) (*backend, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	be := &backend{name: name, target: u}
	b.mu.Lock()
	b.backends = append(b.backends, be)
	b.mu.Unlock()
	return be, nil
}

// remove drops a replica from the endpoint list after it has exited.
func (b *balancer) remove(be *backend) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.backends {
		if x == be {
			b.backends = append(b.backends[:i], b.backends[i+1:]...)
			return
		}
	}
}

// poll checks every replica's /ready each interval until ctx ends, as a
// kubelet's readiness probe does (with a much shorter period).
func (b *balancer) poll(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		b.mu.Lock()
		list := append([]*backend(nil), b.backends...)
		b.mu.Unlock()
		var wg sync.WaitGroup
		for _, be := range list {
			wg.Go(func() { be.ready.Store(b.probe(ctx, be)) })
		}
		wg.Wait()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *balancer) probe(ctx context.Context, be *backend) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, be.target.String()+"/ready", nil)
	if err != nil {
		return false
	}
	resp, err := b.client.Do(req) //nolint:gosec // a loopback replica the drill started
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// readyCount is how many replicas currently receive traffic.
func (b *balancer) readyCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, be := range b.backends {
		if be.routable() {
			n++
		}
	}
	return n
}

// pick returns the next routable replica not in skip, round-robin.
func (b *balancer) pick(skip []*backend) *backend {
	b.mu.Lock()
	defer b.mu.Unlock()
	for range b.backends {
		be := b.backends[b.next%len(b.backends)]
		b.next++
		if be.routable() && !contains(skip, be) {
			return be
		}
	}
	return nil
}

func contains(list []*backend, be *backend) bool {
	for _, x := range list {
		if x == be {
			return true
		}
	}
	return false
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The body is kept so that a query can be sent again; the drill's
	// operations are small, and the replicas cap bodies at 1 MiB anyway.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "proxy: reading the request failed", http.StatusBadRequest)
		return
	}
	a := &attempt{body: body, idempotent: r.Method == http.MethodGet || isQuery(body)}
	b.forward(w, r, a)
}

func (b *balancer) forward(w http.ResponseWriter, r *http.Request, a *attempt) {
	be := b.pick(a.tried)
	if be == nil {
		b.noBackend.Add(1)
		http.Error(w, "proxy: no ready replica", http.StatusServiceUnavailable)
		return
	}
	a.tried = append(a.tried, be)
	be.served.Add(1)
	ctx := context.WithValue(context.WithValue(r.Context(), keyBackend, be), keyAttempt, a)
	out := r.Clone(ctx)
	out.Body = io.NopCloser(bytes.NewReader(a.body))
	out.ContentLength = int64(len(a.body))
	b.proxy.ServeHTTP(w, out)
}

// failed runs when the transport got no response from a replica (refused,
// reset, closed before the answer). ReverseProxy has written nothing yet,
// so the request may still go elsewhere — but only a query: a mutation may
// have been executed by a replica that died before answering, and sending
// it again could write twice. Its failure is passed to the client instead,
// which is what a Kubernetes Service does too (it never retries).
func (b *balancer) failed(w http.ResponseWriter, r *http.Request, err error) {
	a := r.Context().Value(keyAttempt).(*attempt)
	if a.idempotent && len(a.tried) < 2 && !errors.Is(r.Context().Err(), context.Canceled) {
		b.retried.Add(1)
		b.forward(w, r, a)
		return
	}
	if !a.idempotent {
		b.mutationErrors.Add(1)
	}
	be := r.Context().Value(keyBackend).(*backend)
	http.Error(w, "proxy: replica "+be.name+" failed: "+err.Error(), http.StatusBadGateway)
}

// isQuery reports whether a GraphQL POST body holds only query operations.
// Anything it cannot parse counts as a mutation, the safe side.
func isQuery(body []byte) bool {
	var req struct {
		Query         string `json:"query"`
		OperationName string `json:"operationName"`
	}
	if json.Unmarshal(body, &req) != nil || req.Query == "" {
		return false
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: req.Query})
	if err != nil || len(doc.Operations) == 0 {
		return false
	}
	for _, op := range doc.Operations {
		if op.Operation != ast.Query {
			return false
		}
	}
	return true
}
