package check

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Paths from this module's directory to the artefacts under test.
const (
	chartDir    = "../../helm/healthgraph"
	composeFile = "../../docker-compose.yml"
	grafanaDir  = "../../grafana"
	releaseName = "hg"
	namespace   = "clinic"
	// kubeVersion is the oldest Kubernetes the chart supports (preStop sleep is on by default from 1.30).
	kubeVersion = "v1.30.0"
)

// renderOpts says how to render the chart besides its values.
type renderOpts struct {
	// monitoringAPI makes the cluster advertise monitoring.coreos.com/v1.
	monitoringAPI bool
	// upgrade renders as revision 2 of an existing release.
	upgrade bool
	// mutateChart edits the loaded chart (version bumps, fixture files).
	mutateChart func(*chart.Chart)
	// live are the objects the cluster holds, answered to the chart's lookup calls.
	live []runtime.Object
}

// object is one rendered manifest: its source template, raw YAML and decoded form.
type object struct {
	Template string
	Kind     string
	Name     string
	Raw      []byte
	// Obj is the typed Kubernetes object, or one of this package's CRD structs.
	Obj  any
	Meta metav1.ObjectMeta
}

// rendered is every object one render produced, in a stable order.
type rendered []object

func (r rendered) byKind(kind string) []object {
	var out []object
	for _, o := range r {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// one returns the single object of a kind, failing the test if there is not exactly one.
func (r rendered) one(t *testing.T, kind string) object {
	t.Helper()
	objs := r.byKind(kind)
	if len(objs) != 1 {
		t.Fatalf("want exactly one %s, got %d (%s)", kind, len(objs), r.kinds())
	}
	return objs[0]
}

// named returns the object of a kind with the release's full name (the chart's own
// ConfigMap, as opposed to the dashboard ConfigMaps).
func (r rendered) named(t *testing.T, kind, name string) object {
	t.Helper()
	for _, o := range r {
		if o.Kind == kind && o.Name == name {
			return o
		}
	}
	t.Fatalf("no %s/%s (got %s)", kind, name, r.kinds())
	return object{}
}

// apiService is the Service the Ingress and clients use (the metrics Service is
// another).
func (r rendered) apiService(t *testing.T) *corev1.Service {
	t.Helper()
	return r.named(t, "Service", releaseName+"-healthgraph").Obj.(*corev1.Service)
}

// metricsService is the Service only the ServiceMonitor uses.
func (r rendered) metricsService(t *testing.T) object {
	t.Helper()
	return r.named(t, "Service", releaseName+"-healthgraph-metrics")
}

// config is the chart's ConfigMap of HG_* variables.
func (r rendered) config(t *testing.T) *corev1.ConfigMap {
	t.Helper()
	return r.named(t, "ConfigMap", releaseName+"-healthgraph").Obj.(*corev1.ConfigMap)
}

func (r rendered) kinds() string {
	var ks []string
	for _, o := range r {
		ks = append(ks, o.Kind+"/"+o.Name)
	}
	return strings.Join(ks, ", ")
}

// loadChart loads the chart: the package named by HG_CHART (.ci/deploy-checks.sh
// passes the one `helm package` made, so the checks render what users install),
// else the chart directory.
func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	path := chartDir
	if p := os.Getenv("HG_CHART"); p != "" {
		path = p
	}
	c, err := loader.Load(path)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

// readValues reads a values file from testdata.
func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValuesFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return v.AsMap()
}

// renderChart renders the chart like `helm template` / `helm install` would,
// returning the template output or the first error (schema or template).
func renderChart(c *chart.Chart, vals map[string]any, o renderOpts) (map[string]string, error) {
	if o.mutateChart != nil {
		o.mutateChart(c)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = chartutil.KubeVersion{Version: kubeVersion, Major: "1", Minor: "30"}
	if o.monitoringAPI {
		caps.APIVersions = append(caps.APIVersions, "monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PrometheusRule")
	}
	if c.Metadata.KubeVersion != "" && !chartutil.IsCompatibleRange(c.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("chart requires kubeVersion %s, cluster is %s", c.Metadata.KubeVersion, caps.KubeVersion.String())
	}
	rel := chartutil.ReleaseOptions{Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: !o.upgrade, IsUpgrade: o.upgrade}
	if o.upgrade {
		rel.Revision = 2
	}
	top, err := chartutil.ToRenderValues(c, vals, rel, caps)
	if err != nil {
		return nil, err
	}
	if o.live != nil {
		return engine.RenderWithClientProvider(c, top, liveCluster{fake.NewSimpleDynamicClient(scheme.Scheme, o.live...)})
	}
	return engine.Render(c, top)
}

// liveCluster answers the chart's lookup calls from a fake dynamic client.
type liveCluster struct{ client *fake.FakeDynamicClient }

func (l liveCluster) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, false, err
	}
	plural, _ := meta.UnsafeGuessKindToResource(gv.WithKind(kind))
	return l.client.Resource(plural), true, nil
}

