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

hg=${BENCH_BIN:-$work/healthgraph}
hg_drill=${BENCH_HG_DRILL:-$work/hg-drill}
[[ -n ${BENCH_BIN:-} ]] || go build -o "$hg" ./cmd/healthgraph
[[ -n ${BENCH_HG_DRILL:-} ]] || go build -o "$hg_drill" ./cmd/hg-drill

# Rate limits off (the limiter is not what is soaked) and access tokens
# that outlive the run, so the load accounts' logins of the start hold.
HG_DATABASE_URL=$db "$hg" migrate up >/dev/null
HG_DATABASE_URL=$db HG_HTTP_ADDR=$addr HG_AUTO_MIGRATE=false HG_RATE_LIMIT_USER=0 \
	HG_RATE_LIMIT_AUTH=0 HG_RATE_LIMIT_COMPLEXITY=0 HG_RATE_LIMIT_ANON=0 HG_NPHIES_WORKER=false \
	HG_ACCESS_TOKEN_TTL=4h "$hg" serve >"$work/server.log" 2>&1 &
server_pid=$!
url=http://$addr
for _ in $(seq 60); do
	curl -fsS "$url/ready" >/dev/null 2>&1 && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
	sleep 0.5
done

echo "== peak: the standard mix, closed loop, 32 clients, 20s"
"$hg_drill" load -url "$url" -mix standard -clients 32 -duration 20s -json "$work/peak.json" >/dev/null
peak=$(jq -r '.operations[-1].reqPerSec' "$work/peak.json")
rate=$(awk -v p="$peak" -v s="$share" 'BEGIN { printf "%.0f", p * s }')
echo "peak $peak requests/s; soaking at $rate requests/s for $duration"

"$hg_drill" load -url "$url" -mix standard -clients 32 -rate "$rate" -duration "$duration" \
	-sample 1m -samples "$out/samples.json" -plot "$out/soak.svg" -json "$out/result.json"
echo "samples: $out/samples.json, picture: $out/soak.svg"
