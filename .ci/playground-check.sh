#!/usr/bin/env bash
# The Playground works without internet and keeps no secrets: its assets are
# committed under server/playground/assets and embedded, so nothing is
# fetched. Installs Debian's chromium when it is missing, and runs the
# end-to-end test that opens /playground in headless Chromium against the
# real service (Postgres and Redis on loopback, as .ci/run starts them), with
# every host name but loopback unresolvable and Go's module proxy off, runs
# operations through the page (a login, the token in the headers editor, a
# query), fails on any request that leaves loopback, and fails when the
# browser's storage keeps the password, the token or GraphiQL's state.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"
export GOFLAGS="${GOFLAGS:-} -mod=readonly"

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

step "playground: the embedded assets are exactly the committed ones"
# What a fresh clone has is what the binary embeds: no untracked, ignored or
# modified file under the embed directory.
stray=$(git status --porcelain --ignored --untracked-files=all -- server/playground/assets)
if [ -n "$stray" ]; then echo "playground: assets differ from the commit:"; echo "$stray"; exit 1; fi

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

# The e2e module's own dependencies (chromedp) are fetched first, as the
# main module's are by the build before; a fresh machine has none of them.
(cd server/playground/e2e && go mod download)

# No module downloads from here on: everything the tests build is here.
export GOPROXY=off

step "playground: asset handler tests, the assets against gqlgen's pinned digests"
go test -race -count=1 ./server/playground/

step "playground: headless Chromium end to end, no internet, nothing stored"
(cd server/playground/e2e && go test -race -count=1 -v .)
