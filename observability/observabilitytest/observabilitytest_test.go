package observabilitytest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/healthgraph/healthgraph/observability/observabilitytest"
)

func TestFindPHIReportsEveryChannel(t *testing.T) {
	t.Parallel()
	rec := observabilitytest.New(t)
	ctx, span := rec.Metrics.StartSpan(context.Background(), "leaky", attribute.String("patient.email", "huda@example.sa"))
	rec.Logger.InfoContext(ctx, "booked", "who", "Huda Al-Harbi")
	rec.Metrics.CacheLookup("1098765432", true)
	span.End()

	found := strings.Join(rec.FindPHI("huda@example.sa", "Huda Al-Harbi", "1098765432", "abc"), "\n")
	for _, want := range []string{`attribute patient.email contains "huda@example.sa"`, `log line 1 contains "Huda Al-Harbi"`, `label kind contains "1098765432"`} {
		if !strings.Contains(found, want) {
			t.Errorf("FindPHI missed %s; found:\n%s", want, found)
		}
	}
	if strings.Contains(found, `"abc"`) {
		t.Errorf("FindPHI matched a needle too short to mean anything:\n%s", found)
	}
}

func TestTreeShowsTheRequestShape(t *testing.T) {
	t.Parallel()
	rec := observabilitytest.New(t)
	h := rec.Metrics.HTTP(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, span := rec.Metrics.StartSpan(r.Context(), "work")
		span.End()
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/health", nil))
	tree := rec.Tree()
	if !strings.Contains(tree, "GET /health [trace ") || !strings.Contains(tree, "\n  work\n") {
		t.Errorf("tree:\n%s\nwant GET /health with child work", tree)
	}
	rec.AssertNoPHI(t, "Huda Al-Harbi")
}
