#!/bin/sh
# Validates the Prometheus alert rules in grafana/alerts: syntax
# (promtool check rules) and behaviour (promtool test rules, one or more
# cases per alert). Installs promtool from Debian's prometheus package when it
# is missing. Run from anywhere; CI calls it from .ci/run.
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
