package loadgen

import (
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	t.Parallel()
	seq := func(n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(i+1) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name   string
		values []time.Duration
		p      float64
		want   time.Duration
	}{
		{"no values give zero", nil, 50, 0},
		{"one value is every percentile", seq(1), 99, time.Millisecond},
		{"median of 100", seq(100), 50, 50 * time.Millisecond},
		{"p95 of 100 is not rounded down", seq(100), 95, 95 * time.Millisecond},
		{"p99 of 100", seq(100), 99, 99 * time.Millisecond},
		{"p50 of 10", seq(10), 50, 5 * time.Millisecond},
		{"p95 of 10 rounds the rank up", seq(10), 95, 10 * time.Millisecond},
		{"p99 of 1000", seq(1000), 99, 990 * time.Millisecond},
		{"p100 is the maximum", seq(7), 100, 7 * time.Millisecond},
		{"p0 is the minimum", seq(7), 0, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := percentile(tt.values, tt.p); got != tt.want {
				t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.values), tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeMergesWorkersAndSeparatesConflicts(t *testing.T) {
	t.Parallel()
	a, b := recorder{}, recorder{}
	for i := 1; i <= 50; i++ {
		a.record("search", time.Duration(i)*time.Millisecond, "", false)
		b.record("search", time.Duration(50+i)*time.Millisecond, "", false)
	}
	a.record("book", 3*time.Millisecond, "CONFLICT", true)
	a.record("book", 4*time.Millisecond, "INTERNAL", false)
	b.record("book", 5*time.Millisecond, "RATE_LIMITED", false)
	b.record("book", 6*time.Millisecond, "INTERNAL", false)

	got := summarize(merge(a, b), 2*time.Second)
	if names := []string{got[0].Operation, got[1].Operation, got[2].Operation}; !slices.Equal(names, []string{"book", "search", "total"}) {
		t.Fatalf("rows = %v, want book, search, total", names)
	}
	book, search, total := got[0], got[1], got[2]
	if book.Requests != 4 || book.Errors != 3 || book.Conflicts != 1 {
		t.Errorf("book: %d requests, %d errors, %d conflicts; want 4, 3, 1", book.Requests, book.Errors, book.Conflicts)
	}
	if !slices.Equal(book.ErrorCodes, []string{"INTERNAL", "RATE_LIMITED"}) {
		t.Errorf("book codes = %v, want [INTERNAL RATE_LIMITED] (first seen, once each)", book.ErrorCodes)
	}
	if search.P50Ms != 50 || search.P99Ms != 99 || search.MaxMs != 100 || search.PerSecond != 50 {
		t.Errorf("search: p50 %v p99 %v max %v rate %v; want 50, 99, 100, 50", search.P50Ms, search.P99Ms, search.MaxMs, search.PerSecond)
	}
	if total.Requests != 104 || total.Errors != 3 || total.Conflicts != 1 || total.MaxMs != 100 {
		t.Errorf("total = %+v, want 104 requests, 3 errors, 1 conflict, max 100", total)
	}
}

const exposition = `# HELP healthgraph_db_query_duration_seconds Postgres statement latency.
# TYPE healthgraph_db_query_duration_seconds histogram
healthgraph_db_query_duration_seconds_bucket{operation="SELECT",le="0.001"} 3
healthgraph_db_query_duration_seconds_count{operation="SELECT"} 90
healthgraph_db_query_duration_seconds_count{operation="INSERT"} 10
healthgraph_db_query_duration_seconds_sum{operation="SELECT"} 1.5
healthgraph_cache_requests_total{kind="practitioner",result="hit"} 30
healthgraph_cache_requests_total{kind="practitioner",result="miss"} 10
healthgraph_cache_requests_total{kind="odd \"quoted\", {kind}",result="hit"} 10
healthgraph_db_pool_empty_acquires_total 4
process_cpu_seconds_total 12.5 1700000000000
process_resident_memory_bytes 5.24288e+07
`

func TestParseMetricsReadsTheTextFormat(t *testing.T) {
	t.Parallel()
	sc, err := parseMetrics(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		match []string
		want  float64
	}{
		{mSQL, nil, 100},
		{mSQL, []string{"operation", "INSERT"}, 10},
		{mCache, []string{"result", "hit"}, 40},
		{mCache, []string{"kind", `odd "quoted", {kind}`}, 10},
		{mPoolEmpty, nil, 4},
		{mCPU, nil, 12.5},
		{mRSS, nil, 50 << 20},
		{"absent_metric", nil, 0},
	}
	for _, tt := range tests {
		if got := sc.sum(tt.name, tt.match...); got != tt.want {
			t.Errorf("sum(%s, %q) = %v, want %v", tt.name, tt.match, got, tt.want)
		}
	}
}

func TestParseMetricsRefusesWhatIsNotPrometheus(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"<html>not metrics</html>", `m{a="b} 1`, "m{a=b} 1", "m notanumber"} {
		if _, err := parseMetrics(strings.NewReader(body)); err == nil {
			t.Errorf("parseMetrics(%q) succeeded, want an error", body)
		}
	}
}

func TestFiguresAreDeltasPerRequest(t *testing.T) {
	t.Parallel()
	before, err := parseMetrics(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseMetrics(strings.NewReader(strings.NewReplacer(
		`{operation="SELECT"} 90`, `{operation="SELECT"} 390`, // +300 statements
		`{operation="SELECT"} 1.5`, `{operation="SELECT"} 4.5`, // +3 s in them
		`result="hit"} 30`, `result="hit"} 60`, // +30 hits
		`result="miss"} 10`, `result="miss"} 20`, // +10 misses
		"process_cpu_seconds_total 12.5", "process_cpu_seconds_total 22.5", // +10 s
		"5.24288e+07", "1.048576e+08",
	).Replace(exposition)))
	if err != nil {
		t.Fatal(err)
	}
	f := figures(before, after, 100, 5*time.Second, 80<<20)
	if f.SQLStatements != 300 || f.SQLPerRequest != 3 || math.Abs(f.SQLMeanMs-10) > 1e-9 {
		t.Errorf("SQL = %v (%v per request, %v ms mean), want 300 (3, 10 ms)", f.SQLStatements, f.SQLPerRequest, f.SQLMeanMs)
	}
	if f.CacheHitRatio != 0.75 {
		t.Errorf("hit ratio = %v, want 0.75", f.CacheHitRatio)
	}
	if f.CPUCores != 2 || f.CPUMsPerRequest != 100 {
		t.Errorf("CPU = %v cores, %v ms per request; want 2, 100", f.CPUCores, f.CPUMsPerRequest)
	}
	if f.RSSPeakBytes != 100<<20 {
		t.Errorf("RSS peak = %v, want the after value %v when the samples saw less", f.RSSPeakBytes, 100<<20)
	}
}

func TestWeightedPicksInProportion(t *testing.T) {
	t.Parallel()
	w, err := mixWeights("standard", "login=0,summary=10")
	if err != nil {
		t.Fatal(err)
	}
	p, err := newWeighted(w)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, v := range w {
		total += v
	}
	const n = 200_000
	counts := map[string]int{}
	rng := rand.New(rand.NewPCG(1, 2))
	for range n {
		counts[p.pick(rng)]++
	}
	if counts["login"] != 0 {
		t.Errorf("login weighted 0 was picked %d times", counts["login"])
	}
	for name, weight := range w {
		want := float64(weight) / float64(total)
		if got := float64(counts[name]) / n; math.Abs(got-want) > 0.01 {
			t.Errorf("%s picked %.3f of the time, want %.3f", name, got, want)
		}
	}
}

func TestMixWeightsRejectsBadSpecs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ mix, spec string }{
		{"nosuchmix", ""},
		{"standard", "unknown=3"},
		{"standard", "book"},
		{"standard", "book=-1"},
		{"standard", "book=x"},
	} {
		if _, err := mixWeights(tt.mix, tt.spec); err == nil {
			t.Errorf("mixWeights(%q, %q) succeeded, want an error", tt.mix, tt.spec)
		}
	}
	w, err := mixWeights("headline", "headline=0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newWeighted(w); err == nil {
		t.Error("a mix of zero weights was accepted")
	}
}

func TestParseAnswerClassifies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"data is success", 200, `{"data":{"x":1}}`, ""},
		{"first GraphQL error code", 200, `{"errors":[{"extensions":{"code":"CONFLICT"}},{"extensions":{"code":"INTERNAL"}}]}`, "CONFLICT"},
		{"error without code", 200, `{"errors":[{"message":"x"}]}`, "UNSPECIFIED"},
		{"429 is rate limited", http.StatusTooManyRequests, `{"errors":[{"message":"slow down"}]}`, "RATE_LIMITED"},
		{"non-JSON 502", http.StatusBadGateway, `bad gateway`, "HTTP_502"},
		{"non-JSON 200", 200, `<html>`, "BAD_RESPONSE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := parseAnswer(tt.status, []byte(tt.body)).Code; got != tt.want {
				t.Errorf("code = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBookedSlotsAreFutureWorkingSlots(t *testing.T) {
	t.Parallel()
	d := &dataset{patients: []string{"p"}, practitioners: []string{"d"}}
	rng := rand.New(rand.NewPCG(3, 4))
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	for range 500 {
		_, vars := buildBook(d, rng, now)
		in := vars["input"].(map[string]any)
		start, err := time.Parse(time.RFC3339, in["startsAt"].(string))
		if err != nil {
			t.Fatal(err)
		}
		local := start.In(clinicDay(now, 0).Location())
		if !start.After(now.Add(24*time.Hour)) || start.After(now.AddDate(1, 0, 0)) {
			t.Fatalf("slot %v is not between tomorrow and a year ahead", start)
		}
		if wd := local.Weekday(); wd == time.Friday || wd == time.Saturday || local.Hour() < 8 || local.Hour() >= 16 {
			t.Fatalf("slot %v falls outside the working week", local)
		}
	}
}
