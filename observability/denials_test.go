package observability_test

import (
	"context"
	"errors"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/healthgraph/healthgraph/observability"
)

// TestDenialFiguresAreReadOffTheScrape: a scrape exports the last figures
// read and never waits for the database; a failed read keeps them and is
// counted.
func TestDenialFiguresAreReadOffTheScrape(t *testing.T) {
	ctx := context.Background()
	m := observability.NewMetrics()
	reads := 0
	fail := errors.New("statement timeout")
	d := m.ObserveDenials(func(context.Context) (observability.DenialSnapshot, error) {
		reads++
		if reads > 1 {
			return observability.DenialSnapshot{}, fail
		}
		return observability.DenialSnapshot{Series: []observability.DenialSeries{{Payer: "7001463160", Claims: 12, Denied: 4}}}, nil
	})
	reg := m.Registry()
	if has(t, reg, "healthgraph_claims_adjudicated") || has(t, reg, "healthgraph_denial_snapshot_timestamp_seconds") {
		t.Fatal("denial figures exported before any read")
	}
	if reads != 0 {
		t.Fatalf("a scrape read the database %d times", reads)
	}
	if err := d.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := value(t, reg, "healthgraph_claims_denied", map[string]string{"payer": "7001463160"}); got != 4 {
		t.Fatalf("claims_denied = %v, want 4", got)
	}
	if err := d.Refresh(ctx); !errors.Is(err, fail) {
		t.Fatalf("refresh error = %v, want the read's", err)
	}
	if got := value(t, reg, "healthgraph_claims_denied", map[string]string{"payer": "7001463160"}); got != 4 {
		t.Fatalf("claims_denied = %v after a failed read, want the previous 4", got)
	}
	if got := value(t, reg, "healthgraph_denial_snapshot_failures_total", nil); got != 1 {
		t.Fatalf("failures = %v, want 1", got)
	}
	if value(t, reg, "healthgraph_denial_snapshot_timestamp_seconds", nil) <= 0 {
		t.Fatal("no time of the last read")
	}
	if reads != 2 {
		t.Fatalf("%d reads, want 2 (one per refresh, none per scrape)", reads)
	}
}

func has(t *testing.T, reg interface {
	Gather() ([]*dto.MetricFamily, error)
}, name string) bool {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return true
		}
	}
	return false
}
