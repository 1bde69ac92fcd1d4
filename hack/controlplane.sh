#!/usr/bin/env bash
# Local Kubernetes control plane for tests: etcd + tests/controlplane (a small
# API server composed from the real k8s.io libraries), built from Debian's Go
# source packages. See tests/controlplane/README.md.
#
#   hack/controlplane.sh build [--force] [--refresh]
#   hack/controlplane.sh start DIR [--watch-pid PID]
#   hack/controlplane.sh stop DIR
#   hack/controlplane.sh restart-apiserver DIR
#   hack/controlplane.sh compact DIR
#   hack/controlplane.sh cpu-profile DIR SECONDS OUT   (API server CPU profile; OUT.pprof and OUT.txt, the top functions)
#   hack/controlplane.sh run [DIR]
#
# Environment:
#   PASSBOX_CACHE              cache root (default ~/.cache/passbox); ours is $PASSBOX_CACHE/controlplane
#   PASSBOX_DEBIAN_MIRROR      Debian mirror URI (default: the one in /etc/apt, else http://deb.debian.org/debian)
#   PASSBOX_CP_WATCH_CACHE     true|false (default false: watches go straight to etcd, so a
#                              resourceVersion older than a compaction reliably answers 410 Gone)
#   PASSBOX_CP_FEATURE_GATES   extra --feature-gates for the API server
#   PASSBOX_CP_AUDIT_POLICY    audit policy file (default: built in, level Metadata for everything)
#   PASSBOX_CP_APISERVER_ARGS  extra API server flags (word-split), e.g. --authorization-mode=RBAC
#   PASSBOX_CP_OPERATOR_USER   user name of operator.kubeconfig's token (default passbox-operator;
#                              system:serviceaccount:NS:NAME also gets the ServiceAccount groups)
#   PASSBOX_CP_READY_TIMEOUT   seconds to wait for /readyz (default 60)
set -euo pipefail

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SCRIPT")/.." && pwd)
SRC="$REPO/tests/controlplane"
CACHE="${PASSBOX_CACHE:-$HOME/.cache/passbox}/controlplane"
GO_MINOR=1.26
# Roots of the Debian closure: the API server libraries, a Go toolchain, and
# openapi-gen's sources (kube-openapi + gengo).
ROOT_PACKAGES="golang-k8s-apiextensions-apiserver-dev golang-$GO_MINOR-go golang-$GO_MINOR-src golang-k8s-kube-openapi-dev golang-github-kubernetes-gengo-dev"
# etcd 3.5 (RequestWatchProgress, needed for bookmarks/consistent reads) from trixie.
ETCD_PACKAGES="etcd-server/trixie etcd-client/trixie"
SID="$CACHE/sid"      # unpacked sid closure: toolchain + /usr/share/gocode
ETCD_ROOT="$CACHE/etcd"
ETCD_BIN="$ETCD_ROOT/usr/bin/etcd"
ETCDCTL_BIN="$ETCD_ROOT/usr/bin/etcdctl"

log() { printf '[controlplane] %s\n' "$*" >&2; }
die() { printf '[controlplane] ERROR: %s\n' "$*" >&2; exit 1; }

# Phase timing: phase NAME starts one, phase_end prints its duration.
PHASE_NAME="" PHASE_T0=""
phase() { PHASE_NAME=$1; PHASE_T0=$EPOCHREALTIME; log "phase $1 ..."; }
phase_end() { log "phase $PHASE_NAME done in $(elapsed "$PHASE_T0")s"; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------

debian_mirror() {
  if [[ -n "${PASSBOX_DEBIAN_MIRROR:-}" ]]; then echo "$PASSBOX_DEBIAN_MIRROR"; return; fi
  # The archive (not -security) URI that the machine's own apt uses.
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -Eo '(https?://[^ ]+/debian)/?( |$)' | grep -v -- '-security' | head -n1 | tr -d ' ' || true)
  echo "${uri%/}" | grep . || echo "http://deb.debian.org/debian"
}

