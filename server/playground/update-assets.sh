#!/usr/bin/env bash
# Rewrites the GraphiQL Playground's committed browser assets from pinned npm
# packages. Only needed to upgrade them: the files live in the repository
# under assets/ and are embedded by go build, so no build, test or image step
# runs this or needs a network.
#
#   server/playground/update-assets.sh [OUTPUT_DIR]   (default: the assets/ beside this script)
#
# Each tarball's sha512 is checked against the value pinned below before a
# byte of it is used. The versions are those gqlgen's page was written for
# (graphql/playground/playground.go of the pinned gqlgen); the five files it
# loads from the CDN hash to the same sha256 SRI values gqlgen pins, which
# TestEmbeddedAssetsAreThePinnedFiles checks on every test run.
#
# Needs node, npm and tar. npm honours NPM_CONFIG_REGISTRY, so an internal
# registry mirror works as well as the public one. Commit the rewritten
# files and MANIFEST together.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/assets}

# package@version, the tarball's integrity as npm records it, then each file
# to take as "path-in-tarball:name-in-output". Upgrade all four together and
# update their integrity values from `npm pack --json PACKAGE@VERSION`.
pins=(
  "graphiql@4.1.2"
  "sha512-rNlzQIAzm6i2KBXmVQWBgLvt0TloxFVB2d18bukvdsvjEuFDHsKx5IVOomL1W1o5WW+tE54+ioHb2AEKzO2cUg=="
  "package/graphiql.min.js:graphiql.min.js package/graphiql.min.css:graphiql.min.css"

  "react@18.2.0"
  "sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ=="
  "package/umd/react.production.min.js:react.production.min.js"

  "react-dom@18.2.0"
  "sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g=="
  "package/umd/react-dom.production.min.js:react-dom.production.min.js"

  # The explorer ships no minified stylesheet; the CDN's style.min.css is
  # minified by the CDN itself, so the plain one is taken.
  "@graphiql/plugin-explorer@4.0.6"
  "sha512-TppIi92YPER3v70nlF01KTQrq9AiYqkZicSd1hpU7aqGmbqw/pLwBNLUEcfENBoJtw574Qxjswb01+GaYK0Tzw=="
  "package/dist/index.umd.js:plugin-explorer.umd.js package/dist/style.css:plugin-explorer.css"
)

for tool in node npm tar; do
  command -v "$tool" >/dev/null || { echo "update-assets: $tool is required" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/packs" "$work/stage"

# The integrity string of a file, computed the way npm writes it.
integrity() {
  node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"
}

manifest=$work/stage/MANIFEST
{
  echo "# Written by server/playground/update-assets.sh; do not edit."
  echo "# package@version tarball-integrity file..."
} >"$manifest"

for ((i = 0; i < ${#pins[@]}; i += 3)); do
  spec=${pins[i]} want=${pins[i + 1]} files=${pins[i + 2]}
  # --json prints the tarball's name, which for a scoped package is not
  # simply name-version.tgz.
  tgz=$(npm pack "$spec" --pack-destination "$work/packs" --json --loglevel=error |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s)[0].filename))')
  got=$(integrity "$work/packs/$tgz")
  if [ "$got" != "$want" ]; then
    echo "update-assets: $spec integrity mismatch: got $got, pinned $want" >&2
    exit 1
  fi
  mkdir -p "$work/x/$tgz"
  names=()
  for pair in $files; do
    src=${pair%%:*} dst=${pair#*:}
    tar -xzf "$work/packs/$tgz" -C "$work/x/$tgz" "$src"
    cp "$work/x/$tgz/$src" "$work/stage/$dst"
    names+=("$dst")
  done
  echo "$spec $want ${names[*]}" >>"$manifest"
  echo "update-assets: $spec verified: ${names[*]}"
done

# Write only once every package verified, so a failed run leaves the old set
# as it was, never half of a new one. Only the files named above are
# written, so a mistyped OUTPUT_DIR loses nothing.
mkdir -p "$out"
cp "$work/stage/"* "$out/"
echo "update-assets: wrote $(ls "$work/stage" | wc -l) files to $out"
