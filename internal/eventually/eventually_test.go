package eventually_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/internal/eventually"
)

func TestPollReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	if !eventually.Poll(func() bool { return calls.Add(1) == 3 }) {
		t.Fatal("Poll gave up on a condition that became true on the third call")
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("cond called %d times, want 3", n)
	}
}

func TestScaleFollowsTheFactor(t *testing.T) {
	t.Setenv("CI", "true")
	t.Setenv("HG_TEST_TIMEOUT_FACTOR", "")
	if got := eventually.Scale(time.Second); got != 3*time.Second {
		t.Errorf("Scale(1s) under CI = %s, want 3s", got)
	}
	t.Setenv("HG_TEST_TIMEOUT_FACTOR", "0.5")
	if got := eventually.Scale(time.Second); got != 500*time.Millisecond {
		t.Errorf("Scale(1s) with factor 0.5 = %s, want 500ms", got)
	}
}
