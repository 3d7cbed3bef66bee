package check

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

func TestEveryValueSetRendersAndDecodesStrictly(t *testing.T) {
	t.Parallel()
	for name, vals := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, o := range []renderOpts{{}, {monitoringAPI: true, upgrade: true, mutateChart: withFixtures(t)}} {
				objs := render(t, vals, o)
				for _, kind := range []string{"Deployment", "Service", "ConfigMap", "ServiceAccount", "Job", "Pod"} {
					if len(objs.byKind(kind)) == 0 {
						t.Errorf("no %s rendered (got %s)", kind, objs.kinds())
					}
				}
			}
		})
	}
}

func TestDeploymentIsHardenedAndRollsWithoutDowntime(t *testing.T) {
	t.Parallel()
	for name, vals := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			objs := render(t, vals, renderOpts{})
			d := objs.one(t, "Deployment").Obj.(*appsv1.Deployment)
			spec := d.Spec.Template.Spec

			ru := d.Spec.Strategy.RollingUpdate
			if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil ||
				ru.MaxSurge == nil || ru.MaxSurge.String() != "1" || ru.MaxUnavailable == nil || ru.MaxUnavailable.String() != "0" {
				t.Errorf("strategy = %+v, want RollingUpdate maxSurge 1 maxUnavailable 0", d.Spec.Strategy)
			}

			psc := spec.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 ||
				psc.FSGroup == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("pod securityContext = %+v, want non-root 65532, fsGroup, seccomp RuntimeDefault", psc)
			}
			if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
				t.Error("pod mounts a service account token; the API never calls Kubernetes")
			}
			if len(spec.TopologySpreadConstraints) == 0 {
				t.Error("no topologySpreadConstraints")
			}
			// Further containers are the user's (extraContainers); the service's is first.
			if len(spec.Containers) == 0 || spec.Containers[0].Name != "healthgraph" {
				t.Fatalf("first container is not healthgraph: %+v", spec.Containers)
			}
			c := spec.Containers[0]
			checkContainerHardened(t, c)

			for _, p := range []struct {
				name  string
				probe *corev1.Probe
				path  string
			}{{"startup", c.StartupProbe, "/health"}, {"liveness", c.LivenessProbe, "/health"}, {"readiness", c.ReadinessProbe, "/ready"}} {
				if p.probe == nil || p.probe.HTTPGet == nil {
					t.Errorf("%s probe missing", p.name)
					continue
				}
				if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
					t.Errorf("%s probe = GET %s on %s, want GET %s on http", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
				}
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("resources = %+v, want cpu+memory requests and a memory limit", c.Resources)
			}

			// Graceful shutdown: the kubelet's grace period must cover the preStop
			// pause plus the server's drain (HG_SHUTDOWN_TIMEOUT).
			if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
				t.Fatal("no lifecycle.preStop.sleep (distroless has no shell for an exec sleep)")
			}
			cm := objs.config(t)
			drain, err := time.ParseDuration(cm.Data["HG_SHUTDOWN_TIMEOUT"])
			if err != nil {
				t.Fatalf("HG_SHUTDOWN_TIMEOUT %q: %v", cm.Data["HG_SHUTDOWN_TIMEOUT"], err)
			}
			need := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second + drain
			if grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second; grace <= need {
				t.Errorf("terminationGracePeriodSeconds %v <= preStop %ds + drain %v", grace, c.Lifecycle.PreStop.Sleep.Seconds, drain)
			}

			for _, a := range []string{"checksum/config"} {
				if d.Spec.Template.Annotations[a] == "" {
					t.Errorf("pod template lacks %s: config changes would not roll pods", a)
				}
			}
			if cm.Data["HG_ENV"] != "production" || cm.Data["HG_AUTO_MIGRATE"] != "false" {
				t.Errorf("HG_ENV=%q HG_AUTO_MIGRATE=%q, want production/false (the hook Job migrates)", cm.Data["HG_ENV"], cm.Data["HG_AUTO_MIGRATE"])
			}
			for k := range cm.Data {
				if !strings.HasPrefix(k, "HG_") && !strings.HasPrefix(k, "OTEL_") {
					t.Errorf("ConfigMap key %s is neither HG_* nor OTEL_*", k)
				}
			}
			for _, key := range []string{"HG_JWT_KEY", "HG_PHI_KEYS", "HG_PHI_INDEX_KEY"} {
				if _, inline := cm.Data[key]; inline {
					t.Errorf("%s in the ConfigMap", key)
				}
				if !strings.HasPrefix(cm.Data[key+"_FILE"], "/var/run/secrets/healthgraph/") {
					t.Errorf("%s_FILE = %q, want a file of the mounted Secret", key, cm.Data[key+"_FILE"])
				}
			}
		})
	}
}

