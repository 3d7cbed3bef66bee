#!/usr/bin/env bash
# The chart against a real Kubernetes API server (no pods need to run), for what
# rendering cannot show: Helm's upgrade patch and its hook order.
#   1. install with a fixed replicaCount (2), upgrade with autoscaling.enabled=true:
#      the Deployment must keep 2 replicas (the chart's first version dropped to 1);
#   2. first install with the NetworkPolicy on: the migration Job's own policy must be
#      created (and accepted by the server) before the Job.
# Needs: KUBECONFIG pointing at a disposable cluster (docs/deploy.md, "How this is
# checked", says how to run kube-apiserver and etcd here), HELM (a helm binary) and
# kubectl. Usage: KUBECONFIG=... HELM=... bash deploy/cluster-check.sh [chart.tgz]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${KUBECONFIG:?point KUBECONFIG at a disposable cluster}"
HELM=${HELM:-helm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HELM_CACHE_HOME="$tmp/c" HELM_CONFIG_HOME="$tmp/cf" HELM_DATA_HOME="$tmp/d"
chart=${1:-}
if [ -z "$chart" ]; then
  "$HELM" package helm/healthgraph --destination "$tmp" >/dev/null
  chart=$(ls "$tmp"/healthgraph-*.tgz)
fi
values=deploy/check/testdata/values/defaults.yaml
run=$(date +%s)
failed=0

ns=hg-hpa-$run
"$HELM" install hg "$chart" -n "$ns" --create-namespace -f "$values" --set migrations.enabled=false >/dev/null
"$HELM" upgrade hg "$chart" -n "$ns" -f "$values" --set migrations.enabled=false --set autoscaling.enabled=true >/dev/null
replicas=$(kubectl -n "$ns" get deployment hg-healthgraph -o jsonpath='{.spec.replicas}')
echo "HPA enabled in an upgrade: Deployment replicas $replicas (want 2)"
[ "$replicas" = 2 ] || failed=1
kubectl delete namespace "$ns" --wait=false >/dev/null

ns=hg-np-$run
# The Job cannot finish without a Job controller; the hook order is what counts.
"$HELM" install hg "$chart" -n "$ns" --create-namespace -f "$values" --set networkPolicy.enabled=true --timeout 15s >/dev/null 2>&1 || true
order=$("$HELM" status hg -n "$ns" -o json | python3 -c '
import json, sys
hooks = [h for h in json.load(sys.stdin)["hooks"] if h["last_run"].get("started_at")]
hooks.sort(key=lambda h: h["last_run"]["started_at"])
print(" ".join(h["kind"] + "/" + h["name"] for h in hooks))')
echo "pre-install hooks in order: $order"
case "$order" in
  "NetworkPolicy/hg-healthgraph-migrate "*"Job/hg-healthgraph-migrate"*) ;;
  *) echo "the migration NetworkPolicy was not created before the Job" >&2; failed=1 ;;
esac
kubectl delete namespace "$ns" --wait=false >/dev/null

[ "$failed" -eq 0 ] && echo "cluster checks passed" || { echo "cluster checks FAILED" >&2; exit 1; }
