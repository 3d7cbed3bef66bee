package drill

import "testing"

// TestGateRunsDrillTestsOnlyWhenAsked: without HG_DRILLS=1 a gated test is
// skipped, so `go test ./...` stays fast; with it, as `make drills` sets,
// the test runs.
func TestGateRunsDrillTestsOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		env         string
		wantSkipped bool
	}{
		{"", true},
		{"0", true},
		{"1", false},
	} {
		t.Run("HG_DRILLS="+tc.env, func(t *testing.T) {
			t.Setenv(EnvDrills, tc.env)
			var gated *testing.T
			t.Run("gated", func(t *testing.T) {
				gated = t
				Gate(t)
			})
			if got := gated.Skipped(); got != tc.wantSkipped {
				t.Errorf("skipped = %v, want %v", got, tc.wantSkipped)
			}
		})
	}
}
