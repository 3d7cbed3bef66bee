#!/bin/sh
# Postgres restart drill: a private Postgres cluster (initdb in a temporary
# directory, port 55432; the shared server is never touched) stopped and
# started under a createPatient load. Prints failures by code, recovery time,
# /ready transitions and acknowledged writes missing (must be 0).
#
#   scripts/drill-pg-restart.sh [-down 3s] [-mode fast|immediate] [-rate 20] [-phase 5s]
set -eu
exec "$(dirname "$0")/drill-run.sh" pg-restart "$@"