# Private apt configuration: its own sources, lists and cache; the system's
# apt state is never touched.
APT_OPTS=()
apt_setup() {
  local mirror
  mirror=$(debian_mirror)
  mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial"
  cat >"$CACHE/apt/sources.list" <<EOF
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main
EOF
  # Drop the system's update/dpkg hooks (appstream, docker-clean): they are
  # about the system's lists, not ours.
  cat >"$CACHE/apt/apt.conf" <<'EOF'
#clear APT::Update::Post-Invoke-Success;
#clear APT::Update::Post-Invoke;
#clear DPkg::Post-Invoke;
Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled "false";
Acquire::Languages "none";
EOF
  APT_OPTS=(-q -c "$CACHE/apt/apt.conf"
    -o "Dir::Etc::sourcelist=$CACHE/apt/sources.list" -o Dir::Etc::sourceparts=/dev/null
    -o "Dir::State::Lists=$CACHE/apt/lists" -o "Dir::Cache=$CACHE/apt/cache")
  if [[ $(id -u) == 0 ]]; then APT_OPTS+=(-o APT::Sandbox::User=root); fi
}

APT_UPDATED=""
apt_update() {
  [[ -n "$APT_UPDATED" ]] && return
  apt_setup
  phase apt-update
  apt-get "${APT_OPTS[@]}" update >"$CACHE/apt-update.log" 2>&1 ||
    { tail -n 20 "$CACHE/apt-update.log" >&2; die "apt-get update (private sid/trixie lists) failed; log: $CACHE/apt-update.log"; }
  phase_end
  APT_UPDATED=1
}

packages_file() { # suite -> uncompressed Packages on stdout
  local f
  f=$(ls "$CACHE/apt/lists/"*"_dists_$1_main_binary-amd64_Packages"* 2>/dev/null | head -n1)
  [[ -n "$f" ]] || die "no Packages index for $1 in $CACHE/apt/lists"
  /usr/lib/apt/apt-helper cat-file "$f"
}

# Dependency closure of ROOT_PACKAGES over the current sid index: follow
# Depends/Pre-Depends of golang-* packages only (Go source packages need
# nothing else with CGO off); other toolchains are cut off.
compute_closure() {
  packages_file sid | awk -v ROOTS="$ROOT_PACKAGES" '
    BEGIN { RS = ""; FS = "\n" }
    {
      pkg = ""; ver = ""; dep = ""; prov = ""
      for (i = 1; i <= NF; i++) {
        l = $i
        if (l ~ /^Package: /) pkg = substr(l, 10)
        else if (l ~ /^Version: /) ver = substr(l, 10)
        else if (l ~ /^Depends: /) dep = dep ", " substr(l, 10)
        else if (l ~ /^Pre-Depends: /) dep = dep ", " substr(l, 14)
        else if (l ~ /^Provides: /) prov = substr(l, 11)
      }
      if (pkg == "" || (pkg in V)) next
      V[pkg] = ver; D[pkg] = dep
      n = split(prov, ps, ",")
      for (j = 1; j <= n; j++) { p = clean(ps[j]); if (p != "" && !(p in PROV)) PROV[p] = pkg }
    }
    function clean(s) { gsub(/\([^)]*\)|\[[^]]*\]|<[^>]*>/, "", s); gsub(/[ \t]/, "", s); sub(/:.*/, "", s); return s }
    function wanted(name) {
      if (name in ROOT) return 1
      if (name !~ /^golang-/) return 0
      return !(name ~ /^golang-(go|src|any|doc)$/ || name ~ /^golang-[0-9]/)
    }
    function resolve(alt,   k, m, a, x) {
      m = split(alt, a, "|")
      for (k = 1; k <= m; k++) { x = clean(a[k]); if (x in V) return x; if (x in PROV) return PROV[x] }
      return ""
    }
    END {
      nr = split(ROOTS, r, " ")
      for (i = 1; i <= nr; i++) {
        ROOT[r[i]] = 1; Q[++qt] = r[i]; SEEN[r[i]] = 1
        if (!(r[i] in V)) { print "missing package in sid: " r[i] > "/dev/stderr"; bad = 1 }
      }
      while (qh < qt) {
        cur = Q[++qh]; n = split(D[cur], ds, ",")
        for (j = 1; j <= n; j++) {
          if (clean(ds[j]) == "") continue
          x = resolve(ds[j])
          if (x == "") { if (wanted(clean(ds[j]))) { print "unresolvable dependency of " cur ": " ds[j] > "/dev/stderr"; bad = 1 }; continue }
          if (!wanted(x) || (x in SEEN)) continue
          SEEN[x] = 1; Q[++qt] = x
        }
      }
      for (i = 1; i <= qt; i++) print Q[i] "=" V[Q[i]]
      exit bad
    }'
}

