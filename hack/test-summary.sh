#!/usr/bin/env bash
# Sums the counters of every .trx file under DIR and prints CI's closing line: "N passed, N failed".
# Exits non-zero when anything failed or when no test ran at all.
set -euo pipefail
dir=${1:?usage: test-summary.sh RESULTS_DIR}
shopt -s nullglob globstar
files=("$dir"/**/*.trx)
passed=0 failed=0 skipped=0
for f in "${files[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$f" | head -n 1)
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  total=$(get total); executed=$(get executed); p=$(get passed); fl=$(get failed)
  e=$(get error); t=$(get timeout); a=$(get aborted)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${fl:-0} + ${e:-0} + ${t:-0} + ${a:-0}))
  skipped=$((skipped + ${total:-0} - ${executed:-0}))
done
if ((${#files[@]} < 2)); then
  # A test project that crashed before writing its results must not look like a pass.
  echo "test-summary: expected 2 result files, found ${#files[@]}" >&2
  failed=$((failed + 1))
fi
if ((skipped > 0)); then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
((failed == 0 && passed > 0))
