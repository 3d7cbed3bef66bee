#!/usr/bin/env bash
# Builds, once, the tools deploy/kwok/cluster.sh runs, into $OUT (default
# .cache/k8s/bin): helm, kube-apiserver, kube-controller-manager,
# kube-scheduler and kubectl at a pinned Kubernetes version, and kwok. Everything comes from
# the Go module proxy; etcd comes from Debian's etcd-server package.
#
# k8s.io/kubernetes is not meant to be required as a module: its go.mod replaces
# every k8s.io/* staging module with a directory the module zip does not carry.
# A scratch module therefore requires it and replaces each of those modules with
# its published v0.x twin. The version variables are linked in so the server
# reports its real version (the chart's kubeVersion refuses v0.0.0).
set -euo pipefail
cd "$(dirname "$0")/../.."
K8S_VERSION=${K8S_VERSION:-v1.34.4}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
KWOK_VERSION=${KWOK_VERSION:-v0.7.0}
OUT=${OUT:-$PWD/.cache/k8s/bin}
mkdir -p "$OUT"
# A private build cache: these builds are large and must not depend on a shared
# cache that someone may clean.
export GOCACHE=${K8S_GOCACHE:-$PWD/.cache/k8s/gocache} GOFLAGS=-mod=mod

if [ ! -x "$OUT/helm" ]; then
  echo "building helm $HELM_VERSION"
  GOBIN=$OUT go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi
if [ ! -x "$OUT/kwok" ]; then
  echo "building kwok $KWOK_VERSION"
  GOBIN=$OUT go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi

need=()
for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  [ -x "$OUT/$c" ] || need+=("$c")
done
[ ${#need[@]} -eq 0 ] && exit 0

mod=$(dirname "$OUT")/kube-module
mkdir -p "$mod"
cd "$mod"
if [ ! -f go.mod ]; then
  go mod init healthgraph.local/kube >/dev/null 2>&1
  go mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
  staging=$(sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod")
  [ -n "$staging" ] || { echo "no staging replaces found in $gomod" >&2; exit 1; }
  for m in $staging; do
    go mod edit -replace="$m=$m@v0.${K8S_VERSION#v1.}"
  done
  printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler/app"\n\t_ "k8s.io/kubectl/pkg/cmd"\n)\n' > tools.go
  go mod tidy
fi
minor=${K8S_VERSION#v1.}
minor=${minor%%.*}
ldflags="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
for c in "${need[@]}"; do
  echo "building $c $K8S_VERSION"
  go build -ldflags "$ldflags" -o "$OUT/$c" "k8s.io/kubernetes/cmd/$c"
done
