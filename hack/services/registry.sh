#!/usr/bin/env bash
# Private container registry (Debian's docker-registry, registry v2 API) with htpasswd
# (bcrypt) basic auth, plain HTTP on 127.0.0.1, all state under one directory.
#
#   registry.sh start DIR --user USER --password PASS [--watch-pid PID]
#   registry.sh start DIR --open [--watch-pid PID]   no authentication at all (anyone may pull and push)
#   registry.sh stop DIR          (idempotent)
#   registry.sh status DIR        exit 0 when running
#
# DIR/env: REGISTRY_URL REGISTRY_HOST REGISTRY_PID REGISTRY_USER REGISTRY_PASSWORD
set -euo pipefail

SVC_NAME=registry
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")
# shellcheck source=lib.sh
source "$(dirname "$SELF")/lib.sh"

START_TIMEOUT=${REGISTRY_START_TIMEOUT:-30}
REALM=${REGISTRY_REALM:-passbox-registry}

paths() {
  DIR=$(svc_abs_dir "$1")
  CONFIG=$DIR/config.yml
  LOG=$DIR/registry.log
  PIDFILE=$DIR/registry.pid
}

running() { [[ -f $PIDFILE ]] && svc_pid_alive "$(tr -dc '0-9' <"$PIDFILE")" "$CONFIG"; }

cmd_stop() {
  [[ $# -ge 1 ]] || svc_usage
  paths "$1"
  svc_stop_watchdog "$DIR"
  if [[ -f $PIDFILE ]]; then
    svc_kill_pidfile "$PIDFILE" "$CONFIG" 10
    svc_log "stopped ($DIR)"
  fi
  rm -f "$DIR/env"
}

cmd_status() {
  [[ $# -ge 1 ]] || svc_usage
  paths "$1"
  if running; then echo "running (pid $(cat "$PIDFILE"))"; else echo "stopped"; return 1; fi
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@"; }

cmd_start() {
  [[ $# -ge 1 ]] || svc_usage
  local dir_arg=$1; shift
  local watch="" user="" pass="" have_pass=0 open=0
  while [[ $# -gt 0 ]]; do
    case $1 in
      --watch-pid) watch=${2:?--watch-pid needs a PID}; shift 2 ;;
      --user) user=${2:?--user needs a value}; shift 2 ;;
      --password) pass=${2-}; have_pass=1; shift 2 ;;
      --open) open=1; shift ;;
      *) svc_die "unknown argument: $1" ;;
    esac
  done
  svc_check_watch_pid "$watch"
  [[ $open -eq 1 || ( -n $user && $have_pass -eq 1 ) ]] || svc_die "start needs --user USER --password PASS, or --open"
  [[ $open -eq 0 || ( -z $user && $have_pass -eq 0 ) ]] || svc_die "--open takes no --user or --password"
  [[ $user != *:* ]] || svc_die "user name must not contain ':'"
  command -v docker-registry >/dev/null || svc_die "docker-registry not found (run hack/deps.sh)"
  command -v htpasswd >/dev/null || svc_die "htpasswd not found (run hack/deps.sh, apache2-utils)"

  local t0; t0=$(svc_now_ms)
  paths "$dir_arg"
  if running || [[ -f $DIR/watchdog.pid ]]; then
    svc_log "already running in $DIR, restarting"
    cmd_stop "$DIR"
  fi
  mkdir -p "$DIR/storage"
  rm -f "$DIR/env"

  # bcrypt (the only scheme the registry accepts). Password via stdin, not argv.
  # Cost 5 keeps each authenticated request cheap (tests make many of them).
  local auth="" ready_code=200
  if [[ $open -eq 0 ]]; then
    (umask 077; printf '%s\n' "$pass" | htpasswd -i -B -C 5 -c "$DIR/htpasswd" "$user" 2>/dev/null) \
      || svc_die "htpasswd failed"
    auth=$(printf 'auth:\n  htpasswd:\n    realm: %s\n    path: %s\n' "$REALM" "$DIR/htpasswd")
    ready_code=401
  fi

  local port attempt rc pid
  for attempt in 1 2 3 4 5; do
    port=$(svc_free_port)
    cat >"$CONFIG" <<EOF
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $DIR/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: $(svc_random 32)
  headers:
    X-Content-Type-Options: [nosniff]
$auth
health:
  storagedriver:
    enabled: false
EOF
    : >"$LOG"
    nohup docker-registry serve "$CONFIG" </dev/null >>"$LOG" 2>&1 &
    pid=$!
    echo "$pid" >"$PIDFILE"
    rc=0
    svc_wait_for "$START_TIMEOUT" "$pid" "$CONFIG" "$LOG" \
      bash -c '[[ $(curl -s -o /dev/null -w "%{http_code}" --max-time 2 "$1") == "$2" ]]' _ "http://127.0.0.1:$port/v2/" "$ready_code" \
      || rc=$?
    [[ $rc -eq 0 ]] && break
    rm -f "$PIDFILE"
    if [[ $rc -eq 2 ]] && grep -q "address already in use" "$LOG"; then
      svc_log "port $port was taken, retrying"
      [[ $attempt -lt 5 ]] && continue
    fi
    if [[ $rc -eq 1 ]]; then
      svc_log "registry did not answer on 127.0.0.1:$port within ${START_TIMEOUT}s"
      svc_kill_pid "$pid" "$CONFIG" 5
    else
      svc_log "registry exited during startup"
    fi
    svc_log_tail "$LOG"
    exit 1
  done

  local url="http://127.0.0.1:$port" code
  if [[ $open -eq 1 ]]; then
    code=$(http_code "$url/v2/") || true
  else
    code=$(svc_curl_user "$user" "$pass" | http_code -K - "$url/v2/") || true
  fi
  if [[ $code != 200 ]]; then
    svc_log "GET $url/v2/ with the credentials gave $code, expected 200"
    svc_log_tail "$LOG"
    cmd_stop "$DIR"
    exit 1
  fi

  svc_write_env "$DIR/env" \
    REGISTRY_URL="$url" \
    REGISTRY_HOST="127.0.0.1:$port" \
    REGISTRY_PID="$pid" \
    REGISTRY_USER="$user" \
    REGISTRY_PASSWORD="$pass"

  [[ -n $watch ]] && svc_start_watchdog "$SELF" "$DIR" "$watch" "$pid"
  svc_log "ready on $url (pid $pid) in $(svc_elapsed "$t0")s; env in $DIR/env"
}

svc_main "$@"