# download_unpack DEST PKG... : apt-get download + dpkg -x into DEST (replaced).
download_unpack() {
  local dest=$1; shift
  local dl="$CACHE/download.$$"
  rm -rf "$dl" "$dest.new"; mkdir -p "$dl" "$dest.new"
  (cd "$dl" && apt-get "${APT_OPTS[@]}" download "$@") >"$CACHE/download.log" 2>&1 ||
    { tail -n 20 "$CACHE/download.log" >&2; rm -rf "$dl"; die "apt-get download failed; log: $CACHE/download.log"; }
  log "downloaded $(ls "$dl" | wc -l) packages, $(du -sh "$dl" | cut -f1)"
  find "$dl" -name '*.deb' -print0 | xargs -0 -P 2 -n 16 sh -c 'for d; do dpkg -x "$d" "$0" || exit 255; done' "$dest.new" ||
    { rm -rf "$dl"; die "dpkg -x failed"; }
  rm -rf "$dl" "$dest"
  mv "$dest.new" "$dest"
}

ensure_toolchain() {
  if [[ -f "$SID/.complete" && -z "${REFRESH:-}" ]]; then return; fi
  apt_update
  phase closure
  local closure
  closure=$(compute_closure) || die "could not compute the dependency closure from sid (sid may have moved: a root package or dependency is missing)"
  phase_end
  log "sid closure: $(wc -l <<<"$closure") packages"
  phase download-unpack-sid
  # shellcheck disable=SC2046
  download_unpack "$SID" $closure
  echo "$closure" >"$SID/.closure"
  touch "$SID/.complete"
  rm -f "$CACHE/tools/openapi-gen"
  phase_end
}

ensure_etcd() {
  if [[ -f "$ETCD_ROOT/.complete" && -z "${REFRESH:-}" ]]; then return; fi
  apt_update
  phase download-unpack-etcd
  # shellcheck disable=SC2086
  download_unpack "$ETCD_ROOT" $ETCD_PACKAGES
  [[ -x "$ETCD_BIN" && -x "$ETCDCTL_BIN" ]] || die "etcd packages did not contain usr/bin/etcd and usr/bin/etcdctl"
  touch "$ETCD_ROOT/.complete"
  phase_end
}

go_env() {
  export GOROOT="$SID/usr/lib/go-$GO_MINOR" GOPATH="$CACHE/gopath:$SID/usr/share/gocode"
  export GO111MODULE=off GOTOOLCHAIN=local GOPROXY=off GOFLAGS='' GOENV=off CGO_ENABLED=0
  export GOCACHE="$CACHE/gocache" PATH="$SID/usr/lib/go-$GO_MINOR/bin:$PATH"
}

# The Kubernetes version reported by /version: Debian's 0.X.Y of the
# k8s.io libraries is Kubernetes v1.X.Y.
kube_version() {
  local v
  v=$(sed -n 's/^golang-k8s-apiextensions-apiserver-dev=\([0-9]*\)\.\([0-9]*\)\.\([0-9]*\).*/v1.\2.\3/p' "$SID/.closure")
  echo "${v:-v1.36.0}"
}

