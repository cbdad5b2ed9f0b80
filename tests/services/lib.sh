# Shared helpers for tests/services/*.sh (sourced). Every server runs on 127.0.0.1, as a plain process with its
# own folder under $HPCC_SERVICES_DIR, started with a bounded readiness wait and stopped by its recorded PID only.
set -u
SERVICES_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SERVICES_SRC/../.." && pwd)"
: "${HPCC_SERVICES_DIR:=$REPO_ROOT/tests/.work/services}"
mkdir -p "$HPCC_SERVICES_DIR"

log() { echo "[services] $*" >&2; }

# A TCP port that is free right now on 127.0.0.1 (other sessions may share this machine: never assume a fixed port).
free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

port_open() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && { exec 3>&- 3<&-; return 0; }; return 1; }

# wait_for N SECONDS-PER-TRY command...: bounded readiness loop
wait_for() {
  local tries=$1; shift
  for _ in $(seq "$tries"); do "$@" && return 0; sleep 0.1; done
  return 1
}

# Records a PID so stop can kill exactly it.
record_pid() { echo "$2" > "$HPCC_SERVICES_DIR/$1.pid"; }

stop_recorded() {
  local name=$1 pidfile="$HPCC_SERVICES_DIR/$1.pid"
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# Writes KEY=VALUE lines (shell-quoted) to the service's env file; start-all.sh concatenates them.
write_env() {
  local name=$1; shift
  : > "$HPCC_SERVICES_DIR/$name.env"
  for kv in "$@"; do printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}" >> "$HPCC_SERVICES_DIR/$name.env"; done
}
