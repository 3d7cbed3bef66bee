package check

import (
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"go.yaml.in/yaml/v3"
)

const runbookBase = "https://github.com/healthgraph/healthgraph/blob/main/docs/runbook.md#"

type alertRule struct {
	file string
	rulefmt.Rule
}

func loadAlerts(t *testing.T) []alertRule {
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
				if r.Alert != "" {
					out = append(out, alertRule{file: filepath.Base(f), Rule: r})
				}
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
	exp := exported(t)
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
}
