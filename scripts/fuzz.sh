#!/bin/sh
# Runs every Go fuzz target, one after another (each fuzzes with one worker,
# so the machine stays usable), and prints the last progress line of each:
# elapsed time, executions and new interesting inputs. A crasher stops the
# run; go test writes it under the package's testdata/fuzz/<Target>/.
# Targets are found with `go test -list '^Fuzz'`. Postgres and Redis must be
# up for the server package's end-to-end target.
#
#   scripts/fuzz.sh [fuzztime [target-regexp [package ...]]]
#   scripts/fuzz.sh 30s                 # every target for 30s
#   scripts/fuzz.sh 5m 'ID|Cursor' ./resolvers
set -eu
cd "$(dirname "$0")/.."
fuzztime=${1:-5m}
match=${2:-.}
[ $# -gt 2 ] && shift 2 || set -- ./...
for pkg in $(go list "$@"); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' | grep -E -- "$match" || true); do
		echo "== $pkg $target ($fuzztime)"
		log=$(mktemp)
		if ! go test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" -parallel 1 "$pkg" >"$log" 2>&1; then
			cat "$log"
			rm -f "$log"
			exit 1
		fi
		grep '^fuzz: elapsed' "$log" | tail -n 1
		rm -f "$log"
	done
done
