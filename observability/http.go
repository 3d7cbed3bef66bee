package observability

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/felixge/httpsnoop"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// routes are the only values the route label takes besides Other; matching
// exact paths (not prefixes) keeps scanners probing random URLs in one series.
var routes = map[string]bool{
	"/graphql": true, "/playground": true, "/health": true, "/ready": true, "/metrics": true,
}

// Route returns the bounded route label for a request path: one of /graphql,
// /playground, /health, /ready, /metrics, or "other".
func Route(path string) string {
	if routes[path] {
		return path
	}
	return Other
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodHead, http.MethodOptions,
		http.MethodPut, http.MethodPatch, http.MethodDelete:
		return m
	}
	return "OTHER"
}

// HTTP wraps the whole server handler: it starts an OpenTelemetry server span
// (continuing the caller's W3C traceparent, named "<METHOD> <route>") and
// records HTTP RED metrics by bounded route. Each GET /ready answer also
// sets healthgraph_ready (1 for a 2xx or 3xx, else 0). Put it outermost, before the
// request-id, rate-limit and auth middleware, so rejected requests are
// counted and traced too. Hijacked WebSocket upgrades are counted but their
// connection lifetime is not observed as latency.
func (m *Metrics) HTTP(next http.Handler) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := Route(r.URL.Path)
		method := methodLabel(r.Method)
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
			attrs := []attribute.KeyValue{attribute.String("http.route", route)}
			if route == Other {
				// An unknown path is whatever a client or scanner sent,
				// possibly with an identifier in it; the span keeps only
				// that it was unknown.
				attrs = append(attrs, attribute.String("url.path", Other))
			}
			span.SetAttributes(attrs...)
		}
		m.httpInFlight.Inc()
		defer m.httpInFlight.Dec()
		start := time.Now()
		code := 0
		hijacked := false
		ww := httpsnoop.Wrap(w, httpsnoop.Hooks{
			WriteHeader: func(f httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
				return func(c int) {
					if code == 0 {
						code = c
					}
					f(c)
				}
			},
			Write: func(f httpsnoop.WriteFunc) httpsnoop.WriteFunc {
				return func(b []byte) (int, error) {
					if code == 0 {
						code = http.StatusOK
					}
					return f(b)
				}
			},
			// httpsnoop calls hook factories when wrapping, so state may
			// only change inside the returned function, when a handler
			// really takes the connection over.
			Hijack: func(f httpsnoop.HijackFunc) httpsnoop.HijackFunc {
				return func() (net.Conn, *bufio.ReadWriter, error) {
					hijacked = true
					if code == 0 {
						code = http.StatusSwitchingProtocols
					}
					return f()
				}
			},
		})
		defer func() {
			// A panic still counts as a 500 before it propagates to the
			// server's recovery middleware or net/http.
			if p := recover(); p != nil {
				m.httpRequests.WithLabelValues(route, method, "500").Inc()
				panic(p)
			}
			if code == 0 {
				code = http.StatusOK
			}
			m.httpRequests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
			if route == "/ready" && method == http.MethodGet {
				// The probe's own answer is the readiness signal, so
				// healthgraph_ready needs no call from the handler.
				m.SetReady(code < http.StatusBadRequest)
			}
			if !hijacked {
				m.httpDuration.observe(r.Context(), time.Since(start).Seconds(), route, method)
			}
		}()
		next.ServeHTTP(ww, r)
	})
	return otelhttp.NewHandler(inner, "http.server",
		otelhttp.WithTracerProvider(m.tracerProvider()),
		otelhttp.WithPropagators(m.propagator()),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return methodLabel(r.Method) + " " + Route(r.URL.Path)
		}),
	)
}

// RoundTripper instruments outgoing HTTP to a peer service (e.g. "nphies"):
// a client span per request, the W3C traceparent injected into the request
// headers, and request count and latency by peer. peer is a metric label and
// must be a constant chosen by the caller. The span records the URL without
// credentials, so callers must never put personal data in URLs. A nil next
// means http.DefaultTransport.
func (m *Metrics) RoundTripper(next http.RoundTripper, peer string) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	peer = m.peers.value(peer)
	measured := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(r)
		code := "error"
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
		}
		m.clientRequests.WithLabelValues(peer, code).Inc()
		m.clientDuration.observe(r.Context(), time.Since(start).Seconds(), peer)
		return resp, err
	})
	return otelhttp.NewTransport(measured,
		otelhttp.WithTracerProvider(m.tracerProvider()),
		otelhttp.WithPropagators(m.propagator()),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return methodLabel(r.Method) + " " + peer
		}),
	)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
