package rolloutdrill

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// TestRollingUpgradeHasZeroDowntime runs a short drill against the real
// binary: three replicas, eight workers for ten seconds, every replica
// replaced once. It builds one binary and uses it as both versions, which
// is enough to exercise the shutdown path; the command itself builds two.
func TestRollingUpgradeHasZeroDowntime(t *testing.T) {
	drill.Gate(t)
	bin, err := drill.Build(t.Context(), t.TempDir(), "rollout-test")
	if err != nil {
		t.Fatal(err)
	}
	o := defaultOptions()
	o.Bin = bin
	o.Workers, o.Rate, o.Duration = 8, 100, 10*time.Second
	o.PreStop, o.ShutdownTimeout, o.Grace = time.Second, 10*time.Second, 15*time.Second
	var out bytes.Buffer
	o.Out = &out
	rep, err := run(t.Context(), o)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent < 200 {
		t.Errorf("only %d requests were sent: the load did not run", rep.Sent)
	}
	for p := range numPhases {
		if rep.ByPhase[p].sent == 0 {
			t.Errorf("no request was sent %s the roll", phaseNames[p])
		}
	}
	if rep.InvoicesAcked == 0 {
		t.Error("no write was acknowledged: the load wrote nothing")
	}
	if len(rep.Swaps) != o.Replicas {
		t.Errorf("%d swaps, want %d", len(rep.Swaps), o.Replicas)
	}
	for _, p := range rep.Problems() {
		t.Error(p)
	}
}

// TestProxyRetriesOnlyQueries pins the proxy's retry rule: a query whose
// replica refuses the connection is sent to another one; a mutation is
// not, and is reported as failed.
func TestProxyRetriesOnlyQueries(t *testing.T) {
	var hits atomic.Int64
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"data":{}}`))
	}))
	defer good.Close()
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close() // nothing listens there now: connection refused

	lb := newBalancer()
	for _, u := range []string{dead, good.URL} {
		be, err := lb.add(u, u)
		if err != nil {
			t.Fatal(err)
		}
		be.ready.Store(true) // as if a readiness poll had just passed
	}
	send := func(query string) int {
		lb.mu.Lock()
		lb.next = 0 // the dead replica's turn
		lb.mu.Unlock()
		body := `{"query": ` + quote(query) + `}`
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
		rec := httptest.NewRecorder()
		lb.ServeHTTP(rec, req)
		return rec.Code
	}

	if code := send("query Me { me { id } }"); code != http.StatusOK || hits.Load() != 1 || lb.retried.Load() != 1 {
		t.Errorf("query: status %d, %d hits, %d retries; want 200 after one retry", code, hits.Load(), lb.retried.Load())
	}
	if code := send(`mutation { signup(input: {email: "a@b.test", password: "x", fullName: "y"}) { id } }`); code != http.StatusBadGateway || hits.Load() != 1 || lb.mutationErrors.Load() != 1 {
		t.Errorf("mutation: status %d, %d hits, %d mutation errors; want 502, not sent again", code, hits.Load(), lb.mutationErrors.Load())
	}
	if code := send("{ broken"); code != http.StatusBadGateway {
		t.Errorf("unparsable operation: status %d, want 502 (treated as a mutation)", code)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestIsQuery(t *testing.T) {
	for body, want := range map[string]bool{
		`{"query": "{ me { id } }"}`:                                                                          true,
		`{"query": "query A { me { id } } query B { me { email } }"}`:                                         true,
		`{"query": "mutation { logout(refreshToken: \"x\") }"}`:                                               false,
		`{"query": "query A { me { id } } mutation B { logout(refreshToken: \"x\") }", "operationName": "A"}`: false,
		`{"query": "subscription { x }"}`:                                                                     false,
		`{"extensions": {}}`:                                                                                  false,
		`not json`:                                                                                            false,
	} {
		if got := isQuery([]byte(body)); got != want {
			t.Errorf("isQuery(%s) = %v, want %v", body, got, want)
		}
	}
}
