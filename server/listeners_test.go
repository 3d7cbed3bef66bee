package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/observability"
	"github.com/healthgraph/healthgraph/server"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// freeAddr reserves a loopback port and frees it for the server to take.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// serve runs the real Serve on a loopback listener with cfg until the test
// ends, returning the main address and a function that stops it and
// returns Serve's result.
func serve(t *testing.T, cfg server.Config) (string, func() error) {
	t.Helper()
	s := server.New(cfg, server.Deps{Logger: observability.NewLogger(io.Discard, slog.LevelError), Metrics: observability.NewMetrics()})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	stop := sync.OnceValue(func() error { cancel(); return <-done })
	t.Cleanup(func() { _ = stop() })
	return l.Addr().String(), stop
}

// status GETs url, returning 0 when nothing answers.
func status(url string) int {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// With HG_METRICS_ADDR set, /metrics leaves the public port for a listener of
// its own, which answers nothing else and closes with the server.
func TestMetricsServedOnTheirOwnListenerWhenConfigured(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		separate       bool
		mainMetrics    int
		metricsMetrics int
	}{
		{"metrics address set", true, http.StatusNotFound, http.StatusOK},
		{"no metrics address (development)", false, http.StatusOK, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := servertest.Config()
			metricsAddr := freeAddr(t)
			if tc.separate {
				cfg.MetricsAddr = metricsAddr
			}
			addr, stop := serve(t, cfg)
			eventually.True(t, "the server answers /health", func() bool { return status("http://"+addr+"/health") == http.StatusOK })
			if got := status("http://" + addr + "/metrics"); got != tc.mainMetrics {
				t.Errorf("GET /metrics on the main port = %d, want %d", got, tc.mainMetrics)
			}
			if got := status("http://" + metricsAddr + "/metrics"); got != tc.metricsMetrics {
				t.Errorf("GET /metrics on the metrics port = %d, want %d", got, tc.metricsMetrics)
			}
			if !tc.separate {
				return
			}
			for _, path := range []string{"/graphql", "/health", "/playground"} {
				if got := status("http://" + metricsAddr + path); got != http.StatusNotFound {
					t.Errorf("GET %s on the metrics port = %d, want 404", path, got)
				}
			}
			if err := stop(); err != nil {
				t.Fatalf("Serve returned %v after shutdown, want nil", err)
			}
			if got := status("http://" + metricsAddr + "/metrics"); got != 0 {
				t.Errorf("metrics port still answers %d after shutdown", got)
			}
		})
	}
}

// A metrics address that cannot be had stops the server at start instead of
// serving without metrics.
func TestServeFailsWhenTheMetricsAddressIsTaken(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := servertest.Config()
	cfg.MetricsAddr = taken.Addr().String()
	_, stop := serve(t, cfg)
	if err := stop(); err == nil || !strings.Contains(err.Error(), "metrics listener") {
		t.Errorf("Serve = %v, want a metrics listener error", err)
	}
}

// HG_PLAYGROUND=false takes the Playground and its assets off the API.
func TestPlaygroundCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		off  bool
		want int
	}{
		{"on by default", false, http.StatusOK},
		{"turned off", true, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := servertest.Config()
			cfg.NoPlayground = tc.off
			addr, _ := serve(t, cfg)
			eventually.True(t, "the server answers /health", func() bool { return status("http://"+addr+"/health") == http.StatusOK })
			if got := status("http://" + addr + "/playground"); got != tc.want {
				t.Errorf("GET /playground = %d, want %d", got, tc.want)
			}
			if tc.off {
				if got := status("http://" + addr + "/playground/assets/graphiql.js"); got != http.StatusNotFound {
					t.Errorf("GET a Playground asset = %d, want 404", got)
				}
			}
		})
	}
}
