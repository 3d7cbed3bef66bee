package playground_test

import (
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	hgplayground "github.com/healthgraph/healthgraph/server/playground"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// TestRoutesThroughTheRealServer checks the wiring: the service's middleware
// marks every response no-store, and the assets must still leave with their
// long cache lifetime, their types and nosniff. The Config is the one
// server/playground.go uses, so the CSP must match byte for byte.
func TestRoutesThroughTheRealServer(t *testing.T) {
	t.Parallel()
	pg, err := hgplayground.New(hgplayground.Config{Title: "HealthGraph", Endpoint: "/graphql", Path: "/playground"}, hgplayground.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	env := servertest.New(t)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(env.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resp, page := get("/playground")
	if csp := resp.Header.Get("Content-Security-Policy"); csp != pg.CSP() {
		t.Errorf("page served under CSP %q, want %q", csp, pg.CSP())
	}
	urls := regexp.MustCompile(`(?:src|href)="(/playground/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(urls) != 6 {
		t.Fatalf("page loads %d local assets, want 6", len(urls))
	}
	for _, u := range urls {
		path := html.UnescapeString(u[1])
		resp, body := get(path)
		ct := resp.Header.Get("Content-Type")
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("%s: status %d, %d bytes", path, resp.StatusCode, len(body))
		}
		if !strings.HasPrefix(ct, "text/javascript") && !strings.HasPrefix(ct, "text/css") {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		if got := resp.Header.Get("Cache-Control"); got != hgplayground.AssetCacheControl {
			t.Errorf("%s: Cache-Control %q, want %q", path, got, hgplayground.AssetCacheControl)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
	}
	if resp, _ := get("/playground/assets/nothing-here"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown asset: status %d, want 404", resp.StatusCode)
	}
}
