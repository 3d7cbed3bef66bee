package check

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// /metrics (revenue counters included) and the Playground stay off the public
// surface: the server serves /metrics on a port of its own, which only the
// metrics Service carries; the API Service, and so the Ingress, never does; the
// Playground is off unless a value turns it on.
func TestMetricsAndPlaygroundStayOffThePublicSurface(t *testing.T) {
	t.Parallel()
	for name, vals := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			objs := render(t, vals, renderOpts{monitoringAPI: true})
			cm := objs.config(t)
			if cm.Data["HG_PLAYGROUND"] != "false" {
				t.Errorf("HG_PLAYGROUND = %q, want false", cm.Data["HG_PLAYGROUND"])
			}
			c := objs.one(t, "Deployment").Obj.(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
			ports := map[string]int32{}
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			if ports["metrics"] == 0 || ports["metrics"] == ports["http"] {
				t.Fatalf("container ports = %v, want a metrics port apart from http", ports)
			}
			if want := ":" + strconv.Itoa(int(ports["metrics"])); cm.Data["HG_METRICS_ADDR"] != want {
				t.Errorf("HG_METRICS_ADDR = %q, want %q (the metrics container port)", cm.Data["HG_METRICS_ADDR"], want)
			}
			for _, p := range objs.apiService(t).Spec.Ports {
				if p.TargetPort.String() != "http" {
					t.Errorf("API Service port %s targets %s, want http only", p.Name, p.TargetPort.String())
				}
			}
			ms := objs.metricsService(t).Obj.(*corev1.Service)
			if len(ms.Spec.Ports) != 1 || ms.Spec.Ports[0].TargetPort.String() != "metrics" || ms.Spec.Type != corev1.ServiceTypeClusterIP {
				t.Errorf("metrics Service ports = %+v (type %s), want one ClusterIP port targeting metrics", ms.Spec.Ports, ms.Spec.Type)
			}
			for _, o := range objs.byKind("Ingress") {
				for _, rule := range o.Obj.(*networkingv1.Ingress).Spec.Rules {
					for _, p := range rule.HTTP.Paths {
						if b := p.Backend.Service; b == nil || b.Name != objs.apiService(t).Name || b.Port.Name != "http" {
							t.Errorf("Ingress path %s routes to %+v, want the API Service's http port", p.Path, p.Backend)
						}
					}
				}
			}
			if sms := objs.byKind("ServiceMonitor"); len(sms) == 1 {
				if ep := sms[0].Obj.(*ServiceMonitor).Spec.Endpoints; len(ep) != 1 || ep[0].Port != "metrics" {
					t.Errorf("ServiceMonitor endpoints = %+v, want the metrics port", ep)
				}
			}
		})
	}
	on := merge(valueSets(t)["defaults"], map[string]any{"config": map[string]any{"playground": true}})
	if got := render(t, on, renderOpts{}).config(t).Data["HG_PLAYGROUND"]; got != "true" {
		t.Errorf("config.playground=true gives HG_PLAYGROUND=%q", got)
	}
}