func checkContainerHardened(t *testing.T, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container %s securityContext = %+v, want read-only root fs, no privilege escalation, drop ALL", c.Name, sc)
	}
}

func TestSelectorsStayTheSameAcrossUpgrades(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	before := render(t, sets["defaults"], renderOpts{})
	after := render(t, sets["production"], renderOpts{upgrade: true, mutateChart: func(c *chart.Chart) {
		c.Metadata.Version = "7.3.1"
		c.Metadata.AppVersion = "9.0.0"
	}})
	sel := func(r rendered) map[string]string {
		return r.one(t, "Deployment").Obj.(*appsv1.Deployment).Spec.Selector.MatchLabels
	}
	if !reflect.DeepEqual(sel(before), sel(after)) {
		t.Fatalf("Deployment selector changed across an upgrade (immutable field):\nbefore %v\nafter  %v", sel(before), sel(after))
	}
	for _, r := range []rendered{before, after} {
		d := r.one(t, "Deployment").Obj.(*appsv1.Deployment)
		want := d.Spec.Selector.MatchLabels
		for k, v := range want {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("pod template label %s=%q, selector wants %q", k, d.Spec.Template.Labels[k], v)
			}
		}
		for _, svc := range r.byKind("Service") {
			if got := svc.Obj.(*corev1.Service).Spec.Selector; !reflect.DeepEqual(got, want) {
				t.Errorf("Service %s selector %v != Deployment selector %v", svc.Name, got, want)
			}
		}
		if pdbs := r.byKind("PodDisruptionBudget"); len(pdbs) == 1 {
			if got := pdbs[0].Obj.(*policyv1.PodDisruptionBudget).Spec.Selector.MatchLabels; !reflect.DeepEqual(got, want) {
				t.Errorf("PDB selector %v != Deployment selector %v", got, want)
			}
		}
		for k := range want {
			if k == "helm.sh/chart" || k == "app.kubernetes.io/version" {
				t.Errorf("selector holds %s, which changes with every release", k)
			}
		}
		// The migration Job's and test pod's pods must never receive Service traffic.
		job := r.one(t, "Job").Obj.(*batchv1.Job)
		if matches(want, job.Spec.Template.Labels) {
			t.Error("the migration Job's pods match the Service selector")
		}
		if matches(want, r.one(t, "Pod").Obj.(*corev1.Pod).Labels) {
			t.Error("the test pod matches the Service selector")
		}
	}
}

