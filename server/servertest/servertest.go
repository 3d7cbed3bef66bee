// Package servertest runs the real HealthGraph HTTP handler on a fresh,
// migrated Postgres database for tests, and speaks GraphQL to it.
package servertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/app"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/cache"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/observability"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/ratelimit"
	"github.com/healthgraph/healthgraph/server"
)

// Key is the token signing key of test servers.
var Key = []byte("servertest-signing-key-0123456789abcdef")

// Env is a running test server and what sits behind it.
type Env struct {
	URL      string
	DB       *postgres.DB
	Tokens   *auth.Tokens
	Accounts *auth.Accounts
	Server   *httptest.Server
	// Redis is this server's client (disabled when Options.RedisURL is
	// empty); Metrics its registry, for asserting on fallbacks.
	Redis   *cache.Client
	Metrics *observability.Metrics
	// Sessions is this server's session cache.
	Sessions *cache.Sessions
	// Outbox is what an NPHIES worker or poller a test runs should use:
	// the database, announcing claim changes to subscribers as the binary
	// wires it.
	Outbox hg.Outbox
}

// RedisURL is the Redis tests share; each test isolates its keys under its
// own prefix.
const RedisURL = "redis://127.0.0.1:6379/0"

// Options choose what a test server runs on besides its database.
type Options struct {
	// RedisURL is the Redis to use; empty runs on in-process fallbacks.
	RedisURL string
	// RedisPrefix isolates keys and channels; servers that share one act
	// as replicas of one deployment. Use NewPrefix.
	RedisPrefix string
	// Metrics, when set, is the registry and instrumentation the server
	// records into (an observabilitytest.Recorder's, to assert on spans);
	// nil makes a fresh one.
	Metrics *observability.Metrics
	// Logger, when set, receives the server's logs; nil logs errors to
	// stderr under HG_TEST_LOG and drops them otherwise.
	Logger *slog.Logger
	// NPHIESClient, when set, sends the synchronous NPHIES requests
	// (checkEligibility), usually to an httptest server of nphies/mock; nil
	// leaves them UNAVAILABLE.
	NPHIESClient *nphies.Client
	// WrapStore, when set, wraps the store the resolvers and loaders use,
	// to inject one fault into the real store.
	WrapStore func(hg.Store) hg.Store
	// AccessTTL is the lifetime of the access tokens the server and
	// Env.Tokens issue; zero means 15 minutes. Tests of expiry set a few
	// seconds.
	AccessTTL time.Duration
}

// NewPrefix returns a Redis key prefix of the test's own and deletes its
// keys when the test ends.
func NewPrefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		opt, err := redis.ParseURL(RedisURL)
		if err != nil {
			return
		}
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Unlink(ctx, iter.Val())
		}
	})
	return prefix
}

// Config returns the server configuration tests run with: the service's
// defaults, with development's introspection, a test origin and rate limits
// that only tests about limits meet.
func Config() server.Config {
	cfg := app.Defaults().Server
	cfg.Addr = ""
	cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout, cfg.ShutdownTimeout = 10*time.Second, 10*time.Second, time.Minute, 10*time.Second
	cfg.Introspection = true
	cfg.CORSOrigins = []string{"https://app.example.com"}
	cfg.RateLimits = ratelimit.Limits{
		Anonymous: ratelimit.PerMinute(100_000), User: ratelimit.PerMinute(100_000),
		Auth: ratelimit.PerMinute(10_000), Complexity: ratelimit.PerMinute(100_000_000),
	}
	return cfg
}

// New starts a server on its own database. modify, when given, adjusts the
// configuration first.
func New(t testing.TB, modify ...func(*server.Config, *postgres.Options)) *Env {
	t.Helper()
	cfg := Config()
	var opts postgres.Options
	for _, m := range modify {
		m(&cfg, &opts)
	}
	db := pgtest.New(t, opts)
	return Start(t, db, cfg)
}

// Start serves the real handler over db with cfg, on the shared test Redis
// under a prefix of its own.
func Start(t testing.TB, db *postgres.DB, cfg server.Config) *Env {
	t.Helper()
	return StartWith(t, db, cfg, Options{RedisURL: RedisURL, RedisPrefix: NewPrefix(t)})
}

