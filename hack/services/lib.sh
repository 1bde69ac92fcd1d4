# Shared helpers for hack/services/*.sh. Source it; do not run it.
# shellcheck shell=bash

SVC_NAME=${SVC_NAME:-service}

svc_log() { echo "$SVC_NAME: $*" >&2; }
svc_die() { echo "$SVC_NAME: error: $*" >&2; exit 1; }

# Current time in milliseconds.
svc_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Elapsed seconds since a svc_now_ms stamp, e.g. "1.234".
svc_elapsed() {
  local ms=$(( $(svc_now_ms) - $1 ))
  printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

# Create DIR if needed and print its absolute, symlink-free path.
svc_abs_dir() {
  mkdir -p "$1"
  (cd "$1" && pwd -P)
}

# Print a TCP port on 127.0.0.1 that is free right now. The kernel picks it (bind to
# port 0), so two concurrent callers get different ports. Callers still retry when the
# service fails to bind (another process may grab the port in between).
svc_free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
    return
  fi
  # Fallback without python3: random high port nobody answers on.
  local port i
  for i in $(seq 1 100); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"; return
    fi
  done
  svc_die "could not find a free port"
}

# True when nothing accepts connections on 127.0.0.1:PORT.
svc_port_closed() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Random alphanumeric string of length N (default 24).
svc_random() {
  local n=${1:-24} s=""
  while [[ ${#s} -lt $n ]]; do
    s+=$(head -c 64 /dev/urandom | tr -dc 'A-Za-z0-9')
  done
  echo "${s:0:n}"
}

# svc_pid_alive PID [MARKER]: the process exists, is not a zombie and (when MARKER is
# given) its command line contains MARKER. The marker (usually the state DIR) protects
# against killing an unrelated process that reused the pid.
svc_pid_alive() {
  local pid=$1 marker=${2:-} state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z && $state != X ]] || return 1
  if [[ -n $marker ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" || return 1
  fi
  return 0
}

# Process start time (clock ticks since boot), to detect pid reuse.
svc_pid_starttime() {
  sed -E 's/^[0-9]+ \(.*\) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'
}

# Print "pid starttime" for every descendant of PID (children first found, recursively).
svc_descendants() {
  local parent=$1 child
  for child in $(ps -e -o pid=,ppid= 2>/dev/null | awk -v p="$parent" '$2 == p {print $1}'); do
    echo "$child $(svc_pid_starttime "$child")"
    svc_descendants "$child"
  done
}

# svc_kill_pid PID MARKER [TIMEOUT_S]: SIGTERM, wait, then SIGKILL; the same for the
# process's descendants (fcgiwrap's prefork children outlive their parent otherwise).
# Only kills a process whose command line contains MARKER.
svc_kill_pid() {
  local pid=$1 marker=$2 timeout=${3:-10} i kids line kpid kstart
  svc_pid_alive "$pid" "$marker" || return 0
  kids=$(svc_descendants "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 20; i++)); do
    svc_pid_alive "$pid" || break
    sleep 0.05
  done
  if svc_pid_alive "$pid"; then
    svc_log "pid $pid did not stop after ${timeout}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # Descendants that are still there (same pid *and* start time as recorded).
  local left=()
  while read -r kpid kstart; do
    [[ -n $kpid ]] || continue
    if svc_pid_alive "$kpid" && [[ $(svc_pid_starttime "$kpid") == "$kstart" ]]; then
      kill -TERM "$kpid" 2>/dev/null && left+=("$kpid")
    fi
  done <<<"$kids"
  for ((i = 0; i < 40; i++)); do
    local alive=0
    svc_pid_alive "$pid" && alive=1
    for kpid in "${left[@]}"; do svc_pid_alive "$kpid" && alive=1; done
    [[ $alive -eq 0 ]] && return 0
    sleep 0.05
  done
  for kpid in "${left[@]}"; do svc_pid_alive "$kpid" && kill -KILL "$kpid" 2>/dev/null; done
  return 0
}

# svc_kill_pidfile FILE MARKER [TIMEOUT_S]
svc_kill_pidfile() {
  local file=$1 pid
  [[ -f $file ]] || return 0
  pid=$(tr -dc '0-9' <"$file")
  [[ -n $pid ]] && svc_kill_pid "$pid" "$2" "${3:-10}"
  rm -f "$file"
}

# svc_wait_for TIMEOUT_S PID MARKER LOGFILE CMD...: run CMD until it succeeds. Fails fast
# when the service process (PID) dies; returns 2 in that case, 1 on timeout.
# Only the process's existence counts here, not MARKER: PID was just started with `cmd &`, and until that forked
# shell has exec'd the service its command line is still this script's, without the marker. Checking it made a
# start on a busy machine fail as "exited during startup" with empty logs (seen once with nginx in make test).
svc_wait_for() {
  local timeout=$1 pid=$2 logfile=$4; shift 4
  local deadline=$(( $(svc_now_ms) + timeout * 1000 ))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [[ -n $pid ]] && ! svc_pid_alive "$pid"; then return 2; fi
    if (( $(svc_now_ms) > deadline )); then return 1; fi
    sleep 0.1
  done
}

# Print the last lines of a log file to stderr.
svc_log_tail() {
  local f=$1 n=${2:-25}
  if [[ -s $f ]]; then
    echo "----- last $n lines of $f -----" >&2
    tail -n "$n" "$f" >&2
    echo "-----" >&2
  fi
}

# Quote a value for a KEY=VALUE line only when needed (plain values stay plain).
svc_env_quote() {
  local v=$1
  if [[ $v =~ ^[A-Za-z0-9_./:@%+,=-]*$ ]]; then
    printf '%s' "$v"
  else
    printf "'%s'" "${v//\'/\'\\\'\'}"
  fi
}

# svc_write_env FILE KEY=VALUE...: write atomically, mode 600 (it may hold passwords).
svc_write_env() {
  local file=$1 kv; shift
  local tmp="$file.tmp.$$"
  (
    umask 077
    : >"$tmp"
    for kv in "$@"; do
      printf '%s=%s\n' "${kv%%=*}" "$(svc_env_quote "${kv#*=}")" >>"$tmp"
    done
  )
  mv -f "$tmp" "$file"
}

# svc_start_watchdog SCRIPT DIR WATCH_PID SERVICE_PID: background loop that runs
# "SCRIPT stop DIR" once WATCH_PID exits, and ends by itself when the service is gone.
svc_start_watchdog() {
  local script=$1 dir=$2 watch=$3 service=$4 start
  start=$(svc_pid_starttime "$watch")
  if ! svc_pid_alive "$watch" || [[ -z $start ]]; then
    # The process we should follow is already gone: do not leave the service behind.
    PASSBOX_WATCHDOG=1 bash "$script" stop "$dir" || true
    svc_die "--watch-pid $watch: process is gone, service stopped"
  fi
  PASSBOX_WATCHDOG=1 nohup bash "$script" __watchdog "$dir" "$watch" "$start" "$service" \
    </dev/null >>"$dir/watchdog.log" 2>&1 &
  echo $! >"$dir/watchdog.pid"
}

# Body of the watchdog process (called through "SCRIPT __watchdog ...").
svc_watchdog_loop() {
  local script=$1 dir=$2 watch=$3 start=$4 service=$5
  while :; do
    if ! svc_pid_alive "$service" "$dir"; then
      exit 0  # service stopped some other way
    fi
    if ! svc_pid_alive "$watch" || [[ $(svc_pid_starttime "$watch") != "$start" ]]; then
      echo "$(date -Is) watched pid $watch exited; stopping service in $dir"
      PASSBOX_WATCHDOG=1 bash "$script" stop "$dir" || true
      exit 0
    fi
    sleep 0.5
  done
}

# Stop the watchdog of DIR unless we are the watchdog ourselves.
svc_stop_watchdog() {
  local dir=$1
  if [[ ${PASSBOX_WATCHDOG:-} == 1 ]]; then
    rm -f "$dir/watchdog.pid"
    return 0
  fi
  svc_kill_pidfile "$dir/watchdog.pid" "$dir" 2
}

# curl config line for basic auth (feed with "curl -K -"), so the password stays out of argv.
svc_curl_user() {
  local v="$1:$2"
  v=${v//\\/\\\\}; v=${v//\"/\\\"}
  printf 'user = "%s"\n' "$v"
}

# Validate a --watch-pid argument before anything is started.
svc_check_watch_pid() {
  [[ -z $1 ]] && return 0
  svc_pid_alive "$1" || svc_die "--watch-pid $1: no such process"
}

# The script's header comment (from its second line to the first line that is not a comment) on stderr; exit 2.
svc_usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$SELF" >&2
  exit 2
}

# The command line of a service script, its last line: each cmd_NAME function it defines is the command NAME
# (start, stop, status; mariadb.sh also sql), and __watchdog is the watchdog's own entry (svc_start_watchdog).
svc_main() {
  local command=${1:-}
  [[ $# -gt 0 ]] && shift
  if [[ $command == __watchdog ]]; then
    svc_watchdog_loop "$SELF" "$@"
  elif [[ $command =~ ^[a-z]+$ ]] && declare -F "cmd_$command" >/dev/null; then
    "cmd_$command" "$@"
  else
    svc_usage
  fi
}
