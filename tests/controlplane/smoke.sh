#!/usr/bin/env bash
# Smoke test of the local control plane (hack/controlplane.sh): starts one in
# a temporary directory, checks what tests rely on, stops it.
# Uses curl; the kubectl checks run too when kubectl is installed.
# Prints "N passed, M failed" and exits non-zero on any failure.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CP="$REPO/hack/controlplane.sh"
DIR=${1:-$(mktemp -d /tmp/passbox-cp-smoke.XXXXXX)}
PASSED=0 FAILED=0

pass() { PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$1"; [[ -z ${2:-} ]] || printf '      %s\n' "${2:0:600}"; }
check() { # NAME EXPECTED-SUBSTRING ACTUAL
  if [[ $3 == *"$2"* ]]; then pass "$1"; else fail "$1" "expected '$2' in: $3"; fi
}

"$CP" start "$DIR" --watch-pid $$
trap '"$CP" stop "$DIR" >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
source "$DIR/env"

# api METHOD PATH [CURL-ARGS...]: body and then the HTTP status on the last line.
api() {
  local method=$1 path=$2; shift 2
  curl -sS --cacert "$KUBE_CA_FILE" -H "Authorization: Bearer ${TOKEN:-$ADMIN_TOKEN}" -X "$method" \
    -w '\n%{http_code}' "$@" "$KUBE_SERVER$path"
}
code() { tail -n1 <<<"$1"; }
# field extraction without jq: first "key":"value" or "key":number
field() { grep -o "\"$1\": *\"\{0,1\}[^\",}]*" <<<"$2" | head -n1 | sed 's/.*: *"\{0,1\}//'; }

# --- basics -----------------------------------------------------------------
out=$(api GET /version); check "/version reports v1.x" '"gitVersion": "v1.' "$out"
out=$(api GET /api/v1/namespaces); check "namespaces list has default" '"name": "default"' "$out"
out=$(api GET /apis); check "/apis lists apps" '"name": "apps"' "$out"
out=$(TOKEN=not-a-token api GET /api/v1/namespaces); check "unknown token gets 401" $'\n401' "$out"
out=$(curl -sS --cacert "$KUBE_CA_FILE" -w '\n%{http_code}' "$KUBE_SERVER/api/v1/namespaces"); check "no token gets 401" $'\n401' "$out"
out=$(curl -sS --cacert "$KUBE_CA_FILE" "$KUBE_SERVER/readyz"); check "anonymous /readyz" "ok" "$out"

# --- secrets, generation, status ---------------------------------------------
out=$(api POST /api/v1/namespaces/default/secrets -H 'Content-Type: application/json' \
  -d '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s1"},"stringData":{"k":"v"}}')
check "create secret" $'\n201' "$out"
out=$(api GET /api/v1/namespaces/default/secrets/s1); check "get secret" '"k": "dg=="' "$out"

deploy='{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},
 "spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
 "spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}},"status":{"replicas":7}}'
out=$(api POST /apis/apps/v1/namespaces/default/deployments -H 'Content-Type: application/json' -d "$deploy")
check "create deployment" $'\n201' "$out"
check "create: generation 1" '"generation": 1' "$out"
[[ $out != *'"replicas": 7'* ]] && pass "create: status dropped" || fail "create: status dropped" "$out"
out=$(api PATCH /apis/apps/v1/namespaces/default/deployments/web -H 'Content-Type: application/strategic-merge-patch+json' \
  -d '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}},"status":{"replicas":9}}')
check "strategic merge patch" '"image": "nginx:1.28"' "$out"
check "spec change bumps generation" '"generation": 2' "$out"
[[ $out != *'"replicas": 9'* ]] && pass "main resource ignores status" || fail "main resource ignores status" "$out"
out=$(api PATCH /apis/apps/v1/namespaces/default/deployments/web/status -H 'Content-Type: application/merge-patch+json' \
  -d '{"spec":{"replicas":5},"status":{"replicas":3,"observedGeneration":2}}')
check "status patch sets status" '"observedGeneration": 2' "$out"
check "status patch keeps generation" '"generation": 2' "$out"
check "status patch ignores spec" '"replicas": 1' "$out"

# --- server-side apply -----------------------------------------------------------
ssa='apiVersion: v1
kind: ServiceAccount
metadata: {name: op, namespace: default}'
out=$(api PATCH '/api/v1/namespaces/default/serviceaccounts/op?fieldManager=smoke&dryRun=All' \
  -H 'Content-Type: application/apply-patch+yaml' --data-binary "$ssa")
check "server-side apply dry-run (curl)" $'\n201' "$out"
out=$(api GET /api/v1/namespaces/default/serviceaccounts/op); check "dry-run stored nothing" $'\n404' "$out"

# --- CRD with CEL -------------------------------------------------------------
crd='{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.probe.dev"},
"spec":{"group":"probe.dev","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},
"versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},"schema":{"openAPIV3Schema":{"type":"object",
"properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"}},
"x-kubernetes-validations":[{"rule":"self.size <= 10","message":"size must be at most 10"}]},
"status":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}}]}}'
out=$(api POST /apis/apiextensions.k8s.io/v1/customresourcedefinitions -H 'Content-Type: application/json' -d "$crd")
check "create CRD" $'\n201' "$out"
for _ in $(seq 1 50); do
  out=$(api POST /apis/probe.dev/v1/namespaces/default/widgets -H 'Content-Type: application/json' \
    -d '{"apiVersion":"probe.dev/v1","kind":"Widget","metadata":{"name":"big"},"spec":{"size":50}}')
  [[ $(code "$out") == 404 || $(code "$out") == 429 ]] || break
  sleep 0.1
