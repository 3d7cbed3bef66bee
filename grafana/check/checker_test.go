package check

import (
	"strings"
	"testing"
)

// The checker itself must catch the mistakes it exists for.
func TestCheckerRejectsBrokenQueries(t *testing.T) {
	exp := exported(t)
	cases := []struct {
		name, expr, want string
	}{
		{"unknown metric", `rate(healthgraph_http_request_total[5m])`, "not exported"},
		{"unknown label", `healthgraph_ready{route="/x"}`, `no label "route"`},
		{"rate over a gauge", `rate(healthgraph_nphies_outbox_pending_messages[5m])`, "over gauge"},
		{"grouping by a missing label", `sum by (tenant) (rate(healthgraph_http_requests_total[5m]))`, `no selected metric has label "tenant"`},
		{"le on a counter", `healthgraph_http_requests_total{le="1"}`, `no label "le"`},
		{"syntax", `sum(rate(healthgraph_http_requests_total[$__rate_interval])`, "does not parse"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, problems := checkExpr(c.expr, exp)
			if !strings.Contains(strings.Join(problems, "; "), c.want) {
				t.Errorf("checkExpr(%s) = %v, want a problem containing %q", c.expr, problems, c.want)
			}
		})
	}
	if _, problems := checkExpr(`histogram_quantile(0.95, sum by (operation, le) (rate(healthgraph_graphql_operation_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))`, exp); len(problems) > 0 {
		t.Errorf("a valid histogram query was rejected: %v", problems)
	}
}
