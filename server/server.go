// Package server assembles HealthGraph's HTTP service: routes, the middleware
// chain, the GraphQL handler, health and readiness, and graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/cache"
	"github.com/healthgraph/healthgraph/dataloader"
	"github.com/healthgraph/healthgraph/graph"
	"github.com/healthgraph/healthgraph/observability"
	"github.com/healthgraph/healthgraph/ratelimit"
)

// Config is the server's part of the service configuration.
type Config struct {
	Addr string
	// MetricsAddr, when set, serves /metrics on a listener of its own
	// (e.g. ":9090"), started and stopped with the main one, so the
	// public port never answers it; empty serves /metrics on Addr, for
	// development.
	MetricsAddr string
	// NoPlayground answers 404 for the Playground: production turns it
	// off so the public surface is /graphql and the probes only.
	NoPlayground bool
	// Production hides details that help attackers (introspection unless
	// enabled, suggestions) and turns HSTS on.
	Production bool
	// CORSOrigins lists the browser origins granted CORS; empty grants none.
	CORSOrigins []string
	// HSTS sends Strict-Transport-Security: TLS is terminated upstream.
	HSTS            bool
	MaxBodyBytes    int64
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	IdleTimeout     time.Duration
	ShutdownTimeout time.Duration
	// ShutdownDelay keeps serving after SIGTERM while /ready answers 503,
	// so a load balancer without a preStop pause (docker compose, a plain
	// proxy) stops routing here before the listener closes.
	ShutdownDelay   time.Duration
	DepthLimit      int
	ComplexityLimit int
	// FieldLimit caps the fields one operation selects, counting every
	// alias and fragment expansion; TokenLimit caps the tokens the parser
	// reads, so a huge document is refused before it is built.
	FieldLimit    int
	TokenLimit    int
	Introspection bool
	// RateLimits are the limiter's rates; a zero rate switches its policy
	// off.
	RateLimits ratelimit.Limits
	// TrustedProxies are the only peers whose X-Forwarded-For is believed.
	TrustedProxies ratelimit.Proxies
	// APQAllowList, when not nil, is the only operations that run (hash to
	// text): allow-list mode for production. Nil runs automatic persisted
	// queries instead.
	APQAllowList map[string]string
	// WebSocketSessionCheck is how often an open WebSocket asks whether
	// its session still holds, so that a logout or a role change closes
	// an idle socket (4401) within it; zero means 30s. Operations sent on
	// a socket are checked as they run whatever this says.
	WebSocketSessionCheck time.Duration
	// Loaders tunes the per-operation dataloaders; none keeps their
	// defaults. Tests that count statements batch with a longer wait.
	Loaders []dataloader.Option
}

// Deps are the collaborators the server routes requests to, each as the
// narrow interface the server uses; app wires the real ones.
type Deps struct {
	// Resolvers answer the GraphQL schema.
	Resolvers graph.ResolverRoot
	// Extensions are executor extensions the resolvers bring, run on every
	// transport after the limits and metrics (the refused-attempt audit).
	// Those with an ObserveError(ctx, err) method are told of every error
	// the error presenter presents.
	Extensions []graphql.HandlerExtension
	// Loaders is the store the per-operation dataloaders batch against.
	Loaders dataloader.Store
	// Sessions checks access tokens and, on open sockets, their sessions.
	Sessions Sessions
	// Database is what readiness asks about.
	Database Database
	Logger   *slog.Logger
	Metrics  *observability.Metrics
	// Redis backs the rate limits, persisted queries and readiness report;
	// nil or disabled means in-process fallbacks.
	Redis *cache.Client
}

// Sessions authenticates callers: *auth.Accounts implements it.
type Sessions interface {
	// Authenticate checks an access token and its session.
	Authenticate(ctx context.Context, token string) (*hg.Principal, error)
	// SessionLive re-checks the session of a principal authenticated
	// earlier, for operations on a long-lived socket.
	SessionLive(ctx context.Context, p *hg.Principal) error
}

// Database is the readiness view of the store: *postgres.DB implements it.
type Database interface {
	Ping(ctx context.Context) error
	// Pending counts the migrations not yet applied.
	Pending(ctx context.Context) (int, error)
}

// Server is the HTTP service.
type Server struct {
	cfg     Config
	deps    Deps
	handler http.Handler
	limiter *ratelimit.Limiter
	// draining is set once shutdown has begun: /ready then says 503.
	draining atomic.Bool
}

// New builds the server and its routes.
func New(cfg Config, deps Deps) *Server {
	if deps.Redis == nil {
		deps.Redis, _ = cache.Open(cache.Config{}, cache.Options{}) // disabled: cannot fail
	}
	s := &Server{cfg: cfg, deps: deps}
	s.limiter = ratelimit.New(deps.Redis, cfg.RateLimits, deps.Logger, deps.Metrics)
	mux := http.NewServeMux()
	gql := s.graphQL()
	// Rate limiting needs the principal, so it runs inside authentication.
	mux.Handle("/graphql", requireTransport(s.authenticate(s.rateLimit(gql))))
	if !cfg.NoPlayground {
		pg := playground()
		mux.Handle("GET "+playgroundPath, pg)
		mux.Handle("GET "+playgroundPath+"/assets/", pg)
	}
	mux.HandleFunc("GET /health", health)
	mux.HandleFunc("GET /ready", s.ready)
	if cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", deps.Metrics.Handler())
	}

	// Outermost first: every response, even a panic's, gets an id and the
	// security headers.
	s.handler = chain(mux,
		s.recoverer,
		s.requestContext,
		deps.Metrics.HTTP,
		s.securityHeaders,
		s.cors,
		s.limitBody,
	)
	return s
}

// Handler returns the whole HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers requests on l (and /metrics on Config.MetricsAddr when set)
// until ctx is cancelled, then stops taking new connections, lets in-flight
// requests finish within the shutdown timeout, and returns. The metrics
// listener closes last, so Prometheus sees the drain. Closing the pool is
// the caller's, after Serve returns.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := s.httpServer(ctx, s.handler)
	errc := make(chan error, 1)
	// merr stays empty, and so never selected, without a metrics listener.
	merr := make(chan error, 1)
	if s.cfg.MetricsAddr != "" {
		msrv, ml, err := s.metricsServer(ctx)
		if err != nil {
			return err
		}
		go func() { merr <- msrv.Serve(ml) }()
		defer func() { _ = msrv.Close() }()
	}
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case err := <-merr:
		_ = srv.Close()
		return fmt.Errorf("serve metrics: %w", err)
	case <-ctx.Done():
	}
	if s.cfg.ShutdownDelay > 0 {
		s.draining.Store(true)
		s.deps.Logger.Info("shutting down: not ready, still serving", "delay", s.cfg.ShutdownDelay.String())
		time.Sleep(s.cfg.ShutdownDelay)
	}
	s.deps.Logger.Info("shutting down: draining in-flight requests", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// metricsServer listens on Config.MetricsAddr and serves only /metrics there.
func (s *Server) metricsServer(ctx context.Context) (*http.Server, net.Listener, error) {
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.MetricsAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics listener: %w", err)
	}
	s.deps.Logger.Info("serving /metrics on its own listener", "addr", l.Addr().String())
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.deps.Metrics.Handler())
	return s.httpServer(ctx, mux), l, nil
}

// httpServer is an http.Server for h with the configured timeouts, whose
// requests outlive ctx's cancellation so that they can drain.
func (s *Server) httpServer(ctx context.Context, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadTimeout:       s.cfg.ReadTimeout,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.deps.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// chain wraps h in middlewares, the first outermost.
func chain(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}