// StartWith serves the real handler over db with cfg and o, wired as the
// binary wires it: the cached store, the broker and the limiter on Redis.
func StartWith(t testing.TB, db *postgres.DB, cfg server.Config, o Options) *Env {
	t.Helper()
	metrics := o.Metrics
	if metrics == nil {
		metrics = observability.NewMetrics()
	}
	logger := o.Logger
	if logger == nil {
		logger = observability.NewLogger(logOutput(), slog.LevelError)
	}
	ac := app.Defaults()
	ac.Server = cfg
	ac.Redis = cache.Config{URL: o.RedisURL, Prefix: o.RedisPrefix, PingInterval: 200 * time.Millisecond,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second}
	ac.JWTKey, ac.RefreshTokenTTL, ac.PasswordParams = Key, time.Hour, auth.TestParams
	if o.AccessTTL != 0 {
		ac.AccessTokenTTL = o.AccessTTL
	}
	ac.Clinic = nphies.Builder{ProviderLicense: "PR-FHIR", ProviderName: "HealthGraph Test Clinic", BaseURL: "http://clinic.test",
		ProviderType: "5", Facility: nphies.Facility{License: "LOC-TEST-1", Name: "HealthGraph Test Clinic, Olaya branch", Type: "OF"}}
	a, err := app.New(ac, app.Deps{DB: db, Logger: logger, Metrics: metrics, NPHIESClient: o.NPHIESClient, WrapStore: o.WrapStore})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ts := httptest.NewServer(a.Server.Handler())
	t.Cleanup(ts.Close)
	return &Env{URL: ts.URL, DB: db, Tokens: a.Tokens, Accounts: a.Accounts, Server: ts, Redis: a.Redis, Metrics: metrics, Sessions: a.Sessions, Outbox: a.Outbox}
}

// Response is a GraphQL response.
type Response struct {
	Status int
	Header http.Header
	Data   json.RawMessage
	Errors []Error
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns the first error's extensions.code, or "" without errors.
func (r Response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// Field returns the first error's extensions.field.
func (r Response) Field() string {
	if len(r.Errors) == 0 {
		return ""
	}
	f, _ := r.Errors[0].Extensions["field"].(string)
	return f
}

// Decode unmarshals the data into v, failing the test on errors.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected GraphQL errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
}

// Do posts a GraphQL operation, authenticated when token is not empty.
func (e *Env) Do(t testing.TB, token, query string, vars map[string]any) Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, e.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.Server.Client().Do(req)
	if err != nil {
		t.Fatalf("POST /graphql: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   json.RawMessage `json:"data"`
		Errors []Error         `json:"errors"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("POST /graphql answered %d with non-JSON %q", resp.StatusCode, raw)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Data: out.Data, Errors: out.Errors}
}

// Password is the password of users made by User.
const Password = "test-password-42"

// User creates an account with role and returns it with an access token.
func (e *Env) User(t testing.TB, email string, role hg.Role) (*hg.User, string) {
	t.Helper()
	ctx := context.Background()
	u, err := e.Accounts.Create(ctx, email, Password, email, role)
	if err != nil {
		t.Fatalf("create %s: %v", role, err)
	}
	token, _, err := e.Tokens.Issue(u)
	if err != nil {
		t.Fatal(err)
	}
	return u, token
}

// CatalogueItem adds (or updates) a chargeable item and returns its global
// ID, as an invoice line's itemId names it.
func (e *Env) CatalogueItem(t testing.TB, it hg.NewCatalogueItem) string {
	t.Helper()
	ctx := context.Background()
	if _, _, err := e.DB.ImportCatalogue(ctx, []hg.NewCatalogueItem{it}); err != nil {
		t.Fatalf("import %s %s: %v", it.System, it.Code, err)
	}
	var id uuid.UUID
	if err := e.DB.Pool.QueryRow(ctx, `SELECT id FROM catalogue_items WHERE system = $1 AND code = $2`,
		string(it.System), it.Code).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString([]byte("CatalogueItem:" + id.String()))
}

// Count returns the number of rows a SQL count query finds.
func (e *Env) Count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.DB.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// logOutput sends server logs to stderr when HG_TEST_LOG is set, to debug
// an INTERNAL error in a test; otherwise they are dropped.
func logOutput() io.Writer {
	if os.Getenv("HG_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
