package observability

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Config describes the process to the tracing backend.
type Config struct {
	// ServiceName is service.name; "healthgraph" when empty.
	ServiceName string
	// Version is service.version, e.g. the release tag.
	Version string
	// Environment is deployment.environment.name (development, production).
	Environment string
	// SampleRatio is the fraction of new traces sampled, clamped to [0, 1],
	// when traces are exported. Traces continued from a caller follow the
	// caller's sampling decision.
	SampleRatio float64
	// Logger, when set, receives the SDK's own errors (a collector that
	// cannot be reached, spans dropped) as JSON lines like every other log,
	// instead of the SDK's default plain-text logger on stderr.
	Logger *slog.Logger
}

// Setup installs the global OpenTelemetry tracer provider and the W3C
// tracecontext + baggage propagator, and returns one shutdown function that
// flushes pending spans and releases the exporter; call it on exit with a
// deadline.
//
// An OTLP exporter is created only when OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; it is then configured entirely by
// the standard OTEL_EXPORTER_OTLP_* variables, and
// OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL chooses "grpc" or "http/protobuf"
// (the default, as the specification says). Without an endpoint nothing is
// sampled, whatever SampleRatio and the caller's traceparent say: spans are
// still started and propagated, so trace ids exist in logs and error
// responses, but none is recorded. Recording spans that no exporter takes
// cost the headline request a tenth of its CPU (a resolver span per
// non-trivial field, one per statement). OTEL_RESOURCE_ATTRIBUTES and
// OTEL_SERVICE_NAME override the Config values.
func Setup(ctx context.Context, c Config) (shutdown func(context.Context) error, err error) {
	name := c.ServiceName
	if name == "" {
		name = "healthgraph"
	}
	attrs := []resource.Option{
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(name)),
	}
	if c.Version != "" {
		attrs = append(attrs, resource.WithAttributes(semconv.ServiceVersion(c.Version)))
	}
	if c.Environment != "" {
		attrs = append(attrs, resource.WithAttributes(semconv.DeploymentEnvironmentNameKey.String(c.Environment)))
	}
	// The environment comes last so operators can override what the binary
	// says about itself.
	attrs = append(attrs, resource.WithFromEnv())
	res, err := resource.New(ctx, attrs...)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("observability: resource: %w", err)
	}

	exp, err := newExporter(ctx)
	if err != nil {
		return nil, err
	}
	sampler := sdktrace.NeverSample()
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if exp != nil {
		ratio := min(max(c.SampleRatio, 0), 1)
		sampler = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	opts = append(opts, sdktrace.WithSampler(sampler))
	if c.Logger != nil {
		log := c.Logger
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("opentelemetry", "error", err.Error())
		}))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator())

	shutdowns := []func(context.Context) error{tp.Shutdown}
	return func(ctx context.Context) error {
		var errs []error
		for _, f := range shutdowns {
			errs = append(errs, f(ctx))
		}
		return errors.Join(errs...)
	}, nil
}

// Propagator returns the W3C tracecontext + baggage propagator Setup installs.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// newExporter reads only the variables that decide whether and how to export;
// the exporters themselves read the rest of OTEL_EXPORTER_OTLP_*.
func newExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, nil
	}
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch strings.ToLower(strings.TrimSpace(proto)) {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	default:
		return nil, fmt.Errorf("observability: unsupported OTLP protocol %q (want grpc or http/protobuf)", proto)
	}
	if err != nil {
		return nil, fmt.Errorf("observability: OTLP exporter: %w", err)
	}
	return exp, nil
}
