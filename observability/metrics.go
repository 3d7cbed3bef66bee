package observability

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Namespace prefixes every metric the service defines.
const Namespace = "healthgraph"

// instrumentationName names the tracer our own spans come from.
const instrumentationName = "github.com/healthgraph/healthgraph/observability"

// Histogram buckets in seconds, chosen per layer so the SLO thresholds
// (250 ms and 1 s for the API) fall on bucket boundaries.
var (
	requestBuckets  = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	resolverBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
	queryBuckets    = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	upstreamBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
)

// Option configures NewMetrics.
type Option func(*Metrics)

// WithTracerProvider makes the instrumentation use tp instead of the global
// provider; tests use it to record spans in memory.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(m *Metrics) { m.tp = tp }
}

// WithPropagator makes the HTTP middleware and round tripper use p instead of
// the global propagator.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(m *Metrics) { m.prop = p }
}

// WithOperationNames restricts the operation label of the GraphQL metrics to
// the given names (for example the operations of the persisted-query
// allowlist); every other name becomes "other". Without it the first 200
// distinct names seen are admitted. Operation names are chosen by clients,
// so in production an allowlist is the only way to be sure no label value
// was made up by a caller.
func WithOperationNames(names ...string) Option {
	return func(m *Metrics) { m.operationAllowlist = names }
}

// Metrics owns the service's Prometheus registry and every metric in it, and
// hands out the instrumentation (HTTP, GraphQL, pgx, outgoing HTTP) that
// records into it. One Metrics is created per process in cmd/ and shared;
// all methods are safe for concurrent use. The zero value is not usable.
type Metrics struct {
	reg  *prometheus.Registry
	tp   trace.TracerProvider
	tr   trace.Tracer
	prop propagation.TextMapPropagator

	operationAllowlist []string

	// HTTP server.
	httpRequests *prometheus.CounterVec
	httpDuration histogram
	httpInFlight prometheus.Gauge

	// GraphQL.
	gqlOperations *prometheus.CounterVec
	gqlDuration   histogram
	gqlErrors     *prometheus.CounterVec
	gqlResolver   histogram
	operations    *boundedSet
	errorCodes    *boundedSet
	fieldMu       sync.RWMutex
	fields        map[fieldKey]resolverField

	// Dataloaders.
	loaderBatch *prometheus.HistogramVec
	loaders     *boundedSet

	// Database.
	dbDuration histogram
	dbErrors   *prometheus.CounterVec
	poolMu     sync.Mutex
	poolStat   func() *pgxpool.Stat

	// Redis and cache.
	cacheRequests *prometheus.CounterVec
	cacheErrors   *prometheus.CounterVec
	cacheLoads    *prometheus.CounterVec
	cacheKinds    *boundedSet
	loadReasons   *boundedSet
	redisDuration histogram
	redisErrors   *prometheus.CounterVec
	redisCommands *boundedSet

	// Rate limiting.
	rateLimited *prometheus.CounterVec
	policies    *boundedSet

	// Outgoing HTTP.
	clientRequests *prometheus.CounterVec
	clientDuration histogram
	peers          *boundedSet

	// NPHIES.
	nphiesRequests   *prometheus.CounterVec
	nphiesDuration   histogram
	outboxPending    prometheus.Gauge
	outboxOldest     prometheus.Gauge
	outboxDeliveries *prometheus.CounterVec
	clientCertExpiry *prometheus.GaugeVec
	messageTypes     *boundedSet
	outcomes         *boundedSet

	// Readiness.
	ready       *prometheus.GaugeVec
	readyChecks *prometheus.GaugeVec
	checks      *boundedSet

	// Build.
	buildInfo *prometheus.GaugeVec

	// Business.
	appointments *prometheus.CounterVec
	claims       *prometheus.CounterVec
	billed       prometheus.Counter
	approved     prometheus.Counter
	paid         prometheus.Counter
	statuses     *boundedSet

	// Accounts.
	hashUpgrades *prometheus.CounterVec
}

