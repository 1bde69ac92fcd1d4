#!/usr/bin/env bash
# make demo: Passbox end to end on this machine, in about 15 seconds. Starts a local control plane and a private
# MariaDB, runs the operator, publishes a ClusterCredential's Secret, shows a deletion blocked by the Job that
# mounts it and finishing once the Job is gone. Everything it starts is stopped and removed on exit.
#
#   hack/demo.sh [CONFIGURATION]     (default Release; `make demo` builds first)
#
# The local control plane runs no controllers: the Job never gets a Pod, and nothing marks it finished. Passbox counts
# an unfinished Job's pod template as a user either way, so the story is the same as on a real cluster; the demo
# ends the Job by deleting it, as ttlSecondsAfterFinished would.
set -euo pipefail
cd "$(dirname "$0")/.."
configuration=${1:-Release}
cache=${PASSBOX_CACHE:-$HOME/.cache/passbox}
kubectl_bin="$cache/bin/kubectl"
operator_dll="operator/bin/$configuration/net10.0/passbox-operator.dll"
[[ -x $kubectl_bin ]] || { echo "demo: $kubectl_bin missing: run make deps" >&2; exit 1; }
[[ -f $operator_dll ]] || { echo "demo: $operator_dll missing: run make build" >&2; exit 1; }

mkdir -p .cache
state=$(mktemp -d "$PWD/.cache/demo.XXXXXX")
operator_pid=""
cleanup() {
  local status=$?
  step "Cleaning up: operator, MariaDB and control plane stopped, $state removed"
  if [[ -n $operator_pid ]]; then
    kill "$operator_pid" 2>/dev/null || true
    wait "$operator_pid" 2>/dev/null || true
  fi
  bash hack/services/mariadb.sh stop "$state/db" >/dev/null 2>&1 || true
  bash hack/controlplane.sh stop "$state/cp" >/dev/null 2>&1 || true
  rm -rf "$state"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold="" plain=""
if [[ -t 1 ]]; then bold=$(tput bold 2>/dev/null || true) plain=$(tput sgr0 2>/dev/null || true); fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
# Prints a kubectl command as a user would type it (quoted where the shell needs it), then runs it.
k() {
  local shown="" a
  for a in "$@"; do
    if [[ $a =~ [^A-Za-z0-9_./=:,@%+-] ]]; then shown+=" '$a'"; else shown+=" $a"; fi
  done
  printf '$ kubectl%s\n' "$shown"
  "$kubectl_bin" "$@"
}
quiet() { "$kubectl_bin" "$@" >/dev/null; }
# until SECONDS DESCRIPTION COMMAND...: polls until COMMAND succeeds.
until_true() {
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || { echo "demo: timed out waiting for $what" >&2; tail -n 30 "$state/operator.log" >&2; exit 1; }
    sleep 0.5
  done
}

used_by_one() { [[ $("$kubectl_bin" -n demo get ccred orders-db -o jsonpath='{.status.usedBy.count}') == 1 ]]; }
blocked_event() { "$kubectl_bin" -n demo get events -o jsonpath='{.items[*].reason}' | grep -qw DeletionBlocked; }

step "Starting a local Kubernetes control plane (etcd + API server) in $state/cp"
bash hack/controlplane.sh start "$state/cp" --watch-pid $$ 2>&1 | sed 's/^/    /'
export KUBECONFIG=$state/cp/kubeconfig

step "Starting a private MariaDB and creating the demo user 'orders_app'"
bash hack/services/mariadb.sh start "$state/db" --watch-pid $$ >/dev/null
# shellcheck disable=SC1091
source "$state/db/env"
password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)
bash hack/services/mariadb.sh sql "$state/db" "CREATE USER 'orders_app'@'%' IDENTIFIED BY '$password'"
echo "    MariaDB listens on $MARIADB_HOST:$MARIADB_PORT"

