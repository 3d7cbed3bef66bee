# Shared by the benchmark scripts (headline-bench.sh, bench-peer.sh,
# soak.sh); sourced, not run. Each script sets `work` (its temporary
# directory) before sourcing it.

# build_binaries sets hg and hg_drill: BENCH_BIN and BENCH_HG_DRILL when
# set (make builds them), else built into $work.
build_binaries() {
	hg=${BENCH_BIN:-$work/healthgraph}
	hg_drill=${BENCH_HG_DRILL:-$work/hg-drill}
	[[ -n ${BENCH_BIN:-} ]] || go build -o "$hg" ./cmd/healthgraph
	[[ -n ${BENCH_HG_DRILL:-} ]] || go build -o "$hg_drill" ./cmd/hg-drill
}

# start_healthgraph DB ADDR LOG [VAR=value ...] migrates DB, then starts
# `healthgraph serve` on ADDR in the background with its output in LOG and
# sets hg_pid. Rate limits are off (a benchmark measures the server, not
# its limiter's refusals) and so is the NPHIES worker (its poller's
# statements would count as the requests'); extra VAR=value settings are
# added to the server's environment.
start_healthgraph() {
	local db=$1 addr=$2 log=$3
	shift 3
	HG_DATABASE_URL=$db "$hg" migrate up >/dev/null
	env HG_DATABASE_URL="$db" HG_HTTP_ADDR="$addr" HG_AUTO_MIGRATE=false HG_RATE_LIMIT_USER=0 \
		HG_RATE_LIMIT_AUTH=0 HG_RATE_LIMIT_COMPLEXITY=0 HG_RATE_LIMIT_ANON=0 HG_NPHIES_WORKER=false \
		"$@" "$hg" serve >"$log" 2>&1 &
	hg_pid=$!
}

# wait_ready URL PID LOG waits until the GraphQL server at URL answers
# `{__typename}` (ours and PostGraphile alike), failing with LOG if the
# process PID exits first or a minute passes.
wait_ready() {
	for _ in $(seq 120); do
		curl -fsS -o /dev/null -H 'Content-Type: application/json' \
			-d '{"query":"{__typename}"}' "$1/graphql" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || { cat "$3" >&2; return 1; }
		sleep 0.5
	done
	cat "$3" >&2
	return 1
}
