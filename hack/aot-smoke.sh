#!/usr/bin/env bash
# make aot-smoke: prove that the native AOT operator (make publish-aot) works end to end. Starts a fresh local
# control plane and MariaDB (state in .cache/aot-smoke, stopped on exit), runs the native binary against them and
# checks the paths that depend on what a native build cannot do by reflection: a MySQL ClusterCredential becomes
# Ready and publishes its Secret; a provisioned one creates its user with its grants, rotates its generated password
# (rotation.period 1m) and drops the user on deletion; a Kubeconfig PipelineCredential (read by the reflection-free
# kubeconfig reader) passes the KubernetesAPI probe and publishes an Argo CD cluster Secret; UsernamePassword
# PipelineCredentials pass the GitHTTP probe against a git smart-HTTP server and the ContainerRegistry probe against a
# registry, and a wrong git password is reported, not crashed on; a changed password restarts the Deployment that opted
# in (Reloader's annotation); leader election takes its Lease; a Pod that mounts a generated Secret blocks its
# credential's deletion until the Pod is gone (the Pod informer and usage index); no type went through KubernetesJson's
# reflection fallback (passbox_json_reflection_types_total). Prints the operator's resident memory (VmRSS) idle and
# at the end. Milvus is not covered: its protocol double lives inside the integration test assembly.
#   hack/aot-smoke.sh [BINARY]   (default .cache/aot/passbox-operator)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.cache/aot/passbox-operator}
[[ -x $binary ]] || { echo "aot-smoke: $binary not found; run make publish-aot first" >&2; exit 1; }
kubectl=${PASSBOX_CACHE:-$HOME/.cache/passbox}/bin/kubectl
state=$PWD/.cache/aot-smoke
rm -rf "$state"; mkdir -p "$state/cp" "$state/db" "$state/git" "$state/registry"
port=$((20000 + RANDOM % 20000))

