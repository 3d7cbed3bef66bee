#!/bin/sh
# Disk-full drill (needs root, to mount a tmpfs): a private Postgres whose
# patients table sits on a 1 MiB tablespace, filled until Postgres answers
# 53100, then grown. createPatient must fail UNAVAILABLE with nothing
# half-written, and succeed again once the volume is grown.
#
#   scripts/drill-disk-full.sh [-rate 20] [-phase 5s] [-port 55433]
set -eu
exec "$(dirname "$0")/drill-run.sh" disk-full "$@"
