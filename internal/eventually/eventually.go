// Package eventually waits in tests for a condition that becomes true
// asynchronously, instead of sleeping a fixed time: a fixed sleep is too
// short on a busy machine and too long on an idle one.
package eventually

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// Timeout is how long True waits before failing: 10 s, times the factor in
// HG_TEST_TIMEOUT_FACTOR (3 under CI=true), because a loaded CI machine may
// run everything several times slower than a laptop.
func Timeout() time.Duration { return Scale(10 * time.Second) }

// Scale stretches d by the test timeout factor.
func Scale(d time.Duration) time.Duration {
	factor := 1.0
	if os.Getenv("CI") == "true" {
		factor = 3
	}
	if f, err := strconv.ParseFloat(os.Getenv("HG_TEST_TIMEOUT_FACTOR"), 64); err == nil && f > 0 {
		factor = f
	}
	return time.Duration(float64(d) * factor)
}

// True polls cond until it returns true, failing t with what when Timeout
// passes first.
func True(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !Poll(cond) {
		t.Fatalf("gave up after %s waiting for %s", Timeout(), what)
	}
}

// Poll polls cond until it returns true, or Timeout passes and it reports
// false. The interval starts at a millisecond and backs off to 50 ms, so a
// quick condition costs little time and a slow one little CPU.
func Poll(cond func() bool) bool {
	deadline := time.Now().Add(Timeout())
	for wait := time.Millisecond; !cond(); wait = min(2*wait, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
	}
	return true
}
