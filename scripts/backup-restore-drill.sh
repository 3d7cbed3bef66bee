#!/bin/sh
# Backup and restore rehearsal: take a consistent logical backup of a
# HealthGraph database with pg_dump, restore it into a new database with
# pg_restore, and prove the copy is the same database: identical migration
# status, row counts and per-table checksums, the audit trail's insert-only
# triggers in place and working, and a real server ready on the copy.
# Prints the backup size, the dump time and the restore time.
#
#   scripts/backup-restore-drill.sh [--demo | --patients N] [--source URL]
#                                   [--bin PATH] [--keep]
#
# Without --source it creates a scratch database and seeds it (--demo by
# default, or N synthetic patients); with --source it backs up that database
# (read only) instead. The restored database, and the scratch source, are
# dropped at the end unless --keep is given. Needs pg_dump, pg_restore and
# psql of the server's major version, and a role that may create databases;
# HG_DRILL_PG is the server's URL without a database name (default
# postgres://postgres@127.0.0.1:5432). Redis is not needed.
set -eu
cd "$(dirname "$0")/.."

server=${HG_DRILL_PG:-postgres://postgres@127.0.0.1:5432}
seed_args=--demo
source_url=
bin=
keep=
while [ $# -gt 0 ]; do
	case $1 in
	--demo) seed_args=--demo ;;
	--patients) seed_args="--patients $2"; shift ;;
	--source) source_url=$2; shift ;;
	--bin) bin=$2; shift ;;
	--keep) keep=1 ;;
	*) echo "usage: $0 [--demo | --patients N] [--source URL] [--bin PATH] [--keep]" >&2; exit 2 ;;
	esac
	shift
done

work=$(mktemp -d)
tag=hg_drill_$$
src_db=${tag}_source
dst_db=${tag}_restored
server_pid=
created=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
	if [ -z "$keep" ]; then
		for db in $created; do psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true; done
	else
		echo "kept databases: $created"
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f s", b - a }'; }
say() { printf '%s\n' "$*"; }
fail() { say "FAIL: $*" >&2; exit 1; }

if [ -z "$bin" ]; then
	bin=$work/healthgraph
	go build -o "$bin" ./cmd/healthgraph
fi
# hg's first argument is the database URL; shift it off for the binary.
hg() { url=$1; shift; HG_DATABASE_URL=$url HG_REDIS_URL= HG_AUTO_MIGRATE=false "$bin" "$@"; }

if [ -z "$source_url" ]; then
	psql -q "$server/postgres" -c "CREATE DATABASE $src_db" >/dev/null
	created="$src_db"
	source_url=$server/$src_db?sslmode=disable
	t=$(now)
	hg "$source_url" migrate up >/dev/null
	# shellcheck disable=SC2086 # seed_args is two words on purpose.
	hg "$source_url" seed $seed_args >/dev/null
	say "source: scratch database seeded with '$seed_args' in $(since "$t")"
else
	say "source: the database given with --source"
fi

# pg_dump reads every table in one repeatable-read snapshot, so the dump is
# consistent while the service keeps writing. Custom format: compressed,
# restorable in parallel and table by table.
dump=$work/healthgraph.dump
t=$(now)
pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$dump" "$source_url"
dump_time=$(since "$t")

psql -q "$server/postgres" -c "CREATE DATABASE $dst_db" >/dev/null
created="$created $dst_db"
restored_url=$server/$dst_db?sslmode=disable
t=$(now)
pg_restore --no-owner --no-privileges --exit-on-error --jobs=2 --dbname="$restored_url" "$dump"
restore_time=$(since "$t")

# inventory prints, per table of the public schema, its row count and the
# md5 of its rows as text in primary-key order, then every sequence's
# position: two databases with the same inventory hold the same data.
inventory() {
	psql -X -q -t -A -v ON_ERROR_STOP=1 "$1" <<'SQL' >"$work/inventory.sql"
SELECT format('SELECT %L AS t, count(*), md5(coalesce(string_agg(r::text, E''\n'' ORDER BY %s), '''')) FROM %I r;',
	c.relname,
	coalesce((SELECT string_agg(format('r.%I', a.attname), ', ' ORDER BY k.ord)
		FROM pg_index i
		CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		WHERE i.indrelid = c.oid AND i.indisprimary), 'r::text'),
	c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
ORDER BY c.relname;
SQL
	echo "SELECT 'sequence ' || sequencename, coalesce(last_value, 0), '' FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1;" >>"$work/inventory.sql"
	psql -X -q -t -A -F ' ' -v ON_ERROR_STOP=1 -f "$work/inventory.sql" "$1"
}

inventory "$source_url" >"$work/source.inv"
inventory "$restored_url" >"$work/restored.inv"
diff -u "$work/source.inv" "$work/restored.inv" || fail "row counts or checksums differ"
tables=$(grep -vc '^sequence ' "$work/source.inv")
rows=$(awk '$1 !~ /^sequence/ { n += $2 } END { print n }' "$work/source.inv")
say "data: $tables tables, $rows rows: counts and checksums identical"

hg "$source_url" migrate status >"$work/source.mig"
hg "$restored_url" migrate status >"$work/restored.mig"
diff -u "$work/source.mig" "$work/restored.mig" || fail "migration status differs"
grep -q pending "$work/restored.mig" && fail "the restored database has pending migrations"
say "migrations: $(wc -l <"$work/restored.mig") applied, status identical"

triggers=$(psql -X -t -A "$restored_url" -c "SELECT string_agg(tgname, ' ' ORDER BY tgname) FROM pg_trigger
	WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal")
[ "$triggers" = "audit_events_no_truncate audit_events_no_update" ] || fail "audit triggers on the copy: '$triggers'"
for stmt in "UPDATE audit_events SET action = action" "DELETE FROM audit_events" "TRUNCATE audit_events"; do
	out=$(psql -X -q -v ON_ERROR_STOP=1 "$restored_url" 2>&1 <<SQL || true
BEGIN;
INSERT INTO audit_events (id, action) VALUES (gen_random_uuid(), 'drill');
$stmt;
ROLLBACK;
SQL
)
	case $out in *"audit_events is insert-only"*) ;; *) fail "the restored audit trail did not refuse '$stmt': $out" ;; esac
done
say "audit trail: insert-only triggers present and refusing UPDATE, DELETE and TRUNCATE"

# A real server on the copy must report ready: Postgres reachable and
# migrations current. Its NPHIES worker stays off: a restored copy must
# never send the outbox's queued claims a second time.
port=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 20000) }')
HG_HTTP_ADDR=127.0.0.1:$port HG_NPHIES_WORKER=false HG_NPHIES_URL=http://127.0.0.1:9 hg "$restored_url" serve >"$work/serve.log" 2>&1 &
server_pid=$!
ready=
for _ in $(seq 1 100); do
	if curl -fsS "http://127.0.0.1:$port/ready" >"$work/ready.json" 2>/dev/null; then ready=1; break; fi
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.2
done
[ -n "$ready" ] || { cat "$work/serve.log" >&2; fail "the server on the restored database never became ready"; }
say "service: /ready on the restored database: $(cat "$work/ready.json")"

say "backup: $(stat -c %s "$dump" | awk '{ printf "%.1f MiB (%d bytes)", $1 / 1048576, $1 }'), pg_dump -Fc $dump_time, pg_restore -j2 $restore_time"
say "PASS"
