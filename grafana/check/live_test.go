package check

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// liveSubstitute is substitute for a Prometheus that has only minutes of
// data: short rate windows so rates exist soon after the first scrapes.
func liveSubstitute(expr string) string {
	return grafanaVar.ReplaceAllStringFunc(expr, func(v string) string {
		switch strings.Trim(v, "${}") {
		case "__rate_interval", "__interval":
			return "1m"
		case "__range":
			return "15m"
		}
		return ".*"
	})
}

type queryResult struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		Result []json.RawMessage `json:"result"`
	} `json:"data"`
}

func instantQuery(base, expr string) (int, error) {
	resp, err := http.PostForm(strings.TrimRight(base, "/")+"/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r queryResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("%s", r.Error)
	}
	return len(r.Data.Result), nil
}

// TestDashboardQueriesReturnData runs every dashboard query against a real
// Prometheus scraping a running server (HG_PROMETHEUS_URL, set by
// grafana/live-check.sh) and reports which return data. Queries over events
// the load did not cause (say, rate-limit rejections) legitimately return
// nothing, so empty results fail the test only with HG_REQUIRE_DATA=1.
func TestDashboardQueriesReturnData(t *testing.T) {
	base := os.Getenv("HG_PROMETHEUS_URL")
	if base == "" {
		t.Skip("HG_PROMETHEUS_URL not set; run grafana/live-check.sh")
	}
	require := os.Getenv("HG_REQUIRE_DATA") == "1"
	var lines []string
	total, empty := 0, 0
	for file, d := range loadDashboards(t) {
		for _, p := range allPanels(d.Panels) {
			for _, tg := range p.Targets {
				total++
				n, err := instantQuery(base, liveSubstitute(tg.Expr))
				status := fmt.Sprintf("%3d series", n)
				switch {
				case err != nil:
					t.Errorf("%s %q %s: %v", file, p.Title, tg.RefID, err)
					status = "ERROR"
				case n == 0:
					empty++
					status = "NO DATA"
					if require {
						t.Errorf("%s %q %s returned no data: %s", file, p.Title, tg.RefID, tg.Expr)
					}
				}
				lines = append(lines, fmt.Sprintf("%-10s %-22s %-45s %s", status, file, p.Title, tg.RefID))
			}
		}
		for _, a := range d.Annotations.List {
			if a.Expr == "" {
				continue
			}
			total++
			status := "annotation"
			if _, err := instantQuery(base, liveSubstitute(a.Expr)); err != nil {
				t.Errorf("%s annotation %q: %v", file, a.Name, err)
				status = "ERROR"
			}
			// An annotation query is empty except around a rollout; only
			// that Prometheus accepts it is checked.
			lines = append(lines, fmt.Sprintf("%-10s %-22s %-45s", status, file, a.Name))
		}
	}
	sort.Strings(lines)
	t.Logf("%d queries, %d with data, %d without (at %s):\n%s", total, total-empty, empty,
		time.Now().UTC().Format(time.RFC3339), strings.Join(lines, "\n"))
}

// TestExemplarsReachPrometheus checks that latency exemplars with trace ids
// are scraped, which is what makes the dashboards' trace links work.
func TestExemplarsReachPrometheus(t *testing.T) {
	base := os.Getenv("HG_PROMETHEUS_URL")
	if base == "" {
		t.Skip("HG_PROMETHEUS_URL not set; run grafana/live-check.sh")
	}
	now := time.Now()
	q := url.Values{
		"query": {"healthgraph_http_request_duration_seconds_bucket"},
		"start": {fmt.Sprint(now.Add(-time.Hour).Unix())},
		"end":   {fmt.Sprint(now.Unix())},
	}
	resp, err := http.Get(strings.TrimRight(base, "/") + "/api/v1/query_exemplars?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data []struct {
			Exemplars []struct {
				Labels map[string]string `json:"labels"`
			} `json:"exemplars"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range r.Data {
		for _, e := range s.Exemplars {
			if len(e.Labels["trace_id"]) == 32 {
				n++
			}
		}
	}
	if n == 0 {
		t.Error("no exemplar with a trace_id on healthgraph_http_request_duration_seconds; is tracing sampling on and Prometheus run with --enable-feature=exemplar-storage?")
	}
	t.Logf("%d exemplars with trace ids", n)
}
