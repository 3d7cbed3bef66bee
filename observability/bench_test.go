package observability_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vektah/gqlparser/v2/ast"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/healthgraph/healthgraph/observability"
)

// discard is an exporter that drops spans after the SDK has built and
// batched them, so the benchmark measures the in-process cost of tracing.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkStandardQuery measures one GraphQL request (HTTP middleware,
// operation, one resolver running one Postgres statement, ten method fields)
// with tracing off (no-op provider; metrics still on), with every trace
// sampled, and without any instrumentation for reference. Compare ns/op:
//
//	go test -run '^$' -bench StandardQuery -benchtime 3s ./observability/
func BenchmarkStandardQuery(b *testing.B) {
	sampled := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { _ = sampled.Shutdown(context.Background()) })
	modes := []struct {
		name       string
		tp         trace.TracerProvider
		instrument bool
	}{
		{"uninstrumented", noop.NewTracerProvider(), false},
		{"tracing=off", noop.NewTracerProvider(), true},
		{"tracing=on,ratio=1.0", sampled, true},
	}
	body := `{"query":"query ListPatients { patients { name appointments } }","operationName":"ListPatients"}`
	for _, mode := range modes {
		b.Run(mode.name, func(b *testing.B) {
			m := observability.NewMetrics(observability.WithTracerProvider(mode.tp), observability.WithPropagator(observability.Propagator()))
			f := fixture{m: m}
			url := databaseURL()
			cfg, err := pgxpool.ParseConfig(url)
			if err != nil {
				b.Fatal(err)
			}
			if mode.instrument {
				cfg.ConnConfig.Tracer = m.PgxTracer()
			}
			cfg.MaxConns = 4
			db, err := pgxpool.NewWithConfig(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(db.Close)
			var h http.Handler
			if mode.instrument {
				h = server(f, executor(db, nil, ""))
			} else {
				srv := handler.New(executor(db, nil, ""))
				srv.AddTransport(transport.POST{})
				srv.SetQueryCache(lru.New[*ast.QueryDocument](100))
				h = srv
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}
