#!/bin/sh
# Scrapes a running HealthGraph server with a real Prometheus (Debian's
# package, on loopback) and runs every dashboard query against it, printing
# which return data; also checks that latency exemplars with trace ids arrive
# and that the server's /metrics has every metric, type and label the
# dashboards and alerts use.
#
# Usage: grafana/live-check.sh [host:port]      (default 127.0.0.1:8080)
#   HG_LOAD_CMD      command that drives seeded load while Prometheus scrapes
#                    (default: a short curl loop over /graphql, /health,
#                    /ready, /playground and an unknown path)
#   HG_REQUIRE_DATA  1 to fail when a dashboard query returns no data
#   HG_PROMETHEUS_PORT  loopback port for Prometheus (default 19090)
# Start the server first, with tracing sampled (OTEL_TRACES_SAMPLER_ARG=1.0)
# so exemplars carry trace ids.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
target=${1:-127.0.0.1:8080}
port=${HG_PROMETHEUS_PORT:-19090}
prom="http://127.0.0.1:$port"

if ! command -v prometheus >/dev/null 2>&1; then
	echo "prometheus not found; installing Debian's prometheus package" >&2
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		sudo="sudo"
	fi
	$sudo apt-get update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends prometheus
fi

if ! curl -fsS -o /dev/null "http://$target/metrics"; then
	echo "no HealthGraph /metrics at http://$target/metrics; start the server first" >&2
	exit 1
fi

work=$(mktemp -d)
cat >"$work/prometheus.yml" <<YML
global:
  scrape_interval: 2s
  evaluation_interval: 2s
rule_files:
  - $here/alerts/*.yml
scrape_configs:
  - job_name: healthgraph
    static_configs:
      - targets: ["$target"]
YML

prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
	--web.listen-address="127.0.0.1:$port" --enable-feature=exemplar-storage \
	>"$work/prometheus.log" 2>&1 &
prom_pid=$!
cleanup() {
	kill "$prom_pid" 2>/dev/null || true
	wait "$prom_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# scrapes prints how many successful scrapes of the target Prometheus holds.
scrapes() {
	curl -fsS "$prom/api/v1/query" --data-urlencode 'query=sum(count_over_time(up{job="healthgraph"}[1h]) and on() up{job="healthgraph"} == 1)' 2>/dev/null |
		sed -n 's/.*"value":\[[^,]*,"\([0-9]*\)".*/\1/p'
}

# wait_scrapes N polls until Prometheus holds at least N scrapes.
wait_scrapes() {
	i=0
	while :; do
		n=$(scrapes)
		if [ -n "$n" ] && [ "$n" -ge "$1" ]; then
			return 0
		fi
		i=$((i + 1))
		if [ "$i" -gt 120 ]; then
			echo "Prometheus did not scrape $target (last count: ${n:-none}); log:" >&2
			tail -n 20 "$work/prometheus.log" >&2
			exit 1
		fi
		sleep 0.5
	done
}

wait_scrapes 2
echo "Prometheus $(prometheus --version 2>&1 | head -n 1 | cut -d' ' -f3) scraping $target"

if [ -n "${HG_LOAD_CMD:-}" ]; then
	echo "load: $HG_LOAD_CMD"
	sh -c "$HG_LOAD_CMD"
	# What the kubelet would do: probe readiness and liveness.
	for _ in 1 2 3; do
		curl -s -o /dev/null "http://$target/ready" || true
		curl -s -o /dev/null "http://$target/health" || true
	done
else
	echo "load: built-in curl loop (set HG_LOAD_CMD for seeded GraphQL traffic)"
	i=0
	while [ "$i" -lt 200 ]; do
		curl -fsS -o /dev/null -H 'Content-Type: application/json' \
			-d '{"query":"query LiveCheck { __typename }","operationName":"LiveCheck"}' \
			"http://$target/graphql" || true
		curl -s -o /dev/null "http://$target/health" || true
		curl -s -o /dev/null "http://$target/ready" || true
		[ $((i % 20)) -eq 0 ] && { curl -s -o /dev/null "http://$target/playground" || true; curl -s -o /dev/null "http://$target/no-such-path" || true; }
		i=$((i + 1))
	done
fi

# Three more scrapes after the load, so every rate window holds it.
wait_scrapes $(($(scrapes) + 3))

cd "$here/check"
HG_PROMETHEUS_URL="$prom" HG_METRICS_URL="http://$target/metrics" \
	go test -count=1 -v -run 'TestDashboardQueriesReturnData|TestExemplarsReachPrometheus|TestDashboardQueriesUseExportedMetrics|TestAlertsAreDocumentedAndUseExportedMetrics' . |
	grep -v '^=== RUN'
