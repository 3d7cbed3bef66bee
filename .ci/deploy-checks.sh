#!/usr/bin/env bash
# Deployment checks, offline (no Docker engine, no cluster needed):
#   1. helm (pinned, installed with `go install` into .cache/bin when missing)
#   2. helm package: the chart has no symlinks (Flux drops them) and its files/
#      are exactly grafana/'s dashboards and alerts (`make chart-files`); the
#      packaged chart is what every later step renders
#   3. helm lint --strict and helm template of the package over every value set
#      in deploy/check/testdata/values, and a refusal for every file in
#      deploy/check/testdata/invalid
#   4. deploy/check: the packaged chart rendered with the Helm SDK and every object decoded
#      strictly into the Kubernetes types, the chart's invariants, the compose
#      file loaded with the compose-spec library, the Dockerfile's shape
#   5. promtool check config on compose's Prometheus config (with grafana/alerts)
#   6. otelcol validate on compose's collector config (a collector built with the
#      OpenTelemetry Collector Builder from deploy/compose/otelcol-builder.yaml)
#   7. a static build of the service with the Dockerfile's flags, and the compose
#      health checks run against the real binary
# Needs only Go and the module proxy. Usage: bash .ci/deploy-checks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

HELM_VERSION=v3.22.0
# Kubernetes of the client-go that helm v3.22.0 builds with (v0.37): the default
# Capabilities for lint. Templates are rendered for the oldest supported version.
HELM_K8S_MINOR=37
KUBE_VERSION=1.30.0 # Chart.yaml kubeVersion: >=1.30 (lifecycle.preStop.sleep)
chart=helm/healthgraph
helm_bin="$root/.cache/bin/helm-$HELM_VERSION/helm"
# kubectl-validate carries the OpenAPI schemas of Kubernetes up to 1.30 offline:
# it checks the renders against the oldest Kubernetes the chart supports.
KUBECTL_VALIDATE_VERSION=v0.0.4
# Collector components at the version of the compose image (v0.163+ hit a module
# the proxy refuses).
OTELCOL_VERSION=v0.162.0
kv_bin="$root/.cache/bin/kubectl-validate-$KUBECTL_VALIDATE_VERSION/kubectl-validate"

