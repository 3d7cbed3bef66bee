#!/bin/sh
# Replica SIGKILL drill: two replicas billing (invoice, issue, payment or
# claim to the mock NPHIES), one SIGKILLed mid-visit; then SQL checks that
# no invoice header differs from its lines, no claim lacks its outbound
# message or items, and every claim reached NPHIES exactly once.
#
#   scripts/drill-kill.sh [-rate 20] [-phase 5s] [-fail-rate 0.2]
set -eu
exec "$(dirname "$0")/drill-run.sh" kill "$@"
