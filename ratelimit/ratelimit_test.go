package ratelimit_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/cache"
	"github.com/healthgraph/healthgraph/ratelimit"
)

func TestClientIPTrustsForwardedHeadersOnlyFromProxies(t *testing.T) {
	t.Parallel()
	proxies, err := ratelimit.ParseProxies([]string{"10.0.0.0/8", "192.168.1.7"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer, xff, want string
	}{
		{"no proxy in front", "203.0.113.9:5000", "", "203.0.113.9"},
		{"a client cannot forge the header", "203.0.113.9:5000", "1.2.3.4", "203.0.113.9"},
		{"one trusted proxy", "10.1.2.3:5000", "198.51.100.7", "198.51.100.7"},
		{"the client's own entries are skipped", "10.1.2.3:5000", "1.2.3.4, 198.51.100.7", "198.51.100.7"},
		{"a chain of trusted proxies", "10.1.2.3:5000", "198.51.100.7, 192.168.1.7, 10.9.9.9", "198.51.100.7"},
		{"garbage stops at the last trusted hop", "10.1.2.3:5000", "nonsense", "10.1.2.3"},
		{"IPv6 client", "10.1.2.3:5000", "2001:db8::1", "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := proxies.ClientIP(r); got != tt.want {
				t.Fatalf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := ratelimit.ParseProxies([]string{"not-a-cidr"}); err == nil {
		t.Fatal("a malformed proxy range was accepted")
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]struct {
		limit  int64
		period time.Duration
	}{"600": {600, time.Minute}, "10-S": {10, time.Second}, "1000-H": {1000, time.Hour}, "0": {0, time.Minute}} {
		r, err := ratelimit.ParseRate(in)
		if err != nil || r.Limit != want.limit || r.Period != want.period {
			t.Errorf("ParseRate(%q) = %+v, %v", in, r, err)
		}
	}
	for _, bad := range []string{"", "-1", "ten", "10-W"} {
		if _, err := ratelimit.ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

type countingMetrics struct{ limited, fallbacks int }

func (m *countingMetrics) RateLimited(string) { m.limited++ }
func (m *countingMetrics) CacheError(string)  { m.fallbacks++ }

func TestLimiterFallsBackToProcessMemory(t *testing.T) {
	t.Parallel()
	c, err := cache.Open(cache.Config{URL: "redis://127.0.0.1:1/0", DialTimeout: 200 * time.Millisecond}, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := &countingMetrics{}
	l := ratelimit.New(c, ratelimit.Limits{Anonymous: ratelimit.PerMinute(2)}, nil, m)
	var allowed int
	for range 4 {
		if l.Request(context.Background(), nil, "203.0.113.1").Allowed {
			allowed++
		}
	}
	if allowed != 2 || m.limited != 2 || m.fallbacks == 0 {
		t.Fatalf("allowed %d, limited %d, fallbacks %d: want the limit kept in process and the fallback counted", allowed, m.limited, m.fallbacks)
	}
}
