#!/usr/bin/env bash
# End-to-end check of the service scripts: for each one, start from scratch, use it,
# stop, stop again, start again (reuse), start with --watch-pid of a short-lived process
# and check that the service is gone after that process exits.
#
#   hack/services/selftest.sh [mariadb|registry|githttp ...]     (default: all)
#
# State goes to a temp dir (removed at the end unless KEEP=1). Ends with
# "N passed, N failed"; exit 1 if anything failed.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(mktemp -d /tmp/passbox-svc-selftest.XXXXXX)
PASSED=0
FAILED=0
TIMES=()

cleanup() {
  local s
  for s in mariadb registry githttp; do
    [[ -d $ROOT/$s ]] && bash "$HERE/$s.sh" stop "$ROOT/$s" >/dev/null 2>&1
  done
  [[ ${KEEP:-0} == 1 ]] && echo "state kept in $ROOT" || rm -rf "$ROOT"
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# timed NAME CMD...: run CMD, record its duration.
timed() {
  local name=$1 t0 rc; shift
  t0=$(now_ms)
  "$@" 2>"$ROOT/last.err"; rc=$?
  local ms=$(( $(now_ms) - t0 ))
  TIMES+=("$name: $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s")
  if [[ $rc -ne 0 ]]; then cat "$ROOT/last.err"; fi
  return $rc
}

pid_gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }
port_closed() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }

# wait_gone PID PORT SECONDS
wait_gone() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    pid_gone "$1" && port_closed "$2" && return 0
    sleep 0.1
  done
  return 1
}

# watch_test NAME SCRIPT DIR PIDKEY PORT_FN ARGS...
watch_test() {
  local name=$1 script=$2 dir=$3 pidkey=$4; shift 4
  sleep 3 &
  local sp=$!
  if ! bash "$HERE/$script" start "$dir" "$@" --watch-pid "$sp" 2>"$ROOT/last.err"; then
    cat "$ROOT/last.err"; bad "$name: start --watch-pid"; return
  fi
  # shellcheck disable=SC1091
  source "$dir/env"
  local pid=${!pidkey} port
  port=$(env_port "$dir")
  check "$name: running while watched process lives" kill -0 "$pid"
  wait "$sp"
  if wait_gone "$pid" "$port" 5; then ok "$name: stopped by watchdog after watched pid exited"
  else bad "$name: still running after watched pid exited"; fi
  check "$name: watchdog gone" bash -c "! [[ -f '$dir/watchdog.pid' ]] || ! kill -0 \$(cat '$dir/watchdog.pid')"
}

env_port() { sed -nE 's/^(MARIADB_PORT=|REGISTRY_HOST=127\.0\.0\.1:)([0-9]+)$/\2/p; s#^GIT_HTTP_URL=http://127\.0\.0\.1:([0-9]+)/git$#\1#p' "$1/env"; }

test_mariadb() {
  local d=$ROOT/mariadb s=mariadb.sh
  timed "mariadb start (new data dir)" bash "$HERE/$s" start "$d" || { bad "mariadb: start"; return; }
  ok "mariadb: start from scratch"
  # shellcheck disable=SC1091
  source "$d/env"
  check "mariadb: root login over TCP with password" \
    env MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb --no-defaults --protocol=TCP -h "$MARIADB_HOST" -P "$MARIADB_PORT" -u root -e 'SELECT 1'
  check "mariadb: wrong password refused" \
    bash -c "! MYSQL_PWD=nope mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P $MARIADB_PORT -u root -e 'SELECT 1'"
  check "mariadb: no anonymous users" \
    bash -c "[[ \$(bash '$HERE/$s' sql '$d' \"SELECT COUNT(*) FROM mysql.global_priv WHERE User=''\" -N) == 0 ]]"
  bash "$HERE/$s" sql "$d" "CREATE USER 'app@orders#ob1'@'%' IDENTIFIED BY 's3cret;pw='" >/dev/null 2>&1
  check "mariadb: quoted OceanBase-style user logs in over TCP" \
    env MYSQL_PWD='s3cret;pw=' mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MARIADB_PORT" -u 'app@orders#ob1' -e 'SELECT CURRENT_USER()'
  local pid=$MARIADB_PID port=$MARIADB_PORT
  timed "mariadb stop" bash "$HERE/$s" stop "$d"
  check "mariadb: stopped (pid gone, port closed, env removed)" bash -c "$(declare -f pid_gone port_closed); pid_gone $pid && port_closed $port && [[ ! -e '$d/env' ]]"
  check "mariadb: stop again is a no-op" bash "$HERE/$s" stop "$d"
  timed "mariadb start (reused data dir)" bash "$HERE/$s" start "$d" || { bad "mariadb: restart"; return; }
  check "mariadb: user survives restart" \
    env MYSQL_PWD='s3cret;pw=' mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$(env_port "$d")" -u 'app@orders#ob1' -e 'SELECT 1'
  timed "mariadb start while running (restart)" bash "$HERE/$s" start "$d" || bad "mariadb: start while running"
  check "mariadb: status" bash "$HERE/$s" status "$d"
  bash "$HERE/$s" stop "$d" 2>/dev/null
  watch_test mariadb "$s" "$d" MARIADB_PID
}

