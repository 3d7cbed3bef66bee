package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/internal/faultproxy"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/server"
	"github.com/healthgraph/healthgraph/server/servertest"
)

func get(t *testing.T, url string, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	}
	for _, path := range []string{"/health", "/ready", "/metrics", "/playground", "/graphql?query=%7B__typename%7D", "/no-such-page"} {
		resp := get(t, env.URL+path, nil)
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
		if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: missing CSP or request id", path)
		}
	}
	if csp := get(t, env.URL+"/playground", nil).Header.Get("Content-Security-Policy"); !strings.Contains(csp, "'sha256-") || strings.Contains(csp, "script-src 'unsafe-inline'") {
		t.Errorf("playground CSP %q should admit its inline script by hash only", csp)
	}
}

func TestHSTSWhenConfigured(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, func(c *server.Config, _ *postgres.Options) { c.HSTS = true })
	if got := get(t, env.URL+"/health", nil).Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Fatalf("Strict-Transport-Security = %q", got)
	}
}

func TestCORSGrantsOnlyAllowedOrigins(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	allowed := get(t, env.URL+"/health", map[string]string{"Origin": "https://app.example.com"})
	if got := allowed.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
		t.Fatalf("allowed origin got Access-Control-Allow-Origin %q", got)
	}
	denied := get(t, env.URL+"/health", map[string]string{"Origin": "https://evil.example.net"})
	if got := denied.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("disallowed origin got Access-Control-Allow-Origin %q", got)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodOptions, env.URL+"/graphql", nil)
	req.Header.Set("Origin", "https://evil.example.net")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Methods") != "" || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("preflight from a disallowed origin was granted")
	}
}

func TestLimitsRefuseAbusiveRequests(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, func(c *server.Config, _ *postgres.Options) {
		c.DepthLimit = 3
		c.ComplexityLimit = 200
	})
	tests := []struct {
		name, query, reason string
	}{
		{"too deep", `{ users { edges { node { id } } } }`, "DEPTH_LIMIT_EXCEEDED"},
		{"too deep through a fragment", `{ ...F } fragment F on Query { users { edges { node { id } } } }`, "DEPTH_LIMIT_EXCEEDED"},
		{"too complex", `{ users(first: 100) { totalCount } a: users(first: 100) { totalCount } }`, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"fragment cycle", `{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }`, "GRAPHQL_VALIDATION_FAILED"},
		{"unparseable", `{ me { id `, "GRAPHQL_PARSE_FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Do(t, "", tt.query, nil)
			if r.Code() != hg.EINVALID || r.Errors[0].Extensions["reason"] != tt.reason {
				t.Fatalf("code %q reason %v, want BAD_USER_INPUT %s (%+v)", r.Code(), r.Errors[0].Extensions["reason"], tt.reason, r.Errors)
			}
		})
	}
	if r := env.Do(t, "", `{ me { id } }`, nil); r.Code() != hg.EUNAUTHENTICATED {
		t.Fatalf("a shallow query was refused by the limits: %+v", r.Errors)
	}

	resp, err := http.Post(env.URL+"/graphql", "application/json", strings.NewReader(strings.Repeat("x", 2<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB body: status %d, want 413", resp.StatusCode)
	}
}

func TestReadinessFollowsPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	host := strings.SplitN(strings.SplitN(url, "@", 2)[1], "/", 2)[0]
	proxy, err := faultproxy.Start(host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	db, err := postgres.Open(context.Background(), strings.Replace(url, host, proxy.Addr(), 1), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	env := servertest.Start(t, db, servertest.Config())

	ready := func() int { return get(t, env.URL+"/ready", nil).StatusCode }
	if got := ready(); got != http.StatusOK {
		t.Fatalf("/ready = %d with Postgres up, want 200", got)
	}
	proxy.Cut()
	if got := ready(); got != http.StatusServiceUnavailable {
		t.Fatalf("/ready = %d with Postgres unreachable, want 503", got)
	}
	if got := get(t, env.URL+"/health", nil).StatusCode; got != http.StatusOK {
		t.Fatalf("/health = %d while Postgres is down, want 200: liveness must not depend on it", got)
	}
	proxy.Restore()
	eventually.True(t, "/ready to recover after Postgres returned", func() bool { return ready() == http.StatusOK })
}
