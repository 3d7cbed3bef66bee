package observability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/observability"
)

// phi is what a patient's data looks like; no test may find it in telemetry.
var phi = []string{"Fatimah Al-Qahtani", "1087654321", "fatimah@example.sa", "+966501234567"}

const incomingTraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

type fixture struct {
	m        *observability.Metrics
	exporter *tracetest.InMemoryExporter
	tp       *sdktrace.TracerProvider
}

// setup returns Metrics wired to an in-memory span exporter with every trace
// sampled, and the W3C propagator, without touching the globals so tests can
// run in parallel.
func setup(t *testing.T) fixture {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	m := observability.NewMetrics(
		observability.WithTracerProvider(tp),
		observability.WithPropagator(observability.Propagator()),
	)
	return fixture{m: m, exporter: exp, tp: tp}
}

func pool(t *testing.T, f fixture) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(databaseURL())
	if err != nil {
		t.Fatalf("parse database url: %v", err)
	}
	cfg.ConnConfig.Tracer = f.m.PgxTracer()
	cfg.MaxConns = 2
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect to Postgres: %v", err)
	}
	t.Cleanup(p.Close)
	f.m.ObservePool(p.Stat)
	return p
}

// databaseURL is the test server: HG_TEST_DATABASE_URL or the local default.
func databaseURL() string {
	if url := os.Getenv("HG_TEST_DATABASE_URL"); url != "" {
		return url
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// schema is a stand-in for the generated executor: Query.patient is a
// resolver that runs SQL with a PHI-looking parameter and calls NPHIES;
// Patient.name is a trivial struct field; Patient.appointments is a method.
var schema = gqlparser.MustLoadSchema(&ast.Source{Input: `
	type Query { patient(id: ID!): Patient patients: [Patient!]! failing: String }
	type Patient { name: String! appointments: [String!]! }
	type Mutation { noop: String }
`})

// resolveField runs fn the way generated code does: under a field context,
// through the operation's resolver middleware (where field interceptors run).
func resolveField(ctx context.Context, object, field string, isResolver, isMethod bool, fn graphql.Resolver) (any, error) {
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{
		Object:     object,
		Field:      graphql.CollectedField{Field: &ast.Field{Name: field, Alias: field, Definition: schema.Types[object].Fields.ForName(field)}},
		IsResolver: isResolver,
		IsMethod:   isMethod,
	})
	return graphql.GetOperationContext(ctx).ResolverMiddleware(ctx, fn)
}

// executor mimics generated code closely enough for the extension: fields run
// inside the response handler, children under the operation context.
func executor(db *pgxpool.Pool, nphies *http.Client, nphiesURL string) graphql.ExecutableSchema {
	return &graphql.ExecutableSchemaMock{
		SchemaFunc: func() *ast.Schema { return schema },
		ComplexityFunc: func(context.Context, string, string, int, map[string]any) (int, bool) {
			return 1, true
		},
		ExecFunc: func(context.Context) graphql.ResponseHandler {
			ran := false
			return func(ctx context.Context) *graphql.Response {
				if ran {
					return nil
				}
				ran = true
				oc := graphql.GetOperationContext(ctx)
				switch oc.Operation.SelectionSet[0].(*ast.Field).Name {
				case "patient":
					_, err := resolveField(ctx, "Query", "patient", true, false, func(ctx context.Context) (any, error) {
						var got string
						if err := db.QueryRow(ctx, "SELECT $1::text", oc.Variables["id"]).Scan(&got); err != nil {
							return nil, err
						}
						req, err := http.NewRequestWithContext(ctx, http.MethodPost, nphiesURL, strings.NewReader("{}"))
						if err != nil {
							return nil, err
						}
						resp, err := nphies.Do(req)
						if err != nil {
							return nil, err
						}
						_ = resp.Body.Close()
						return got, nil
					})
					if err != nil {
						graphql.AddError(ctx, &gqlerror.Error{Message: "internal error", Extensions: map[string]any{"code": "INTERNAL"}})
						return &graphql.Response{Data: []byte(`{"patient":null}`)}
					}
					_, _ = resolveField(ctx, "Patient", "name", false, false, func(context.Context) (any, error) { return phi[0], nil })
					_, _ = resolveField(ctx, "Patient", "appointments", false, true, func(context.Context) (any, error) { return []string{}, nil })
					return &graphql.Response{Data: []byte(`{"patient":{"name":"x","appointments":[]}}`)}
				case "patients":
					// The benchmark's standard query: one resolver with one
					// statement, then a method field per row.
					_, _ = resolveField(ctx, "Query", "patients", true, false, func(ctx context.Context) (any, error) {
						rows, err := db.Query(ctx, "SELECT g, 'MRN-' || g FROM generate_series(1, 10) AS g")
						if err != nil {
							return nil, err
						}
						defer rows.Close()
						for rows.Next() {
						}
						return nil, rows.Err()
					})
					for range 10 {
						_, _ = resolveField(ctx, "Patient", "appointments", false, true, func(context.Context) (any, error) { return []string{}, nil })
						_, _ = resolveField(ctx, "Patient", "name", false, false, func(context.Context) (any, error) { return "x", nil })
					}
					return &graphql.Response{Data: []byte(`{"patients":[]}`)}
				default:
					_, err := resolveField(ctx, "Query", "failing", true, false, func(context.Context) (any, error) {
						return nil, errors.New("store down for " + phi[1])
					})
					graphql.AddError(ctx, &gqlerror.Error{Message: "internal error", Extensions: map[string]any{"code": "INTERNAL"}})
					_ = err
					return &graphql.Response{Data: []byte(`{"failing":null}`)}
				}
			}
		},
	}
}

// server assembles what server/ will: HTTP middleware outermost, then the
// gqlgen handler with the extension.
func server(f fixture, es graphql.ExecutableSchema) http.Handler {
	srv := handler.New(es)
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](100))
	srv.Use(f.m.GraphQL())
	mux := http.NewServeMux()
	mux.Handle("/graphql", srv)
	mux.Handle("/metrics", f.m.Handler())
	return f.m.HTTP(mux)
}

