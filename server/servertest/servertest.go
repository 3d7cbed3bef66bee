// Package servertest runs the real HealthGraph HTTP handler on a fresh,
// migrated Postgres database for tests, and speaks GraphQL to it.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/observability"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/resolvers"
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
}

// Config returns the server configuration tests run with.
func Config() server.Config {
	return server.Config{
		MaxBodyBytes: 1 << 20, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		IdleTimeout: time.Minute, ShutdownTimeout: 10 * time.Second,
		DepthLimit: 12, ComplexityLimit: 5000, Introspection: true,
		CORSOrigins: []string{"https://app.example.com"},
	}
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

// Start serves the real handler over db with cfg.
func Start(t testing.TB, db *postgres.DB, cfg server.Config) *Env {
	t.Helper()
	tokens, err := auth.NewTokens(Key, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	accounts := &auth.Accounts{Users: db, Tokens: db, Audit: db, Access: tokens,
		RefreshTTL: time.Hour, LockThreshold: 5, LockDuration: 15 * time.Minute}
	srv := server.New(cfg, server.Deps{
		DB:       db,
		Resolver: &resolvers.Resolver{Accounts: accounts, Store: db},
		Tokens:   tokens,
		Logger:   observability.NewLogger(io.Discard, slog.LevelError),
		Metrics:  observability.NewMetrics(),
	})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &Env{URL: ts.URL, DB: db, Tokens: tokens, Accounts: accounts, Server: ts}
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

// Count returns the number of rows a SQL count query finds.
func (e *Env) Count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.DB.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
