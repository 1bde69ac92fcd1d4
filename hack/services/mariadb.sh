#!/usr/bin/env bash
# Private MariaDB server for tests, all state under one directory.
#
#   mariadb.sh start DIR [--watch-pid PID]   start (reusing DIR/data if present), write DIR/env
#   mariadb.sh stop DIR                      stop it (idempotent)
#   mariadb.sh status DIR                    exit 0 when running
#   mariadb.sh sql DIR ["STATEMENT"|-] [mariadb client args...]
#                                            run SQL as root over the socket; without a
#                                            statement (or with "-", or only options) SQL is read from stdin
#
# DIR/env: MARIADB_HOST MARIADB_PORT MARIADB_ROOT_USER MARIADB_ROOT_PASSWORD MARIADB_SOCKET MARIADB_PID
#           MARIADB_TLS_CA (PEM of the test CA that signed the server certificate, DIR/tls/ca.pem)
#
# The server accepts TLS and plain connections alike. Its certificate (made with openssl on
# first start, kept in DIR/tls) names only IP 127.0.0.1, so "localhost" is a host name that
# reaches the server but is not in its certificate (for host-name verification tests).
set -euo pipefail

SVC_NAME=mariadb
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")
# shellcheck source=lib.sh
source "$(dirname "$SELF")/lib.sh"

START_TIMEOUT=${MARIADB_START_TIMEOUT:-60}

need_bins() {
  local b
  for b in mariadbd mariadb mariadb-admin mariadb-install-db openssl; do
    command -v "$b" >/dev/null || svc_die "$b not found (run hack/deps.sh)"
  done
}

