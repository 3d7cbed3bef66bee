package drill

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestPostGraphQLKeepsTheErrorCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   string // "" for success
	}{
		{"data", 200, `{"data":{"me":{"id":"1"}}}`, ""},
		{"GraphQL error", 200, `{"errors":[{"message":"m","extensions":{"code":"UNAVAILABLE"}}],"data":null}`, "UNAVAILABLE"},
		{"error on a non-200 answer", 503, `{"errors":[{"message":"m","extensions":{"code":"UNAVAILABLE"}}]}`, "UNAVAILABLE"},
		{"error without a code", 200, `{"errors":[{"message":"m"}]}`, "no code"},
		{"not GraphQL", 502, `bad gateway`, "HTTP 502"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			_, err := PostGraphQL(srv.Client(), srv.URL, "", map[string]any{"query": "{ me { id } }"})
			got := ""
			if err != nil {
				got = Code(err)
			}
			if got != tc.want {
				t.Errorf("code %q (%v), want %q", got, err, tc.want)
			}
		})
	}
	if got := Code(fmt.Errorf("plain")); got != "other" {
		t.Errorf("Code of a plain error = %q, want other", got)
	}
}

func TestMetricsSumsSeriesWithTheLabels(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `# HELP go_goroutines Number of goroutines.
go_goroutines 42
healthgraph_cache_requests_total{cache="users",result="hit"} 3
healthgraph_cache_requests_total{cache="apq",result="hit"} 4
healthgraph_cache_requests_total{cache="users",result="miss"} 5
process_resident_memory_bytes 2.097152e+07
`)
	}))
	defer srv.Close()
	m, err := (&Process{URL: srv.URL}).Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"go_goroutines", nil, 42},
		{"healthgraph_cache_requests_total", []string{`result="hit"`}, 7},
		{"healthgraph_cache_requests_total", []string{`result="hit"`, `cache="users"`}, 3},
		{"healthgraph_cache_requests_total", nil, 12},
		{"process_resident_memory_bytes", nil, 20971520},
		{"absent", nil, 0},
	} {
		if got := m.Sum(tc.name, tc.labels...); got != tc.want {
			t.Errorf("Sum(%s, %v) = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}

func TestPctIsTheNearestRank(t *testing.T) {
	t.Parallel()
	var l []time.Duration
	for i := 1; i <= 100; i++ {
		l = append(l, time.Duration(101-i)*time.Millisecond)
	}
	s := Sorted(l)
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := s.Pct(p); got != want {
			t.Errorf("Pct(%v) = %v, want %v", p, got, want)
		}
	}
	if got := Latencies(nil).Pct(99); got != 0 {
		t.Errorf("Pct of nothing = %v, want 0", got)
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://u@h:5432/postgres?sslmode=disable": "postgres://u@h:5432/hg_x?sslmode=disable",
		"postgres://u@h/postgres":                      "postgres://u@h/hg_x",
	} {
		if got := WithDatabase(in, "hg_x"); got != want {
			t.Errorf("WithDatabase(%q) = %q, want %q", in, got, want)
		}
	}
}
