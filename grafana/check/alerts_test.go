package check

import (
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

const runbookBase = "https://github.com/healthgraph/healthgraph/blob/main/docs/runbook.md#"

type alertRule struct {
	file string
	rulefmt.Rule
}

// loadAlerts returns the alerting rules of grafana/alerts.
func loadAlerts(t *testing.T) []alertRule {
	t.Helper()
	var out []alertRule
	for _, r := range loadRules(t) {
		if r.Alert != "" {
			out = append(out, r)
		}
	}
	return out
}

// loadRecords returns the recording rules of grafana/alerts.
func loadRecords(t *testing.T) []alertRule {
	t.Helper()
	var out []alertRule
	for _, r := range loadRules(t) {
		if r.Record != "" {
			out = append(out, r)
		}
	}
	return out
}

// loadRules returns every rule of grafana/alerts, alerting and recording.
func loadRules(t *testing.T) []alertRule {
	t.Helper()
	files, err := filepath.Glob("../alerts/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no alert rule files (%v)", err)
	}
	var out []alertRule
	for _, f := range files {
		groups, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
		for _, err := range errs {
			t.Errorf("%s: %v", f, err)
		}
		if groups == nil {
			continue
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				out = append(out, alertRule{file: filepath.Base(f), Rule: r})
			}
		}
	}
	return out
}

// runbookAnchors returns GitHub's anchors for the headings of docs/runbook.md.
func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	nonWord := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			h = strings.TrimSpace(strings.TrimLeft(h, "#"))
			a := strings.ReplaceAll(nonWord.ReplaceAllString(strings.ToLower(h), ""), " ", "-")
			anchors[a] = true
		}
	}
	return anchors
}

func TestAlertsAreDocumentedAndUseExportedMetrics(t *testing.T) {
	exp := withRecorded(t, exported(t))
	anchors := runbookAnchors(t)
	names := map[string]bool{}
	for _, a := range loadAlerts(t) {
		if names[a.Alert] {
			t.Errorf("alert %s defined twice", a.Alert)
		}
		names[a.Alert] = true
		if s := a.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", a.Alert, s)
		}
		for _, k := range []string{"summary", "description", "runbook_url"} {
			if a.Annotations[k] == "" {
				t.Errorf("%s: no %s annotation", a.Alert, k)
			}
		}
		anchor, ok := strings.CutPrefix(a.Annotations["runbook_url"], runbookBase)
		if !ok || !anchors[anchor] {
			t.Errorf("%s: runbook_url %q does not point at a section of docs/runbook.md", a.Alert, a.Annotations["runbook_url"])
		}
		if anchor != strings.ToLower(a.Alert) {
			t.Errorf("%s: runbook section %q, want the alert's own section", a.Alert, anchor)
		}
		_, problems := checkExpr(a.Expr, exp)
		for _, p := range problems {
			report(t, p)("%s (%s): %s", a.Alert, a.file, p)
		}
	}
}

type promtoolTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromQLExprTest []struct {
			Expr string `yaml:"expr"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

// promtool only tests the alerts a test file names; this makes sure every
// alert is named, both firing and silent.
func TestEveryAlertHasPromtoolTests(t *testing.T) {
	files, err := filepath.Glob("../alerts/tests/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no promtool tests (%v)", err)
	}
	firing, silent := map[string]bool{}, map[string]bool{}
	var exprs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var pt promtoolTests
		if err := yaml.Unmarshal(b, &pt); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range pt.Tests {
			for _, e := range tc.PromQLExprTest {
				exprs = append(exprs, e.Expr)
			}
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					firing[a.Alertname] = true
				} else {
					silent[a.Alertname] = true
				}
			}
		}
	}
	for _, a := range loadAlerts(t) {
		if !firing[a.Alert] {
			t.Errorf("%s: no promtool case where it fires", a.Alert)
		}
		if !silent[a.Alert] {
			t.Errorf("%s: no promtool case where it stays silent", a.Alert)
		}
	}
	all := strings.Join(exprs, "\n")
	for _, r := range loadRecords(t) {
		if !regexp.MustCompile(regexp.QuoteMeta(r.Record) + `\b`).MatchString(all) {
			t.Errorf("recording rule %s: no promql_expr_test checks its value", r.Record)
		}
	}
}

// withRecorded adds the series the recording rules produce to exp, so
// dashboards and alerts may read them: a gauge with the labels the rule
// aggregates by. Each recording rule must itself use exported metrics.
func withRecorded(t *testing.T, exp map[string]family) map[string]family {
	t.Helper()
	out := map[string]family{}
	for k, v := range exp {
		out[k] = v
	}
	for _, r := range loadRecords(t) {
		node, err := promql.ParseExpr(r.Expr)
		if err != nil {
			t.Errorf("%s: %v", r.Record, err)
			continue
		}
		labels := map[string]bool{}
		for _, l := range outputLabels(node) {
			labels[l] = true
		}
		out[r.Record] = family{typ: dto.MetricType_GAUGE, labels: labels}
	}
	for _, r := range loadRecords(t) {
		if _, problems := checkExpr(r.Expr, out); len(problems) > 0 {
			t.Errorf("recording rule %s (%s): %v", r.Record, r.file, problems)
		}
	}
	return out
}

// outputLabels are the labels an expression's result keeps when it
// aggregates with by (...): the grouping of its outermost aggregation.
func outputLabels(n parser.Node) []string {
	switch n := n.(type) {
	case *parser.AggregateExpr:
		if !n.Without {
			return n.Grouping
		}
	case *parser.ParenExpr:
		return outputLabels(n.Expr)
	case *parser.BinaryExpr:
		if l := outputLabels(n.LHS); l != nil {
			return l
		}
		return outputLabels(n.RHS)
	}
	return nil
}

var grouping = regexp.MustCompile(`\b(by|without)\s*\(`)

// A rule that aggregates away the deployment labels mixes staging into
// production; one that selects on job depends on how a release is named.
// absent() is the one exception: it says that nothing exists anywhere.
func TestRulesAggregateByDeployment(t *testing.T) {
	for _, r := range loadRules(t) {
		name := r.Alert + r.Record
		node, err := promql.ParseExpr(r.Expr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		parser.Inspect(node, func(n parser.Node, path []parser.Node) error {
			for _, p := range path {
				if c, ok := p.(*parser.Call); ok && c.Func.Name == "absent" {
					return nil
				}
			}
			switch n := n.(type) {
			case *parser.AggregateExpr:
				for _, l := range deploymentLabels {
					if n.Without == slices.Contains(n.Grouping, l) {
						t.Errorf("%s: %s aggregates away %q", name, n.Op, l)
					}
				}
			case *parser.VectorSelector:
				for _, m := range n.LabelMatchers {
					if m.Name == "job" {
						t.Errorf("%s: selects on job (%s); separate deployments by %v instead", name, m, deploymentLabels)
					}
				}
			}
			return nil
		})
		for _, loc := range grouping.FindAllStringIndex(r.Expr, -1) {
			if !strings.HasPrefix(r.Expr[loc[0]:], deploymentGrouping) {
				t.Errorf("%s: grouping %q does not start with %q, the form the selectors convention replaces", name, r.Expr[loc[0]:loc[1]+20], deploymentGrouping)
			}
		}
	}
}