func matches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestMigrationJobRunsAsAHookBeforeTheRollout(t *testing.T) {
	t.Parallel()
	for name, vals := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			objs := render(t, vals, renderOpts{})
			jobObj := objs.one(t, "Job")
			job := jobObj.Obj.(*batchv1.Job)
			a := jobObj.Meta.Annotations
			if a["helm.sh/hook"] != "pre-install,pre-upgrade" {
				t.Errorf("hook = %q, want pre-install,pre-upgrade", a["helm.sh/hook"])
			}
			if a["helm.sh/hook-delete-policy"] != "before-hook-creation,hook-succeeded" {
				t.Errorf("hook-delete-policy = %q", a["helm.sh/hook-delete-policy"])
			}
			jobWeight, err := strconv.Atoi(a["helm.sh/hook-weight"])
			if err != nil {
				t.Fatalf("hook-weight %q: %v", a["helm.sh/hook-weight"], err)
			}
			c := job.Spec.Template.Spec.Containers[0]
			if !reflect.DeepEqual(c.Args, []string{"migrate", "up"}) {
				t.Errorf("job args = %v, want [migrate up]", c.Args)
			}
			if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever || job.Spec.ActiveDeadlineSeconds == nil {
				t.Error("job must not restart in place and must have a deadline")
			}
			checkContainerHardened(t, c)

			// Hooks run before the release's objects exist: everything the Job
			// references must be a hook with a lower weight, or the user's Secret.
			secretRef := c.Env[len(c.Env)-1].ValueFrom.SecretKeyRef.Name
			if existing, _ := vals["existingSecret"].(string); existing != "" {
				if secretRef != existing {
					t.Errorf("job reads Secret %q, want existingSecret %q", secretRef, existing)
				}
			} else {
				var found bool
				for _, s := range objs.byKind("Secret") {
					if s.Name != secretRef {
						continue
					}
					found = true
					w, _ := strconv.Atoi(s.Meta.Annotations["helm.sh/hook-weight"])
					if !strings.Contains(s.Meta.Annotations["helm.sh/hook"], "pre-install") || w >= jobWeight {
						t.Errorf("Secret %s is not a pre-install hook weighted before the Job (%d >= %d)", s.Name, w, jobWeight)
					}
				}
				if !found {
					t.Errorf("job reads Secret %q that is not rendered", secretRef)
				}
			}
			if job.Spec.Template.Spec.ServiceAccountName != "" {
				t.Error("job uses the chart's ServiceAccount, which does not exist yet at pre-install")
			}
		})
	}
}

func TestHelmTestChecksTheServiceHealth(t *testing.T) {
	t.Parallel()
	objs := render(t, valueSets(t)["defaults"], renderOpts{})
	p := objs.one(t, "Pod")
	if p.Meta.Annotations["helm.sh/hook"] != "test" {
		t.Errorf("test pod hook = %q", p.Meta.Annotations["helm.sh/hook"])
	}
	svc := objs.apiService(t)
	want := []string{"healthcheck", "--url", "http://" + svc.Name + ":" + strconv.Itoa(int(svc.Spec.Ports[0].Port)) + "/health"}
	if got := p.Obj.(*corev1.Pod).Spec.Containers[0].Args; !reflect.DeepEqual(got, want) {
		t.Errorf("test args = %v, want %v", got, want)
	}
}

func TestProductionUsesExistingSecretAndTLSIngress(t *testing.T) {
	t.Parallel()
	vals := valueSets(t)["production"]
	objs := render(t, vals, renderOpts{})
	if s := objs.byKind("Secret"); len(s) != 0 {
		t.Errorf("chart made Secrets %v although existingSecret is set", s[0].Name)
	}
	d := objs.one(t, "Deployment").Obj.(*appsv1.Deployment)
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %d, want 3", *d.Spec.Replicas)
	}
	env := map[string]*corev1.EnvVarSource{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.ValueFrom
	}
	for name, key := range map[string]string{"HG_DATABASE_URL": "database-url", "HG_REDIS_URL": "redis-url"} {
		src := env[name]
		if src == nil || src.SecretKeyRef == nil || src.SecretKeyRef.Name != "healthgraph-credentials" || src.SecretKeyRef.Key != key {
			t.Errorf("%s not read from healthgraph-credentials/%s: %+v", name, key, src)
		}
	}
	if _, ok := d.Spec.Template.Annotations["checksum/secret"]; ok {
		t.Error("checksum/secret on an existingSecret (the chart cannot see its content)")
	}
	ing := objs.one(t, "Ingress").Obj.(*networkingv1.Ingress)
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" || len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "healthgraph-tls" {
		t.Errorf("ingress class/TLS = %v/%+v", ing.Spec.IngressClassName, ing.Spec.TLS)
	}
	cm := objs.config(t)
	if cm.Data["HG_NPHIES_CERT_FILE"] == "" || cm.Data["HG_CORS_ORIGINS"] != "https://app.clinic.example" || cm.Data["HG_MAX_BODY_BYTES"] != "1048576" {
		t.Errorf("ConfigMap = %v", cm.Data)
	}
	if _, ok := cm.Data["HG_REDIS_URL"]; ok {
		t.Error("HG_REDIS_URL in the ConfigMap although it comes from the Secret")
	}
}

