#!/bin/sh
# Postgres pool exhaustion drill: one replica with HG_DB_MAX_CONNS=2 and a
# lock held on patients; requests must wait at most the pool's acquire bound
# and fail UNAVAILABLE, and goroutines, memory and connections come back.
#
#   scripts/drill-pg-exhaust.sh [-conns 2] [-hold 10s] [-rate 20] [-phase 5s]
set -eu
exec "$(dirname "$0")/drill-run.sh" pg-exhaust "$@"
