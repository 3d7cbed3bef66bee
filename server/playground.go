package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	gqlplayground "github.com/99designs/gqlgen/graphql/playground"
	"github.com/coder/websocket"
)

// playgroundCDN is where gqlgen's GraphiQL page loads its assets from.
const playgroundCDN = "https://cdn.jsdelivr.net"

var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// playground serves GraphiQL under a CSP that admits exactly its inline
// script, by hash, and its pinned CDN assets, which carry SRI hashes.
func playground() http.Handler {
	page := gqlplayground.Handler("HealthGraph", "/graphql")
	rec := httptest.NewRecorder()
	page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/playground", nil))
	body := rec.Body.Bytes()

	var hashes []string
	for _, m := range inlineScript.FindAllSubmatch(body, -1) {
		sum := sha256.Sum256(m[1])
		hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src " + strings.Join(hashes, " ") + " " + playgroundCDN,
		// GraphiQL's editor sets inline styles at run time.
		"style-src 'self' 'unsafe-inline' " + playgroundCDN,
		"font-src 'self' data: " + playgroundCDN,
		"img-src 'self' data:",
		"connect-src 'self'",
		"frame-ancestors 'none'",
		"base-uri 'none'",
		"form-action 'none'",
	}, "; ")
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = bytes.NewReader(body).WriteTo(w)
	})
}

// websocketOrigins lets browser WebSocket connections in only from the same
// host or an allowed CORS origin, so another site cannot ride a user's
// session. coder/websocket checks the same host by itself.
func websocketOrigins(origins []string) transport.CoderWebsocketImplementation {
	var hosts []string
	for _, o := range origins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			hosts = append(hosts, u.Host)
		}
	}
	return transport.CoderWebsocketImplementation{AcceptOptions: websocket.AcceptOptions{OriginPatterns: hosts}}
}
