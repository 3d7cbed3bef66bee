package check

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads a compose file the way `docker compose` does (schema
// validation, interpolation, merge of anchors, consistency checks), from the repo
// root and with an empty environment so defaults are what gets tested.
func loadCompose(t *testing.T, file string, profiles ...string) (*types.Project, error) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(root),
		cli.WithEnv([]string{}),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func TestComposeFileDefinesTheStack(t *testing.T) {
	t.Parallel()
	core := []string{"api", "migrate", "nphies-mock", "postgres", "redis"}
	observability := []string{"grafana", "otel-collector", "prometheus", "tempo", "tempo-init"}
	for _, tc := range []struct {
		name     string
		profiles []string
		want     []string
	}{
		{"default", nil, core},
		{"observability profile", []string{"observability"}, append(slices.Clone(core), observability...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := loadCompose(t, composeFile, tc.profiles...)
			if err != nil {
				t.Fatalf("compose file does not load: %v", err)
			}
			got := p.ServiceNames()
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("services = %v, want %v", got, want)
			}
		})
	}
}

func TestComposeServicesAreHardenedAndHealthChecked(t *testing.T) {
	t.Parallel()
	p, err := loadCompose(t, composeFile, "observability")
	if err != nil {
		t.Fatal(err)
	}
	// One-shots have nothing to probe; the collector image has no program to probe with.
	noHealthcheck := []string{"migrate", "tempo-init", "otel-collector"}
	readOnly := []string{"api", "migrate", "nphies-mock", "redis", "otel-collector", "tempo", "tempo-init", "prometheus", "grafana"}
	for name, s := range p.Services {
		t.Run(name, func(t *testing.T) {
			if !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
				t.Errorf("security_opt = %v, want no-new-privileges:true", s.SecurityOpt)
			}
			if !slices.Equal(s.CapDrop, []string{"ALL"}) {
				t.Errorf("cap_drop = %v, want [ALL]", s.CapDrop)
			}
			if s.ReadOnly != slices.Contains(readOnly, name) {
				t.Errorf("read_only = %v", s.ReadOnly)
			}
			switch {
			case slices.Contains(noHealthcheck, name):
				if s.HealthCheck == nil || !s.HealthCheck.Disable {
					t.Error("want an explicitly disabled healthcheck")
				}
			case s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) < 2 || s.HealthCheck.Test[0] != "CMD":
				t.Errorf("healthcheck = %+v, want an exec-form CMD test", s.HealthCheck)
			case s.HealthCheck.Interval == nil || s.HealthCheck.Timeout == nil || s.HealthCheck.Retries == nil:
				t.Error("healthcheck without interval, timeout or retries")
			}
			if name != "tempo-init" && (s.Deploy == nil || s.Deploy.Resources.Limits == nil || s.Deploy.Resources.Limits.MemoryBytes == 0 || s.Deploy.Resources.Limits.NanoCPUs == 0) {
				t.Error("no cpu and memory limits")
			}
			for _, v := range s.Volumes {
				if v.Type == types.VolumeTypeBind {
					if _, err := os.Stat(v.Source); err != nil && !strings.Contains(v.Source, "/grafana/provisioning") {
						t.Errorf("bind mount source %s: %v", v.Source, err)
					}
				}
			}
		})
	}
}

