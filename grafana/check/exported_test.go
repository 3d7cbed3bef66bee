package check

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/healthgraph/healthgraph/observability"
)

// family is what a dashboard or alert may rely on about a metric.
type family struct {
	typ    dto.MetricType
	labels map[string]bool
}

// exported returns every metric family NewMetrics registers, after recording
// one sample in each so that vectors show their labels. With HG_METRICS_URL
// set, the families come from that running server's /metrics instead.
func exported(t *testing.T) map[string]family {
	t.Helper()
	if url := os.Getenv("HG_METRICS_URL"); url != "" {
		return scrape(t, url)
	}
	m := observability.NewMetrics()
	exerciseAll(t, m)
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return families(fams)
}

func families(fams []*dto.MetricFamily) map[string]family {
	out := map[string]family{}
	for _, f := range fams {
		labels := map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		out[f.GetName()] = family{typ: f.GetType(), labels: labels}
	}
	return out
}

func scrape(t *testing.T, url string) map[string]family {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	var fams []*dto.MetricFamily
	for _, f := range parsed {
		fams = append(fams, f)
	}
	return families(fams)
}

// exerciseAll drives every instrument once, the way the service does.
func exerciseAll(t *testing.T, m *observability.Metrics) {
	t.Helper()
	ctx := context.Background()

	// HTTP server and client.
	h := m.HTTP(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/graphql", nil))
	peer := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer peer.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, peer.URL, nil)
	if resp, err := (&http.Client{Transport: m.RoundTripper(nil, "nphies")}).Do(req); err == nil {
		_ = resp.Body.Close()
	}

	// GraphQL: an operation with an error, and a resolver.
	ext := m.GraphQL()
	opCtx := graphql.WithOperationContext(ctx, &graphql.OperationContext{
		Operation: &ast.OperationDefinition{Operation: ast.Query, Name: "GetPatient"},
		ResolverMiddleware: func(ctx context.Context, next graphql.Resolver) (any, error) {
			return ext.(graphql.FieldInterceptor).InterceptField(ctx, next)
		},
	})
	ext.(graphql.ResponseInterceptor).InterceptResponse(opCtx, func(ctx context.Context) *graphql.Response {
		fctx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: "Query", Field: graphql.CollectedField{Field: &ast.Field{Name: "patient"}}, IsResolver: true})
		_, _ = graphql.GetOperationContext(fctx).ResolverMiddleware(fctx, func(context.Context) (any, error) { return nil, nil })
		return &graphql.Response{Errors: gqlerror.List{{Message: "x", Extensions: map[string]any{"code": "NOT_FOUND"}}}}
	})

	// Postgres: a statement through the tracer, and pool statistics from a
	// pool that never connects.
	tr := m.PgxTracer()
	qctx := tr.TraceQueryStart(ctx, nil, pgx.TraceQueryStartData{SQL: "SELECT 1"})
	tr.TraceQueryEnd(qctx, nil, pgx.TraceQueryEndData{Err: io.ErrUnexpectedEOF})
	pool, err := pgxpool.New(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	defer pool.Close()
	m.ObservePool(pool.Stat)

	// Redis: a command against a closed port fails fast and is measured.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	if err := m.InstrumentRedis(rdb); err != nil {
		t.Fatal(err)
	}
	_ = rdb.Get(ctx, "k").Err()

	m.CacheLookup("patient", true)
	m.CacheError("patient")
	m.CacheLoad("claims_summary", "refresh")
	m.RateLimited("login")
	m.NPHIESRequest(ctx, "claim-request", "complete", time.Second)
	m.SetOutboxBacklog(1, time.Minute)
	m.OutboxDelivery("sent")
	m.SetReady(true)
	m.SetBuildInfo("check")
	m.SetNPHIESClientCertExpiry(time.Now().Add(90 * 24 * time.Hour))
	m.ReadinessCheck("redis", true)
	m.AppointmentStatus("BOOKED")
	m.ClaimStatus("APPROVED")
	m.Billed(100)
	m.Approved(100)
	m.Paid(100)
	denials := m.ObserveDenials(func(context.Context) (observability.DenialSnapshot, error) {
		return observability.DenialSnapshot{Series: []observability.DenialSeries{
			{Payer: "7001463160", Claims: 10, Denied: 3, Paid: 7, PaymentDays: 70, Claimed: 100000, DeniedAmount: 20000, Recovered: 5000},
			{Reason: "CV-1-4", Claims: 5, DeniedAmount: 20000},
		}, UnknownClaims: 1, Duplicates: 1}, nil
	})
	if err := denials.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	_, span := m.LoaderBatch(ctx, "patient", 3)
	span.End()
}