// NewMetrics creates the registry (with the Go runtime and process
// collectors) and registers every HealthGraph metric in it. It panics only on
// a programming error (a duplicate or invalid metric definition).
func NewMetrics(opts ...Option) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	for _, o := range opts {
		o(m)
	}
	// Looking a tracer up takes a lock in the SDK; the global provider's
	// tracer delegates to whatever provider Setup installs later.
	m.tr = m.tracerProvider().Tracer(instrumentationName)
	m.fields = map[fieldKey]resolverField{}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	f := factory{reg: m.reg}

	m.httpRequests = f.counter("http_requests_total",
		"HTTP requests served, by bounded route, method and status code.", "route", "method", "code")
	m.httpDuration = f.histogram("http_request_duration_seconds",
		"HTTP request latency in seconds, by bounded route and method; WebSocket upgrades are not observed.", requestBuckets, "route", "method")
	m.httpInFlight = f.gauge("http_requests_in_flight", "HTTP requests currently being served.")

	m.gqlOperations = f.counter("graphql_operations_total",
		"GraphQL operations answered, by operation name (bounded; anonymous and overflow fold into \"other\"), type and outcome (ok, client_error, server_error).",
		"operation", "type", "outcome")
	m.gqlDuration = f.histogram("graphql_operation_duration_seconds",
		"GraphQL operation latency in seconds from request read to response, by operation name and type.", requestBuckets, "operation", "type")
	m.gqlErrors = f.counter("graphql_errors_total",
		"GraphQL errors returned to clients, by operation name and extensions.code (UNSPECIFIED when missing).", "operation", "code")
	m.gqlResolver = f.histogram("graphql_resolver_duration_seconds",
		"Latency in seconds of non-trivial GraphQL field resolvers, by \"Type.field\".", resolverBuckets, "field")
	m.operations = newBoundedSet(200)
	if m.operationAllowlist != nil {
		// Preset and full: only the allowlisted names are ever admitted.
		m.operations = newBoundedSet(0, m.operationAllowlist...)
	}
	m.errorCodes = newBoundedSet(50)

	m.loaderBatch = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "dataloader_batch_size",
		Help:    "Keys per dataloader batch, by loader; many batches of one key mean the loader is bypassed (N+1).",
		Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200}}, []string{"loader"})
	m.reg.MustRegister(m.loaderBatch)
	m.loaders = newBoundedSet(30)

	m.dbDuration = f.histogram("db_query_duration_seconds",
		"Postgres statement latency in seconds, by SQL verb (SELECT, INSERT, UPDATE, DELETE, ..., BATCH, OTHER).", queryBuckets, "operation")
	m.dbErrors = f.counter("db_query_errors_total",
		"Postgres statements that returned an error, by SQL verb.", "operation")
	m.reg.MustRegister(poolCollector{m})

	m.cacheRequests = f.counter("cache_requests_total",
		"Read-through cache lookups, by cache kind and result (hit, miss).", "kind", "result")
	m.cacheErrors = f.counter("cache_errors_total",
		"Cache operations that failed (Redis unreachable or slow) and fell back to the source, by cache kind.", "kind")
	m.cacheLoads = f.counter("cache_loads_total",
		"Loads from the source behind the read-through cache, by cache kind and reason (miss, refresh ahead of expiry); concurrent misses of one key in a replica share one load.", "kind", "reason")
	m.cacheKinds = newBoundedSet(30)
	m.loadReasons = newBoundedSet(0, "miss", "refresh")
	m.redisDuration = f.histogram("redis_command_duration_seconds",
		"Redis command latency in seconds, by command name (pipelines as \"pipeline\").", resolverBuckets, "command")
	m.redisErrors = f.counter("redis_command_errors_total",
		"Redis commands that failed, excluding cache misses, by command name.", "command")
	m.redisCommands = newBoundedSet(60)

	m.rateLimited = f.counter("rate_limited_requests_total",
		"Requests rejected by the rate limiter, by policy.", "policy")
	m.policies = newBoundedSet(20)

	m.clientRequests = f.counter("http_client_requests_total",
		"Outgoing HTTP requests, by peer service and status code (\"error\" when no response arrived).", "peer", "code")
	m.clientDuration = f.histogram("http_client_request_duration_seconds",
		"Outgoing HTTP request latency in seconds, by peer service.", upstreamBuckets, "peer")
	m.peers = newBoundedSet(20)

	m.nphiesRequests = f.counter("nphies_requests_total",
		"NPHIES messages exchanged, by message type (e.g. claim-request) and outcome (e.g. complete, queued, error).", "message_type", "outcome")
	m.nphiesDuration = f.histogram("nphies_request_duration_seconds",
		"NPHIES request latency in seconds, by message type.", upstreamBuckets, "message_type")
	m.outboxPending = f.gauge("nphies_outbox_pending_messages",
		"NPHIES outbox messages waiting to be sent (the same backlog is reported by every replica; aggregate with max).")
	m.outboxOldest = f.gauge("nphies_outbox_oldest_pending_age_seconds",
		"Age in seconds of the oldest NPHIES outbox message waiting to be sent; 0 when the outbox is empty.")
	m.outboxDeliveries = f.counter("nphies_outbox_deliveries_total",
		"NPHIES outbox delivery attempts, by outcome (sent, retry, failed).", "outcome")
	m.messageTypes = newBoundedSet(30)
	m.outcomes = newBoundedSet(20)
	// Each outcome starts at 0, so the first failed delivery is an increase
	// that increase() and the NPHIESDeliveriesFailed alert can see.
	for _, o := range []string{"sent", "retry", "failed"} {
		m.outboxDeliveries.WithLabelValues(m.outcomes.value(o))
	}
	// Absent until SetNPHIESClientCertExpiry: no certificate, no expiry.
	m.clientCertExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "nphies_client_cert_expiry_seconds",
		Help: "Unix time in seconds at which the NPHIES client certificate the process loaded expires; absent when no certificate is configured."}, nil)
	m.reg.MustRegister(m.clientCertExpiry)
	m.buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help: "Always 1, labelled with the running version and Go version; a change of version marks a rollout."}, []string{"version", "goversion"})
	m.reg.MustRegister(m.buildInfo)

	// A vector without labels stays absent until the first SetReady, so an
	// instance whose /ready never ran does not look "not ready" to alerts.
	m.ready = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "ready",
		Help: "1 when the instance last reported ready (Postgres reachable, migrations current), 0 when /ready failed."}, nil)
	m.reg.MustRegister(m.ready)
	m.readyChecks = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "readiness_check_up",
		Help: "Result of each readiness check at its last run: 1 up, 0 down (redis down means degraded, still ready)."}, []string{"check"})
	m.reg.MustRegister(m.readyChecks)
	m.checks = newBoundedSet(10)

	m.appointments = f.counter("appointment_transitions_total",
		"Appointments entering a status (BOOKED, CHECKED_IN, COMPLETED, CANCELLED, NO_SHOW).", "status")
	m.claims = f.counter("claim_transitions_total",
		"NPHIES claims and prior authorizations entering a status (SUBMITTED, APPROVED, PARTIAL, REJECTED, ERROR, ...).", "status")
	m.billed = f.plainCounter("billed_halalas_total", "Amount invoiced (issued invoices, VAT included) in halalas (1 SAR = 100 halalas).")
	m.approved = f.plainCounter("approved_halalas_total", "Amount approved by payers in NPHIES adjudications, in halalas.")
	m.paid = f.plainCounter("paid_halalas_total", "Payments recorded against invoices, in halalas.")
	m.statuses = newBoundedSet(30)

	m.hashUpgrades = f.counter("password_hash_upgrades_total",
		"Password hashes re-hashed at the current parameters on a successful login, by outcome (stored, failed); a failed one leaves the login working on the old hash.", "outcome")
	for _, o := range []string{"stored", "failed"} {
		m.hashUpgrades.WithLabelValues(o)
	}
	return m
}

