#!/usr/bin/env bash
# Side by side with PostGraphile: the headline request shape (the 50 newest
# booked appointments, each with its patient and practitioner) against
# HealthGraph and against PostGraphile v4.14.1 serving the same database,
# with the same load tool (hg-drill load, -mix headline and -mix
# postgraphile), interleaved ROUNDS times (default 3). Prints requests/s,
# p99 and server CPU per request of each server and the ratio.
#
#   HG_SEED_PASSWORD=... make bench-peer
#
# PostGraphile comes from npm at the version pinned in
# scripts/postgraphile/package-lock.json, installed into .cache/postgraphile.
# Its naming of medical_records' two foreign keys onto itself collides; the
# smart comments below (on the benchmark database only, not in our
# migrations) name them apart. PostGraphile runs as the database owner with
# its default pool of 10 connections, like our server; it checks no session,
# scopes nothing and audits nothing.
#
# Environment: BENCH_BIN and BENCH_HG_DRILL (binaries; built here when
# unset), HG_DATABASE_URL (default: the small scale dataset, seeded with
# `healthgraph seed --scale small`), BENCH_CLIENTS (32), BENCH_SECONDS (15),
# ROUNDS (3), BENCH_ADDR and PEER_ADDR (listen addresses). Needs go, node,
# npm, psql and jq.
set -euo pipefail

db=${HG_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/healthgraph_small?sslmode=disable}
addr=${BENCH_ADDR:-127.0.0.1:18080}
peer_addr=${PEER_ADDR:-127.0.0.1:15000}
clients=${BENCH_CLIENTS:-32}
seconds=${BENCH_SECONDS:-15}
rounds=${ROUNDS:-3}
: "${HG_SEED_PASSWORD:?set HG_SEED_PASSWORD to the load accounts password}"

cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
pids=()
stop_all() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/lib/bench-server.sh
. scripts/lib/bench-server.sh
build_binaries

# PostGraphile, exactly as locked; reinstalled only when the lockfile changed.
peer=$root/.cache/postgraphile
if ! cmp -s scripts/postgraphile/package-lock.json "$peer/package-lock.json" || [[ ! -x $peer/node_modules/.bin/postgraphile ]]; then
	mkdir -p "$peer"
	cp scripts/postgraphile/package.json scripts/postgraphile/package-lock.json "$peer/"
	(cd "$peer" && npm ci --no-audit --no-fund --loglevel=error)
fi

# postgraphile takes a libpq URL; ours may carry sslmode, which it reads too.
psql "$db" -q -v ON_ERROR_STOP=1 <<'SQL'
COMMENT ON CONSTRAINT medical_records_supersedes_id_fkey ON medical_records IS
	E'@fieldName supersededRecord\n@foreignSingleFieldName supersedingRecord';
COMMENT ON CONSTRAINT medical_records_superseded_by_fkey ON medical_records IS
	E'@fieldName supersedingRecordOf\n@foreignSingleFieldName supersededRecordOf';
SQL

start_healthgraph "$db" "$addr" "$work/hg.log"
pids+=("$hg_pid")
NODE_ENV=production "$peer/node_modules/.bin/postgraphile" -c "$db" -s public \
	-n "${peer_addr%:*}" -p "${peer_addr##*:}" --disable-query-log --disable-graphiql \
	>"$work/peer.log" 2>&1 &
peer_pid=$!
pids+=("$peer_pid")
wait_ready "http://$addr" "$hg_pid" "$work/hg.log"
wait_ready "http://$peer_addr" "$peer_pid" "$work/peer.log"

# cpu_seconds pid: user + system CPU of the process, all its threads.
tck=$(getconf CLK_TCK)
cpu_seconds() { awk -v t="$tck" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat"; }

# run name mix url pid seconds: one load run; appends a line to results.
run() {
	local name=$1 mix=$2 url=$3 pid=$4 secs=$5 c0 c1
	c0=$(cpu_seconds "$pid")
	"$hg_drill" load -url "$url" -mix "$mix" -clients "$clients" -duration "${secs}s" \
		-json "$work/$name.json" >"$work/$name.out" 2>&1 || { cat "$work/$name.out" >&2; return 1; }
	c1=$(cpu_seconds "$pid")
	jq -r --arg n "${name%%-*}" --arg cpu "$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" \
		'.operations[-1] as $t | [$n, $t.reqPerSec, $t.p50Ms, $t.p99Ms, $t.errors, ($cpu | tonumber) * 1000 / $t.requests, ($cpu | tonumber) / .elapsedSec] | @tsv' \
		"$work/$name.json" >>"$work/results.tsv"
}

echo "== warming both servers up (5 s each, not counted)"
run warm-hg headline "http://$addr" "$hg_pid" 5
run warm-peer postgraphile "http://$peer_addr" "$peer_pid" 5
: >"$work/results.tsv"

for r in $(seq "$rounds"); do
	echo "== round $r of $rounds: $clients clients, ${seconds}s each"
	run "healthgraph-$r" headline "http://$addr" "$hg_pid" "$seconds"
	run "postgraphile-$r" postgraphile "http://$peer_addr" "$peer_pid" "$seconds"
done

echo
awk -F'\t' '
	{ n[$1]++; rps[$1] += $2; printf "%-12s requests/s %7.1f  p50 %6.1f ms  p99 %6.1f ms  errors %d  server CPU %5.2f ms/request (%.2f cores)\n", $1, $2, $3, $4, $5, $6, $7 }
	END {
		h = rps["healthgraph"] / n["healthgraph"]; p = rps["postgraphile"] / n["postgraphile"]
		printf "\nmean requests/s: HealthGraph %.1f, PostGraphile %.1f; HealthGraph / PostGraphile = %.2f\n", h, p, h / p
	}' "$work/results.tsv"