# Paths for a state dir (sets globals).
paths() {
  DIR=$(svc_abs_dir "$1")
  DATA=$DIR/data
  RUN=$DIR/run
  LOG=$DIR/mariadb.log
  PIDFILE=$DIR/mariadb.pid
  PWFILE=$DIR/root-password
  CNF=$DIR/client.cnf
  SOCK=$RUN/mariadb.sock
  TLS=$DIR/tls
  # Unix socket paths are limited to 107 bytes; fall back to a short path for deep DIRs.
  if (( ${#SOCK} > 100 )); then
    SOCK=/tmp/passbox-mariadb-$(printf '%s' "$DIR" | md5sum | cut -c1-12).sock
  fi
}

running() { [[ -f $PIDFILE ]] && svc_pid_alive "$(tr -dc '0-9' <"$PIDFILE")" "$DATA"; }

# client PASSWORD ARGS...: mariadb client as root over the socket.
client_pw() {
  local pw=$1; shift
  MYSQL_PWD=$pw mariadb --no-defaults --protocol=SOCKET --socket="$SOCK" -uroot \
    --connect-timeout=5 "$@"
}

write_client_cnf() {
  local pw=$1
  (
    umask 077
    printf '[client]\nuser=root\npassword=%s\nsocket=%s\nprotocol=SOCKET\n' "$pw" "$SOCK" >"$CNF.tmp"
  )
  mv -f "$CNF.tmp" "$CNF"
}

cmd_stop() {
  [[ $# -ge 1 ]] || svc_usage
  paths "$1"
  svc_stop_watchdog "$DIR"
  if [[ -f $PIDFILE ]]; then
    svc_kill_pidfile "$PIDFILE" "$DATA" 60
    svc_log "stopped ($DIR)"
  fi
  rm -f "$DIR/env" "$SOCK" "$SOCK.lock" "$RUN/mariadbd.pid"
}

cmd_status() {
  [[ $# -ge 1 ]] || svc_usage
  paths "$1"
  if running; then echo "running (pid $(cat "$PIDFILE"))"; else echo "stopped"; return 1; fi
}

cmd_sql() {
  [[ $# -ge 1 ]] || svc_usage
  paths "$1"; shift
  [[ -f $CNF ]] || svc_die "no $CNF: start the server first"
  running || svc_die "server in $DIR is not running"
  # No statement, "-", or only client options (-N ...): SQL comes from stdin.
  if [[ $# -eq 0 || $1 == -* ]]; then
    [[ ${1:-} == - ]] && shift
    mariadb --defaults-file="$CNF" "$@"
  else
    local stmt=$1; shift
    mariadb --defaults-file="$CNF" "$@" -e "$stmt"
  fi
}

# A test CA and a server certificate it signed (IP 127.0.0.1), made once per state dir and
# remade when missing or within a day of expiry. The keys never leave DIR/tls (mode 700).
tls_material() {
  if [[ -s $TLS/ca.pem && -s $TLS/server-cert.pem && -s $TLS/server-key.pem ]] \
     && openssl x509 -checkend 86400 -noout -in "$TLS/server-cert.pem" >/dev/null 2>&1 \
     && openssl x509 -checkend 86400 -noout -in "$TLS/ca.pem" >/dev/null 2>&1; then
    return 0
  fi
  local tmp=$TLS.tmp.$$
  rm -rf "$tmp"
  (
    umask 077
    mkdir -p "$tmp"
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 825 \
      -keyout "$tmp/ca-key.pem" -out "$tmp/ca.pem" -subj "/CN=Passbox test MariaDB CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
      -keyout "$tmp/server-key.pem" -out "$tmp/server.csr" -subj "/CN=127.0.0.1"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1" >"$tmp/server.ext"
    openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca-key.pem" -CAcreateserial \
      -sha256 -days 825 -extfile "$tmp/server.ext" -out "$tmp/server-cert.pem"
    rm -f "$tmp/server.csr" "$tmp/server.ext" "$tmp/ca.srl"
    chmod 644 "$tmp/ca.pem"
  ) >"$DIR/tls.log" 2>&1 || { svc_log "making the TLS certificates failed"; svc_log_tail "$DIR/tls.log"; rm -rf "$tmp"; exit 1; }
  rm -rf "$TLS"
  mv -T "$tmp" "$TLS"
}

# Launch mariadbd on PORT; sets SERVER_PID. Returns 0 when it answers, 3 when the port
# was taken (caller retries), exits on other failures.
launch() {
  local port=$1 rc=0
  local user_args=()
  [[ $(id -u) -eq 0 ]] && user_args=(--user=root)
  : >"$LOG"
  nohup mariadbd --no-defaults \
    --datadir="$DATA" --socket="$SOCK" --pid-file="$RUN/mariadbd.pid" \
    --bind-address=127.0.0.1 --port="$port" --skip-name-resolve \
    --log-error="$LOG" --tmpdir="$DIR/tmp" "${user_args[@]}" \
    --innodb-buffer-pool-size=128M --max-connections=500 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --ssl-ca="$TLS/ca.pem" --ssl-cert="$TLS/server-cert.pem" --ssl-key="$TLS/server-key.pem" \
    </dev/null >>"$LOG" 2>&1 &
  SERVER_PID=$!
  echo "$SERVER_PID" >"$PIDFILE"
  svc_wait_for "$START_TIMEOUT" "$SERVER_PID" "$DATA" "$LOG" \
    mariadb-admin --no-defaults --protocol=SOCKET --socket="$SOCK" -uroot --connect-timeout=1 ping \
    || rc=$?
  [[ $rc -eq 0 ]] && return 0
  if [[ $rc -eq 2 ]] && grep -qE "Address already in use|Do you already have another (mysqld|mariadbd) server running" "$LOG"; then
    rm -f "$PIDFILE"
    return 3
  fi
  if [[ $rc -eq 1 ]]; then
    svc_log "mariadbd did not answer within ${START_TIMEOUT}s"
    svc_kill_pid "$SERVER_PID" "$DATA" 5
  else
    svc_log "mariadbd exited during startup"
  fi
  rm -f "$PIDFILE"
  svc_log_tail "$LOG"
  exit 1
}

# Fill $DATA with a fresh system database. mariadb-install-db takes ~1 s on an idle
# machine but 5+ s on a busy one, so a pristine copy of its output is kept in the
# cache (per server version) and copied for later fresh starts.
# PASSBOX_MARIADB_TEMPLATE=0 disables the template.
init_data() {
  local ver tpl=""
  if [[ ${PASSBOX_MARIADB_TEMPLATE:-1} != 0 ]]; then
    ver=$(mariadbd --version 2>/dev/null | awk '{print $3}')
    [[ -n $ver ]] && tpl="${PASSBOX_CACHE:-$HOME/.cache/passbox}/mariadb-template/$ver-uid$(id -u)"
  fi
  if [[ -n $tpl && -f $tpl/.complete ]]; then
    if cp -a "$tpl/data" "$DATA" 2>"$DIR/install.log"; then
      echo "copied from template $tpl" >>"$DIR/install.log"
      return 0
    fi
    rm -rf "$DATA"
  fi
  local user_args=()
  [[ $(id -u) -eq 0 ]] && user_args=(--user=root)
  if ! mariadb-install-db --no-defaults --datadir="$DATA" "${user_args[@]}" \
      --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
      --tmpdir="$DIR/tmp" >"$DIR/install.log" 2>&1; then
    svc_log "mariadb-install-db failed"
    svc_log_tail "$DIR/install.log"
    exit 1
  fi
  # Save a template (best effort; built aside, then renamed into place atomically).
  if [[ -n $tpl && ! -f $tpl/.complete ]]; then
    local tmp="$tpl.tmp.$$"
    if mkdir -p "$tmp" && cp -a "$DATA" "$tmp/data" && touch "$tmp/.complete"; then
      # Never remove a complete template (a concurrent start may be copying it).
      [[ -d $tpl && ! -f $tpl/.complete ]] && rm -rf "$tpl"
      mv -T "$tmp" "$tpl" 2>/dev/null || rm -rf "$tmp"
    else
      rm -rf "$tmp"
    fi
  fi
}

cmd_start() {
  [[ $# -ge 1 ]] || svc_usage
  local dir_arg=$1; shift
  local watch=""
  while [[ $# -gt 0 ]]; do
    case $1 in
      --watch-pid) watch=${2:?--watch-pid needs a PID}; shift 2 ;;
      *) svc_die "unknown argument: $1" ;;
    esac
  done
  svc_check_watch_pid "$watch"
  need_bins
  local t0; t0=$(svc_now_ms)
  paths "$dir_arg"
  if running || [[ -f $DIR/watchdog.pid ]]; then
    svc_log "already running in $DIR, restarting"
    cmd_stop "$DIR"
  fi
  mkdir -p "$RUN" "$DIR/tmp"
  rm -f "$SOCK" "$DIR/env"
  tls_material

  # A data dir is only reusable if we know its root password.
  local fresh=0
  if [[ ! -d $DATA/mysql ]] || [[ ! -s $PWFILE && ! -s $PWFILE.new ]]; then
    fresh=1
    rm -rf "$DATA"
    init_data
    rm -f "$PWFILE" "$PWFILE.new"
  fi

  local port attempt rc
  for attempt in 1 2 3 4 5; do
    port=$(svc_free_port)
    rc=0; launch "$port" || rc=$?
    [[ $rc -eq 0 ]] && break
    svc_log "port $port was taken, retrying"
    [[ $attempt -eq 5 ]] && svc_die "no usable port after $attempt attempts"
  done

  # Find the root password that works: stored, half-written, or the empty one of a
  # fresh install.
  local pw="" cand found=0
  for cand in "$(cat "$PWFILE" 2>/dev/null)" "$(cat "$PWFILE.new" 2>/dev/null)" ""; do
    if [[ -n $cand || $fresh -eq 1 || ! -s $PWFILE ]] && client_pw "$cand" -e 'SELECT 1' >/dev/null 2>&1; then
      pw=$cand; found=1; break
    fi
  done
  [[ $found -eq 1 ]] || { cmd_stop "$DIR"; svc_die "cannot log in as root in $DIR (delete $DATA to start from scratch)"; }

  local newpw=$pw
  if [[ -z $pw ]]; then
    newpw=$(svc_random 24)
    (umask 077; echo "$newpw" >"$PWFILE.new")
  fi
  # Anonymous users ('' @ localhost / hostname) win the host match for loopback logins
  # and turn every login into error 1045: delete them. Root gets the password for the
  # socket, 127.0.0.1, ::1 and any host (skip-name-resolve: TCP never matches 'localhost').
  local h setup="DELETE FROM mysql.global_priv WHERE User='';"
  # mariadb-install-db also makes a password-less root@<hostname>; drop it.
  setup+="DELETE FROM mysql.global_priv WHERE User='root' AND Host NOT IN ('localhost','127.0.0.1','::1','%');"
  setup+="FLUSH PRIVILEGES;"
  setup+="ALTER USER 'root'@'localhost' IDENTIFIED BY '$newpw';"
  for h in 127.0.0.1 ::1 %; do
    setup+="CREATE USER IF NOT EXISTS 'root'@'$h' IDENTIFIED BY '$newpw';"
    setup+="ALTER USER 'root'@'$h' IDENTIFIED BY '$newpw';"
    setup+="GRANT ALL PRIVILEGES ON *.* TO 'root'@'$h' WITH GRANT OPTION;"
  done
  setup+="FLUSH PRIVILEGES;"
  if ! client_pw "$pw" -e "$setup" >"$DIR/setup.log" 2>&1; then
    cat "$DIR/setup.log" >&2
    cmd_stop "$DIR"
    svc_die "root setup failed"
  fi
  if [[ $newpw != "$pw" || ! -s $PWFILE ]]; then
    (umask 077; echo "$newpw" >"$PWFILE.tmp")
    mv -f "$PWFILE.tmp" "$PWFILE"
    rm -f "$PWFILE.new"
  fi
  write_client_cnf "$newpw"

  # Check what the tests will do: password login over TCP.
  if ! MYSQL_PWD=$newpw mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$port" -uroot \
       --connect-timeout=5 -e 'SELECT 1' >/dev/null 2>"$DIR/setup.log"; then
    cat "$DIR/setup.log" >&2
    cmd_stop "$DIR"
    svc_die "root login over TCP 127.0.0.1:$port failed"
  fi
  # And over TLS, the certificate checked against the test CA.
  if ! MYSQL_PWD=$newpw mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$port" -uroot \
       --ssl --ssl-ca="$TLS/ca.pem" --ssl-verify-server-cert --connect-timeout=5 -N \
       -e "SHOW SESSION STATUS LIKE 'Ssl_version'" 2>"$DIR/setup.log" | grep -q TLS; then
    cat "$DIR/setup.log" >&2
    cmd_stop "$DIR"
    svc_die "root login over TLS to 127.0.0.1:$port failed"
  fi

  svc_write_env "$DIR/env" \
    MARIADB_HOST=127.0.0.1 \
    MARIADB_PORT="$port" \
    MARIADB_ROOT_USER=root \
    MARIADB_ROOT_PASSWORD="$newpw" \
    MARIADB_SOCKET="$SOCK" \
    MARIADB_PID="$SERVER_PID" \
    MARIADB_TLS_CA="$TLS/ca.pem"

  [[ -n $watch ]] && svc_start_watchdog "$SELF" "$DIR" "$watch" "$SERVER_PID"
  svc_log "ready on 127.0.0.1:$port (pid $SERVER_PID, $([[ $fresh -eq 1 ]] && echo "new data dir" || echo "reused data dir")) in $(svc_elapsed "$t0")s; env in $DIR/env"
}

svc_main "$@"
