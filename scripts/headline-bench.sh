#!/usr/bin/env bash
# Headline benchmark: the GraphQL request
#   appointments(first: 50, filter: {status: BOOKED, latestFirst: true}) { patient {...} practitioner {...} }
# under 32 clients for 15 s (hg-drill load -mix headline), against the bare SQL
# floor: pgbench running the same statements the server issues for that
# request, 32 clients, 15 s, prepared. One pgbench transaction = the SQL of
# one request (the newest appointments page, whose count is skipped as
# totalCount is not asked, the patients loader batch and the page's audit
# event; the session check is served from the replica's memory and
# practitioners from the Redis cache once warm).
#
#   HG_SEED_PASSWORD=... make bench-headline
#
# Environment: BENCH_BIN and BENCH_HG_DRILL (the healthgraph and hg-drill binaries,
# which make bench-headline builds; built here when unset), HG_DATABASE_URL
# (default: the small scale dataset), BENCH_URL
# (benchmark a server already running there instead of starting one; it must
# have its rate limits off), BENCH_ADDR, BENCH_CLIENTS, BENCH_SECONDS. Needs
# go, pgbench, psql and jq.
set -euo pipefail

db=${HG_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/healthgraph_small?sslmode=disable}
addr=${BENCH_ADDR:-127.0.0.1:18080}
url=${BENCH_URL:-}
clients=${BENCH_CLIENTS:-32}
seconds=${BENCH_SECONDS:-15}
: "${HG_SEED_PASSWORD:?set HG_SEED_PASSWORD to the load accounts password}"

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

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/bench-server.sh
. scripts/lib/bench-server.sh
build_binaries

if [[ -z $url ]]; then
	start_healthgraph "$db" "$addr" "$work/server.log"
	server_pid=$hg_pid
	url=http://$addr
	wait_ready "$url" "$server_pid" "$work/server.log"
fi

echo "== GraphQL: hg-drill load -mix headline, $clients clients, ${seconds}s against $url"
"$hg_drill" load -url "$url" -mix headline -clients "$clients" -duration "${seconds}s" -json "$work/loadgen.json"
stop_server

# Arguments of the statements: the caller's user id (the audit rows' actor)
# and the distinct patients of the page, the same on every request.
uid=$(psql "$db" -Atc "SELECT id FROM users WHERE email = 'load-reception@scale.healthgraph.test'")
page="SELECT a.id, a.patient_id FROM appointments a WHERE a.status = 'BOOKED' ORDER BY a.starts_at DESC, a.id DESC LIMIT 50"
ids=$(psql "$db" -Atc "SELECT '{' || string_agg(DISTINCT patient_id::text, ',') || '}' FROM ($page) p")
# The page's audit event names each appointment shown, with its patient.
audit_ids=$(psql "$db" -Atc "SELECT '{' || string_agg(id::text, ',') || '}' FROM ($page) p")
audit_patients=$(psql "$db" -Atc "SELECT '{' || string_agg(patient_id::text, ',') || '}' FROM ($page) p")

# The server's statements verbatim (the page of ListAppointments, its
# count skipped, the PatientsByIDs batch, AuditReads), with NULL
# literals where it binds NULL since pgbench variables cannot be NULL. If
# the server's SQL changes, update them: the check below compares counts.
# The page's audit is one event naming its appointments and their patients.
statements=3
cat >"$work/headline.sql" <<'SQL'
SELECT a.id, a.patient_id, a.practitioner_id, a.starts_at, a.ends_at, a.status,
	a.reason, COALESCE(a.cancel_reason, ''), a.created_at, a.updated_at,
	CASE WHEN false THEN (SELECT count(*) FROM appointments t WHERE (NULL::uuid IS NULL OR t.practitioner_id = NULL::uuid)
		AND (NULL::uuid IS NULL OR t.patient_id = NULL::uuid)
		AND (NULL::timestamptz IS NULL OR t.starts_at >= NULL::timestamptz)
		AND (NULL::timestamptz IS NULL OR t.starts_at < NULL::timestamptz)
		AND (:status::text IS NULL OR t.status = :status) AND (:all::boolean
		OR t.patient_id IN (SELECT sp.id FROM patients sp WHERE sp.user_id = NULL::uuid)
		OR t.patient_id IN (SELECT sa.patient_id FROM appointments sa
			JOIN practitioners spr ON spr.id = sa.practitioner_id WHERE spr.user_id = NULL::uuid)
		OR t.patient_id IN (SELECT sg.patient_id FROM break_glass_grants sg
			WHERE sg.user_id = NULL::uuid AND sg.expires_at > now()))) ELSE 0 END