func TestNetworkPolicyAllowsOnlyTheNeededPeers(t *testing.T) {
	t.Parallel()
	objs := render(t, valueSets(t)["production"], renderOpts{})
	np := objs.named(t, "NetworkPolicy", releaseName+"-healthgraph").Obj.(*networkingv1.NetworkPolicy)
	if !reflect.DeepEqual(np.Spec.PolicyTypes, []networkingv1.PolicyType{"Ingress", "Egress"}) {
		t.Errorf("policyTypes = %v", np.Spec.PolicyTypes)
	}
	// The API port from the configured ingress controller and the test pod; the
	// metrics port from Prometheus only.
	if len(np.Spec.Ingress) != 2 {
		t.Fatalf("ingress = %+v, want an API rule and a metrics rule", np.Spec.Ingress)
	}
	api, metrics := np.Spec.Ingress[0], np.Spec.Ingress[1]
	if len(api.Ports) != 1 || api.Ports[0].Port.String() != "http" || len(api.From) != 2 ||
		api.From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "traefik" ||
		api.From[1].PodSelector.MatchLabels["app.kubernetes.io/component"] != "test" {
		t.Errorf("API ingress rule = %+v, want port http from traefik and the test pod", api)
	}
	if len(metrics.Ports) != 1 || metrics.Ports[0].Port.String() != "metrics" || len(metrics.From) != 1 ||
		metrics.From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" {
		t.Errorf("metrics ingress rule = %+v, want port metrics from monitoring only", metrics)
	}
	got := egressPorts(np)
	for _, want := range []string{"UDP/53 169.254.20.10/32", "TCP/53 169.254.20.10/32", "TCP/5432 10.20.0.0/16", "TCP/6380 10.21.0.0/16",
		"TCP/443 0.0.0.0/0", "TCP/4317 10.30.0.0/16", "TCP/8200 10.40.0.0/16"} {
		if !got[want] {
			t.Errorf("egress lacks %s; got %v", want, got)
		}
	}
	if len(got) != 7 {
		t.Errorf("egress has %d port rules, want exactly 7: %v", len(got), got)
	}
}

// egressPorts keys every egress port as "PROTO/port cidr…".
func egressPorts(np *networkingv1.NetworkPolicy) map[string]bool {
	got := map[string]bool{}
	for _, r := range np.Spec.Egress {
		for _, p := range r.Ports {
			key := string(*p.Protocol) + "/" + p.Port.String()
			for _, to := range r.To {
				if to.IPBlock != nil {
					key += " " + to.IPBlock.CIDR
				}
			}
			got[key] = true
		}
	}
	return got
}