# Everything that determines the binary besides the Go source; part of the cache key.
build_binary() {
  local out=$1 stage="$CACHE/gopath/src/passbox-controlplane"
  go_env
  if [[ ! -x "$CACHE/tools/openapi-gen" ]]; then
    phase build-openapi-gen
    mkdir -p "$CACHE/tools"
    go build -o "$CACHE/tools/openapi-gen" k8s.io/kube-openapi/cmd/openapi-gen >"$CACHE/build.log" 2>&1 ||
      build_failed "building openapi-gen"
    phase_end
  fi
  phase openapi-gen
  rm -rf "$stage"; mkdir -p "$stage/openapi"
  cp "$SRC"/*.go "$stage/"
  : >"$CACHE/boilerplate.txt"
  (cd "$stage" && "$CACHE/tools/openapi-gen" --go-header-file "$CACHE/boilerplate.txt" \
    --output-dir openapi --output-pkg passbox-controlplane/openapi --output-file zz_generated.openapi.go \
    --report-filename "$CACHE/openapi-violations.txt" \
    k8s.io/api/core/v1 k8s.io/api/apps/v1 k8s.io/api/batch/v1 k8s.io/api/coordination/v1 \
    k8s.io/api/events/v1 k8s.io/api/policy/v1 k8s.io/api/rbac/v1 k8s.io/api/admissionregistration/v1 \
    k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime k8s.io/apimachinery/pkg/version \
    k8s.io/apimachinery/pkg/api/resource k8s.io/apimachinery/pkg/util/intstr) >"$CACHE/build.log" 2>&1 ||
    build_failed "openapi-gen"
  phase_end
  phase go-build
  local v ldflags pkg=k8s.io/component-base/version
  v=$(kube_version)
  ldflags="-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=$(cut -d. -f1 <<<"${v#v}") -X $pkg.gitMinor=$(cut -d. -f2 <<<"$v")"
  ldflags+=" -X $pkg.gitCommit=$HASH -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  (cd "$stage" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp" .) >"$CACHE/build.log" 2>&1 ||
    build_failed "go build"
  mv "$out.tmp" "$out"
  phase_end
  log "built $out ($v)"
}

build_failed() {
  tail -n 40 "$CACHE/build.log" >&2
  die "controlplane build failed in step '$1'. Full log: $CACHE/build.log. If sid moved (package versions in $SID/.closure), rerun with 'build --refresh' and adapt tests/controlplane to the new API."
}

source_hash() {
  {
    declare -f build_binary go_env kube_version
    echo "$ROOT_PACKAGES $GO_MINOR"
    for f in "$SRC"/*.go; do echo "== ${f##*/}"; cat "$f"; done
  } | sha256sum | cut -c1-40
}

binary_path() { echo "$CACHE/bin/$(source_hash)/passbox-controlplane"; }

