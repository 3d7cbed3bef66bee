package drill

import (
	"os"
	"testing"
)

// EnvDrills is the variable `make drills` sets to 1 to run the tests that
// rehearse a drill: they build and run real processes for tens of seconds,
// too long for every `go test ./...`.
const EnvDrills = "HG_DRILLS"

// Gate skips t unless EnvDrills is 1: the long drill tests stay in the
// tree, compiled and vetted with the rest, and run in `make drills`.
func Gate(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvDrills) != "1" {
		t.Skip("a long drill: run by make drills (" + EnvDrills + "=1)")
	}
}