func postGraphQL(t *testing.T, h http.Handler, body map[string]any, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func spanByName(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	t.Fatalf("no span %q; spans: %v", name, names)
	return tracetest.SpanStub{}
}

func assertNoPHI(t *testing.T, where string, attrs []attribute.KeyValue) {
	t.Helper()
	for _, a := range attrs {
		v := a.Value.String()
		for _, p := range phi {
			if strings.Contains(v, p) {
				t.Errorf("%s: attribute %s=%q contains PHI %q", where, a.Key, v, p)
			}
		}
	}
}

func TestOneRequestIsOneTraceFromHTTPToSQLAndNPHIES(t *testing.T) {
	t.Parallel()
	f := setup(t)
	db := pool(t, f)

	var gotTraceParent string
	var mu sync.Mutex
	nphies := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotTraceParent = r.Header.Get("traceparent")
		mu.Unlock()
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(nphies.Close)
	client := &http.Client{Transport: f.m.RoundTripper(nil, "nphies")}

	h := server(f, executor(db, client, nphies.URL))
	rec := postGraphQL(t, h, map[string]any{
		"query":         `query GetPatient($id: ID!) { patient(id: $id) { name appointments } }`,
		"operationName": "GetPatient",
		"variables":     map[string]any{"id": phi[1], "email": phi[2]},
	}, http.Header{"Traceparent": {incomingTraceParent}})
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "errors") {
		t.Fatalf("response %d %s, want 200 without errors", rec.Code, rec.Body)
	}

	spans := f.exporter.GetSpans()
	wantTrace := "4bf92f3577b34da6a3ce929d0e0e4736"
	for _, s := range spans {
		if got := s.SpanContext.TraceID().String(); got != wantTrace {
			t.Errorf("span %q in trace %s, want the incoming trace %s", s.Name, got, wantTrace)
		}
		assertNoPHI(t, "span "+s.Name, s.Attributes)
		for _, e := range s.Events {
			assertNoPHI(t, "event of "+s.Name, e.Attributes)
		}
	}

	httpSpan := spanByName(t, spans, "POST /graphql")
	op := spanByName(t, spans, "query GetPatient")
	resolver := spanByName(t, spans, "Query.patient")
	sql := spanByName(t, spans, "query SELECT")
	out := spanByName(t, spans, "POST nphies")
	method := spanByName(t, spans, "Patient.appointments")
	parents := []struct {
		child, parent tracetest.SpanStub
		parentID      string
	}{
		{httpSpan, tracetest.SpanStub{}, "00f067aa0ba902b7"},
		{op, httpSpan, ""},
		{resolver, op, ""},
		{sql, resolver, ""},
		{out, resolver, ""},
		{method, op, ""},
	}
	for _, p := range parents {
		want := p.parentID
		if want == "" {
			want = p.parent.SpanContext.SpanID().String()
		}
		if got := p.child.Parent.SpanID().String(); got != want {
			t.Errorf("span %q has parent %s, want %s (%s)", p.child.Name, got, want, p.parent.Name)
		}
	}
	for _, s := range spans {
		if s.Name == "Patient.name" {
			t.Errorf("trivial field Patient.name got a span; only methods and resolvers should")
		}
	}

	mu.Lock()
	defer mu.Unlock()
	wantOut := "00-" + wantTrace + "-" + out.SpanContext.SpanID().String() + "-01"
	if gotTraceParent != wantOut {
		t.Errorf("NPHIES received traceparent %q, want %q", gotTraceParent, wantOut)
	}

	reg := f.m.Registry()
	if got := value(t, reg, "healthgraph_graphql_operations_total", map[string]string{"operation": "GetPatient", "type": "query", "outcome": "ok"}); got != 1 {
		t.Errorf("graphql_operations_total{GetPatient,query,ok} = %v, want 1", got)
	}
	assertExemplar(t, reg, "healthgraph_graphql_operation_duration_seconds", wantTrace)
	assertExemplar(t, reg, "healthgraph_db_query_duration_seconds", wantTrace)
	assertExemplar(t, reg, "healthgraph_http_request_duration_seconds", wantTrace)
}