// A first install in a namespace that denies by default: the migration Job runs
// before the release's NetworkPolicy exists, so it needs a policy of its own, made
// earlier in the same hook phase.
func TestMigrationJobHasANetworkPolicyBeforeItRuns(t *testing.T) {
	t.Parallel()
	objs := render(t, valueSets(t)["production"], renderOpts{})
	job := objs.one(t, "Job")
	jobWeight, _ := strconv.Atoi(job.Meta.Annotations["helm.sh/hook-weight"])
	pol := objs.named(t, "NetworkPolicy", releaseName+"-healthgraph-migrate")
	a := pol.Meta.Annotations
	w, err := strconv.Atoi(a["helm.sh/hook-weight"])
	if a["helm.sh/hook"] != job.Meta.Annotations["helm.sh/hook"] || err != nil || w >= jobWeight {
		t.Errorf("migration NetworkPolicy hook %q weight %q, want %q weighted below the Job's %d", a["helm.sh/hook"], a["helm.sh/hook-weight"], job.Meta.Annotations["helm.sh/hook"], jobWeight)
	}
	np := pol.Obj.(*networkingv1.NetworkPolicy)
	if !matches(np.Spec.PodSelector.MatchLabels, job.Obj.(*batchv1.Job).Spec.Template.Labels) {
		t.Errorf("migration policy selects %v, not the Job's pods", np.Spec.PodSelector.MatchLabels)
	}
	got := egressPorts(np)
	for _, want := range []string{"UDP/53 169.254.20.10/32", "TCP/53 169.254.20.10/32", "TCP/5432 10.20.0.0/16"} {
		if !got[want] {
			t.Errorf("migration egress lacks %s; got %v", want, got)
		}
	}
	// Off by default: the peers depend on the cluster (docs/deploy.md).
	if n := len(render(t, valueSets(t)["defaults"], renderOpts{}).byKind("NetworkPolicy")); n != 0 {
		t.Errorf("%d NetworkPolicies with the default values, want none", n)
	}
}

