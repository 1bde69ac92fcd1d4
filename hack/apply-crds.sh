#!/usr/bin/env bash
# Applies the CRDs for make run (hack/run.sh): kubectl apply --server-side of crds/, except where a Helm release owns
# them. Server-side apply makes kubectl a co-owner of every field it applies, unchanged ones included, and Helm 4
# applies server-side too: the release's next upgrade that changes a CRD would then fail with
# 'conflict with "kubectl": .spec.versions'. A release's CRDs are left to it: used as they are when they match
# DIR, refused with what to do when they do not.
#
#   hack/apply-crds.sh KUBECTL [DIR]     (DIR: default crds)
set -euo pipefail

kubectl=$1
dir=${2:-crds}

release=""
while read -r crd; do
  [[ -n $crd ]] || continue
  if [[ $("$kubectl" get "$crd" -o jsonpath='{.metadata.labels.app\.kubernetes\.io/managed-by}') == Helm ]]; then
    release=$("$kubectl" get "$crd" -o jsonpath='{.metadata.annotations.meta\.helm\.sh/release-name} -n {.metadata.annotations.meta\.helm\.sh/release-namespace}')
  fi
done < <("$kubectl" get -f "$dir" --ignore-not-found -o name)

if [[ -z $release ]]; then
  "$kubectl" apply --server-side -f "$dir" >/dev/null
  exit 0
fi

# kubectl diff: 0 the same, 1 different, more an error. Its dry run changes no ownership (forced: it only compares).
status=0
"$kubectl" diff --server-side --force-conflicts -f "$dir" >/dev/null 2>&1 || status=$?
case $status in
  0)
    echo "run: the CRDs belong to Helm release $release and match $dir/: left to the release" >&2
    ;;
  1)
    echo "run: the CRDs belong to Helm release $release and differ from $dir/. Applying them here would make kubectl" \
         "a co-owner of their fields and fail the release's next upgrade that changes them. Upgrade the release from" \
         "this tree (helm upgrade $release charts/passbox --reuse-values) or run on a local control plane" \
         "(PASSBOX_LOCAL=1 make run)" >&2
    exit 1
    ;;
  *)
    echo "run: cannot compare the CRDs of Helm release $release with $dir/:" >&2
    "$kubectl" diff --server-side --force-conflicts -f "$dir" >&2 || true
    exit 1
    ;;
esac
