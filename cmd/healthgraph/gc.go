package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// gcPercent is the collector's target when GOGC is not set: the heap may
// grow to five times the live data between collections. Under the headline
// benchmark the server spent 8.3 ms of CPU per request at Go's default of
// 100 and 5.1 ms at 400, with peak RSS 59 → 88 MiB (docs/performance.md).
const gcPercent = 400

// memoryLimitShare is the part of the container's memory the collector
// aims to stay under when GOMEMLIMIT is not set: near it, it collects more
// often instead of letting the kernel kill the process.
const memoryLimitShare = 0.8

// heapBudget is the soft memory limit when GOMEMLIMIT is not set and the
// container allows more: a replica is meant to stay under 150 MiB of RSS
// under load. gcPercent lets the heap grow to five times what is live when
// the collector looks, and a login's argon2id block (7 MiB,
// auth/password.go) is live while it hashes: under the standard mix two at
// once took the peak RSS from 124 MiB to 199–214 MiB. A limit of 120 MiB
// held it at 140–148 MiB, then 151 MiB once the server ran more requests
// per second (2026-12-04); RSS runs about 31 MiB above the limit (code,
// stacks, the runtime's own), so 112 MiB keeps it under 150. The
// headline, which allocates no such blocks, peaks near 110 MiB.
const heapBudget = 112 << 20

// cgroupMemoryFiles hold the container's memory limit: cgroup v2, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// tuneGC sets gcPercent and a soft memory limit, heapBudget or
// memoryLimitShare of the container's if that is less, each unless its Go
// variable is set, and returns what applies.
func tuneGC(getenv func(string) string, limitFiles []string) (percent int, limit int64) {
	percent = debug.SetGCPercent(-1)
	if getenv("GOGC") == "" {
		percent = gcPercent
	}
	debug.SetGCPercent(percent)
	if getenv("GOMEMLIMIT") != "" {
		return percent, debug.SetMemoryLimit(-1)
	}
	limit = heapBudget
	if c := cgroupMemoryLimit(limitFiles); c > 0 {
		limit = min(limit, int64(float64(c)*memoryLimitShare))
	}
	debug.SetMemoryLimit(limit)
	return percent, limit
}

// cgroupMemoryLimit reads the first limit file that exists; 0 means no
// limit ("max" in v2, a page-rounded MaxInt64 in v1) or none readable.
func cgroupMemoryLimit(files []string) int64 {
	for _, f := range files {
		b, err := os.ReadFile(f) //nolint:gosec // fixed cgroup paths, or a test's
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0
		}
		return n
	}
	return 0
}
