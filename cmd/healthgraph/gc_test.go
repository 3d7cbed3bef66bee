package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestTuneGCFollowsTheContainerUnlessToldOtherwise(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v2 := write("memory.max", "536870912\n")
	small := write("small", "134217728\n")
	unlimited := write("unlimited", "max\n")
	v1Unlimited := write("v1", "9223372036854771712\n")
	missing := filepath.Join(dir, "missing")
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	for _, tc := range []struct {
		name        string
		vars        map[string]string
		files       []string
		wantPercent int
		wantLimit   int64
	}{
		{"defaults in a 512 MiB container", nil, []string{missing, v2}, gcPercent, heapBudget},
		{"a 128 MiB container", nil, []string{small}, gcPercent, 107374182},
		{"no limit (cgroup v2)", nil, []string{unlimited}, gcPercent, heapBudget},
		{"no limit (cgroup v1)", nil, []string{missing, v1Unlimited}, gcPercent, heapBudget},
		{"not in a container", nil, []string{missing}, gcPercent, heapBudget},
		{"GOGC set", map[string]string{"GOGC": "150"}, []string{small}, 150, 107374182},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(1 << 62)
			if tc.vars["GOGC"] != "" {
				debug.SetGCPercent(150) // what the runtime read from GOGC
			}
			percent, limit := tuneGC(env(tc.vars), tc.files)
			if percent != tc.wantPercent || limit != tc.wantLimit {
				t.Fatalf("tuneGC = %d, %d; want %d, %d", percent, limit, tc.wantPercent, tc.wantLimit)
			}
			if got := debug.SetGCPercent(-1); got != tc.wantPercent {
				t.Fatalf("the runtime's GC percent is %d, want %d", got, tc.wantPercent)
			}
			debug.SetGCPercent(tc.wantPercent)
			if got := debug.SetMemoryLimit(-1); tc.wantLimit > 0 && got != tc.wantLimit {
				t.Fatalf("the runtime's memory limit is %d, want %d", got, tc.wantLimit)
			}
		})
	}
	debug.SetMemoryLimit(12345)
	if _, limit := tuneGC(env(map[string]string{"GOMEMLIMIT": "12345"}), []string{v2}); limit != 12345 {
		t.Fatalf("with GOMEMLIMIT set the limit became %d, want it left at 12345", limit)
	}
}