done
check "CEL rule rejects with its message" "size must be at most 10" "$out"
check "CEL rejection is 422" $'\n422' "$out"
out=$(api POST /apis/probe.dev/v1/namespaces/default/widgets -H 'Content-Type: application/json' \
  -d '{"apiVersion":"probe.dev/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":5}}')
check "valid custom resource accepted" $'\n201' "$out"

# --- watch: bookmarks, 410 after compaction ------------------------------------
out=$(api GET '/api/v1/namespaces/default/secrets?watch=true&allowWatchBookmarks=true&timeoutSeconds=2')
check "watch with allowWatchBookmarks=true" $'\n200' "$out"
list=$(api GET /api/v1/namespaces/default/configmaps)
rv=$(field resourceVersion "$list")
out=$(api GET "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=$rv&timeoutSeconds=2" -o /dev/null)
api POST /api/v1/namespaces/default/configmaps -H 'Content-Type: application/json' \
  -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bump"}}' >/dev/null
"$CP" compact "$DIR" >/dev/null
out=$(api GET "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=$rv&timeoutSeconds=2")
check "watch from compacted resourceVersion: 410" '"code":410' "$out"
check "  ... reason Expired" '"reason":"Expired"' "$out"

# --- restart keeps data -----------------------------------------------------------
"$CP" restart-apiserver "$DIR" >/dev/null 2>&1
# shellcheck disable=SC1091
source "$DIR/env"
out=$(api GET /api/v1/namespaces/default/secrets/s1); check "data survives restart-apiserver" $'\n200' "$out"

# --- audit -----------------------------------------------------------------
out=$(TOKEN=$OPERATOR_TOKEN api GET /api/v1/namespaces/default/configmaps); check "operator token works" $'\n200' "$out"
line=$(grep '"username":"passbox-operator"' "$AUDIT_LOG" | grep '"verb":"list"' | tail -n1 || true)
check "audit: operator list configmaps" '"objectRef":{"resource":"configmaps","namespace":"default","apiVersion":"v1"}' "$line"
line=$(grep '"verb":"create"' "$AUDIT_LOG" | grep '"resource":"deployments"' | tail -n1 || true)
check "audit: admin create deployments (apiGroup)" '"apiGroup":"apps"' "$line"
check "audit: user.username" '"user":{"username":"admin"' "$line"

# --- kubectl, when installed ---------------------------------------------------------
if command -v kubectl >/dev/null; then
  export KUBECONFIG=$KUBECONFIG_ADMIN
  out=$(kubectl get ns 2>&1); check "kubectl get ns" "kube-system" "$out"
  out=$(kubectl api-resources 2>&1); check "kubectl api-resources" "statefulsets" "$out"
  out=$(kubectl version 2>&1); check "kubectl version parses server" "Server Version: v1." "$out"
  out=$(kubectl apply --server-side --dry-run=server -f - 2>&1 <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: op, namespace: default}
spec:
  selector: {matchLabels: {app: op}}
  template:
    metadata: {labels: {app: op}}
    spec: {serviceAccountName: op, containers: [{name: op, image: passbox:dev}]}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: op, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "passbox:op"}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "passbox:op"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "passbox:op"}
subjects: [{kind: ServiceAccount, name: op, namespace: default}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: op, namespace: default}
rules: [{apiGroups: [coordination.k8s.io], resources: [leases], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: op, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: op}
subjects: [{kind: ServiceAccount, name: op, namespace: default}]
---
apiVersion: v1
kind: Service
metadata: {name: op, namespace: default}
spec: {selector: {app: op}, ports: [{port: 8080}]}
EOF
  )
  check "kubectl apply --server-side --dry-run=server (7 kinds)" "service/op serverside-applied (server dry run)" "$out"
  check "  ... deployment" "deployment.apps/op serverside-applied (server dry run)" "$out"
  check "  ... clusterrolebinding" "clusterrolebinding.rbac.authorization.k8s.io/passbox:op serverside-applied" "$out"
  out=$(kubectl --token=wrong get ns 2>&1 || true); check "kubectl bad token: Unauthorized" "Unauthorized" "$out"
else
  echo "skip  kubectl checks (kubectl not installed)"
fi

echo "controlplane smoke: $PASSED passed, $FAILED failed"
[[ $FAILED == 0 ]]