// value returns the value of the series name{labels} (the sample count for
// histograms), failing the test when it is absent.
func value(t *testing.T, reg interface {
	Gather() ([]*dto.MetricFamily, error)
}, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, fam := range fams {
		if fam.GetName() != name {
			continue
		}
	metrics:
		for _, m := range fam.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func assertExemplar(t *testing.T, reg interface {
	Gather() ([]*dto.MetricFamily, error)
}, name, traceID string) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, fam := range fams {
		if fam.GetName() != name {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, b := range m.GetHistogram().GetBucket() {
				for _, l := range b.GetExemplar().GetLabel() {
					if l.GetName() == "trace_id" && l.GetValue() == traceID {
						return
					}
				}
			}
		}
	}
	t.Errorf("%s has no exemplar with trace_id %s", name, traceID)
}

func TestServerErrorsAreCountedByCodeWithoutTheirMessages(t *testing.T) {
	t.Parallel()
	f := setup(t)
	h := server(f, executor(nil, nil, ""))
	rec := postGraphQL(t, h, map[string]any{"query": `query Broken { failing }`, "operationName": "Broken"}, nil)
	if !strings.Contains(rec.Body.String(), "INTERNAL") {
		t.Fatalf("response %s, want an INTERNAL error", rec.Body)
	}
	reg := f.m.Registry()
	if got := value(t, reg, "healthgraph_graphql_operations_total", map[string]string{"operation": "Broken", "outcome": "server_error"}); got != 1 {
		t.Errorf("server_error operations = %v, want 1", got)
	}
	if got := value(t, reg, "healthgraph_graphql_errors_total", map[string]string{"operation": "Broken", "code": "INTERNAL"}); got != 1 {
		t.Errorf("INTERNAL errors = %v, want 1", got)
	}
	spans := f.exporter.GetSpans()
	for _, name := range []string{"query Broken", "Query.failing"} {
		s := spanByName(t, spans, name)
		if s.Status.Code.String() != "Error" {
			t.Errorf("span %q status %v, want Error", name, s.Status)
		}
		if strings.Contains(s.Status.Description, phi[1]) {
			t.Errorf("span %q status quotes the error message: %q", name, s.Status.Description)
		}
		assertNoPHI(t, name, s.Attributes)
	}
}

func TestParseErrorsAreCountedUnderOther(t *testing.T) {
	t.Parallel()
	f := setup(t)
	h := server(f, executor(nil, nil, ""))
	postGraphQL(t, h, map[string]any{"query": `query {`}, nil)
	if got := value(t, f.m.Registry(), "healthgraph_graphql_errors_total", map[string]string{"operation": "other", "code": "GRAPHQL_PARSE_FAILED"}); got != 1 {
		t.Errorf("parse errors = %v, want 1", got)
	}
}

func TestOperationNamesAreBounded(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ext := f.m.GraphQL().(graphql.ResponseInterceptor)
	for i := range 250 {
		name := "Op" + strings.Repeat("x", i%7) + string(rune('A'+i%26)) + strings.Repeat("y", i/26)
		ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{
			Operation: &ast.OperationDefinition{Operation: ast.Query, Name: name},
		})
		ext.InterceptResponse(ctx, func(context.Context) *graphql.Response { return &graphql.Response{} })
	}
	ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{
		Operation: &ast.OperationDefinition{Operation: ast.Query},
	})
	ext.InterceptResponse(ctx, func(context.Context) *graphql.Response { return &graphql.Response{} })

	fams, err := f.m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, fam := range fams {
		if fam.GetName() != "healthgraph_graphql_operations_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "operation" {
					names[l.GetValue()] = true
				}
			}
		}
	}
	if len(names) > 201 || !names["other"] {
		t.Errorf("%d distinct operation labels (other present: %v), want at most 200 names plus \"other\"", len(names), names["other"])
	}
}

