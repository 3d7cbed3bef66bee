// Package observability is HealthGraph's one place for telemetry: the
// OpenTelemetry SDK bootstrap (Setup), structured JSON logging that carries
// trace and request ids (NewLogger), and the Prometheus registry with every
// metric the service exports (NewMetrics), together with the instrumentation
// that feeds them: the HTTP middleware, the gqlgen extension, the pgx tracer,
// the outgoing HTTP round tripper and small recording helpers for the cache,
// the rate limiter, NPHIES and the clinic's business events.
//
// Only this package and cmd/ import the OpenTelemetry SDK; everything else
// uses the OpenTelemetry API or the helpers here, so tracing can be switched
// off or re-pointed without touching domain code.
//
// PHI hygiene is a design constraint, not an afterthought: no helper here
// records GraphQL variables, resolver arguments, SQL parameters or request
// bodies, every metric label takes values from a bounded set (unknown values
// fold into "other"), and the logger redacts attributes whose keys name
// personal data.
package observability