func TestAutoscalingOnCPUByDefault(t *testing.T) {
	t.Parallel()
	vals := valueSets(t)["autoscaling"]
	objs := render(t, vals, renderOpts{})
	hpa := objs.one(t, "HorizontalPodAutoscaler").Obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 12 {
		t.Errorf("min/max = %v/%d", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	// Memory is opt-in: under GOGC=400 the heap grows to its limit and never
	// scales back down.
	if got := hpaResources(hpa); !reflect.DeepEqual(got, []string{"cpu"}) {
		t.Errorf("metrics on %v, want cpu only", got)
	}
	if d := objs.one(t, "Deployment").Obj.(*appsv1.Deployment); d.Spec.Replicas != nil {
		t.Errorf("Deployment sets replicas=%d although the HPA owns them (every upgrade would reset the scale)", *d.Spec.Replicas)
	}
	if hpa.Spec.ScaleTargetRef.Name != objs.one(t, "Deployment").Name {
		t.Error("HPA targets another Deployment")
	}
	if len(objs.byKind("PodDisruptionBudget")) != 1 {
		t.Error("no PDB")
	}
	withMemory := map[string]any{"autoscaling": map[string]any{"targetMemoryUtilizationPercentage": 80}}
	hpa = render(t, merge(vals, withMemory), renderOpts{}).one(t, "HorizontalPodAutoscaler").Obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if got := hpaResources(hpa); !reflect.DeepEqual(got, []string{"cpu", "memory"}) {
		t.Errorf("metrics on %v with a memory target, want cpu and memory", got)
	}
}

func hpaResources(hpa *autoscalingv2.HorizontalPodAutoscaler) []string {
	var res []string
	for _, m := range hpa.Spec.Metrics {
		res = append(res, string(m.Resource.Name))
	}
	return res
}

// Turning the HPA on in an upgrade: a manifest without replicas makes Helm's patch
// remove the field, and the Deployment drops to 1 pod until the HPA reacts. On an
// upgrade the chart keeps the live count (at least minReplicas) instead.
func TestEnablingTheHPAInAnUpgradeKeepsTheReplicas(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	running := render(t, sets["defaults"], renderOpts{}).one(t, "Deployment").Obj.(*appsv1.Deployment)
	running.Namespace = namespace
	for _, tc := range []struct {
		name string
		live int32
		min  int
		want int32
	}{
		{"live above minReplicas keeps the live count", 5, 3, 5},
		{"live below minReplicas rises to it", 2, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			live := running.DeepCopy()
			live.Spec.Replicas = &tc.live
			vals := merge(sets["defaults"], map[string]any{"autoscaling": map[string]any{"enabled": true, "minReplicas": tc.min}})
			d := render(t, vals, renderOpts{upgrade: true, live: []runtime.Object{live}}).one(t, "Deployment").Obj.(*appsv1.Deployment)
			if d.Spec.Replicas == nil || *d.Spec.Replicas != tc.want {
				t.Errorf("replicas = %v, want %d", d.Spec.Replicas, tc.want)
			}
		})
	}
}

// merge returns base with over laid on top (maps merged, other values replaced).
func merge(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = merge(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func TestMonitoringObjectsFollowTheCRDs(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	t.Run("absent without the CRDs", func(t *testing.T) {
		t.Parallel()
		objs := render(t, sets["defaults"], renderOpts{mutateChart: withFixtures(t)})
		if n := len(objs.byKind("ServiceMonitor")) + len(objs.byKind("PrometheusRule")); n != 0 {
			t.Errorf("%d monitoring objects rendered on a cluster without monitoring.coreos.com/v1", n)
		}
	})
	t.Run("present when the cluster has the CRDs", func(t *testing.T) {
		t.Parallel()
		objs := render(t, sets["defaults"], renderOpts{monitoringAPI: true, mutateChart: withFixtures(t)})
		objs.one(t, "ServiceMonitor")
		objs.one(t, "PrometheusRule")
	})
	t.Run("forced by value", func(t *testing.T) {
		t.Parallel()
		objs := render(t, sets["monitoring"], renderOpts{mutateChart: withFixtures(t)})
		sm := objs.one(t, "ServiceMonitor").Obj.(*ServiceMonitor)
		ms := objs.metricsService(t)
		if !matches(sm.Spec.Selector.MatchLabels, ms.Meta.Labels) || matches(sm.Spec.Selector.MatchLabels, objs.apiService(t).Labels) ||
			sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor spec = %+v, want the metrics Service's metrics port only", sm.Spec)
		}
		if sm.Labels["release"] != "kube-prometheus-stack" {
			t.Errorf("ServiceMonitor labels = %v", sm.Labels)
		}
		pr := objs.one(t, "PrometheusRule").Obj.(*PrometheusRule)
		want := loadRuleGroups(t, "testdata/fixtures/alerts")
		if !reflect.DeepEqual(pr.Spec.Groups, want) {
			t.Errorf("PrometheusRule groups differ from the alert files:\ngot  %+v\nwant %+v", pr.Spec.Groups, want)
		}
		dash := objs.byKind("ConfigMap")
		var found bool
		for _, o := range dash {
			cm := o.Obj.(*corev1.ConfigMap)
			if data, ok := cm.Data["fixture_overview.json"]; ok {
				found = true
				if cm.Labels["grafana_dashboard"] != "1" || cm.Namespace != "monitoring" || !json.Valid([]byte(data)) {
					t.Errorf("dashboard ConfigMap %s: labels %v namespace %q", cm.Name, cm.Labels, cm.Namespace)
				}
			}
		}
		if !found {
			t.Error("no ConfigMap for the fixture dashboard")
		}
	})
}

// A deployment with its own copy of the runbook sets one value and every alert
// links into it; by default the links are the ones in grafana/alerts.
func TestRunbookLinksFollowTheConfiguredBase(t *testing.T) {
	t.Parallel()
	const base = "https://wiki.clinic.example/ops/healthgraph-runbook"
	vals := merge(valueSets(t)["monitoring"], map[string]any{
		"monitoring": map[string]any{"prometheusRule": map[string]any{"runbookBaseUrl": base}},
	})
	pr := render(t, vals, renderOpts{}).one(t, "PrometheusRule").Obj.(*PrometheusRule)
	var alerts int
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if want := base + "#" + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
				t.Errorf("alert %s: runbook_url = %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
			}
		}
	}
	if alerts == 0 {
		t.Fatal("no alert in the PrometheusRule")
	}
	for _, bad := range []string{"https://wiki.clinic.example/runbook#top", "wiki.clinic.example/runbook"} {
		vals := merge(valueSets(t)["monitoring"], map[string]any{
			"monitoring": map[string]any{"prometheusRule": map[string]any{"runbookBaseUrl": bad}},
		})
		if _, err := renderChart(loadChart(t), vals, renderOpts{}); err == nil || !strings.Contains(err.Error(), "runbookBaseUrl") {
			t.Errorf("runbookBaseUrl %q: err = %v, want a refusal naming runbookBaseUrl", bad, err)
		}
	}
}