func TestSQLSpansCarryTheStatementButNoParameters(t *testing.T) {
	t.Parallel()
	f := setup(t)
	db := pool(t, f)
	ctx, parent := f.tp.Tracer("test").Start(context.Background(), "parent")
	for _, p := range phi {
		var got string
		if err := db.QueryRow(ctx, "SELECT $1::text", p).Scan(&got); err != nil || got != p {
			t.Fatalf("SELECT $1::text = %q, %v; want %q", got, err, p)
		}
	}
	if _, err := db.Exec(ctx, "SELECT nonexistent_column_for_test FROM pg_class WHERE relname = $1", phi[0]); err == nil {
		t.Fatal("invalid statement succeeded")
	}
	// Postgres quotes a value it cannot parse in the error message, and pgx
	// quotes one it cannot encode: neither may reach the span.
	if _, err := db.Exec(ctx, "SELECT $1::text::uuid", phi[0]); err == nil || !strings.Contains(err.Error(), phi[0]) {
		t.Fatalf("error %v, want Postgres to quote the value (the leak this test guards against)", err)
	}
	if _, err := db.Exec(ctx, "SELECT $1::int", phi[3]); err == nil {
		t.Fatal("encoding a phone number as int succeeded")
	}
	parent.End()

	var sqlSpans int
	for _, s := range f.exporter.GetSpans() {
		assertNoPHI(t, "span "+s.Name, s.Attributes)
		assertNoPHI(t, "status of "+s.Name, []attribute.KeyValue{attribute.String("status", s.Status.Description)})
		for _, e := range s.Events {
			assertNoPHI(t, "event of "+s.Name, e.Attributes)
		}
		if s.Name == "query SELECT" {
			sqlSpans++
			var text string
			for _, a := range s.Attributes {
				if a.Key == "db.query.text" {
					text = a.Value.AsString()
				}
			}
			if !strings.Contains(text, "$1") {
				t.Errorf("SQL span db.query.text = %q, want the parameterised statement", text)
			}
		}
	}
	if sqlSpans < len(phi)+1 {
		t.Errorf("%d SELECT spans, want at least %d", sqlSpans, len(phi)+1)
	}
	reg := f.m.Registry()
	if got := value(t, reg, "healthgraph_db_query_duration_seconds", map[string]string{"operation": "SELECT"}); got < float64(len(phi)+1) {
		t.Errorf("SELECT latency observations = %v, want at least %d", got, len(phi)+1)
	}
	if got := value(t, reg, "healthgraph_db_query_errors_total", map[string]string{"operation": "SELECT"}); got != 3 {
		t.Errorf("SELECT errors = %v, want 3", got)
	}
	if got := value(t, reg, "healthgraph_db_pool_max_connections", nil); got != 2 {
		t.Errorf("pool max connections = %v, want 2", got)
	}
	if got := value(t, reg, "healthgraph_db_pool_acquires_total", nil); got < 1 {
		t.Errorf("pool acquires = %v, want at least 1", got)
	}
}

