#!/usr/bin/env bash
# A disposable Kubernetes control plane on loopback, with kwok simulating one
# node, for as long as a command runs:
#   bash deploy/kwok/cluster.sh COMMAND [ARGS...]
# runs COMMAND with KUBECONFIG (and HELM) pointing at it, then stops everything
# and deletes its data. etcd (Debian's etcd-server), kube-apiserver,
# kube-controller-manager and kube-scheduler (deploy/kwok/build-tools.sh) are
# real; kwok plays the kubelet: pods scheduled to its node turn Running and
# Ready, and Jobs' pods complete, so Helm's hooks and --wait see what a real
# cluster would report. No container runs.
#
# The node lifecycle controller is off: with it, kwok's node flaps and every
# pod turns unready, so rollouts stall; the script lifts the not-ready taint it
# would have lifted. Ports: 23790/23800 (etcd), 16443
# (apiserver), 16445 (kwok), 16447/16448 (controller-manager, scheduler).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
BIN=${BIN:-$PWD/.cache/k8s/bin}
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm; do
  [ -x "$BIN/$b" ] || { echo "$BIN/$b is missing: run deploy/kwok/build-tools.sh" >&2; exit 1; }
done
command -v etcd >/dev/null || { echo "etcd is missing: apt-get install etcd-server" >&2; exit 1; }
export PATH=$BIN:$PATH

dir=$(mktemp -d)
pids=()
stop() {
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap stop EXIT
start() { # name command...
  local name=$1; shift
  "$@" >"$dir/$name.log" 2>&1 &
  pids+=($!)
}
# wait_for what seconds command...: poll (every half second) until command succeeds.
wait_for() {
  local what=$1 limit=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$what did not come up within ${limit}s; its log:" >&2
      tail -n 30 "$dir/$what.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
token=$(openssl rand -hex 16)
echo "$token,admin,admin,system:masters" >"$dir/tokens.csv"
export KUBECONFIG=$dir/kubeconfig
cat >"$KUBECONFIG" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: kwok, cluster: {server: "https://127.0.0.1:16443", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: "$token"}}]
contexts: [{name: kwok, context: {cluster: kwok, user: admin}}]
current-context: kwok
EOF

start etcd etcd --data-dir "$dir/etcd" --listen-client-urls http://127.0.0.1:23790 \
  --advertise-client-urls http://127.0.0.1:23790 --listen-peer-urls http://127.0.0.1:23800
start kube-apiserver "$BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:23790 \
  --secure-port=16443 --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --cert-dir="$dir/certs" \
  --token-auth-file="$dir/tokens.csv" --authorization-mode=RBAC \
  --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$dir/sa.pub" \
  --service-account-signing-key-file="$dir/sa.key" --service-cluster-ip-range=10.96.0.0/24 \
  --enable-priority-and-fairness=false
wait_for kube-apiserver 180 kubectl get --raw /readyz
start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$KUBECONFIG" \
  --service-account-private-key-file="$dir/sa.key" --root-ca-file="$dir/certs/apiserver.crt" \
  --leader-elect=false --bind-address=127.0.0.1 --secure-port=16447 \
  --controllers='*,-node-lifecycle-controller'
start kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$KUBECONFIG" --leader-elect=false \
  --bind-address=127.0.0.1 --secure-port=16448
start kwok "$BIN/kwok" --kubeconfig "$KUBECONFIG" --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-ip=127.0.0.1 --server-address=127.0.0.1:16445
kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: kwok-node-0, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok}
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
EOF
wait_for kwok 120 kubectl wait --for=condition=Ready node/kwok-node-0 --timeout=1s
# The API server taints every new node not-ready; the node lifecycle controller,
# which is off, is what would lift the taint once the node reports Ready.
kubectl taint node kwok-node-0 node.kubernetes.io/not-ready:NoSchedule- >/dev/null
# Pods need the namespace's default ServiceAccount, which the controller-manager makes.
wait_for kube-controller-manager 120 kubectl -n default get serviceaccount default
echo "cluster up: $("$BIN/kube-apiserver" --version), kwok node Ready"

export HELM=${HELM:-$BIN/helm}
status=0
"$@" || status=$?
if [ $status -ne 0 ]; then
  echo "the command failed ($status); the control plane's last log lines:" >&2
  for l in "$dir"/*.log; do echo "== $(basename "$l")" >&2; tail -n 5 "$l" >&2; done
fi
exit $status