step "Installing the CRDs"
k apply --server-side -f crds/
quiet wait --for=condition=Established --timeout=60s crd/clustercredentials.passbox.dev crd/pipelinecredentials.passbox.dev

step "Creating namespace demo and the input Secret holding the password"
k create namespace demo
printf '$ kubectl -n demo create secret generic orders-db-input --from-literal=password=***\n'
"$kubectl_bin" -n demo create secret generic orders-db-input --from-literal=password="$password"

step "Running the operator (as the control plane's passbox-operator user; log in $state/operator.log)"
dotnet "$operator_dll" --kubeconfig="$state/cp/operator.kubeconfig" --leader-elect=false \
  --urls=http://127.0.0.1:0 >"$state/operator.log" 2>&1 &
operator_pid=$!
echo "    operator pid $operator_pid"

step "Applying a ClusterCredential and waiting for Ready"
cat >"$state/orders-db.yaml" <<EOF
apiVersion: passbox.dev/v1alpha1
kind: ClusterCredential
metadata: {name: orders-db, namespace: demo}
spec:
  engine: MySQL
  description: orders service (demo)
  endpoint: {host: "$MARIADB_HOST", port: $MARIADB_PORT, tls: {mode: Disabled}}
  username: orders_app
  passwordSecretRef: {name: orders-db-input, key: password}
EOF
sed 's/^/    /' "$state/orders-db.yaml"
(cd "$state" && k apply -f orders-db.yaml)
k -n demo wait --for=condition=Ready --timeout=90s ccred/orders-db
k -n demo get ccred
echo "    the generated Secret's keys:"
# shellcheck disable=SC2016 # a Go template, not shell
k -n demo get secret orders-db -o go-template='{{range $key, $_ := .data}}{{$key}} {{end}}{{"\n"}}'

step "Starting a Job that mounts the Secret"
cat >"$state/nightly-report.yaml" <<'YAML'
apiVersion: batch/v1
kind: Job
metadata: {name: nightly-report, namespace: demo}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: report
          image: busybox
          command: [sh, -c, "ls /etc/orders-db; sleep 3600"]
          volumeMounts: [{name: orders-db, mountPath: /etc/orders-db, readOnly: true}]
      volumes:
        - name: orders-db
          secret: {secretName: orders-db}
YAML
sed 's/^/    /' "$state/nightly-report.yaml"
(cd "$state" && k apply -f nightly-report.yaml)
until_true 30 "the Job to be counted as a user" used_by_one
k -n demo get ccred

step "Deleting the credential while the Job runs: blocked"
k -n demo delete ccred orders-db --wait=false
until_true 30 "DeletionBlocked" \
  "$kubectl_bin" -n demo wait --for=condition=DeletionBlocked=True --timeout=1s ccred/orders-db
k -n demo get ccred
k -n demo get ccred orders-db -o jsonpath='{range .status.conditions[?(@.type=="DeletionBlocked")]}DeletionBlocked={.status} reason={.reason}: {.message}{"\n"}{end}'
printf '$ kubectl -n demo describe ccred orders-db   # its Status part\n'
"$kubectl_bin" -n demo describe ccred orders-db | sed -n '/^Status:/,/^Events:/p' | grep -v '^Events:'
# The warning event follows the status write; wait for it. The local control plane has no field selectors for events, so describe lists none: ask for them directly.
until_true 15 "the DeletionBlocked event" blocked_event
k -n demo get events --sort-by=.lastTimestamp -o custom-columns=TYPE:.type,REASON:.reason,OBJECT:.involvedObject.name,COUNT:.count,MESSAGE:.message
k -n demo get secret orders-db

step "The Job is done and removed (no Job controller runs here): the deletion finishes and the Secret goes with it"
k -n demo delete job nightly-report
k -n demo wait --for=delete --timeout=60s ccred/orders-db
k -n demo get ccred,secrets
echo
echo "Demo finished."
