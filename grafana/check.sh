#!/bin/sh
# Validates grafana/: the Prometheus alert rules' syntax (promtool check
# rules) and behaviour (promtool test rules, a firing and a silent case per
# alert), then the dashboards and rules against the metrics the service
# registers (the Go module in grafana/check: every PromQL expression parses
# and names only exported metrics, types and labels; UIDs, panel ids, units,
# descriptions, datasource variable, runbook links). Installs promtool from
# Debian's prometheus package when it is missing. Run from anywhere; CI calls
# it from .ci/run. Set HG_SKIP_GO_CHECK=1 to run only promtool.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

if ! command -v promtool >/dev/null 2>&1; then
	echo "promtool not found; installing Debian's prometheus package" >&2
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		sudo="sudo"
	fi
	$sudo apt-get update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends prometheus
fi

promtool --version 2>&1 | head -n 1

cd "$here/alerts"
# The rule files are the top-level *.yml; tests live in tests/.
promtool check rules ./*.yml
promtool test rules tests/*.yml

if [ "${HG_SKIP_GO_CHECK:-}" != "1" ]; then
	cd "$here/check"
	go vet ./...
	go test -count=1 ./...
fi
