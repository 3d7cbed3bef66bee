package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// TestExitStatusTellsUsageFromFailure: a wrong command line exits 2 with
// the usage, help exits 0, and nothing runs in either case.
func TestExitStatusTellsUsageFromFailure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args       []string
		want       int
		wantStderr string
	}{
		{nil, 2, "usage: hg-drill COMMAND"},
		{[]string{"-h"}, 0, "failure  NAME -bin"},
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{[]string{"failure"}, 2, "hg-drill failure: usage: name one drill"},
		{[]string{"failure", "kill"}, 2, "-bin is required"},
		{[]string{"failure", "kill", "-h"}, 0, ""},
		{[]string{"load", "-no-such-flag"}, 2, "hg-drill load: usage"},
		{[]string{"rollout", "extra"}, 2, "rollout takes no arguments"},
		{[]string{"redis"}, 2, "hg-drill redis -bin"},
		{[]string{"migrate"}, 2, "-bin is required"},
		{[]string{"migrate", "-bin", "x", "-scale", "huge"}, 2, "-scale must be small or large"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			var stderr strings.Builder
			if got := run(context.Background(), tc.args, &stderr); got != tc.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", got, tc.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}

// TestBrokenInvariantsExitOneAndAreListed: a drill that ran and found
// invariants broken exits 1 with one FAILED line each; any other error
// exits 1 too.
func TestBrokenInvariantsExitOneAndAreListed(t *testing.T) {
	t.Parallel()
	var stderr strings.Builder
	if err := drill.Check(nil); err != nil {
		t.Fatalf("Check of no problems = %v, want nil", err)
	}
	err := drill.Check([]string{"2 claims delivered twice", "1 invoice missing"})
	if got := exitCode(&stderr, "failure", err); got != 1 {
		t.Errorf("exit %d, want 1", got)
	}
	want := "hg-drill failure: FAILED: 2 claims delivered twice\nhg-drill failure: FAILED: 1 invoice missing\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	if got := exitCode(&stderr, "load", errors.New("3 requests failed")); got != 1 {
		t.Errorf("a plain error: exit %d, want 1", got)
	}
	if got := exitCode(&stderr, "load", nil); got != 0 {
		t.Errorf("no error: exit %d, want 0", got)
	}
}
