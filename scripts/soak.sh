#!/usr/bin/env bash
# Soak: the standard mix against one replica at about 60 % of its peak
# throughput for SOAK_DURATION (default 30m), sampling each minute the
# clients' requests/s, p99 and errors and the server's RSS, goroutines,
# open file descriptors and Postgres pool connections; the samples are
# written as JSON and drawn as SVG (docs/performance.md shows the picture).
#
#   HG_SEED_PASSWORD=... make soak
#
# The peak is measured first: the same mix, closed loop, 32 clients, 20 s.
# Environment: BENCH_BIN and BENCH_HG_DRILL (binaries; built here when
# unset), HG_DATABASE_URL (default: the large scale dataset), SOAK_DURATION,
# SOAK_SHARE (0.6), SOAK_OUT (where samples.json and soak.svg go; default
# .cache/soak), BENCH_ADDR. Needs go, curl and jq.
set -euo pipefail

db=${HG_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/healthgraph_large?sslmode=disable}
addr=${BENCH_ADDR:-127.0.0.1:18090}
duration=${SOAK_DURATION:-30m}
share=${SOAK_SHARE:-0.6}
: "${HG_SEED_PASSWORD:?set HG_SEED_PASSWORD to the load accounts password}"

cd "$(dirname "$0")/.."
out=${SOAK_OUT:-$PWD/.cache/soak}
mkdir -p "$out"
work=$(mktemp -d)
server_pid=
stop_server() {
	if [[ -n $server_pid ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
	fi
}
trap 'stop_server; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/lib/bench-server.sh
. scripts/lib/bench-server.sh
build_binaries

# Access tokens that outlive the run, so the load accounts' logins of the
# start hold.
start_healthgraph "$db" "$addr" "$work/server.log" HG_ACCESS_TOKEN_TTL=4h
server_pid=$hg_pid
url=http://$addr
wait_ready "$url" "$server_pid" "$work/server.log"

echo "== peak: the standard mix, closed loop, 32 clients, 20s"
"$hg_drill" load -url "$url" -mix standard -clients 32 -duration 20s -json "$work/peak.json" >/dev/null
peak=$(jq -r '.operations[-1].reqPerSec' "$work/peak.json")
rate=$(awk -v p="$peak" -v s="$share" 'BEGIN { printf "%.0f", p * s }')
echo "peak $peak requests/s; soaking at $rate requests/s for $duration"

"$hg_drill" load -url "$url" -mix standard -clients 32 -rate "$rate" -duration "$duration" \
	-sample 1m -samples "$out/samples.json" -plot "$out/soak.svg" -json "$out/result.json"
echo "samples: $out/samples.json, picture: $out/soak.svg"
