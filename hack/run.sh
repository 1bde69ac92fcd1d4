#!/usr/bin/env bash
# make run: start the operator against the current kubeconfig; with none configured, against a local control plane
# started here (its state in .cache/run, stopped when the operator stops).
#   PASSBOX_LOCAL=1 make run   always use a fresh local control plane
#   PASSBOX_RUN_DIR=DIR        keep the local control plane's state in DIR instead of .cache/run
# Ctrl-C, or SIGTERM/SIGHUP to this script alone (`kill` of make or of this script), stops the operator first, then
# the control plane: nothing it started is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
configuration=${1:-Release}
cache=${PASSBOX_CACHE:-$HOME/.cache/passbox}
kubectl="$cache/bin/kubectl"
[[ -x $kubectl ]] || kubectl=$(command -v kubectl || true)

configured() {
  [[ -n ${KUBECONFIG:-} && -f ${KUBECONFIG%%:*} ]] || [[ -z ${KUBECONFIG:-} && -f $HOME/.kube/config ]]
}

operator_pid="" state=""
shutdown() {
  if [[ -n $operator_pid ]]; then
    kill -TERM "$operator_pid" 2>/dev/null || true
    wait "$operator_pid" 2>/dev/null || true
  fi
  if [[ -n $state ]]; then
    bash hack/controlplane.sh stop "$state" >/dev/null 2>&1 || true
  fi
}
trap shutdown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [[ ${PASSBOX_LOCAL:-0} != 1 ]] && configured; then
  if ! "$kubectl" version --request-timeout=5s >/dev/null 2>&1; then
    echo "run: the configured cluster ($("$kubectl" config current-context 2>/dev/null || echo '?')) does not answer;" \
         "fix KUBECONFIG or use PASSBOX_LOCAL=1 make run for a local control plane" >&2
    exit 1
  fi
  echo "run: using the cluster of context $("$kubectl" config current-context)" >&2
else
  state=${PASSBOX_RUN_DIR:-$PWD/.cache/run}
  mkdir -p "$state"
  bash hack/controlplane.sh stop "$state" >/dev/null 2>&1 || true
  bash hack/controlplane.sh start "$state" --watch-pid $$
  export KUBECONFIG=$state/kubeconfig
  echo "run: local control plane ready; in another shell: export KUBECONFIG=$KUBECONFIG" >&2
fi

bash hack/apply-crds.sh "$kubectl" crds   # leaves a Helm release's CRDs to it
"$kubectl" wait --for=condition=Established --timeout=60s crd/clustercredentials.passbox.dev crd/pipelinecredentials.passbox.dev >/dev/null
if [[ -n ${state:-} ]]; then
  # As the chart does on Kubernetes 1.36+: new credentials get the in-use finalizer at admission.
  "$kubectl" apply -f config/admission/finalizer-policy.yaml >/dev/null
fi
echo "run: CRDs in place; starting the operator (Ctrl-C stops it)" >&2
# The operator runs in the background and this script waits for it, so that a signal sent to this script alone
# (make forwards SIGTERM to it; `kill` from another shell) stops the operator too instead of orphaning it, and the
# control plane stops only after the operator has (it would otherwise log failed watches while shutting down).
# A background job of a script ignores SIGINT, so Ctrl-C reaches the operator as SIGTERM, from shutdown above.
dotnet "operator/bin/$configuration/net10.0/passbox-operator.dll" --leader-elect=false &
operator_pid=$!
wait "$operator_pid"
