package observability

import (
	"context"
	"runtime"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// CacheLookup counts a read-through cache lookup of the given kind (a
// constant such as "user", "patient", "practitioner", "payer", "apq") as a
// hit or a miss. Call it from the cache after each GET.
func (m *Metrics) CacheLookup(kind string, hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	m.cacheRequests.WithLabelValues(m.cacheKinds.value(kind), result).Inc()
}

// CacheError counts a cache operation of the given kind that failed and fell
// back to the source of truth (Redis down or timing out).
func (m *Metrics) CacheError(kind string) {
	m.cacheErrors.WithLabelValues(m.cacheKinds.value(kind)).Inc()
}

// CacheLoad counts a load from the source behind a read-through cache of
// the given kind, by why it ran: "miss" (once for all the concurrent misses
// it served; misses minus such loads are the requests that shared one) or
// "refresh" (ahead of the entry's expiry).
func (m *Metrics) CacheLoad(kind, why string) {
	m.cacheLoads.WithLabelValues(m.cacheKinds.value(kind), m.loadReasons.value(why)).Inc()
}

// RateLimited counts a request the rate limiter rejected under policy (a
// constant such as "login", "graphql", "anonymous"). Call it where the
// limiter answers 429 / RATE_LIMITED.
func (m *Metrics) RateLimited(policy string) {
	m.rateLimited.WithLabelValues(m.policies.value(policy)).Inc()
}

// NPHIESRequest records one NPHIES exchange: its message type (the FHIR
// MessageHeader event code, e.g. "eligibility-request", "claim-request",
// "priorauth-request", "poll-request", "cancel-request"), its outcome (e.g.
// "complete", "queued", "partial", "error", "rejected", "transport_error")
// and how long it took. ctx supplies the trace id exemplar. The outgoing HTTP
// itself is traced by RoundTripper; this is the business-level view.
func (m *Metrics) NPHIESRequest(ctx context.Context, messageType, outcome string, took time.Duration) {
	mt := m.messageTypes.value(messageType)
	m.nphiesRequests.WithLabelValues(mt, m.outcomes.value(outcome)).Inc()
	m.nphiesDuration.observe(ctx, took.Seconds(), mt)
}

// SetOutboxBacklog reports the NPHIES outbox backlog: how many messages wait
// to be sent and the age of the oldest (0 when none). Call it from the outbox
// worker after each poll of the table; every replica may report the same
// numbers, dashboards and alerts take the max.
func (m *Metrics) SetOutboxBacklog(pending int, oldestAge time.Duration) {
	m.outboxPending.Set(float64(pending))
	if pending == 0 {
		oldestAge = 0
	}
	m.outboxOldest.Set(oldestAge.Seconds())
}

// OutboxDelivery counts one outbox delivery attempt by outcome: "sent"
// (accepted by NPHIES), "retry" (transient failure, will be retried) or
// "failed" (gave up; the claim moves to ERROR).
func (m *Metrics) OutboxDelivery(outcome string) {
	m.outboxDeliveries.WithLabelValues(m.outcomes.value(outcome)).Inc()
}

// SetNPHIESClientCertExpiry exports when the NPHIES client certificate the
// process loaded at start expires, so an alert can warn weeks ahead: NPHIES
// refuses every exchange once it has expired, and a renewed certificate on
// disk is only used after a restart. Call it once, after loading the
// certificate; without a certificate do not call it.
func (m *Metrics) SetNPHIESClientCertExpiry(notAfter time.Time) {
	m.clientCertExpiry.WithLabelValues().Set(float64(notAfter.Unix()))
}

// SetBuildInfo exports healthgraph_build_info{version, goversion} = 1 for
// the running binary. Dashboards mark a rollout where the version changes and
// the absence alerts look for this series, which exists from the start. Call
// it once at start with the build's version.
func (m *Metrics) SetBuildInfo(version string) {
	m.buildInfo.Reset()
	m.buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
}

// SetReady records the instance's overall readiness. HTTP already calls it
// for every GET /ready answer; call it yourself only for readiness decided
// elsewhere. The ReadinessFailing alert fires when it stays 0.
func (m *Metrics) SetReady(ready bool) {
	m.ready.WithLabelValues().Set(boolFloat(ready))
}

// ReadinessCheck records one readiness check's result ("postgres",
// "migrations", "redis"); call it from the /ready handler for each check so
// dashboards show which dependency is down, including degraded-but-ready
// states such as Redis being unreachable.
func (m *Metrics) ReadinessCheck(check string, ok bool) {
	m.readyChecks.WithLabelValues(m.checks.value(check)).Set(boolFloat(ok))
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// AppointmentStatus counts an appointment entering status (BOOKED,
// CHECKED_IN, COMPLETED, CANCELLED, NO_SHOW). Call it after the transaction
// that changed the status commits.
func (m *Metrics) AppointmentStatus(status string) {
	m.appointments.WithLabelValues(m.statuses.value(status)).Inc()
}

// ClaimStatus counts a claim or prior authorization entering status
// (QUEUED, SUBMITTED, PENDING, APPROVED, PARTIAL, REJECTED, ERROR,
// CANCELLED). Call it after the transaction that changed the status commits.
func (m *Metrics) ClaimStatus(status string) {
	m.claims.WithLabelValues(m.statuses.value(status)).Inc()
}

// Billed adds an issued invoice's total, in halalas, to
// healthgraph_billed_halalas_total. Negative amounts are ignored (a counter
// only grows; voids are visible as claims and invoices, not as negative
// revenue).
func (m *Metrics) Billed(halalas int64) {
	if halalas > 0 {
		m.billed.Add(float64(halalas))
	}
}

// Approved adds a payer's approved amount, in halalas, from an NPHIES
// adjudication to healthgraph_approved_halalas_total.
func (m *Metrics) Approved(halalas int64) {
	if halalas > 0 {
		m.approved.Add(float64(halalas))
	}
}

// Paid adds a recorded payment, in halalas, to healthgraph_paid_halalas_total.
func (m *Metrics) Paid(halalas int64) {
	if halalas > 0 {
		m.paid.Add(float64(halalas))
	}
}

// PasswordHashUpgrade counts a login's re-hash of its password in
// healthgraph_password_hash_upgrades_total, by whether it was stored.
func (m *Metrics) PasswordHashUpgrade(stored bool) {
	outcome := "failed"
	if stored {
		outcome = "stored"
	}
	m.hashUpgrades.WithLabelValues(outcome).Inc()
}

// LoaderBatch starts the span of one dataloader batch (named "dataloader
// <loader>", with the number of keys) and observes the batch size in
// healthgraph_dataloader_batch_size, where N+1 patterns show up as many
// batches of one. loader is a constant such as "patient" or "practitioner".
// End the span with End.
func (m *Metrics) LoaderBatch(ctx context.Context, loader string, keys int) (context.Context, trace.Span) {
	name := m.loaders.value(loader)
	m.loaderBatch.WithLabelValues(name).Observe(float64(keys))
	return m.tracer().Start(ctx, "dataloader "+name, trace.WithAttributes(attribute.Int("dataloader.keys", keys)))
}

// StartSpan starts an internal span from HealthGraph's tracer, for work worth
// seeing in a trace that no instrumentation covers (a dataloader batch, a
// FHIR bundle build). Only pass attributes that carry no personal data: ids
// are fine, names and national ids are not. End it with End.
func (m *Metrics) StartSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return m.tracer().Start(ctx, name, trace.WithAttributes(attrs...))
}

// StartLinked starts the root span of a new trace for background work (an
// outbox delivery, a poll) linked to the span that caused it, so the request
// trace and the work trace lead to each other without one being minutes
// long. link may be invalid (no origin known); the span is then a plain root.
func (m *Metrics) StartLinked(ctx context.Context, name string, link trace.SpanContext) (context.Context, trace.Span) {
	opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindConsumer)}
	if link.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: link}))
	}
	return m.tracer().Start(ctx, name, opts...)
}

// End ends span, marking it failed when err is not nil. Only the error's Go
// type is recorded, never its message, which may quote personal data.
func End(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, "error")
		span.SetAttributes(attribute.String("error.type", errorType(err)))
	}
	span.End()
}

// TraceParent returns the W3C traceparent of the span in ctx, or "" without
// one. Store it with work that runs later (an outbox row) and pass it to
// SpanContextFromTraceParent to link the later trace to this one.
func TraceParent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// SpanContextFromTraceParent parses a W3C traceparent stored by TraceParent;
// the result is invalid (and StartLinked then links nothing) when s is empty
// or malformed.
func SpanContextFromTraceParent(s string) trace.SpanContext {
	if s == "" {
		return trace.SpanContext{}
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": s})
	return trace.SpanContextFromContext(ctx)
}