// loadRuleGroups reads Prometheus rule files the way the chart does.
func loadRuleGroups(t *testing.T, dir string) []RuleGroup {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
	var groups []RuleGroup
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Groups []RuleGroup `json:"groups"`
		}
		if err := yaml.UnmarshalStrict(data, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		groups = append(groups, doc.Groups...)
	}
	return groups
}

// The chart carries copies of grafana/'s alert rules and dashboards (`make
// chart-files`), never links: Flux and other Git sources drop symlinks, and the
// render still exits 0 with no alerts. The copies must equal grafana/ file for
// file, so what docker compose runs is exactly what the chart ships.
func TestChartCarriesExactCopiesOfTheGrafanaFiles(t *testing.T) {
	t.Parallel()
	err := filepath.WalkDir(chartDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&os.ModeSymlink != 0 {
			t.Errorf("%s is a symlink: Git sources such as Flux drop it (run make chart-files)", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := loadChart(t)
	inChart := map[string][]byte{}
	for _, f := range c.Files {
		if strings.HasPrefix(f.Name, "files/") {
			inChart[f.Name] = f.Data
		}
	}
	for _, pattern := range []string{"dashboards/*.json", "alerts/*.yml"} {
		srcs, _ := filepath.Glob(filepath.Join(grafanaDir, pattern))
		if len(srcs) == 0 {
			t.Errorf("no grafana/%s", pattern)
		}
		for _, src := range srcs {
			want, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			rel := "files/" + filepath.Base(filepath.Dir(src)) + "/" + filepath.Base(src)
			got, ok := inChart[rel]
			delete(inChart, rel)
			switch {
			case !ok:
				t.Errorf("chart lacks %s (run make chart-files)", rel)
			case string(got) != string(want):
				t.Errorf("chart file %s differs from %s (run make chart-files)", rel, src)
			}
		}
	}
	for rel := range inChart {
		t.Errorf("chart file %s has no source in grafana/ (run make chart-files)", rel)
	}
	// With the real files (whatever grafana/ holds now) the chart still renders strictly,
	// and every alert group in grafana/alerts reaches the PrometheusRule.
	objs := render(t, valueSets(t)["monitoring"], renderOpts{})
	want := loadRuleGroups(t, filepath.Join(grafanaDir, "alerts"))
	prs := objs.byKind("PrometheusRule")
	switch {
	case len(want) == 0 && len(prs) != 0:
		t.Error("PrometheusRule rendered with no alert files")
	case len(want) > 0 && (len(prs) != 1 || !reflect.DeepEqual(prs[0].Obj.(*PrometheusRule).Spec.Groups, want)):
		t.Error("PrometheusRule groups differ from grafana/alerts/*.yml")
	}
	dashboards, _ := filepath.Glob(filepath.Join(grafanaDir, "dashboards", "*.json"))
	var dashCMs int
	for _, o := range objs.byKind("ConfigMap") {
		if o.Meta.Labels["grafana_dashboard"] == "1" {
			dashCMs++
		}
	}
	if dashCMs != len(dashboards) {
		t.Errorf("%d dashboard ConfigMaps for %d files in grafana/dashboards", dashCMs, len(dashboards))
	}
}

func TestNotesSayHowToCheckTheRelease(t *testing.T) {
	t.Parallel()
	for name, vals := range valueSets(t) {
		out, err := renderChart(loadChart(t), vals, renderOpts{})
		if err != nil {
			t.Fatal(err)
		}
		notes := out["healthgraph/templates/NOTES.txt"]
		for _, want := range []string{"rollout status deployment/hg-healthgraph", "helm test hg -n clinic"} {
			if !strings.Contains(notes, want) {
				t.Errorf("%s: NOTES.txt lacks %q:\n%s", name, want, notes)
			}
		}
		if strings.Contains(notes, "<no value>") {
			t.Errorf("%s: NOTES.txt prints <no value>:\n%s", name, notes)
		}
	}
}