operator_pid=""
cleanup() {
  if [[ -n $operator_pid ]]; then kill "$operator_pid" 2>/dev/null; wait "$operator_pid" 2>/dev/null || true; fi
  bash hack/services/mariadb.sh stop "$state/db" >/dev/null 2>&1 || true
  bash hack/services/githttp.sh stop "$state/git" >/dev/null 2>&1 || true
  bash hack/services/registry.sh stop "$state/registry" >/dev/null 2>&1 || true
  bash hack/controlplane.sh stop "$state/cp" >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() { echo "aot-smoke: FAILED: $*" >&2; echo "--- operator log (last 40 lines)" >&2; tail -n 40 "$state/operator.log" >&2 || true; exit 1; }
secret_value() { "$kubectl" get secret "$1" -n default -o jsonpath="{.data.$2}" | base64 -d; }
rss() { awk '/^VmRSS/ { printf "%.0f MB", $2 / 1024 }' "/proc/$operator_pid/status"; }

bash hack/controlplane.sh start "$state/cp" --watch-pid $$ >/dev/null
bash hack/services/mariadb.sh start "$state/db" --watch-pid $$ >/dev/null
bash hack/services/githttp.sh start "$state/git" --user smoke-bot --password smoke-git-pw --watch-pid $$ >/dev/null
bash hack/services/registry.sh start "$state/registry" --user smoke-robot --password smoke-registry-pw --watch-pid $$ >/dev/null
export KUBECONFIG=$state/cp/kubeconfig
# shellcheck disable=SC1091
source "$state/db/env"
# shellcheck disable=SC1091
source "$state/git/env"
# shellcheck disable=SC1091
source "$state/registry/env"
bash hack/services/mariadb.sh sql "$state/db" "CREATE USER 'smoke'@'%' IDENTIFIED BY 'smoke-pw-1'" >/dev/null
"$kubectl" apply --server-side -f crds/ >/dev/null
"$kubectl" wait --for=condition=Established --timeout=60s crd/clustercredentials.passbox.dev >/dev/null

PASSBOX_LEADER_ELECTION_NAMESPACE=default "$binary" --kubeconfig="$KUBECONFIG" --leader-elect=true --urls="http://127.0.0.1:$port" >"$state/operator.log" 2>&1 &
operator_pid=$!
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$operator_pid" 2>/dev/null || fail "the operator exited"
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || fail "the operator did not become ready in 60 s"
echo "aot-smoke: operator ready, idle RSS $(rss)"
for _ in $(seq 1 30); do
  [[ -n $("$kubectl" get lease passbox-operator -n default -o jsonpath='{.spec.holderIdentity}' 2>/dev/null) ]] && break
  sleep 1
done
[[ -n $("$kubectl" get lease passbox-operator -n default -o jsonpath='{.spec.holderIdentity}' 2>/dev/null) ]] \
  || fail "leader election did not take the Lease default/passbox-operator"
echo "aot-smoke: leader election holds the Lease"

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
echo "aot-smoke: ClusterCredential Ready and Secret published; RSS $(rss)"

root_password=$(cat "$state/db/root-password")
bash hack/services/mariadb.sh sql "$state/db" "CREATE DATABASE smoke_app" >/dev/null
"$kubectl" create secret generic smoke-root-password -n default --from-literal=password="$root_password" >/dev/null
"$kubectl" create secret generic smoke-kubeconfig -n default --from-file=kubeconfig="$state/cp/ci.kubeconfig" >/dev/null
"$kubectl" apply --server-side -f - >/dev/null <<YAML
apiVersion: passbox.dev/v1alpha1
kind: ClusterCredential
metadata: {name: smoke-root, namespace: default}
spec:
  engine: MySQL
  endpoint: {host: "$MARIADB_HOST", port: $MARIADB_PORT, tls: {mode: Disabled}}
  username: $MARIADB_ROOT_USER
  passwordSecretRef: {name: smoke-root-password, key: password}
---
apiVersion: passbox.dev/v1alpha1
kind: ClusterCredential
metadata: {name: smoke-app, namespace: default}
spec:
  engine: MySQL
  endpoint: {host: "$MARIADB_HOST", port: $MARIADB_PORT, tls: {mode: Disabled}}
  username: smoke_app
  provisioning:
    adminCredentialRef: {name: smoke-root}
    grants: [{database: smoke_app, privileges: [SELECT, SHOW VIEW]}]
    rotation: {period: 1m}
    deletionPolicy: Delete
---
apiVersion: passbox.dev/v1alpha1
kind: PipelineCredential
metadata: {name: smoke-deploy, namespace: default}
spec:
  type: Kubeconfig
  kubeconfig: {secretRef: {name: smoke-kubeconfig, key: kubeconfig}}
  validation: {probe: KubernetesAPI, interval: 1h, timeout: 10s}
  secret: {consumers: [ArgoCD]}
YAML
"$kubectl" wait --for=condition=Ready --timeout=90s clustercredential/smoke-app -n default >/dev/null \
  || fail "the provisioned ClusterCredential did not become Ready: $("$kubectl" get clustercredential smoke-app -n default -o jsonpath='{.status.conditions}')"
bash hack/services/mariadb.sh sql "$state/db" "SHOW GRANTS FOR 'smoke_app'@'%'" | grep -qE 'SELECT, SHOW VIEW ON `smoke\\+_app`' \
  || fail "the provisioned user smoke_app does not have its grants (on smoke\\_app: _ escaped, not a wildcard)"
"$kubectl" wait --for=condition=Ready --timeout=60s pipelinecredential/smoke-deploy -n default >/dev/null \
  || fail "the Kubeconfig PipelineCredential did not become Ready: $("$kubectl" get pipelinecredential smoke-deploy -n default -o jsonpath='{.status.conditions}')"
[[ $("$kubectl" get secret smoke-deploy -n default -o jsonpath='{.metadata.labels.argocd\.argoproj\.io/secret-type}') == cluster ]] \
  || fail "the PipelineCredential's Secret is not an Argo CD cluster Secret"
echo "aot-smoke: provisioned user created with its grants; Kubeconfig PipelineCredential Ready"
first_app_password=$(secret_value smoke-app password)
app_created=$SECONDS

# Pipeline probes against real servers: git smart-HTTP (basic auth challenge, info/refs) and a registry (/v2/).
"$kubectl" create secret generic smoke-git-input -n default --from-literal=password=smoke-git-pw >/dev/null
"$kubectl" create secret generic smoke-git-wrong -n default --from-literal=password=not-the-password >/dev/null
"$kubectl" create secret generic smoke-registry-input -n default --from-literal=password=smoke-registry-pw >/dev/null
"$kubectl" apply --server-side -f - >/dev/null <<YAML
apiVersion: passbox.dev/v1alpha1
kind: PipelineCredential
metadata: {name: smoke-git, namespace: default}
spec:
  type: UsernamePassword
  server: "$GIT_REPO_URL"
  usernamePassword: {username: smoke-bot, passwordSecretRef: {name: smoke-git-input, key: password}}
  validation: {probe: GitHTTP, interval: 1h, timeout: 10s}
  secret: {format: BasicAuth, consumers: [Tekton, Jenkins]}
---
apiVersion: passbox.dev/v1alpha1
kind: PipelineCredential
metadata: {name: smoke-git-wrong, namespace: default}
spec:
  type: UsernamePassword
  server: "$GIT_REPO_URL"
  usernamePassword: {username: smoke-bot, passwordSecretRef: {name: smoke-git-wrong, key: password}}
  validation: {probe: GitHTTP, interval: 1h, timeout: 10s}
---
apiVersion: passbox.dev/v1alpha1
kind: PipelineCredential
metadata: {name: smoke-registry, namespace: default}
spec:
  type: UsernamePassword
  server: "$REGISTRY_URL"
  usernamePassword: {username: smoke-robot, passwordSecretRef: {name: smoke-registry-input, key: password}}
  validation: {probe: ContainerRegistry, interval: 1h, timeout: 10s}
  secret: {format: DockerConfigJson, consumers: [Tekton]}
YAML
"$kubectl" wait --for=condition=Ready --timeout=60s pipelinecredential/smoke-git -n default >/dev/null \
  || fail "the git PipelineCredential did not become Ready: $("$kubectl" get pipelinecredential smoke-git -n default -o jsonpath='{.status.conditions}')"
[[ $("$kubectl" get secret smoke-git -n default -o jsonpath='{.type}') == kubernetes.io/basic-auth && $(secret_value smoke-git password) == smoke-git-pw ]] \
  || fail "the git PipelineCredential's Secret is not a basic-auth Secret with the password"
[[ -n $("$kubectl" get secret smoke-git -n default -o jsonpath='{.metadata.annotations.tekton\.dev/git-0}') ]] \
  || fail "the git PipelineCredential's Secret has no tekton.dev/git-0 annotation"
"$kubectl" wait --for=condition=Ready --timeout=60s pipelinecredential/smoke-registry -n default >/dev/null \
  || fail "the registry PipelineCredential did not become Ready: $("$kubectl" get pipelinecredential smoke-registry -n default -o jsonpath='{.status.conditions}')"
if [[ $("$kubectl" get secret smoke-registry -n default -o jsonpath='{.type}') != kubernetes.io/dockerconfigjson ]] \
  || ! secret_value smoke-registry '\.dockerconfigjson' | grep -qF "\"$REGISTRY_HOST\""; then
  fail "the registry PipelineCredential's Secret is not a dockerconfigjson for $REGISTRY_HOST"
fi
wrong=""
for _ in $(seq 1 60); do
  wrong=$("$kubectl" get pipelinecredential smoke-git-wrong -n default -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}' 2>/dev/null || true)
  [[ -n $wrong ]] && break
  sleep 1
done
[[ $wrong == AuthenticationFailed ]] || fail "a wrong git password was not reported as AuthenticationFailed (got: '$wrong')"
echo "aot-smoke: GitHTTP and ContainerRegistry PipelineCredentials Ready; a wrong git password is AuthenticationFailed; RSS $(rss)"

# A changed password restarts the workload that opted in with Reloader's annotation.
"$kubectl" apply --server-side -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: smoke-workload
  namespace: default
  annotations: {secret.reloader.stakater.com/reload: smoke-conn}
spec:
  selector: {matchLabels: {app: smoke-workload}}
  template:
    metadata: {labels: {app: smoke-workload}}
    spec:
      containers: [{name: app, image: busybox, env: [{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: smoke-conn, key: password}}}]}]