test_registry() {
  local d=$ROOT/registry s=registry.sh
  timed "registry start" bash "$HERE/$s" start "$d" --user alice --password 'p@ss:w"rd;' || { bad "registry: start"; return; }
  ok "registry: start"
  # shellcheck disable=SC1091
  source "$d/env"
  check "registry: /v2/ with credentials -> 200" bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' -u 'alice:p@ss:w\"rd;' $REGISTRY_URL/v2/) == 200 ]]"
  check "registry: /v2/ without credentials -> 401" bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' $REGISTRY_URL/v2/) == 401 ]]"
  check "registry: wrong password -> 401" bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' -u alice:x $REGISTRY_URL/v2/) == 401 ]]"
  check "registry: WWW-Authenticate Basic realm" bash -c "curl -s -D - -o /dev/null $REGISTRY_URL/v2/ | grep -qi '^www-authenticate: Basic realm='"
  local pid=$REGISTRY_PID port=${REGISTRY_HOST#*:}
  timed "registry stop" bash "$HERE/$s" stop "$d"
  check "registry: stopped" bash -c "$(declare -f pid_gone port_closed); pid_gone $pid && port_closed $port"
  check "registry: stop again is a no-op" bash "$HERE/$s" stop "$d"
  timed "registry start again" bash "$HERE/$s" start "$d" --user alice --password other || { bad "registry: restart"; return; }
  # shellcheck disable=SC1091
  source "$d/env"
  check "registry: new password after restart" bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' -u alice:other $REGISTRY_URL/v2/) == 200 ]]"
  bash "$HERE/$s" stop "$d" 2>/dev/null
  watch_test registry "$s" "$d" REGISTRY_PID --user alice --password pw
}

test_githttp() {
  local d=$ROOT/githttp s=githttp.sh
  timed "githttp start (new repo)" bash "$HERE/$s" start "$d" --user bob --password 's3cret;pw=' || { bad "githttp: start"; return; }
  ok "githttp: start"
  # shellcheck disable=SC1091
  source "$d/env"
  local refs="$GIT_REPO_URL/info/refs?service=git-upload-pack"
  check "githttp: info/refs with credentials -> 200" bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' -u 'bob:s3cret;pw=' '$refs') == 200 ]]"
  check "githttp: content-type upload-pack advertisement" bash -c "curl -s -D - -o /dev/null -u 'bob:s3cret;pw=' '$refs' | grep -qi '^content-type: application/x-git-upload-pack-advertisement'"
  check "githttp: advertisement lists refs/heads/main" bash -c "curl -s -u 'bob:s3cret;pw=' '$refs' | grep -q 'refs/heads/main'"
  check "githttp: no credentials -> 401" bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' '$refs') == 401 ]]"
  check "githttp: wrong password -> 401" bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' -u bob:nope '$refs') == 401 ]]"
  check "githttp: missing repo -> 404" bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' -u 'bob:s3cret;pw=' '$GIT_HTTP_URL/missing.git/info/refs?service=git-upload-pack') == 404 ]]"
  local authed=${GIT_REPO_URL/http:\/\//http://bob:s3cret%3Bpw%3D@}
  check "githttp: git clone with credentials" env GIT_TERMINAL_PROMPT=0 git clone -q "$authed" "$ROOT/clone"
  check "githttp: git clone without credentials fails" bash -c "! GIT_TERMINAL_PROMPT=0 git clone -q '$GIT_REPO_URL' '$ROOT/clone2'"
  check "githttp: git push with credentials" bash -c "cd '$ROOT/clone' && echo hi >f && git add f && git -c user.name=t -c user.email=t@example.com commit -qm f && GIT_TERMINAL_PROMPT=0 git push -q origin main"
  local pid=$GIT_HTTP_PID port
  port=$(env_port "$d")
  timed "githttp stop" bash "$HERE/$s" stop "$d"
  check "githttp: stopped (nginx gone, port closed, no fcgiwrap left)" bash -c "$(declare -f pid_gone port_closed); pid_gone $pid && port_closed $port && ! ps -eo stat=,comm=,args= | awk '\$1 !~ /^Z/ && \$2 == \"fcgiwrap\"' | grep -qF -- '$d/fcgiwrap.sock'"
  check "githttp: stop again is a no-op" bash "$HERE/$s" stop "$d"
  timed "githttp start again (reused repo)" bash "$HERE/$s" start "$d" --user bob --password 's3cret;pw=' || { bad "githttp: restart"; return; }
  # shellcheck disable=SC1091
  source "$d/env"
  check "githttp: pushed commit survives restart" bash -c "GIT_TERMINAL_PROMPT=0 git ls-remote '${GIT_REPO_URL/http:\/\//http://bob:s3cret%3Bpw%3D@}' refs/heads/main | grep -q \$(git -C '$ROOT/clone' rev-parse HEAD)"
  bash "$HERE/$s" stop "$d" 2>/dev/null
  watch_test githttp "$s" "$d" GIT_HTTP_PID --user bob --password pw
}

services=("$@")
[[ ${#services[@]} -gt 0 ]] || services=(mariadb registry githttp)
for svc in "${services[@]}"; do
  case $svc in
    mariadb) test_mariadb ;;
    registry) test_registry ;;
    githttp) test_githttp ;;
    *) bad "unknown service $svc" ;;
  esac
done

echo "timings:"
printf '  %s\n' "${TIMES[@]}"
echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
