// Package app is HealthGraph's composition root: it wires the store, the
// cache, accounts, resolvers and the HTTP server together. `healthgraph
// serve` and the test servers of servertest both build the service here,
// so a test server is wired exactly as the binary is.
package app

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/99designs/gqlgen/graphql"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/cache"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/observability"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/ratelimit"
	"github.com/healthgraph/healthgraph/resolvers"
	"github.com/healthgraph/healthgraph/server"
)

// Config is what the wiring needs to know; the adapters it wires (the
// database, the NPHIES client) come in Deps.
type Config struct {
	Server server.Config
	Redis  cache.Config
	// JWTKey signs access tokens, which live AccessTokenTTL; refresh
	// tokens live RefreshTokenTTL.
	JWTKey          []byte
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// LoginLockThreshold consecutive failures lock an account for
	// LoginLockDuration.
	LoginLockThreshold int
	LoginLockDuration  time.Duration
	// PasswordParams are the argon2id costs of new password hashes.
	PasswordParams auth.Params
	// Clinic is the provider identity NPHIES bundles are built with.
	Clinic nphies.Builder
}

// Defaults returns the service's default settings: the one place they are
// stated. They are production's: all interfaces (a container is reached
// from outside it), no browser origins, 10 auth attempts a minute.
// DevelopmentDefaults relaxes them for a laptop. The binary overrides them
// from the environment; test servers from their own needs.
func Defaults() Config {
	return Config{
		Server: server.Config{
			Addr: ":8080", MaxBodyBytes: 1 << 20,
			ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
			ShutdownTimeout: 25 * time.Second, WebSocketSessionCheck: 30 * time.Second,
			DepthLimit: 12, ComplexityLimit: 5000, FieldLimit: 500, TokenLimit: 15_000,
			RateLimits: ratelimit.Limits{
				Anonymous: ratelimit.PerMinute(300), User: ratelimit.PerMinute(1200),
				Auth: ratelimit.PerMinute(10), Complexity: ratelimit.PerMinute(600_000),
			},
		},
		AccessTokenTTL:     15 * time.Minute,
		RefreshTokenTTL:    30 * 24 * time.Hour,
		LoginLockThreshold: 5,
		LoginLockDuration:  15 * time.Minute,
		PasswordParams:     auth.DefaultParams,
		Clinic: nphies.Builder{ProviderLicense: "PR-FHIR", ProviderName: "HealthGraph Clinic", BaseURL: "http://localhost:8080",
			ProviderType: "5"},
	}
}

// DevelopmentOrigins are the browser origins a development server grants
// CORS and WebSocket access when HG_CORS_ORIGINS is not set: the dev
// servers of the usual frontend tools (3000: Create React App and Next.js,
// 5173: Vite, 8080: the server itself), by name and by loopback address.
var DevelopmentOrigins = []string{
	"http://localhost:3000", "http://127.0.0.1:3000",
	"http://localhost:5173", "http://127.0.0.1:5173",
	"http://localhost:8080", "http://127.0.0.1:8080",
}

// DevelopmentAuthLimit is the login/signup/refreshToken attempts a minute
// a development server allows: a frontend's test script logs in far more
// often than a person, and nothing there is worth guessing at.
const DevelopmentAuthLimit = 300

// DevelopmentDefaults are Defaults for HG_ENV=development: listen on the
// loopback interface only (what the README promises), grant the
// DevelopmentOrigins and allow DevelopmentAuthLimit auth attempts a minute.
func DevelopmentDefaults() Config {
	c := Defaults()
	c.Server.Addr = "127.0.0.1:8080"
	c.Server.CORSOrigins = slices.Clone(DevelopmentOrigins)
	c.Server.RateLimits.Auth = ratelimit.PerMinute(DevelopmentAuthLimit)
	return c
}

// Deps are the adapters the service runs on, opened and closed by the
// caller.
type Deps struct {
	DB      *postgres.DB
	Logger  *slog.Logger
	Metrics *observability.Metrics
	// NPHIESClient sends the requests the desk waits for (eligibility);
	// nil leaves them UNAVAILABLE.
	NPHIESClient *nphies.Client
	// WrapStore, when set, wraps the store the resolvers and loaders read;
	// tests use it to inject one fault into the real store.
	WrapStore func(hg.Store) hg.Store
}

// App is the wired service.
type App struct {
	Server   *server.Server
	Accounts *auth.Accounts
	Tokens   *auth.Tokens
	// Redis is the service's Redis client, disabled when none is
	// configured.
	Redis *cache.Client
	// Sessions is the session check's cache; Close stops it.
	Sessions *cache.Sessions
	// Outbox is the store the NPHIES worker and poller run on: the
	// database, announcing the claims they move on to claimUpdated
	// subscribers through the service's broker.
	Outbox hg.Outbox
}

// New wires the service on d. Close releases what New opened.
func New(cfg Config, d Deps) (*App, error) {
	tokens, err := auth.NewTokens(cfg.JWTKey, cfg.AccessTokenTTL)
	if err != nil {
		return nil, err
	}
	rc, err := cache.Open(cfg.Redis, cache.Options{Logger: d.Logger, Metrics: d.Metrics, Instrument: d.Metrics.InstrumentRedis})
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	broker := cache.NewBroker(rc)
	// Sessions are checked from memory, kept exact by a broadcast between
	// replicas; the store announces role and password changes on it.
	sessions := cache.NewSessions(d.DB, rc)
	store := cache.NewStore(d.DB, rc, broker)
	store.Sessions = sessions
	accounts := &auth.Accounts{Users: store, Tokens: sessions, Audit: d.DB, Access: tokens,
		RefreshTTL: cfg.RefreshTokenTTL, LockThreshold: cfg.LoginLockThreshold, LockDuration: cfg.LoginLockDuration,
		Params: cfg.PasswordParams, Logger: d.Logger, Upgrades: d.Metrics}
	var resolverStore hg.Store = store
	if d.WrapStore != nil {
		resolverStore = d.WrapStore(store)
	}
	clinic := cfg.Clinic
	srv := server.New(cfg.Server, server.Deps{
		Resolvers: &resolvers.Resolver{Accounts: accounts, Store: resolverStore, Events: broker, Business: d.Metrics,
			NPHIES: &clinic, NPHIESClient: d.NPHIESClient},
		// Refused attempts are counted per actor and minute, on every transport.
		Extensions: []graphql.HandlerExtension{resolvers.RefusalAudit{Store: resolverStore, Logger: d.Logger}},
		Loaders:    resolverStore, Sessions: accounts, Database: d.DB,
		Logger: d.Logger, Metrics: d.Metrics, Redis: rc,
	})
	return &App{Server: srv, Accounts: accounts, Tokens: tokens, Redis: rc, Sessions: sessions,
		Outbox: cache.ClaimEvents{Outbox: d.DB, Events: broker}}, nil
}

// Close stops the session cache and closes the Redis client; the database
// is the caller's.
func (a *App) Close() error {
	a.Sessions.Close()
	return a.Redis.Close()
}
