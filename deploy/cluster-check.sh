#!/usr/bin/env bash
# The packaged chart against a real Kubernetes control plane whose pods are
# simulated (deploy/kwok/cluster.sh; `make cluster-check` builds the tools and
# runs both), for what rendering cannot show: server-side validation of every
# object, Helm's hooks and their order, --wait on real rollouts, and Helm's
# upgrade patch.
#   1. helm install --wait: the migration hook Job succeeds before the
#      Deployment is created, and the release ends deployed with 2 of 2 pods Ready;
#   2. helm upgrade --wait to a new image tag: the pre-upgrade hook runs again,
#      and the Deployment rolls to the new tag, 2 of 2 Ready;
#   3. helm upgrade --wait enabling the HPA: the Deployment keeps 2 replicas
#      (the chart's 0.1.0 dropped to 1);
#   4. helm rollback --wait to revision 1: the first tag again, 2 of 2 Ready;
#   5. a first install with the NetworkPolicy on: the migration Job's own
#      policy is created before the Job, and the install completes.
# Needs: KUBECONFIG pointing at a disposable cluster that runs pods (or
# simulates them), HELM (a helm binary) and kubectl.
# Usage: KUBECONFIG=... HELM=... bash deploy/cluster-check.sh [chart.tgz]
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
check() { # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then echo "  ok    $what"; else echo "  FAIL  $what" >&2; failed=1; fi
}
timed() { # description, then the helm command
  local what=$1; shift
  local t0=$SECONDS
  if "$@" >"$tmp/helm.out" 2>&1; then
    echo "$what: $((SECONDS - t0))s"
  else
    echo "$what FAILED after $((SECONDS - t0))s:" >&2
    sed 's/^/    /' "$tmp/helm.out" >&2
    failed=1
    return 1
  fi
}
# hooks NS: the release's hooks that ran, oldest first, as "kind/name phase started completed".
hooks() {
  "$HELM" status hg -n "$1" -o json | python3 -c '
import json, sys
hooks = [h for h in json.load(sys.stdin).get("hooks", []) if h["last_run"].get("started_at")]
hooks.sort(key=lambda h: h["last_run"]["started_at"])
for h in hooks:
    r = h["last_run"]
    print(h["kind"] + "/" + h["name"], r.get("phase", ""), r["started_at"], r.get("completed_at", ""))'
}
deploy() { kubectl -n "$1" get deployment hg-healthgraph -o jsonpath="$2"; }
settled() { # NS REPLICAS: every replica updated, Ready and available
  [ "$(deploy "$1" '{.spec.replicas} {.status.updatedReplicas} {.status.readyReplicas} {.status.availableReplicas}')" = "$2 $2 $2 $2" ]
}
ready() { # NS REPLICAS: settled within a minute (helm --wait returns once the new
  # ReplicaSet is ready, before the controller has scaled the old one away)
  local deadline=$((SECONDS + 60))
  until settled "$1" "$2"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 1
  done
}
image_tag() { [ "$(deploy "$1" '{.spec.template.spec.containers[0].image}')" = "$2" ]; }
migration_succeeded_after() { # NS RFC3339: the migration Job hook ran after that time and succeeded
  hooks "$1" | python3 -c '
import sys
since = sys.argv[1]
ok = [l for l in sys.stdin if l.startswith("Job/hg-healthgraph-migrate ") and l.split()[1] == "Succeeded" and l.split()[2] >= since]
sys.exit(0 if ok else 1)' "$2"
}
migration_before_deployment() { # NS: the hook Job completed before the Deployment was created
  local created completed
  created=$(deploy "$1" '{.metadata.creationTimestamp}')
  completed=$(hooks "$1" | awk '$1 == "Job/hg-healthgraph-migrate" {print $4}')
  [ -n "$completed" ] && [[ "${completed:0:19}" < "${created:0:19}" || "${completed:0:19}" == "${created:0:19}" ]]
}
now() { date -u +%Y-%m-%dT%H:%M:%S; }

ns=hg-$run
echo "release hg in namespace $ns (chart $(basename "$chart"))"
t=$(now)
if timed "helm install --wait" "$HELM" install hg "$chart" -n "$ns" --create-namespace -f "$values" --wait --timeout 10m; then
  check "the migration hook Job ran and succeeded" migration_succeeded_after "$ns" "$t"
  check "the migration finished before the Deployment was created" migration_before_deployment "$ns"
  check "2 of 2 pods Ready" ready "$ns" 2
fi
first=$(deploy "$ns" '{.spec.template.spec.containers[0].image}')
repo=${first%:*}
t=$(now)
if timed "helm upgrade --wait (image tag 0.0.0-check)" "$HELM" upgrade hg "$chart" -n "$ns" -f "$values" --set image.tag=0.0.0-check --wait --timeout 10m; then
  check "the pre-upgrade migration hook ran again and succeeded" migration_succeeded_after "$ns" "$t"
  check "the Deployment runs $repo:0.0.0-check" image_tag "$ns" "$repo:0.0.0-check"
  check "2 of 2 pods Ready on the new tag" ready "$ns" 2
fi
if timed "helm upgrade --wait (autoscaling.enabled=true)" "$HELM" upgrade hg "$chart" -n "$ns" -f "$values" --set image.tag=0.0.0-check --set autoscaling.enabled=true --wait --timeout 10m; then
  replicas=$(deploy "$ns" '{.spec.replicas}')
  check "HPA enabled in an upgrade: the Deployment keeps 2 replicas (has $replicas)" test "$replicas" = 2
fi
if timed "helm rollback --wait to revision 1" "$HELM" rollback hg 1 -n "$ns" --wait --timeout 10m; then
  check "the Deployment runs $first again" image_tag "$ns" "$first"
  check "2 of 2 pods Ready after the rollback" ready "$ns" 2
fi
kubectl delete namespace "$ns" --wait=false >/dev/null

ns=hg-np-$run
if timed "helm install --wait with the NetworkPolicy on" "$HELM" install hg "$chart" -n "$ns" --create-namespace -f "$values" --set networkPolicy.enabled=true --wait --timeout 10m; then
  order=$(hooks "$ns" | awk '{print $1}' | tr '\n' ' ')
  echo "  pre-install hooks in order: $order"
  case "$order" in
    "NetworkPolicy/hg-healthgraph-migrate "*"Job/hg-healthgraph-migrate"*) check "the migration NetworkPolicy was created before the Job" true ;;
    *) check "the migration NetworkPolicy was created before the Job" false ;;
  esac
fi
kubectl delete namespace "$ns" --wait=false >/dev/null

[ "$failed" -eq 0 ] && echo "cluster checks passed" || { echo "cluster checks FAILED" >&2; exit 1; }