func TestComposeAPIStartsOnlyOnAHealthyMigratedDatabase(t *testing.T) {
	t.Parallel()
	p, err := loadCompose(t, composeFile)
	if err != nil {
		t.Fatal(err)
	}
	api := p.Services["api"]
	if api.Deploy == nil || api.Deploy.Replicas == nil || *api.Deploy.Replicas != 2 {
		t.Errorf("api replicas = %v, want 2", api.Deploy)
	}
	for dep, cond := range map[string]string{
		"postgres": types.ServiceConditionHealthy,
		"redis":    types.ServiceConditionHealthy,
		"migrate":  types.ServiceConditionCompletedSuccessfully,
	} {
		if got := api.DependsOn[dep].Condition; got != cond {
			t.Errorf("api depends_on %s: condition %q, want %q", dep, got, cond)
		}
	}
	// docker compose stop sends SIGTERM, then SIGKILL after stop_grace_period: it must
	// outlast the server's not-ready delay plus its drain.
	drain, err := time.ParseDuration(*api.Environment["HG_SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Fatalf("HG_SHUTDOWN_TIMEOUT: %v", err)
	}
	if d := api.Environment["HG_SHUTDOWN_DELAY"]; d == nil {
		t.Error("api sets no HG_SHUTDOWN_DELAY: compose has no preStop, so /ready must turn 503 before the listener closes")
	} else if delay, err := time.ParseDuration(*d); err != nil {
		t.Fatalf("HG_SHUTDOWN_DELAY: %v", err)
	} else {
		drain += delay
	}
	if api.StopGracePeriod == nil || time.Duration(*api.StopGracePeriod) <= drain {
		t.Errorf("api stop_grace_period %v does not exceed HG_SHUTDOWN_DELAY + HG_SHUTDOWN_TIMEOUT %v", api.StopGracePeriod, drain)
	}
	if got := p.Services["migrate"].DependsOn["postgres"].Condition; got != types.ServiceConditionHealthy {
		t.Errorf("migrate depends_on postgres: %q", got)
	}
	if got := p.Services["migrate"].Command; !slices.Equal(got, []string{"migrate", "up"}) {
		t.Errorf("migrate command = %v", got)
	}
	if got := p.Services["nphies-mock"].Command; !slices.Equal(got, []string{"nphies-mock", "--addr", "0.0.0.0:8090"}) {
		t.Errorf("nphies-mock command = %v", got)
	}
	// The JWT and PHI keys are compose secrets read from files, never inline variables.
	keys := map[string]string{"HG_JWT_KEY": "jwt_key", "HG_PHI_KEYS": "phi_keys", "HG_PHI_INDEX_KEY": "phi_index_key"}
	for _, name := range []string{"api", "migrate"} {
		s := p.Services[name]
		var mounted []string
		for _, sec := range s.Secrets {
			mounted = append(mounted, sec.Source)
		}
		for variable, secret := range keys {
			if v := s.Environment[variable+"_FILE"]; v == nil || *v != "/run/secrets/"+secret {
				t.Errorf("%s %s_FILE = %v", name, variable, v)
			}
			if _, inline := s.Environment[variable]; inline {
				t.Errorf("%s has %s inline", name, variable)
			}
			if !slices.Contains(mounted, secret) {
				t.Errorf("%s secrets = %v, want %s among them", name, mounted, secret)
			}
		}
		if v := s.Environment["HG_AUTO_MIGRATE"]; v == nil || *v != "false" {
			t.Errorf("%s HG_AUTO_MIGRATE = %v, want false (the migrate service migrates)", name, v)
		}
	}
	for _, secret := range keys {
		if sec, ok := p.Secrets[secret]; !ok || !strings.HasSuffix(sec.File, "deploy/compose/"+secret) {
			t.Errorf("secret %s = %+v, want file deploy/compose/%s", secret, sec, secret)
		}
	}
	for _, v := range []string{"postgres-data", "redis-data"} {
		if _, ok := p.Volumes[v]; !ok {
			t.Errorf("named volume %s missing", v)
		}
	}
}

func TestComposeObservabilityUsesTheSharedGrafanaFiles(t *testing.T) {
	t.Parallel()
	p, err := loadCompose(t, composeFile, "observability")
	if err != nil {
		t.Fatal(err)
	}
	mounts := func(service string) map[string]string {
		m := map[string]string{}
		for _, v := range p.Services[service].Volumes {
			m[v.Target] = v.Source
		}
		return m
	}
	root, _ := filepath.Abs("../..")
	for service, want := range map[string]map[string]string{
		"prometheus": {"/etc/prometheus/alerts": "grafana/alerts"},
		"grafana":    {"/etc/grafana/provisioning": "grafana/provisioning", "/var/lib/grafana/dashboards": "grafana/dashboards"},
	} {
		got := mounts(service)
		for target, src := range want {
			if got[target] != filepath.Join(root, src) {
				t.Errorf("%s mounts %q at %s, want %s", service, got[target], target, src)
			}
		}
	}
}

// A planted mistake in the compose file must fail the load: prove each class.
func TestComposeMistakesAreRefused(t *testing.T) {
	t.Parallel()
	orig, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"misspelt depends_on condition", "condition: service_completed_successfully", "condition: service_completed", "service_completed"},
		{"unknown key", "    read_only: true\n", "    readonly: true\n", "readonly"},
		{"dependency on an undefined service", "      migrate:\n        condition:", "      migrator:\n        condition:", "migrator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(string(orig), tc.old) {
				t.Fatalf("compose file no longer contains %q", tc.old)
			}
			bad := filepath.Join(t.TempDir(), "docker-compose.yml")
			if err := os.WriteFile(bad, []byte(strings.Replace(string(orig), tc.old, tc.new, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadCompose(t, bad, "observability")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// Compose's Prometheus keeps at least as much as the longest range a dashboard or
// rule looks back over (the "30-day" SLO panels): with less, they show a shorter
// window under a 30-day title.
func TestComposePrometheusKeepsTheLongestRangeTheDashboardsQuery(t *testing.T) {
	t.Parallel()
	p, err := loadCompose(t, composeFile, "observability")
	if err != nil {
		t.Fatal(err)
	}
	var retention int
	for _, arg := range p.Services["prometheus"].Command {
		if v, ok := strings.CutPrefix(arg, "--storage.tsdb.retention.time="); ok {
			days, err := strconv.Atoi(strings.TrimSuffix(v, "d"))
			if err != nil || !strings.HasSuffix(v, "d") {
				t.Fatalf("retention %q: want whole days (Nd)", v)
			}
			retention = days
		}
	}
	files, _ := filepath.Glob(filepath.Join(grafanaDir, "dashboards", "*.json"))
	rules, _ := filepath.Glob(filepath.Join(grafanaDir, "alerts", "*.yml"))
	longest, where := 0, ""
	re := regexp.MustCompile(`\[(\d+)d[\]:]`)
	for _, f := range append(files, rules...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			if d, _ := strconv.Atoi(m[1]); d > longest {
				longest, where = d, filepath.Base(f)
			}
		}
	}
	if retention <= longest {
		t.Errorf("compose Prometheus keeps %dd, but %s queries %dd: keep more than that", retention, where, longest)
	}
}