step() { printf '\n--> %s\n' "$*"; }
elapsed() { printf '    (%ds)\n' "$((SECONDS - $1))"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Helm must not read or write anyone's real config, cache or plugins.
export HELM_CACHE_HOME="$tmp/helm/cache" HELM_CONFIG_HOME="$tmp/helm/config" HELM_DATA_HOME="$tmp/helm/data"

helm() { "$helm_bin" "$@"; }

if [ ! -x "$helm_bin" ] || [ "$("$helm_bin" version --template '{{.Version}}' 2>/dev/null)" != "$HELM_VERSION" ]; then
  step "install helm $HELM_VERSION with go install"
  t0=$SECONDS
  # The -X flags are what helm's Makefile sets: without them the binary calls
  # itself v3.22 and assumes Kubernetes 1.20.
  pkg=helm.sh/helm/v3
  GOFLAGS= GOBIN="$(dirname "$helm_bin")" go install -trimpath -ldflags "-s -w \
    -X $pkg/internal/version.version=$HELM_VERSION \
    -X $pkg/pkg/chartutil.k8sVersionMajor=1 -X $pkg/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR \
    -X $pkg/pkg/lint/rules.k8sVersionMajor=1 -X $pkg/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR" \
    "$pkg/cmd/helm@$HELM_VERSION"
  elapsed "$t0"
fi
"$helm_bin" version --short

failed=0
step "helm package: no symlinks, files/ equal to grafana/ (make chart-files)"
if links=$(find "$chart" -type l) && [ -n "$links" ]; then
  echo "    symlinks in the chart (Git sources such as Flux drop them; run make chart-files):" >&2
  echo "$links" | sed 's/^/    /' >&2
  failed=1
fi
helm package "$chart" --destination "$tmp/pkg" >/dev/null
package=$(ls "$tmp"/pkg/healthgraph-*.tgz)
mkdir -p "$tmp/unpacked" && tar -xzf "$package" -C "$tmp/unpacked"
for dir in alerts dashboards; do
  ext=yml; [ "$dir" = dashboards ] && ext=json
  (cd "$tmp/unpacked/healthgraph/files/$dir" 2>/dev/null && ls) | sort >"$tmp/packaged-$dir"
  (cd "grafana/$dir" && ls -- *."$ext") | sort >"$tmp/sources-$dir"
  if ! diff -u "$tmp/sources-$dir" "$tmp/packaged-$dir" >"$tmp/diff" ; then
    echo "    the package's files/$dir differ from grafana/$dir (run make chart-files):" >&2
    sed 's/^/    /' "$tmp/diff" >&2
    failed=1
    continue
  fi
  while read -r f; do
    cmp -s "grafana/$dir/$f" "$tmp/unpacked/healthgraph/files/$dir/$f" || { echo "    files/$dir/$f differs from grafana/$dir/$f (run make chart-files)" >&2; failed=1; }
  done <"$tmp/sources-$dir"
  printf '    %s file(s) of grafana/%s in the package\n' "$(wc -l <"$tmp/sources-$dir")" "$dir"
done
# Everything below renders the package, as a user installs it.
chart=$package

for values in deploy/check/testdata/values/*.yaml; do
  name=$(basename "$values" .yaml)
  step "helm lint --strict + helm template: $name"
  helm lint --strict --kube-version "$KUBE_VERSION" "$chart" -f "$values" || failed=1
  helm template hg "$chart" --namespace clinic --kube-version "$KUBE_VERSION" -f "$values" >"$tmp/$name.yaml" || failed=1
  printf '    rendered: %s\n' "$(grep -h '^kind:' "$tmp/$name.yaml" | sort | uniq -c | awk '{printf "%s %s×%s", sep, $3, $1; sep=","}')"
done

if [ ! -x "$kv_bin" ]; then
  step "install kubectl-validate $KUBECTL_VALIDATE_VERSION with go install"
  t0=$SECONDS
  GOFLAGS= GOBIN="$(dirname "$kv_bin")" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kubectl-validate@$KUBECTL_VALIDATE_VERSION"
  elapsed "$t0"
fi
step "kubectl-validate: every render against the Kubernetes ${KUBE_VERSION%.*} schemas"
mkdir -p "$tmp/k8s"
for render in "$tmp"/*.yaml; do
  # Prometheus Operator kinds have no schema here (deploy/check decodes them strictly).
  awk 'BEGIN{RS="\n---\n"; ORS="\n---\n"} !/apiVersion: monitoring.coreos.com\//' "$render" >"$tmp/k8s/$(basename "$render")"
done
if ! "$kv_bin" --version "${KUBE_VERSION%.*}" "$tmp/k8s" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d' -e 's/^/    /'; then
  failed=1
fi

step "helm template with the Prometheus Operator API present"
helm template hg "$chart" --namespace clinic --kube-version "$KUBE_VERSION" \
  --api-versions monitoring.coreos.com/v1 -f deploy/check/testdata/values/defaults.yaml >"$tmp/crds.yaml"
grep -q '^kind: ServiceMonitor' "$tmp/crds.yaml" || { echo "no ServiceMonitor although monitoring.coreos.com/v1 is available" >&2; failed=1; }

for values in deploy/check/testdata/invalid/*.yaml; do
  name=$(basename "$values" .yaml)
  step "bad values are refused: $name"
  if "$helm_bin" template hg "$chart" --kube-version "$KUBE_VERSION" -f "$values" >/dev/null 2>"$tmp/err"; then
    echo "    helm template accepted $values" >&2
    failed=1
  else
    sed 's/^/    /' "$tmp/err" 
  fi
done

step "deploy/check: strict decoding, chart invariants, compose, Dockerfile"
t0=$SECONDS
(cd deploy/check && HG_CHART="$package" go test -count=1 ./...) || failed=1
elapsed "$t0"

step "promtool check config: compose's Prometheus with grafana/alerts as mounted"
if ! command -v promtool >/dev/null 2>&1; then
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
# Same file, with the container's mount point replaced by the folder it mounts.
sed "s|/etc/prometheus/alerts/|$root/grafana/alerts/|" deploy/compose/prometheus.yml >"$tmp/prometheus.yml"
promtool check config "$tmp/prometheus.yml" | sed 's/^/    /' || failed=1

step "otelcol validate: compose's collector config with the image's component versions"
builder_bin="$root/.cache/bin/otelcol-builder-$OTELCOL_VERSION/builder"
manifest=deploy/compose/otelcol-builder.yaml
otelcol_bin="$root/.cache/bin/otelcol-hg-$(sha256sum "$manifest" | cut -c1-12)/otelcol-hg"
if [ ! -x "$otelcol_bin" ]; then
  t0=$SECONDS
  [ -x "$builder_bin" ] || GOFLAGS= GOBIN="$(dirname "$builder_bin")" go install "go.opentelemetry.io/collector/cmd/builder@$OTELCOL_VERSION"
  sed "s|^  output_path: .*|  output_path: $tmp/otelcol|" "$manifest" >"$tmp/otelcol-builder.yaml"
  GOFLAGS= "$builder_bin" --config "$tmp/otelcol-builder.yaml" >"$tmp/otelcol-build.log" 2>&1 || { cat "$tmp/otelcol-build.log" >&2; exit 1; }
  mkdir -p "$(dirname "$otelcol_bin")" && cp "$tmp/otelcol/otelcol-hg" "$otelcol_bin"
  printf '    built the collector' && elapsed "$t0"
fi
if "$otelcol_bin" validate --config=deploy/compose/otel-collector.yaml; then
  echo "    deploy/compose/otel-collector.yaml is valid"
else
  failed=1
fi

step "static build with the Dockerfile's flags"
t0=$SECONDS
if ! CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=deploy-check" -o "$tmp/healthgraph" ./cmd/healthgraph; then
  echo "deploy checks FAILED (the service does not build)" >&2
  exit 1
fi
go version -m "$tmp/healthgraph" | grep -q 'CGO_ENABLED=0' || { echo "binary is not a CGO_ENABLED=0 build" >&2; failed=1; }
[ "$("$tmp/healthgraph" version)" = deploy-check ] || { echo "-X main.version did not reach the binary" >&2; failed=1; }
# The image's HEALTHCHECK must fail when nothing answers.
if "$tmp/healthgraph" healthcheck --url http://127.0.0.1:9/health 2>/dev/null; then
  echo "healthcheck succeeded with no server" >&2
  failed=1
fi
elapsed "$t0"

step "the compose health checks against the real binary"
# nphies-mock's check is the compose file's own URL, on a free loopback port.
mock_url=$(grep -o 'http://127.0.0.1:8090/[^"]*' docker-compose.yml | head -1)
"$tmp/healthgraph" nphies-mock --addr 127.0.0.1:18090 >"$tmp/mock.log" 2>&1 &
mock_pid=$!
ok=0
for _ in $(seq 1 50); do
  if "$tmp/healthgraph" healthcheck --url "${mock_url/8090/18090}" 2>/dev/null; then ok=1; break; fi
  sleep 0.2
done
kill "$mock_pid" 2>/dev/null || true
wait "$mock_pid" 2>/dev/null || true
if [ "$ok" -eq 1 ]; then
  echo "    nphies-mock answers $mock_url"
else
  echo "    nphies-mock never answered $mock_url:" >&2
  sed 's/^/    /' "$tmp/mock.log" >&2
  failed=1
fi

if [ "$failed" -ne 0 ]; then
  echo "deploy checks FAILED" >&2
  exit 1
fi
step "deploy checks passed"