FROM appointments a
WHERE (NULL::uuid IS NULL OR a.practitioner_id = NULL::uuid)
	AND (NULL::uuid IS NULL OR a.patient_id = NULL::uuid)
	AND (NULL::timestamptz IS NULL OR a.starts_at >= NULL::timestamptz)
	AND (NULL::timestamptz IS NULL OR a.starts_at < NULL::timestamptz)
	AND (:status::text IS NULL OR a.status = :status) AND (:all::boolean
	OR a.patient_id IN (SELECT sp.id FROM patients sp WHERE sp.user_id = NULL::uuid)
	OR a.patient_id IN (SELECT sa.patient_id FROM appointments sa
		JOIN practitioners spr ON spr.id = sa.practitioner_id WHERE spr.user_id = NULL::uuid)
	OR a.patient_id IN (SELECT sg.patient_id FROM break_glass_grants sg
		WHERE sg.user_id = NULL::uuid AND sg.expires_at > now()))
	AND (NULL::timestamptz IS NULL OR (a.starts_at, a.id) < (NULL::timestamptz, NULL::uuid))
ORDER BY a.starts_at DESC, a.id DESC LIMIT :first;
SELECT p.id, p.mrn, p.national_id, p.national_id_enc, p.first_name, p.family_name,
	p.first_name_ar, p.family_name_ar, p.birth_date, p.gender, p.phone, p.phone_enc, p.email, p.user_id,
	p.created_at, p.updated_at FROM patients p
WHERE p.id = ANY(:ids::uuid[]) AND (:all::boolean
	OR p.id IN (SELECT sp.id FROM patients sp WHERE sp.user_id = NULL::uuid)
	OR p.id IN (SELECT sa.patient_id FROM appointments sa
		JOIN practitioners spr ON spr.id = sa.practitioner_id WHERE spr.user_id = NULL::uuid)
	OR p.id IN (SELECT sg.patient_id FROM break_glass_grants sg
		WHERE sg.user_id = NULL::uuid AND sg.expires_at > now()));
INSERT INTO audit_events (id, actor_id, actor_role, action, entity_type, patient_id, entity_ids, patient_ids, ip, trace_id, detail)
VALUES (gen_random_uuid(), :uid::uuid, 'RECEPTION', 'appointment.list', 'Appointment', NULL, :aids::uuid[], :apatients::uuid[], '127.0.0.1', '', '');
SQL

echo
echo "== SQL floor: pgbench -M prepared, $clients clients, ${seconds}s"
pgbench -n -M prepared -c "$clients" -j 2 -T "$seconds" -f "$work/headline.sql" \
	-D "uid=$uid" -D status=BOOKED -D all=true -D first=51 \
	-D "ids=$ids" -D "aids=$audit_ids" -D "apatients=$audit_patients" "$db" | tee "$work/pgbench.out"

rps=$(jq -r '.operations[-1].reqPerSec' "$work/loadgen.json")
errors=$(jq -r '.operations[-1].errors' "$work/loadgen.json")
per_request=$(jq -r '.server.sqlPerRequest // 0' "$work/loadgen.json")
tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$work/pgbench.out")
echo
awk -v rps="$rps" -v tps="$tps" -v errs="$errors" -v per="$per_request" -v n="$statements" 'BEGIN {
	printf "headline: %.1f requests/s (%d errors)   SQL floor: %.1f transactions/s of %d statements   server/floor: %.1f%%\n",
		rps, errs, tps, n, 100 * rps / tps
	# Background work (the NPHIES poller, cache misses) adds a little.
	if (per < n - 0.05 || per > n + 0.5)
		printf "warning: the server sent %.2f statements per request, the floor script has %d: update it\n", per, n }'