YAML
bash hack/services/mariadb.sh sql "$state/db" "ALTER USER 'smoke'@'%' IDENTIFIED BY 'smoke-pw-2'" >/dev/null
"$kubectl" create secret generic smoke-db -n default --from-literal=password=smoke-pw-2 --dry-run=client -o yaml | "$kubectl" apply --server-side --force-conflicts -f - >/dev/null
restarted=""
for _ in $(seq 1 60); do
  restarted=$("$kubectl" get deployment smoke-workload -n default -o jsonpath='{.spec.template.metadata.annotations.passbox\.dev/restartedAt}')
  [[ -n $restarted ]] && break
  sleep 1
done
[[ -n $restarted ]] || fail "the opted-in Deployment was not restarted after the password changed: $("$kubectl" get clustercredential smoke -n default -o jsonpath='{.status}')"
[[ $(secret_value smoke-conn password) == smoke-pw-2 ]] || fail "the published Secret smoke-conn does not carry the new password"
"$kubectl" delete deployment smoke-workload -n default >/dev/null
echo "aot-smoke: a password change republished smoke-conn and restarted the opted-in Deployment"

# Rotation: the generated password is replaced once rotation.period (1m) has passed, and the new one logs in.
rotated=""
while (( SECONDS - app_created < 120 )); do
  rotated=$(secret_value smoke-app password)
  [[ -n $rotated && $rotated != "$first_app_password" ]] && break
  sleep 2
