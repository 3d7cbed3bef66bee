#!/usr/bin/env bash
# The Playground works without internet: fetches its pinned assets into the
# embed directory, installs Debian's chromium when it is missing, and runs
# the end-to-end test that opens /playground in headless Chromium against
# the real service (Postgres and Redis on loopback, as .ci/run starts them),
# runs operations through the page, and fails on any request that leaves
# loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"
export GOFLAGS="${GOFLAGS:-} -mod=readonly"

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

step "playground: fetch the pinned assets"
server/playground/fetch-assets.sh

step "playground: chromium"
if ! command -v chromium >/dev/null; then
  # A fresh machine may have stale package lists; try as is first.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
    { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
fi
# Debian's wrapper script prints a shell warning on some machines; only the
# version line matters.
chromium --version 2>/dev/null | tail -1

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "playground: the test needs Postgres on 127.0.0.1:5432 (and Redis on :6379); .ci/run starts them" >&2
  exit 1
fi

step "playground: asset handler tests"
go test -race -count=1 ./server/playground/

step "playground: headless Chromium end to end, no internet"
(cd server/playground/e2e && go test -race -count=1 -v .)