// Every extension point a platform team would otherwise fork for: the values in
// testdata/values/extensions.yaml use each, and the render (decoded strictly into
// the Kubernetes types, so a misplaced field fails) carries each where it belongs.
func TestExtensionPointsReachTheRender(t *testing.T) {
	t.Parallel()
	objs := render(t, valueSets(t)["extensions"], renderOpts{})
	d := objs.one(t, "Deployment").Obj.(*appsv1.Deployment)
	pod := d.Spec.Template
	if pod.Annotations["vault.hashicorp.com/agent-inject"] != "true" || pod.Annotations["checksum/config"] == "" {
		t.Errorf("pod annotations = %v, want podAnnotations beside the checksum", pod.Annotations)
	}
	if n := len(pod.Spec.InitContainers); n != 1 || pod.Spec.InitContainers[0].Name != "wait-for-secrets" {
		t.Errorf("initContainers = %+v", pod.Spec.InitContainers)
	}
	if n := len(pod.Spec.Containers); n != 2 || pod.Spec.Containers[1].Name != "cloud-sql-proxy" {
		t.Errorf("containers = %d, want healthgraph and the cloud-sql-proxy sidecar", n)
	}
	c := pod.Spec.Containers[0]
	var mounted, envFrom, volume bool
	for _, m := range c.VolumeMounts {
		mounted = mounted || (m.Name == "agent-secrets" && m.MountPath == "/var/run/secrets/agent")
	}
	for _, e := range c.EnvFrom {
		envFrom = envFrom || (e.SecretRef != nil && e.SecretRef.Name == "healthgraph-extra-env")
	}
	for _, v := range pod.Spec.Volumes {
		volume = volume || (v.Name == "agent-secrets" && v.EmptyDir != nil)
	}
	if !mounted || !envFrom || !volume || c.EnvFrom[0].ConfigMapRef == nil {
		t.Errorf("extraVolumeMounts %v, extraEnvFrom %v (after the chart's ConfigMap), extraVolumes %v", mounted, envFrom, volume)
	}
	if cm := objs.named(t, "ConfigMap", "hg-extra").Obj.(*corev1.ConfigMap); cm.Data["note"] != "rendered with the release" {
		t.Errorf("extraObjects map: %v", cm.Data)
	}
	objs.named(t, "ServiceAccount", "hg-proxy") // extraObjects string, through tpl
	pdb := objs.one(t, "PodDisruptionBudget").Obj.(*policyv1.PodDisruptionBudget)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.String() != "50%" || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("PDB min/max = %v/%v, want minAvailable 50%% alone", pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
	}
	ep := objs.one(t, "ServiceMonitor").Obj.(*ServiceMonitor).Spec.Endpoints[0]
	if len(ep.Relabelings) != 1 || ep.Relabelings[0].TargetLabel != "node" || len(ep.MetricRelabelings) != 1 || ep.MetricRelabelings[0].Action != "drop" {
		t.Errorf("ServiceMonitor relabelings %+v, metricRelabelings %+v", ep.Relabelings, ep.MetricRelabelings)
	}
}

// Secrets given inline land in Helm's release history (a Secret per revision,
// readable by anyone who can read Secrets in the namespace): NOTES.txt says so.
func TestNotesWarnAboutInlineSecrets(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	for _, tc := range []struct {
		set  string
		warn bool
	}{{"defaults", true}, {"production", false}} {
		out, err := renderChart(loadChart(t), sets[tc.set], renderOpts{})
		if err != nil {
			t.Fatal(err)
		}
		notes := out["healthgraph/templates/NOTES.txt"]
		if got := strings.Contains(notes, "WARNING: secrets were given inline") && strings.Contains(notes, "existingSecret"); got != tc.warn {
			t.Errorf("%s: inline-secret warning = %v, want %v:\n%s", tc.set, got, tc.warn, notes)
		}
	}
}

// The runbook's helm and kubectl commands name the release and namespace that
// docs/deploy.md installs (release hg, namespace healthgraph): in an incident a
// command copied from the runbook must hit the real release.
func TestRunbookCommandsNameTheDeployedRelease(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds := regexp.MustCompile("`((?:helm|kubectl) [^`]*)`").FindAllStringSubmatch(string(data), -1)
	if len(cmds) == 0 {
		t.Fatal("no helm or kubectl command in the runbook")
	}
	for _, m := range cmds {
		cmd := m[1]
		if !strings.Contains(cmd, "-n healthgraph") {
			t.Errorf("runbook command %q does not name the namespace healthgraph", cmd)
		}
		if strings.HasPrefix(cmd, "helm ") && !regexp.MustCompile(`^helm \w+ hg\b`).MatchString(cmd) {
			t.Errorf("runbook command %q does not name the release hg", cmd)
		}
		for _, ref := range regexp.MustCompile(`(?:job|deployment)/([\w-]+)`).FindAllStringSubmatch(cmd, -1) {
			if !strings.HasPrefix(ref[1], "hg-healthgraph") {
				t.Errorf("runbook command %q names %s, not an object of release hg", cmd, ref[0])
			}
		}
	}
}