done
[[ -n $rotated && $rotated != "$first_app_password" ]] || fail "the provisioned credential's generated password was not rotated after rotation.period"
"$kubectl" wait --for=condition=Ready --timeout=60s clustercredential/smoke-app -n default >/dev/null \
  || fail "the provisioned ClusterCredential is not Ready after rotation: $("$kubectl" get clustercredential smoke-app -n default -o jsonpath='{.status.conditions}')"
mariadb --no-defaults -h "$MARIADB_HOST" -P "$MARIADB_PORT" -u smoke_app -p"$rotated" -N -e "SELECT 1" >/dev/null 2>&1 \
  || fail "the rotated password does not log in as smoke_app"
echo "aot-smoke: the generated password rotated after 1m and the new one logs in"
"$kubectl" delete clustercredential smoke-app -n default --timeout=60s >/dev/null || fail "the provisioned ClusterCredential was not deleted"
[[ $(bash hack/services/mariadb.sh sql "$state/db" "SELECT COUNT(*) FROM mysql.user WHERE user = 'smoke_app'" -N) == 0 ]] \
  || fail "deleting the provisioned ClusterCredential did not drop its user"
# In-use protection: a Pod mounting smoke-conn keeps the ClusterCredential until the Pod is gone.
"$kubectl" apply --server-side -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: smoke-user, namespace: default}
spec:
  containers: [{name: app, image: busybox, volumeMounts: [{name: db, mountPath: /db}]}]
  volumes: [{name: db, secret: {secretName: smoke-conn}}]
YAML
sleep 2
"$kubectl" delete clustercredential smoke -n default --wait=false >/dev/null
blocked=""
for _ in $(seq 1 30); do
  blocked=$("$kubectl" get clustercredential smoke -n default -o jsonpath='{.status.conditions[?(@.type=="DeletionBlocked")].message}' 2>/dev/null || true)
  [[ $blocked == *smoke-user* ]] && break
  sleep 1
done
[[ $blocked == *smoke-user* ]] || fail "deleting a credential whose Secret a Pod mounts was not blocked naming the Pod (got: '$blocked')"
"$kubectl" get secret smoke-conn -n default >/dev/null || fail "the Secret in use was removed"
"$kubectl" delete pod smoke-user -n default --grace-period=0 --force >/dev/null 2>&1 || true
"$kubectl" wait --for=delete --timeout=60s clustercredential/smoke -n default >/dev/null 2>&1 \
  || fail "the credential was not deleted after its last user went"
echo "aot-smoke: deletion blocked while a Pod mounted the Secret, done once it was gone"
grep -Eq ' (fail|crit):' "$state/operator.log" && fail "the operator logged errors"
reflected=$(curl -fsS "http://127.0.0.1:$port/metrics" | grep '^passbox_json_reflection_types_total' || true)
[[ -z $reflected ]] || fail "types went through KubernetesJson's reflection fallback: $reflected"
echo "aot-smoke: provisioned user dropped on deletion; no errors logged; no JSON by reflection; RSS $(rss)"
echo "aot-smoke: PASSED"