cmd_build() {
  local force="" arg
  for arg in "$@"; do
    case $arg in
      --force) force=1 ;;
      --refresh) REFRESH=1; force=1 ;;
      *) die "build: unknown argument $arg" ;;
    esac
  done
  local t0=$EPOCHREALTIME bin
  HASH=$(source_hash)
  bin="$CACHE/bin/$HASH/passbox-controlplane"
  if [[ -x "$bin" && -z "$force" && -f "$ETCD_ROOT/.complete" ]]; then
    log "up to date: $bin"
    return
  fi
  mkdir -p "$CACHE"
  # One build at a time (parallel test runs); in a subshell so that the lock's
  # file descriptor is never inherited by the daemons that start launches.
  (
    exec 9>"$CACHE/.build.lock"
    flock 9
    if [[ -x "$bin" && -z "$force" && -f "$ETCD_ROOT/.complete" ]]; then exit 0; fi
    ensure_toolchain
    ensure_etcd
    if [[ ! -x "$bin" || -n "$force" ]]; then
      mkdir -p "$(dirname "$bin")"
      build_binary "$bin"
      # keep the three newest binaries
      ls -1dt "$CACHE/bin"/*/ 2>/dev/null | tail -n +4 | xargs -r rm -rf
    fi
  )
  log "build finished in $(elapsed "$t0")s"
}

# ---------------------------------------------------------------------------
# start / stop
# ---------------------------------------------------------------------------

need() { command -v "$1" >/dev/null || die "'$1' is required (apt-get install $2)"; }

abs_dir() { mkdir -p "$1" && (cd "$1" && pwd); }

# free_port VAR: a loopback port nobody listens on, outside the ephemeral
# range, different from the ones picked before (assigned, not echoed, so that
# the list of picked ports survives).
USED_PORTS=" "
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((10000 + RANDOM % 22000))
    [[ $USED_PORTS == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      USED_PORTS+="$p "
      printf -v "$1" '%s' "$p"
      return
    fi
  done
  die "no free loopback port found"
}

random_token() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }

# pid_alive DIR NAME: the pid in DIR/NAME.pid runs and is ours (its command
# line mentions DIR), so a recycled pid is never killed.
pid_alive() {
  local f="$1/$2.pid" pid
  [[ -f $f ]] || return 1
  pid=$(<"$f")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$1"
}

# running PID: the process exists and is not a zombie. Used while waiting for
# a process just launched (its command line is briefly unreadable during exec).
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

kill_proc() { # DIR NAME
  local dir=$1 name=$2 pid
  if pid_alive "$dir" "$name"; then
    pid=$(<"$dir/$name.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do running "$pid" || break; sleep 0.1; done
    if running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  fi
  rm -f "$dir/$name.pid"
}

start_etcd() {
  local dir=$1
  setsid nohup "$ETCD_BIN" --name default --data-dir "$dir/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" \
    --heartbeat-interval 10 --election-timeout 100 \
    --unsafe-no-fsync --log-level warn </dev/null >>"$dir/etcd.log" 2>&1 &
  echo $! >"$dir/etcd.pid"
  for _ in $(seq 1 100); do
    if "$ETCDCTL_BIN" --endpoints "http://127.0.0.1:$ETCD_PORT" --dial-timeout 1s endpoint health >/dev/null 2>&1; then return; fi
    running "$(<"$dir/etcd.pid")" || break
    sleep 0.1
  done
  log "etcd did not become healthy; last lines of $dir/etcd.log:"
  tail -n 20 "$dir/etcd.log" >&2
  return 1
}

start_apiserver() {
  local dir=$1 bin=$2
  local -a args
  mapfile -t args <"$dir/apiserver.args"
  setsid nohup "$bin" "${args[@]}" </dev/null >>"$dir/apiserver.log" 2>&1 &
  echo $! >"$dir/apiserver.pid"
}

# wait_ready DIR PORT TOKEN: /readyz answers ok with the CA from the serving cert.
wait_ready() {
  local dir=$1 port=$2 token=$3 t0=$EPOCHREALTIME timeout=${PASSBOX_CP_READY_TIMEOUT:-60}
  while :; do
    if [[ -f "$dir/certs/apiserver.crt" ]]; then
      [[ -s "$dir/ca.crt" ]] || extract_ca "$dir"
      if [[ $(curl -s --max-time 2 --cacert "$dir/ca.crt" -H "Authorization: Bearer $token" \
        "https://127.0.0.1:$port/readyz" 2>/dev/null) == ok ]]; then
        return 0
      fi
    fi
    if ! running "$(<"$dir/apiserver.pid")"; then
      log "API server exited; last lines of $dir/apiserver.log:"
      tail -n 30 "$dir/apiserver.log" >&2
      return 1
    fi
    if (($(elapsed "$t0" | cut -d. -f1) >= timeout)); then
      log "API server not ready after ${timeout}s; last lines of $dir/apiserver.log:"
      tail -n 30 "$dir/apiserver.log" >&2
      curl -s --max-time 2 -k -H "Authorization: Bearer $token" "https://127.0.0.1:$port/readyz?verbose" >&2 || true
      return 1
    fi
    sleep 0.1
  done
}

# The self-signed serving certificate file holds the serving cert followed by
# the CA that signed it; clients trust the CA.
extract_ca() {
  [[ $(grep -c -- '-----END CERTIFICATE-----' "$1/certs/apiserver.crt") -ge 2 ]] || return 0 # still being written
  awk '/-----BEGIN CERTIFICATE-----/ { n++; buf = "" } { buf = buf $0 "\n" } /-----END CERTIFICATE-----/ { last = buf } END { printf "%s", last }' \
    "$1/certs/apiserver.crt" >"$1/ca.crt.tmp" && mv "$1/ca.crt.tmp" "$1/ca.crt"
}

write_kubeconfig() { # FILE USER TOKEN
  local ca
  ca=$(base64 -w0 <"$DIR/ca.crt")
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: passbox-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $ca
users:
- name: $2
  user:
    token: $3
contexts:
- name: passbox-local
  context:
    cluster: passbox-local
    user: $2
current-context: passbox-local
EOF
  chmod 600 "$1"
}

cmd_start() {
  [[ $# -ge 1 ]] || die "usage: start DIR [--watch-pid PID]"
  local watch_pid=""
  DIR=$(abs_dir "$1"); shift
  while [[ $# -gt 0 ]]; do
    case $1 in
      --watch-pid) watch_pid=${2:?--watch-pid needs a PID}; shift 2 ;;
      *) die "start: unknown argument $1" ;;
    esac
  done
  need curl curl
  if pid_alive "$DIR" apiserver || pid_alive "$DIR" etcd; then
    die "a control plane is already running for $DIR (run: $0 stop $DIR)"
  fi
  cmd_build
  local bin t0=$EPOCHREALTIME
  bin=$(binary_path)

  ADMIN_TOKEN=$(random_token); OPERATOR_TOKEN=$(random_token); CI_TOKEN=$(random_token)
  umask 077
  printf '%s\n' "$ADMIN_TOKEN,admin,admin,\"system:masters\"" \
    "$(operator_token_line "$OPERATOR_TOKEN")" "$CI_TOKEN,ci-deployer,ci-deployer" >"$DIR/tokens.csv"
  umask 022
  # Every start is a fresh cluster: new etcd data, tokens and logs. The
  # self-signed certificates are kept (key generation costs start time) unless
  # they are old.
  if [[ -n $(find "$DIR/certs" -name apiserver.crt -mtime +300 2>/dev/null) ]]; then rm -rf "$DIR/certs"; fi
  : >"$DIR/audit.log"

  # Ports are probed, not reserved: a parallel start may take one first, so a
  # bind conflict is retried with new ports.
  local attempt
  for attempt in 1 2 3; do
    rm -rf "$DIR/etcd-data" "$DIR/ca.crt"
    : >"$DIR/apiserver.log"; : >"$DIR/etcd.log"
    free_port ETCD_PORT; free_port ETCD_PEER_PORT; free_port APISERVER_PORT
    write_apiserver_args
    phase start-etcd
    if start_etcd "$DIR"; then
      phase_end
      phase start-apiserver
      start_apiserver "$DIR" "$bin"
      if wait_ready "$DIR" "$APISERVER_PORT" "$ADMIN_TOKEN"; then break; fi
    fi
    stop_all "$DIR"
    if [[ $attempt -lt 3 ]] && grep -q 'address already in use' "$DIR/apiserver.log" "$DIR/etcd.log"; then
      log "port conflict, retrying with other ports"
      continue
    fi
    die "control plane failed to start (logs in $DIR)"
  done
  phase_end

  write_kubeconfig "$DIR/kubeconfig" admin "$ADMIN_TOKEN"
  write_kubeconfig "$DIR/operator.kubeconfig" passbox-operator "$OPERATOR_TOKEN"
  write_kubeconfig "$DIR/ci.kubeconfig" ci-deployer "$CI_TOKEN"
  write_env
  if [[ -n $watch_pid ]]; then
    setsid nohup bash "$SCRIPT" __watchdog "$DIR" "$watch_pid" </dev/null >>"$DIR/watchdog.log" 2>&1 &
    echo $! >"$DIR/watchdog.pid"
  fi
  log "ready in $(elapsed "$t0")s: https://127.0.0.1:$APISERVER_PORT  (KUBECONFIG=$DIR/kubeconfig, env: $DIR/env)"
}

# The operator's user: passbox-operator, or PASSBOX_CP_OPERATOR_USER. A ServiceAccount's
# name (system:serviceaccount:NS:NAME) gets its groups, as a ServiceAccount token would,
# so RoleBindings to the ServiceAccount apply under --authorization-mode=RBAC.
operator_token_line() { # TOKEN
  local user=${PASSBOX_CP_OPERATOR_USER:-passbox-operator}
  if [[ $user =~ ^system:serviceaccount:([^:]+):[^:]+$ ]]; then
    echo "$1,$user,$user,\"system:serviceaccounts,system:serviceaccounts:${BASH_REMATCH[1]}\""
  else
    echo "$1,$user,$user"
  fi
}

write_apiserver_args() {
  {
    echo "--etcd-servers=http://127.0.0.1:$ETCD_PORT"
    echo "--bind-address=127.0.0.1"
    echo "--secure-port=$APISERVER_PORT"
    echo "--cert-dir=$DIR/certs"
    echo "--token-auth-file=$DIR/tokens.csv"
    echo "--audit-log-path=$DIR/audit.log"
    if [[ -n "${PASSBOX_CP_AUDIT_POLICY:-}" ]]; then echo "--audit-policy-file=$PASSBOX_CP_AUDIT_POLICY"; fi
    # Without the watch cache a watch from a compacted resourceVersion gets
    # 410 Gone straight from etcd (the cache would still serve it).
    echo "--watch-cache=${PASSBOX_CP_WATCH_CACHE:-false}"
    # No automatic compaction: only 'compact' makes old resourceVersions expire.
    echo "--etcd-compaction-interval=0"
    # On SIGTERM, end open watches after 1 s instead of waiting for them until the 10 s kill: clients see the
    # connection close and reconnect, as from a kube-apiserver being restarted (restart-apiserver: 2-5 s, not 13+).
    echo "--shutdown-watch-termination-grace-period=1s"
    if [[ -n "${PASSBOX_CP_FEATURE_GATES:-}" ]]; then echo "--feature-gates=$PASSBOX_CP_FEATURE_GATES"; fi
    local extra
    for extra in ${PASSBOX_CP_APISERVER_ARGS:-}; do echo "$extra"; done
  } >"$DIR/apiserver.args"
}

write_env() {
  cat >"$DIR/env.tmp" <<EOF
KUBECONFIG_ADMIN=$DIR/kubeconfig
KUBECONFIG_OPERATOR=$DIR/operator.kubeconfig
KUBECONFIG_CI=$DIR/ci.kubeconfig
KUBE_SERVER=https://127.0.0.1:$APISERVER_PORT
KUBE_CA_FILE=$DIR/ca.crt
APISERVER_PORT=$APISERVER_PORT
ETCD_ENDPOINT=http://127.0.0.1:$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
ADMIN_TOKEN=$ADMIN_TOKEN
OPERATOR_TOKEN=$OPERATOR_TOKEN
CI_TOKEN=$CI_TOKEN
AUDIT_LOG=$DIR/audit.log
APISERVER_PID=$(<"$DIR/apiserver.pid")
ETCD_PID=$(<"$DIR/etcd.pid")
EOF
  chmod 600 "$DIR/env.tmp"
  mv "$DIR/env.tmp" "$DIR/env"
}

load_env() {
  DIR=$(cd "$1" 2>/dev/null && pwd) || die "no such directory: $1"
  [[ -f "$DIR/env" ]] || die "$DIR/env not found: was the control plane started there?"
  # shellcheck disable=SC1091
  source "$DIR/env"
  ETCD_PORT=${ETCD_ENDPOINT##*:}
}

stop_all() { # DIR [keep-watchdog]
  kill_proc "$1" apiserver
  kill_proc "$1" etcd
  [[ ${2:-} == keep-watchdog ]] || kill_proc "$1" watchdog
}

cmd_stop() {
  [[ $# -eq 1 ]] || die "usage: stop DIR"
  [[ -d $1 ]] || { log "nothing to stop: $1 does not exist"; return; }
  local dir
  dir=$(cd "$1" && pwd)
  stop_all "$dir"
  log "stopped control plane in $dir"
}

cmd_restart_apiserver() {
  [[ $# -eq 1 ]] || die "usage: restart-apiserver DIR"
  load_env "$1"
  pid_alive "$DIR" etcd || die "etcd for $DIR is not running"
  local t0=$EPOCHREALTIME
  kill_proc "$DIR" apiserver
  # the same port: wait until the old listener is gone
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$APISERVER_PORT") 2>/dev/null || break; sleep 0.1; done
  start_apiserver "$DIR" "$(binary_path)"
  wait_ready "$DIR" "$APISERVER_PORT" "$ADMIN_TOKEN" || die "API server failed to restart (log: $DIR/apiserver.log)"
  write_env
  log "API server restarted in $(elapsed "$t0")s"
}

cmd_compact() {
  [[ $# -eq 1 ]] || die "usage: compact DIR"
  load_env "$1"
  local rev
  # Two writes outside the API server's /registry prefix first: a watch from
  # resourceVersion RV resumes at RV+1, so compacting at the current revision
  # alone would leave the newest RV usable. After this every resourceVersion
  # handed out before 'compact' is too old (410 Gone).
  "$ETCDCTL_BIN" --endpoints "$ETCD_ENDPOINT" put /passbox/compaction-marker a >/dev/null
  "$ETCDCTL_BIN" --endpoints "$ETCD_ENDPOINT" put /passbox/compaction-marker b >/dev/null
  rev=$("$ETCDCTL_BIN" --endpoints "$ETCD_ENDPOINT" endpoint status -w json | grep -o '"revision":[0-9]*' | head -n1 | cut -d: -f2)
  [[ -n $rev ]] || die "could not read the etcd revision from $ETCD_ENDPOINT"
  "$ETCDCTL_BIN" --endpoints "$ETCD_ENDPOINT" compaction --physical "$rev" >/dev/null
  log "compacted etcd at revision $rev"
  echo "$rev"
}

cmd_run() {
  local dir=${1:-$REPO/.run/controlplane}
  cmd_start "$dir" --watch-pid $$
  trap 'log "stopping"; stop_all "$DIR"; log "stopped"; exit 0' INT TERM
  cat <<EOF

Control plane running. In another shell:
  export KUBECONFIG=$DIR/kubeconfig      # admin (system:masters)
  set -a; source $DIR/env; set +a          # KUBE_SERVER, tokens, AUDIT_LOG, ...
Press Ctrl-C to stop.
EOF
  while pid_alive "$DIR" apiserver && pid_alive "$DIR" etcd; do sleep 1; done
  log "a control plane process exited; see $DIR/apiserver.log and $DIR/etcd.log"
  stop_all "$DIR"
  exit 1
}

# The API server's own pprof endpoint (kube-apiserver serves it too, --profiling):
# a CPU profile over SECONDS, kept raw and as the top functions by cumulative time.
cmd_cpu_profile() {
  local dir=$1 seconds=$2 out=$3
  [[ -f "$dir/env" ]] || die "no control plane in $dir"
  local server token
  server=$(sed -n 's/^KUBE_SERVER=//p' "$dir/env")
  token=$(sed -n 's/^ADMIN_TOKEN=//p' "$dir/env")
  curl -sf --cacert "$dir/ca.crt" -H "Authorization: Bearer $token" -o "$out.pprof" \
    "$server/debug/pprof/profile?seconds=$seconds" || die "could not read $server/debug/pprof/profile"
  go_env
  go tool pprof -top -cum -nodecount=60 "$out.pprof" >"$out.txt" 2>/dev/null || die "go tool pprof failed on $out.pprof"
}

# Runs detached: when the watched process exits, stop everything of DIR.
cmd_watchdog() {
  local dir=$1 pid=$2
  while kill -0 "$pid" 2>/dev/null; do
    [[ -f "$dir/apiserver.pid" || -f "$dir/etcd.pid" ]] || exit 0 # stopped normally
    sleep 1
  done
  echo "$(date -u +%FT%TZ) watched pid $pid exited; stopping control plane"
  stop_all "$dir" keep-watchdog
  rm -f "$dir/watchdog.pid"
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    build) cmd_build "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    restart-apiserver) cmd_restart_apiserver "$@" ;;
    compact) cmd_compact "$@" ;;
    cpu-profile) cmd_cpu_profile "$@" ;;
    run) cmd_run "$@" ;;
    __watchdog) cmd_watchdog "$@" ;;
    *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$SCRIPT" >&2; exit 2 ;;
  esac
}

main "$@"
