package check

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The Prometheus Operator's kinds are not in client-go's scheme. These structs hold
// the fields the chart may use (names as in monitoring.coreos.com/v1); decoding is
// strict, so a field the operator does not know fails the test instead of being
// silently dropped by the API server.

// ServiceMonitor is monitoring.coreos.com/v1 ServiceMonitor.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ServiceMonitorSpec `json:"spec"`
}

// ServiceMonitorSpec selects the Services to scrape and how.
type ServiceMonitorSpec struct {
	JobLabel          string               `json:"jobLabel,omitempty"`
	Selector          metav1.LabelSelector `json:"selector"`
	NamespaceSelector struct {
		Any        bool     `json:"any,omitempty"`
		MatchNames []string `json:"matchNames,omitempty"`
	} `json:"namespaceSelector,omitempty"`
	Endpoints []Endpoint `json:"endpoints"`
}

// Endpoint is one scraped port of a ServiceMonitor.
type Endpoint struct {
	Port          string              `json:"port,omitempty"`
	TargetPort    *intstr.IntOrString `json:"targetPort,omitempty"`
	Path          string              `json:"path,omitempty"`
	Scheme        string              `json:"scheme,omitempty"`
	Interval      string              `json:"interval,omitempty"`
	ScrapeTimeout string              `json:"scrapeTimeout,omitempty"`
	HonorLabels   bool                `json:"honorLabels,omitempty"`
	// Relabelings apply before the scrape, MetricRelabelings to its samples.
	Relabelings       []RelabelConfig `json:"relabelings,omitempty"`
	MetricRelabelings []RelabelConfig `json:"metricRelabelings,omitempty"`
}

// RelabelConfig is the operator's relabeling rule.
type RelabelConfig struct {
	SourceLabels []string `json:"sourceLabels,omitempty"`
	Separator    *string  `json:"separator,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	Modulus      uint64   `json:"modulus,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

// PrometheusRule is monitoring.coreos.com/v1 PrometheusRule.
type PrometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []RuleGroup `json:"groups"`
	} `json:"spec"`
}

// RuleGroup is a group of recording and alerting rules, as in a Prometheus rule file.
type RuleGroup struct {
	Name                    string            `json:"name"`
	Labels                  map[string]string `json:"labels,omitempty"`
	Interval                string            `json:"interval,omitempty"`
	QueryOffset             string            `json:"query_offset,omitempty"`
	Limit                   *int              `json:"limit,omitempty"`
	PartialResponseStrategy string            `json:"partial_response_strategy,omitempty"`
	Rules                   []Rule            `json:"rules"`
}

// Rule is one alerting (Alert set) or recording (Record set) rule.
type Rule struct {
	Record        string             `json:"record,omitempty"`
	Alert         string             `json:"alert,omitempty"`
	Expr          intstr.IntOrString `json:"expr"`
	For           string             `json:"for,omitempty"`
	KeepFiringFor string             `json:"keep_firing_for,omitempty"`
	Labels        map[string]string  `json:"labels,omitempty"`
	Annotations   map[string]string  `json:"annotations,omitempty"`
}

func crdMeta(v any) metav1.ObjectMeta {
	switch o := v.(type) {
	case *ServiceMonitor:
		return o.ObjectMeta
	case *PrometheusRule:
		return o.ObjectMeta
	}
	return metav1.ObjectMeta{}
}
