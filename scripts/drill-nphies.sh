#!/bin/sh
# NPHIES outage drill: the mock NPHIES failing and withholding answers, then
# cut off through a proxy, then back, while claims are submitted and
# eligibility checked. submitClaim latency must not move (the outbox queues),
# checkEligibility must fail UNAVAILABLE within HG_NPHIES_TIMEOUT, and every
# claim must reach the mock exactly once.
#
#   scripts/drill-nphies.sh [-rate 20] [-phase 5s] [-timeout 3s] [-fail-rate 0.2] [-timeout-rate 0.1]
set -eu
exec "$(dirname "$0")/drill-run.sh" nphies "$@"
