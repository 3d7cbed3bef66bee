package server

import (
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"

	hgplayground "github.com/healthgraph/healthgraph/server/playground"
)

// playgroundPath is where the Playground is served; its assets live under
// playgroundPath + "/assets/".
const playgroundPath = "/playground"

// embeddedPlayground prepares the Playground once per process: hashing its
// assets is the same work for every server built from this binary.
var embeddedPlayground = sync.OnceValues(func() (*hgplayground.Handler, error) {
	return hgplayground.New(hgplayground.Config{Title: "HealthGraph", Endpoint: "/graphql", Path: playgroundPath}, hgplayground.Embedded())
})

// playground serves GraphiQL and its embedded assets, under a CSP that
// admits exactly what the page loads.
func playground() http.Handler {
	h, err := embeddedPlayground()
	if err != nil {
		// Only a binary built from a tree missing some of the committed
		// assets gets here: refuse to start rather than serve a broken page.
		panic(err)
	}
	return h
}

// websocketOrigins lets browser WebSocket connections in only from the same
// host or an allowed CORS origin, so another site cannot ride a user's
// session. An allowed origin must match in scheme, host and port: with only
// https://app.example allowed, a page on http://app.example (a network
// attacker's, before TLS) is refused. The API's own host is admitted
// whatever the scheme, as coder/websocket does: behind a TLS-terminating
// proxy the request does not know its public scheme, and HSTS keeps
// browsers on https there.
func websocketOrigins(origins []string) socketAcceptor {
	allowed := map[string]bool{}
	for _, o := range origins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			allowed[originKey(u)] = true
		}
	}
	// The origin is checked in socketAcceptor.originAllowed, which knows
	// schemes; coder/websocket's own check compares hosts only.
	return socketAcceptor{origins: allowed, coder: transport.CoderWebsocketImplementation{
		AcceptOptions: websocket.AcceptOptions{InsecureSkipVerify: true}}}
}

// originAllowed admits requests without an Origin (not from a browser, so
// no session to ride), from the API's own host, and from allowed origins.
func (a socketAcceptor) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) || a.origins[originKey(u)]
}

// originKey is an origin as scheme://host[:port], lower case, without the
// scheme's default port, so that configured and sent origins compare
// equal exactly when a browser would call them the same origin.
func originKey(u *url.URL) string {
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if port == map[string]string{"http": "80", "https": "443"}[scheme] {
		port = ""
	}
	if strings.Contains(host, ":") { // IPv6
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}
