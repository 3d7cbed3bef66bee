package check

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/promql/parser"
)

var promql = parser.NewParser(parser.Options{})

// targetLabels are added by Prometheus when it scrapes (job, instance), by
// Kubernetes service discovery as the chart's ServiceMonitor and the usual
// scrape configs relabel it (namespace, pod), and as the external label of a
// multi-cluster setup (cluster), so every query may use them.
var targetLabels = map[string]bool{"job": true, "instance": true, "cluster": true, "namespace": true, "pod": true}

// deploymentLabels separate one deployment of HealthGraph from another (a
// staging release from production): every rule aggregates by them, written
// exactly as deploymentGrouping (the "selectors" convention of
// grafana/alerts), and the dashboards filter on them.
var deploymentLabels = []string{"cluster", "namespace"}

const deploymentGrouping = "by (cluster, namespace"

var grafanaVar = regexp.MustCompile(`\$\{?(\w+)\}?`)

// substitute replaces Grafana variables with values that keep the
// expression valid PromQL: durations for the interval variables, a regular
// expression for everything else (the dashboards only use variables inside
// =~ matchers).
func substitute(expr string) string {
	return grafanaVar.ReplaceAllStringFunc(expr, func(v string) string {
		name := strings.Trim(v, "${}")
		switch name {
		case "__rate_interval", "__interval", "__range":
			return map[string]string{"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}[name]
		case "__range_s", "__interval_ms":
			return "3600"
		}
		return ".*"
	})
}

// checkExpr parses expr and returns problems with the metrics it uses:
// unknown names, unknown labels, rate() over a gauge, grouping by a label no
// selected metric has.
func checkExpr(expr string, exp map[string]family) (used []string, problems []string) {
	node, err := promql.ParseExpr(substitute(expr))
	if err != nil {
		return nil, []string{fmt.Sprintf("does not parse: %v", err)}
	}
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			name, fam, labels, ok := resolve(n, exp)
			if !ok {
				problems = append(problems, fmt.Sprintf("metric %q is not exported", name))
				return nil
			}
			used = append(used, name)
			_ = fam
			for _, m := range n.LabelMatchers {
				if m.Name != "__name__" && !labels[m.Name] {
					problems = append(problems, fmt.Sprintf("metric %q has no label %q", name, m.Name))
				}
			}
		case *parser.Call:
			switch n.Func.Name {
			case "rate", "irate", "increase":
				for _, a := range n.Args {
					if ms, ok := a.(*parser.MatrixSelector); ok {
						if vs, ok := ms.VectorSelector.(*parser.VectorSelector); ok {
							if name, fam, _, ok := resolve(vs, exp); ok && fam.typ == dto.MetricType_GAUGE {
								problems = append(problems, fmt.Sprintf("%s() over gauge %q", n.Func.Name, name))
							}
						}
					}
				}
			}
		case *parser.AggregateExpr:
			allowed := map[string]bool{}
			parser.Inspect(n.Expr, func(c parser.Node, _ []parser.Node) error {
				if vs, ok := c.(*parser.VectorSelector); ok {
					if _, _, labels, ok := resolve(vs, exp); ok {
						for l := range labels {
							allowed[l] = true
						}
					}
				}
				return nil
			})
			for _, g := range n.Grouping {
				if len(allowed) > 0 && !allowed[g] {
					problems = append(problems, fmt.Sprintf("%s by (%s): no selected metric has label %q", n.Op, strings.Join(n.Grouping, ", "), g))
				}
			}
		}
		return nil
	})
	return used, problems
}

// resolve maps a selector to its exported family, understanding the
// _bucket, _sum and _count series of histograms, and returns the labels the
// selector may use.
func resolve(vs *parser.VectorSelector, exp map[string]family) (string, family, map[string]bool, bool) {
	name := vs.Name
	labels := map[string]bool{}
	for l := range targetLabels {
		labels[l] = true
	}
	if f, ok := exp[name]; ok && f.typ != dto.MetricType_HISTOGRAM {
		for l := range f.labels {
			labels[l] = true
		}
		if f.typ == dto.MetricType_SUMMARY {
			labels["quantile"] = true
		}
		return name, f, labels, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, found := strings.CutSuffix(name, suffix)
		if !found {
			continue
		}
		if f, ok := exp[base]; ok && (f.typ == dto.MetricType_HISTOGRAM || f.typ == dto.MetricType_SUMMARY && suffix != "_bucket") {
			for l := range f.labels {
				labels[l] = true
			}
			if suffix == "_bucket" {
				labels["le"] = true
			}
			return name, f, labels, true
		}
	}
	return name, family{}, nil, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
