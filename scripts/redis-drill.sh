#!/bin/sh
# Redis outage drill: two replicas of the real binary under a bounded load,
# Redis cut off (through a proxy, so the shared Redis keeps running) for the
# middle phase, then restored. Prints requests sent/failed and latency
# before, during and after. Needs Postgres and Redis on loopback.
#
#   scripts/redis-drill.sh [-phase 10s] [-rate 100] [-users 20]
set -eu
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/healthgraph
go build -o "$bin" ./cmd/healthgraph
exec go run ./cmd/redis-drill -bin "$bin" "$@"