// Registry returns the registry holding every HealthGraph metric, for tests
// and for registering further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text or OpenMetrics format
// (negotiated); OpenMetrics carries the exemplars that link latency buckets to
// traces. Mount it at /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError,
	})
}

// tracer returns the tracer for our own spans.
func (m *Metrics) tracer() trace.Tracer { return m.tr }

func (m *Metrics) tracerProvider() trace.TracerProvider {
	if m.tp != nil {
		return m.tp
	}
	return otel.GetTracerProvider()
}

func (m *Metrics) propagator() propagation.TextMapPropagator {
	if m.prop != nil {
		return m.prop
	}
	return otel.GetTextMapPropagator()
}

// slowExemplar is the latency from which every sampled observation carries
// its exemplar; faster ones are throttled (see exemplarEvery).
const slowExemplar = 0.1

// exemplarEvery spaces out exemplars of fast observations. Building one
// allocates (labels, a protobuf timestamp) and Prometheus keeps only the
// latest per bucket anyway, so attaching one to every fast resolver call
// would cost throughput for nothing; slow observations, the ones an SRE
// clicks on, always get theirs.
const exemplarEvery = int64(100 * time.Millisecond)

// exemplarGate throttles the exemplars of one histogram.
type exemplarGate struct{ last atomic.Int64 }

// histogram is a histogram vector with its exemplar throttle.
type histogram struct {
	*prometheus.HistogramVec
	gate *exemplarGate
}

// observe records v in the child of h for labels, with an exemplar when due.
func (h histogram) observe(ctx context.Context, v float64, labels ...string) {
	observe(ctx, h.WithLabelValues(labels...), v, h.gate)
}

// observe records v in h, attaching the trace id as an exemplar when the span
// in ctx is sampled, i.e. when the trace will exist in the trace store.
func observe(ctx context.Context, h prometheus.Observer, v float64, gate *exemplarGate) {
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		if eo, ok := h.(prometheus.ExemplarObserver); ok && gate.due(v) {
			eo.ObserveWithExemplar(v, prometheus.Labels{"trace_id": sc.TraceID().String()})
			return
		}
	}
	h.Observe(v)
}

// due reports whether an observation of v should carry an exemplar.
func (g *exemplarGate) due(v float64) bool {
	if v >= slowExemplar {
		return true
	}
	now := time.Now().UnixNano()
	last := g.last.Load()
	return now-last >= exemplarEvery && g.last.CompareAndSwap(last, now)
}

// factory registers metrics under the namespace.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) plainCounter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogram(name, help string, buckets []float64, labels ...string) histogram {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return histogram{HistogramVec: h, gate: &exemplarGate{}}
}