// render renders and strictly decodes every object, failing the test on any error.
func render(t *testing.T, vals map[string]any, o renderOpts) rendered {
	t.Helper()
	out, err := renderChart(loadChart(t), vals, o)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	objs, err := decodeAll(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

var (
	strictDecoder = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	typeConverter managedfields.TypeConverter
)

func init() {
	typeConverter = applyconfigurations.NewTypeConverter(scheme.Scheme)
}

// decodeAll splits every rendered template into documents and decodes each strictly:
// Kubernetes kinds into client-go's types (then checked against the embedded OpenAPI
// schema), the Prometheus Operator kinds into the structs in crds_test.go.
func decodeAll(out map[string]string) (rendered, error) {
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	var objs rendered
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		docs := releaseutil.SplitManifests(out[name])
		keys := make([]string, 0, len(docs))
		for k := range docs {
			keys = append(keys, k)
		}
		sort.Sort(releaseutil.BySplitManifestsOrder(keys))
		for _, k := range keys {
			doc := docs[k]
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			o, err := decodeOne(name, []byte(doc))
			if err != nil {
				return nil, err
			}
			objs = append(objs, o)
		}
	}
	return objs, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func decodeOne(template string, raw []byte) (object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		return object{}, fmt.Errorf("%s: not YAML: %v\n%s", template, err, raw)
	}
	o := object{Template: template, Kind: tm.Kind, Raw: raw}
	switch tm.APIVersion {
	case "monitoring.coreos.com/v1":
		var target any
		switch tm.Kind {
		case "ServiceMonitor":
			target = &ServiceMonitor{}
		case "PrometheusRule":
			target = &PrometheusRule{}
		default:
			return o, fmt.Errorf("%s: unexpected kind %s", template, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(raw, target); err != nil {
			return o, fmt.Errorf("%s: %s does not decode strictly: %v", template, tm.Kind, err)
		}
		o.Obj = target
		o.Meta = crdMeta(target)
	default:
		obj, gvk, err := strictDecoder.Decode(raw, nil, nil)
		if err != nil {
			return o, fmt.Errorf("%s: %s does not decode strictly: %v", template, tm.Kind, err)
		}
		if _, err := typeConverter.ObjectToTyped(obj); err != nil {
			return o, fmt.Errorf("%s: %s fails the OpenAPI schema: %v", template, gvk.Kind, err)
		}
		acc, ok := obj.(metav1.ObjectMetaAccessor)
		if !ok {
			return o, fmt.Errorf("%s: %s has no metadata", template, gvk.Kind)
		}
		o.Obj = obj
		o.Meta = *acc.GetObjectMeta().(*metav1.ObjectMeta)
		var _ runtime.Object = obj
	}
	o.Name = o.Meta.Name
	if o.Name == "" {
		return o, fmt.Errorf("%s: %s has no name", template, o.Kind)
	}
	return o, nil
}

// valueSets lists testdata/values/*.yaml; each one is rendered by every invariant test.
func valueSets(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, err := filepath.Glob("testdata/values/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no value sets in testdata/values: %v", err)
	}
	sets := map[string]map[string]any{}
	for _, f := range files {
		sets[strings.TrimSuffix(filepath.Base(f), ".yaml")] = readValues(t, f)
	}
	return sets
}

// withFixtures replaces the chart's alert files and dashboards (grafana/'s) with the
// test fixtures, in memory, so the PrometheusRule and dashboard templates are checked
// against known input whatever grafana/ holds.
func withFixtures(t *testing.T) func(*chart.Chart) {
	t.Helper()
	var files []*chart.File
	for _, dir := range []string{"alerts", "dashboards"} {
		paths, _ := filepath.Glob(filepath.Join("testdata/fixtures", dir, "*"))
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, &chart.File{Name: "files/" + dir + "/" + filepath.Base(p), Data: data})
		}
	}
	return func(c *chart.Chart) {
		kept := c.Files[:0]
		for _, f := range c.Files {
			if !strings.HasPrefix(f.Name, "files/alerts/") && !strings.HasPrefix(f.Name, "files/dashboards/") {
				kept = append(kept, f)
			}
		}
		c.Files = append(kept, files...)
	}
}
