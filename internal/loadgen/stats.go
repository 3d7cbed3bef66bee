package loadgen

import (
	"slices"
	"sort"
	"time"
)

// maxErrorCodes is how many distinct error codes an operation remembers, in
// the order they first appeared.
const maxErrorCodes = 5

// recorder collects one worker's outcomes per operation. Each worker owns
// one, so recording takes no lock; merge combines them at the end.
type recorder map[string]*opStats

// opStats is what one operation did: every latency (kept whole, so the
// percentiles are exact), the errors and their first codes, the conflicts.
type opStats struct {
	latencies []time.Duration
	errors    int
	conflicts int
	codes     []string
}

func (r recorder) op(name string) *opStats {
	s := r[name]
	if s == nil {
		s = &opStats{}
		r[name] = s
	}
	return s
}

// record counts one request: an error when code is not empty, a conflict
// when conflict is set (a CONFLICT that the operation expects under load).
func (r recorder) record(name string, d time.Duration, code string, conflict bool) {
	s := r.op(name)
	s.latencies = append(s.latencies, d)
	switch {
	case conflict:
		s.conflicts++
	case code != "":
		s.errors++
		s.addCode(code)
	}
}

func (s *opStats) addCode(code string) {
	if len(s.codes) < maxErrorCodes && !slices.Contains(s.codes, code) {
		s.codes = append(s.codes, code)
	}
}

// merge adds the outcomes of others into a new recorder.
func merge(others ...recorder) recorder {
	out := recorder{}
	for _, r := range others {
		for name, s := range r {
			m := out.op(name)
			m.latencies = append(m.latencies, s.latencies...)
			m.errors += s.errors
			m.conflicts += s.conflicts
			for _, c := range s.codes {
				m.addCode(c)
			}
		}
	}
	return out
}

// OpResult is the summary of one operation over the run.
type OpResult struct {
	Operation  string   `json:"operation"`
	Requests   int      `json:"requests"`
	PerSecond  float64  `json:"reqPerSec"`
	P50Ms      float64  `json:"p50Ms"`
	P95Ms      float64  `json:"p95Ms"`
	P99Ms      float64  `json:"p99Ms"`
	MaxMs      float64  `json:"maxMs"`
	Errors     int      `json:"errors"`
	ErrorCodes []string `json:"errorCodes,omitempty"`
	Conflicts  int      `json:"conflicts"`
}

// summarize turns the merged outcomes into one result per operation, in
// name order, plus a "total" row over all of them.
func summarize(r recorder, elapsed time.Duration) []OpResult {
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	all := &opStats{}
	out := make([]OpResult, 0, len(names)+1)
	for _, n := range names {
		s := r[n]
		out = append(out, s.result(n, elapsed))
		all.latencies = append(all.latencies, s.latencies...)
		all.errors += s.errors
		all.conflicts += s.conflicts
		for _, c := range s.codes {
			all.addCode(c)
		}
	}
	return append(out, all.result("total", elapsed))
}

func (s *opStats) result(name string, elapsed time.Duration) OpResult {
	lat := slices.Clone(s.latencies)
	slices.Sort(lat)
	res := OpResult{Operation: name, Requests: len(lat), Errors: s.errors, Conflicts: s.conflicts,
		ErrorCodes: s.codes,
		P50Ms:      ms(percentile(lat, 50)), P95Ms: ms(percentile(lat, 95)), P99Ms: ms(percentile(lat, 99))}
	if len(lat) > 0 {
		res.MaxMs = ms(lat[len(lat)-1])
	}
	if elapsed > 0 {
		res.PerSecond = float64(len(lat)) / elapsed.Seconds()
	}
	return res
}

// percentile returns the nearest-rank p-th percentile of sorted: the
// smallest value with at least p% of the values at or below it. It is 0
// for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// Integer arithmetic on a percent scaled by 1000 avoids float rounding
	// putting the rank one off (0.95*100 is 94.99999...).
	n := len(sorted)
	rank := (int64(p*1000)*int64(n) + 100_000 - 1) / 100_000
	rank = max(rank, 1)
	return sorted[min(int(rank), n)-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
