#!/usr/bin/env bash
# make aot-smoke: prove that the native AOT operator (make publish-aot) works end to end. Starts a fresh local
# control plane and MariaDB (state in .cache/aot-smoke, stopped on exit), runs the native binary against them,
# applies a MySQL ClusterCredential and waits until it is Ready and its Secret is published; prints the
# operator's resident memory (VmRSS) idle and after the reconcile.
#   hack/aot-smoke.sh [BINARY]   (default .cache/aot/passbox-operator)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.cache/aot/passbox-operator}
[[ -x $binary ]] || { echo "aot-smoke: $binary not found; run make publish-aot first" >&2; exit 1; }
kubectl=${PASSBOX_CACHE:-$HOME/.cache/passbox}/bin/kubectl
state=$PWD/.cache/aot-smoke
rm -rf "$state"; mkdir -p "$state/cp" "$state/db"
port=$((20000 + RANDOM % 20000))

operator_pid=""
cleanup() {
  [[ -n $operator_pid ]] && kill "$operator_pid" 2>/dev/null && wait "$operator_pid" 2>/dev/null || true
  bash hack/services/mariadb.sh stop "$state/db" >/dev/null 2>&1 || true
  bash hack/controlplane.sh stop "$state/cp" >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() { echo "aot-smoke: FAILED: $*" >&2; echo "--- operator log (last 40 lines)" >&2; tail -n 40 "$state/operator.log" >&2 || true; exit 1; }
rss() { awk '/^VmRSS/ { printf "%.0f MB", $2 / 1024 }' "/proc/$operator_pid/status"; }

bash hack/controlplane.sh start "$state/cp" --watch-pid $$ >/dev/null
bash hack/services/mariadb.sh start "$state/db" --watch-pid $$ >/dev/null
export KUBECONFIG=$state/cp/kubeconfig
# shellcheck disable=SC1091
source "$state/db/env"
bash hack/services/mariadb.sh sql "$state/db" "CREATE USER 'smoke'@'%' IDENTIFIED BY 'smoke-pw-1'" >/dev/null
"$kubectl" apply --server-side -f crds/ >/dev/null
"$kubectl" wait --for=condition=Established --timeout=60s crd/clustercredentials.passbox.dev >/dev/null

"$binary" --kubeconfig="$KUBECONFIG" --leader-elect=false --urls="http://127.0.0.1:$port" >"$state/operator.log" 2>&1 &
operator_pid=$!
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$operator_pid" 2>/dev/null || fail "the operator exited"
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || fail "the operator did not become ready in 60 s"
echo "aot-smoke: operator ready, idle RSS $(rss)"

"$kubectl" apply --server-side -f - >/dev/null <<YAML
apiVersion: v1
kind: Secret
metadata: {name: smoke-db, namespace: default}
stringData: {password: smoke-pw-1}
---
apiVersion: passbox.dev/v1alpha1
kind: ClusterCredential
metadata: {name: smoke, namespace: default}
spec:
  engine: MySQL
  endpoint: {host: "$MARIADB_HOST", port: $MARIADB_PORT, tls: {mode: Disabled}}
  username: smoke
  passwordSecretRef: {name: smoke-db, key: password}
  secret: {name: smoke-conn}
YAML
"$kubectl" wait --for=condition=Ready --timeout=90s clustercredential/smoke -n default >/dev/null \
  || fail "the ClusterCredential did not become Ready: $("$kubectl" get clustercredential smoke -n default -o jsonpath='{.status.conditions}')"
[[ $("$kubectl" get secret smoke-conn -n default -o jsonpath='{.data.password}' | base64 -d) == smoke-pw-1 ]] \
  || fail "the published Secret smoke-conn does not carry the password"
grep -Eq ' (fail|crit):' "$state/operator.log" && fail "the operator logged errors"
echo "aot-smoke: ClusterCredential Ready and Secret published; RSS $(rss)"
echo "aot-smoke: PASSED"