func TestRoundTripperInjectsTraceParent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	got := make(chan string, 1)
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(peer.Close)
	ctx, parent := f.tp.Tracer("test").Start(context.Background(), "outbox delivery")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, peer.URL+"/$process-message", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: f.m.RoundTripper(nil, "nphies")}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	parent.End()

	client := spanByName(t, f.exporter.GetSpans(), "POST nphies")
	want := "00-" + parent.SpanContext().TraceID().String() + "-" + client.SpanContext.SpanID().String() + "-01"
	if tp := <-got; tp != want {
		t.Errorf("peer received traceparent %q, want %q", tp, want)
	}
	if client.Parent.SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("client span parent %s, want %s", client.Parent.SpanID(), parent.SpanContext().SpanID())
	}
	if v := value(t, f.m.Registry(), "healthgraph_http_client_requests_total", map[string]string{"peer": "nphies", "code": "202"}); v != 1 {
		t.Errorf("client requests = %v, want 1", v)
	}
}

func TestStartLinkedStartsANewTraceLinkedToTheOrigin(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, origin := f.tp.Tracer("test").Start(context.Background(), "mutation SubmitClaim")
	stored := observability.TraceParent(ctx)
	origin.End()

	_, work := f.m.StartLinked(context.Background(), "nphies.outbox.deliver", observability.SpanContextFromTraceParent(stored))
	observability.End(work, errors.New("timeout for "+phi[0]))

	s := spanByName(t, f.exporter.GetSpans(), "nphies.outbox.deliver")
	if s.SpanContext.TraceID() == origin.SpanContext().TraceID() {
		t.Error("background span continued the request trace; want a new trace")
	}
	if len(s.Links) != 1 || s.Links[0].SpanContext.SpanID() != origin.SpanContext().SpanID() {
		t.Errorf("links = %+v, want one link to the origin span %s", s.Links, origin.SpanContext().SpanID())
	}
	if s.Status.Code.String() != "Error" || strings.Contains(s.Status.Description, phi[0]) {
		t.Errorf("status = %+v, want Error without the message", s.Status)
	}
	if sc := observability.SpanContextFromTraceParent("garbage"); sc.IsValid() {
		t.Error("garbage traceparent parsed as valid")
	}
}

func TestLogLinesCarryTraceSpanAndRequestIDsAndNoPHI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var buf bytes.Buffer
	log := observability.NewLogger(&buf, slog.LevelInfo)
	ctx, span := f.tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	ctx = observability.WithRequestID(ctx, "req-123")
	log.With("component", "test").InfoContext(ctx, "patient created", "patient_id", "0190c0de", "email", phi[2], "national_id", phi[1])

	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q is not JSON: %v", buf.String(), err)
	}
	want := map[string]string{
		"trace_id":    span.SpanContext().TraceID().String(),
		"span_id":     span.SpanContext().SpanID().String(),
		"request_id":  "req-123",
		"email":       observability.Redacted,
		"national_id": observability.Redacted,
		"patient_id":  "0190c0de",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log field %s = %v, want %q (line %s)", k, line[k], v, buf.String())
		}
	}
	for _, p := range phi {
		if strings.Contains(buf.String(), p) {
			t.Errorf("log line contains PHI %q: %s", p, buf.String())
		}
	}

	buf.Reset()
	log.InfoContext(context.Background(), "no request")
	if strings.Contains(buf.String(), "trace_id") || strings.Contains(buf.String(), "request_id") {
		t.Errorf("line without a span or request id has ids: %s", buf.String())
	}
	if got := observability.TraceID(context.Background()); got != "" {
		t.Errorf("TraceID without a span = %q, want empty", got)
	}
	if got := observability.TraceID(ctx); got != span.SpanContext().TraceID().String() {
		t.Errorf("TraceID = %q, want %q", got, span.SpanContext().TraceID())
	}
	if got := observability.RequestID(ctx); got != "req-123" {
		t.Errorf("RequestID = %q, want req-123", got)
	}
}

