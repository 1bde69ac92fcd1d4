#!/usr/bin/env bash
# Checks the output of the native AOT publish (make publish-aot) for trim/AOT analysis warnings. The operator's own are
# errors already (operator/Passbox.Operator.csproj); this also fails on a library's summary warning (IL2104, IL3053)
# unless it is KubernetesClient's, whose three known places are explained in the csproj. Prints the count either way.
#   hack/aot-warnings.sh PUBLISH_LOG
set -euo pipefail
log=${1:?usage: aot-warnings.sh PUBLISH_LOG}
warnings=$(grep -E 'warning IL[0-9]{4}' "$log" | sed -E 's/ \[[^]]*\]$//' | sort -u || true)
known=$(grep -E "warning IL(2104|3053): Assembly 'KubernetesClient' produced" <<<"$warnings" || true)
other=$(grep -vE "warning IL(2104|3053): Assembly 'KubernetesClient' produced" <<<"$warnings" | sed '/^$/d' || true)
echo "publish-aot: $(sed '/^$/d' <<<"$other" | wc -l) trim/AOT warnings; KubernetesClient summaries: $(sed '/^$/d' <<<"$known" | wc -l) (known, see operator/Passbox.Operator.csproj)"
if [[ -n $other ]]; then
  echo "publish-aot: FAILED: trim/AOT warnings (fix them; see docs on generated JSON metadata in operator/Hosting/OperatorJson.cs):" >&2
  echo "$other" >&2
  exit 1
fi
