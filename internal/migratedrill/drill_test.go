package migratedrill

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// The drill at the small scale, reporting only (a busy test machine says
// nothing about lock waits; docs/drills.md has the large-scale figures): every
// migration from 0008 on is reverted and reapplied by the real binary while
// the clients write, and not one write fails.
func TestMigrationDrillRevertsAndReappliesUnderWrites(t *testing.T) {
	drill.Gate(t)
	ctx := context.Background()
	bin, err := drill.Build(ctx, t.TempDir(), "migrate-drill")
	if err != nil {
		t.Fatal(err)
	}
	o, err := parse([]string{"-bin", bin, "-scale", "small", "-clients", "4", "-lead", "500ms", "-max-wait", "0"})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	start := time.Now()
	problems, err := run(ctx, o, &out)
	t.Logf("drill took %s:\n%s", time.Since(start).Round(time.Second), out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	for _, row := range []string{"no migration", "0011_patient_no_overlap down", "0008_performance down", "0008_performance up", "0011_patient_no_overlap up"} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("the report has no row %q", row)
		}
	}
}
