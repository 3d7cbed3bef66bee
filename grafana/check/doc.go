// Package check validates HealthGraph's Grafana dashboards and Prometheus
// alert rules against the metrics the service really exports. It is its own
// module so that the Prometheus server module (needed for the PromQL parser
// and the rule file format) does not enter the service's dependency graph.
//
// Run it with: cd grafana/check && go test ./...
// With HG_METRICS_URL set (e.g. http://127.0.0.1:8080/metrics) it also
// checks against a running server's /metrics; with HG_PROMETHEUS_URL set it
// runs every dashboard query against that Prometheus and reports queries
// that return no data.
package check
