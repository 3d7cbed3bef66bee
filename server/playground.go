package server

import (
	"net/http"
	"net/url"
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

// playground serves GraphiQL and, when the binary was built with them, its
// assets, under a CSP that admits exactly what the page loads.
func playground() http.Handler {
	h, err := embeddedPlayground()
	if err != nil {
		// Only a binary built from a half-fetched asset directory gets
		// here: refuse to start rather than serve a broken page.
		panic(err)
	}
	return h
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