// Exercise records one sample in every metric so that gathering shows every
// family; the Grafana check uses the same idea.
func exercise(m *observability.Metrics) {
	ctx := context.Background()
	m.CacheLookup("patient", true)
	m.CacheLookup("patient", false)
	m.CacheError("patient")
	m.CacheLoad("claims_summary", "refresh")
	m.RateLimited("login")
	m.NPHIESRequest(ctx, "claim-request", "complete", 120*time.Millisecond)
	m.SetOutboxBacklog(3, 42*time.Second)
	m.OutboxDelivery("sent")
	m.AppointmentStatus("BOOKED")
	m.ClaimStatus("APPROVED")
	m.Billed(11500)
	m.Approved(10000)
	m.Paid(1500)
	m.SetReady(true)
	m.ReadinessCheck("postgres", true)
	_, span := m.LoaderBatch(ctx, "patient", 7)
	span.End()
}

func TestMetricsAreLintClean(t *testing.T) {
	t.Parallel()
	f := setup(t)
	exercise(f.m)
	h := server(f, executor(nil, nil, ""))
	postGraphQL(t, h, map[string]any{"query": `query Broken { failing }`}, nil)
	problems, err := testutil.GatherAndLint(f.m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	fams, err := f.m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range fams {
		name := fam.GetName()
		if !strings.HasPrefix(name, "healthgraph_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("metric %s lacks the healthgraph_ prefix", name)
		}
	}
}

func TestMetricsEndpointServesOpenMetricsWithExemplars(t *testing.T) {
	t.Parallel()
	f := setup(t)
	h := server(f, executor(nil, nil, ""))
	postGraphQL(t, h, map[string]any{"query": `query Broken { failing }`, "operationName": "Broken"}, http.Header{"Traceparent": {incomingTraceParent}})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.String()
	if !strings.Contains(body, `# {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"}`) {
		t.Errorf("/metrics in OpenMetrics has no exemplar with the request's trace id")
	}
	if !strings.Contains(body, `healthgraph_http_requests_total{code="200",method="POST",route="/graphql"} 1.0`) {
		t.Errorf("/metrics lacks the /graphql request count:\n%s", grep(body, "healthgraph_http_requests_total"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestHTTPRouteLabelIsBounded(t *testing.T) {
	t.Parallel()
	f := setup(t)
	h := f.m.HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }))
	for _, p := range []string{"/wp-admin", "/patients/1087654321", "/health"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	reg := f.m.Registry()
	if got := value(t, reg, "healthgraph_http_requests_total", map[string]string{"route": "other", "code": "404"}); got != 2 {
		t.Errorf("other route requests = %v, want 2", got)
	}
	if got := value(t, reg, "healthgraph_http_requests_total", map[string]string{"route": "/health"}); got != 1 {
		t.Errorf("/health requests = %v, want 1", got)
	}
	for _, s := range f.exporter.GetSpans() {
		if strings.Contains(s.Name, "1087654321") {
			t.Errorf("span name %q carries the path", s.Name)
		}
		assertNoPHI(t, "span "+s.Name, s.Attributes)
	}
}

// otlpReceiver counts OTLP/HTTP trace exports.
type otlpReceiver struct {
	mu    sync.Mutex
	posts int
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if r.URL.Path == "/v1/traces" {
		o.mu.Lock()
		o.posts++
		o.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

// Setup changes process globals and reads the environment, so these tests
// do not run in parallel.
func TestSetupExportsOnlyWhenAnEndpointIsSet(t *testing.T) {
	t.Run("without endpoint spans get trace ids but nothing is recorded", func(t *testing.T) {
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
		for _, ratio := range []float64{0, 1} {
			shutdown, err := observability.Setup(context.Background(), observability.Config{ServiceName: "healthgraph", Version: "test", Environment: "test", SampleRatio: ratio})
			if err != nil {
				t.Fatal(err)
			}
			m := observability.NewMetrics()
			ctx, span := m.StartSpan(context.Background(), "work")
			if observability.TraceID(ctx) == "" {
				t.Errorf("ratio %v: no trace id; want one to quote", ratio)
			}
			if span.IsRecording() || span.SpanContext().IsSampled() {
				t.Errorf("ratio %v: a span is recorded with no exporter to take it", ratio)
			}
			span.End()
			// A caller's sampled traceparent does not make it record either.
			req := httptest.NewRequest(http.MethodGet, "/health", nil)
			req.Header.Set("traceparent", incomingTraceParent)
			var sampled bool
			m.HTTP(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				sampled = trace.SpanFromContext(r.Context()).IsRecording()
			})).ServeHTTP(httptest.NewRecorder(), req)
			if sampled {
				t.Errorf("ratio %v: a request continuing a sampled trace recorded its span with no exporter", ratio)
			}
			if err := shutdown(context.Background()); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
	})
	t.Run("with endpoint spans are exported over OTLP/HTTP on shutdown", func(t *testing.T) {
		recv := &otlpReceiver{}
		collector := httptest.NewServer(recv)
		defer collector.Close()
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
		t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
		shutdown, err := observability.Setup(context.Background(), observability.Config{ServiceName: "healthgraph", SampleRatio: 1})
		if err != nil {
			t.Fatal(err)
		}
		h := observability.NewMetrics().HTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		req := httptest.NewRequest(http.MethodGet, "/health", nil)
		req.Header.Set("traceparent", incomingTraceParent)
		h.ServeHTTP(httptest.NewRecorder(), req)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			t.Fatalf("shutdown: %v", err)
		}
		recv.mu.Lock()
		defer recv.mu.Unlock()
		if recv.posts == 0 {
			t.Error("collector received no trace export")
		}
	})
	t.Run("an unknown protocol is an error", func(t *testing.T) {
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
		t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
		if _, err := observability.Setup(context.Background(), observability.Config{}); err == nil {
			t.Error("Setup accepted an unknown OTLP protocol")
		}
	})
}

var (
	_ = propagation.TraceContext{}
	_ trace.Span
)

func hasSeries(fams []*dto.MetricFamily, name string) bool {
	for _, fam := range fams {
		if fam.GetName() == name && len(fam.GetMetric()) > 0 {
			return true
		}
	}
	return false
}

// A real server's ResponseWriter can hijack; the middleware must still see
// ordinary requests as ordinary (status as written, latency observed) and
// count a taken-over connection as 101 without observing its lifetime.
func TestHTTPOverARealServerCountsStatusAndHijacks(t *testing.T) {
	t.Parallel()
	f := setup(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/graphql", func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		_, _ = buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		_ = buf.Flush()
		_ = conn.Close()
	})
	srv := httptest.NewServer(f.m.HTTP(mux))
	t.Cleanup(srv.Close)
	for _, p := range []string{"/ready", "/graphql"} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
	}
	reg := f.m.Registry()
	// The server finishes its bookkeeping after the client got the response.
	eventually.Poll(func() bool {
		fams, _ := reg.Gather()
		return countOf(fams, "healthgraph_http_requests_total") >= 2
	})
	if got := value(t, reg, "healthgraph_http_requests_total", map[string]string{"route": "/ready", "code": "503"}); got != 1 {
		t.Errorf("/ready 503 count = %v, want 1", got)
	}
	if got := value(t, reg, "healthgraph_ready", nil); got != 0 {
		t.Errorf("healthgraph_ready after a 503 from /ready = %v, want 0", got)
	}
	if got := value(t, reg, "healthgraph_http_request_duration_seconds", map[string]string{"route": "/ready"}); got != 1 {
		t.Errorf("/ready latency observations = %v, want 1", got)
	}
	if got := value(t, reg, "healthgraph_http_requests_total", map[string]string{"route": "/graphql", "code": "101"}); got != 1 {
		t.Errorf("/graphql 101 count = %v, want 1", got)
	}
	fams, _ := reg.Gather()
	for _, fam := range fams {
		if fam.GetName() != "healthgraph_http_request_duration_seconds" {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && l.GetValue() == "/graphql" {
					t.Error("a hijacked connection's lifetime was observed as request latency")
				}
			}
		}
	}
}

