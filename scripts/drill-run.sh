#!/bin/sh
# Builds healthgraph and runs one failure drill: drill-run.sh NAME [flags].
# The scripts/drill-*.sh wrappers name the drill; docs/drills.md has each.
set -eu
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/healthgraph" ./cmd/healthgraph
go build -o "$dir/failure-drill" ./cmd/failure-drill
name=$1
shift
"$dir/failure-drill" "$name" -bin "$dir/healthgraph" "$@"
