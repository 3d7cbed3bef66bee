// Package observabilitytest captures what the service emits (spans, log
// lines, metrics) so end-to-end tests can check the trace tree of a request
// and prove that no personal data leaked into telemetry.
//
// A test builds the service with a Recorder's Metrics and Logger, drives it,
// then asserts:
//
//	rec := observabilitytest.New(t)
//	srv := server.New(..., server.Deps{Metrics: rec.Metrics, Logger: rec.Logger})
//	... requests with seeded patients ...
//	rec.AssertNoPHI(t, patient.Name, patient.NationalID, patient.Email, patient.Phone)
//	t.Log(rec.Tree())
package observabilitytest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/healthgraph/healthgraph/observability"
)

// Recorder holds an in-memory span exporter, a log buffer and a Metrics
// whose instrumentation records into both.
type Recorder struct {
	// TracerProvider samples every trace and exports synchronously to
	// Exporter, so spans are visible as soon as they end.
	TracerProvider *sdktrace.TracerProvider
	// Exporter holds every ended span.
	Exporter *tracetest.InMemoryExporter
	// Metrics is a fresh registry with the recorder's tracer provider and
	// the W3C propagator; give it to the code under test.
	Metrics *observability.Metrics
	// Logger writes JSON lines (at debug level, so nothing escapes the
	// check) into the recorder.
	Logger *slog.Logger

	logs *syncBuffer
}

// New returns a Recorder whose tracer provider is shut down when the test
// ends. It does not touch the OpenTelemetry globals, so tests may run in
// parallel.
func New(t testing.TB) *Recorder {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	logs := &syncBuffer{}
	return &Recorder{
		TracerProvider: tp,
		Exporter:       exp,
		Metrics: observability.NewMetrics(
			observability.WithTracerProvider(tp),
			observability.WithPropagator(observability.Propagator()),
		),
		Logger: observability.NewLogger(logs, slog.LevelDebug),
		logs:   logs,
	}
}

// Spans returns the spans ended so far.
func (r *Recorder) Spans() tracetest.SpanStubs { return r.Exporter.GetSpans() }

// Logs returns the log lines written so far.
func (r *Recorder) Logs() string { return r.logs.String() }

// FindPHI returns every place where one of the needles (a patient's name,
// national ID, email, phone number, ...) appears in a span name, status,
// attribute, event or link, in a log line, or in a metric's label values.
// Needles shorter than four characters are ignored: they would match
// innocent ids by chance.
func (r *Recorder) FindPHI(needles ...string) []string {
	var found []string
	check := func(where, text string) {
		for _, n := range needles {
			if len(n) >= 4 && strings.Contains(text, n) {
				found = append(found, fmt.Sprintf("%s contains %q", where, n))
			}
		}
	}
	for _, s := range r.Spans() {
		where := fmt.Sprintf("span %q", s.Name)
		check(where+" name", s.Name)
		check(where+" status", s.Status.Description)
		for _, a := range s.Attributes {
			check(fmt.Sprintf("%s attribute %s", where, a.Key), a.Value.String())
		}
		for _, e := range s.Events {
			check(fmt.Sprintf("%s event %q", where, e.Name), e.Name)
			for _, a := range e.Attributes {
				check(fmt.Sprintf("%s event %q attribute %s", where, e.Name, a.Key), a.Value.String())
			}
		}
		for _, l := range s.Links {
			for _, a := range l.Attributes {
				check(fmt.Sprintf("%s link attribute %s", where, a.Key), a.Value.String())
			}
		}
	}
	for i, line := range strings.Split(r.Logs(), "\n") {
		check(fmt.Sprintf("log line %d", i+1), line)
	}
	fams, err := r.Metrics.Registry().Gather()
	if err != nil {
		found = append(found, fmt.Sprintf("gathering metrics failed: %v", err))
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				check(fmt.Sprintf("metric %s label %s", f.GetName(), l.GetName()), l.GetValue())
			}
			for _, ex := range exemplars(m) {
				check(fmt.Sprintf("metric %s exemplar", f.GetName()), ex)
			}
		}
	}
	return found
}

func exemplars(m *dto.Metric) []string {
	var out []string
	for _, b := range m.GetHistogram().GetBucket() {
		for _, l := range b.GetExemplar().GetLabel() {
			out = append(out, l.GetValue())
		}
	}
	return out
}

// AssertNoPHI fails the test for every place FindPHI reports.
func (r *Recorder) AssertNoPHI(t testing.TB, needles ...string) {
	t.Helper()
	for _, f := range r.FindPHI(needles...) {
		t.Errorf("PHI in telemetry: %s", f)
	}
}

// Tree renders the recorded spans as indented trees, one per trace, children
// in start order: handy in failure messages and to check a request's shape.
func (r *Recorder) Tree() string {
	spans := r.Spans()
	children := map[string][]tracetest.SpanStub{}
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanContext.SpanID().String()] = true
	}
	var roots []tracetest.SpanStub
	for _, s := range spans {
		p := s.Parent.SpanID().String()
		if s.Parent.IsValid() && ids[p] {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
	}
	byStart := func(ss []tracetest.SpanStub) {
		sort.Slice(ss, func(i, j int) bool { return ss[i].StartTime.Before(ss[j].StartTime) })
	}
	var b strings.Builder
	var walk func(s tracetest.SpanStub, depth int)
	walk = func(s tracetest.SpanStub, depth int) {
		fmt.Fprintf(&b, "%s%s", strings.Repeat("  ", depth), s.Name)
		if depth == 0 {
			fmt.Fprintf(&b, " [trace %s]", s.SpanContext.TraceID())
		}
		if s.Status.Code.String() == "Error" {
			b.WriteString(" (error)")
		}
		b.WriteString("\n")
		kids := children[s.SpanContext.SpanID().String()]
		byStart(kids)
		for _, c := range kids {
			walk(c, depth+1)
		}
	}
	byStart(roots)
	for _, s := range roots {
		walk(s, 0)
	}
	return b.String()
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (handlers log
// from many goroutines).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
