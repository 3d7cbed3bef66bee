package observability_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/healthgraph/healthgraph/observability"
)

// Example shows the wiring cmd/ and server/ do once per process: tracing
// first (so every later span has a provider), one Metrics shared by every
// layer, the HTTP middleware outermost, the gqlgen extension, the pgx tracer
// on the pool config, Redis and NPHIES instrumentation, and a flush on exit.
func Example() {
	ctx := context.Background()
	log := observability.NewLogger(os.Stdout, slog.LevelInfo)
	shutdown, err := observability.Setup(ctx, observability.Config{
		ServiceName: "healthgraph", Version: "v1.2.3", Environment: "production", SampleRatio: 0.1, Logger: log,
	})
	if err != nil {
		log.Error("tracing setup failed", "error", err.Error())
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(ctx)
	}()

	m := observability.NewMetrics()

	cfg, err := pgxpool.ParseConfig("postgres://postgres@127.0.0.1:5432/healthgraph")
	if err != nil {
		return
	}
	cfg.ConnConfig.Tracer = m.PgxTracer()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return
	}
	defer pool.Close()
	m.ObservePool(pool.Stat)

	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	_ = m.InstrumentRedis(rdb)

	nphiesClient := &http.Client{Transport: m.RoundTripper(http.DefaultTransport, "nphies")}
	_ = nphiesClient

	var es graphql.ExecutableSchema // the generated executor
	gql := handler.New(es)
	gql.Use(m.GraphQL())

	mux := http.NewServeMux()
	mux.Handle("/graphql", gql)
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Addr: ":8080", Handler: m.HTTP(mux)}
	_ = srv
}