func countOf(fams []*dto.MetricFamily, name string) int {
	for _, fam := range fams {
		if fam.GetName() == name {
			n := 0
			for _, m := range fam.GetMetric() {
				n += int(m.GetCounter().GetValue())
			}
			return n
		}
	}
	return 0
}

func TestOperationAllowlistFoldsEveryOtherName(t *testing.T) {
	t.Parallel()
	m := observability.NewMetrics(observability.WithOperationNames("GetPatient"))
	ext := m.GraphQL().(graphql.ResponseInterceptor)
	for _, name := range []string{"GetPatient", "FatimahAlQahtani"} {
		ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{
			Operation: &ast.OperationDefinition{Operation: ast.Query, Name: name},
		})
		ext.InterceptResponse(ctx, func(context.Context) *graphql.Response { return &graphql.Response{} })
	}
	reg := m.Registry()
	if got := value(t, reg, "healthgraph_graphql_operations_total", map[string]string{"operation": "GetPatient"}); got != 1 {
		t.Errorf("GetPatient = %v, want 1", got)
	}
	if got := value(t, reg, "healthgraph_graphql_operations_total", map[string]string{"operation": "other"}); got != 1 {
		t.Errorf("other = %v, want 1 (the name outside the allowlist)", got)
	}
}

// The absence alerts and the rollout markers rely on build_info from the
// start; the certificate alert on an expiry that exists only with a
// certificate; the failed-delivery alert on a failed series that starts at 0.
func TestBuildInfoCertificateExpiryAndDeliveryOutcomesAreExported(t *testing.T) {
	t.Parallel()
	m := observability.NewMetrics()
	if n, err := testutil.GatherAndCount(m.Registry(), "healthgraph_nphies_client_cert_expiry_seconds"); err != nil || n != 0 {
		t.Errorf("certificate expiry exported without a certificate: %d series (%v)", n, err)
	}
	m.SetBuildInfo("v1.2.3")
	m.SetBuildInfo("v1.2.4")
	notAfter := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	m.SetNPHIESClientCertExpiry(notAfter)
	want := `
# HELP healthgraph_nphies_client_cert_expiry_seconds Unix time in seconds at which the NPHIES client certificate the process loaded expires; absent when no certificate is configured.
# TYPE healthgraph_nphies_client_cert_expiry_seconds gauge
healthgraph_nphies_client_cert_expiry_seconds 1.8038592e+09
# HELP healthgraph_nphies_outbox_deliveries_total NPHIES outbox delivery attempts, by outcome (sent, retry, failed).
# TYPE healthgraph_nphies_outbox_deliveries_total counter
healthgraph_nphies_outbox_deliveries_total{outcome="failed"} 0
healthgraph_nphies_outbox_deliveries_total{outcome="retry"} 0
healthgraph_nphies_outbox_deliveries_total{outcome="sent"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"healthgraph_nphies_client_cert_expiry_seconds", "healthgraph_nphies_outbox_deliveries_total"); err != nil {
		t.Error(err)
	}
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "healthgraph_build_info" {
			continue
		}
		if len(f.GetMetric()) != 1 {
			t.Fatalf("build_info has %d series, want the last version only", len(f.GetMetric()))
		}
		labels := map[string]string{}
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] != "v1.2.4" || !strings.HasPrefix(labels["goversion"], "go") || f.GetMetric()[0].GetGauge().GetValue() != 1 {
			t.Errorf("build_info %v = %v", labels, f.GetMetric()[0].GetGauge().GetValue())
		}
		return
	}
	t.Error("healthgraph_build_info is not exported")
}
