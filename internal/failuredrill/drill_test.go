package failuredrill

import (
	"flag"
	"testing"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// TestDrillsKeepTheirInvariants runs, short, the drills that need nothing
// but the shared Postgres: a replica SIGKILLed mid-visit (no half-written
// invoice or claim, every claim delivered once) and an exhausted pool
// (UNAVAILABLE at the acquire bound, no pile-up). The drills that stop or
// fill Postgres need a private cluster and root; docs/drills.md has their
// figures.
func TestDrillsKeepTheirInvariants(t *testing.T) {
	drill.Gate(t)
	bin, err := drill.Build(t.Context(), t.TempDir(), "failure-drill-test")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"kill", []string{"-phase", "2s", "-rate", "10"}},
		{"pg-exhaust", []string{"-phase", "1s", "-rate", "10", "-hold", "6s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &options{args: append([]string{"-bin", bin}, tc.args...)}
			problems, err := drills[tc.name](t.Context(), flag.NewFlagSet(tc.name, flag.ContinueOnError), o)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}
