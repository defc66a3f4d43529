#!/usr/bin/env bash
# Starts and stops the real MLflow tracking server the tracking integration suite runs against.
#
#   .ci/mlflow-server.sh deps    install the pinned MLflow (and Chromium for the UI check) if missing
#   .ci/mlflow-server.sh start   install MLflow if needed, start `mlflow server` on a free loopback
#                                port (SQLite store + artifact proxy in a temp dir), wait for /health,
#                                and print `export` lines for MLFLOW_TEST_URI and MLFLOW_BIN on stdout
#                                (use: eval "$(.ci/mlflow-server.sh start)")
#   .ci/mlflow-server.sh env     print those export lines again
#   .ci/mlflow-server.sh stop    stop the server (its whole process group) and remove its files
#   .ci/mlflow-server.sh status  say whether it is running
#
# Settings (environment): MLFLOW_VERSION (default 3.17.2, the version the suite is tested with),
# MLFLOW_CI_DIR (state: pid, uri, log, store; default $RUNNER_TEMP or /tmp + /cascade-mlflow-ci),
# MLFLOW_VENV (where MLflow is installed when it is not on PATH at the pinned version; default
# ~/.cache/cascade-lab/mlflow-$MLFLOW_VERSION), MLFLOW_WORKERS (default 2),
# MLFLOW_START_TIMEOUT (seconds, default 180). Diagnostics go to stderr; stdout carries only the
# export lines.
set -euo pipefail

MLFLOW_VERSION="${MLFLOW_VERSION:-3.17.2}"
STATE_DIR="${MLFLOW_CI_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/cascade-mlflow-ci}"
VENV="${MLFLOW_VENV:-${HOME:-/tmp}/.cache/cascade-lab/mlflow-${MLFLOW_VERSION}}"
WORKERS="${MLFLOW_WORKERS:-2}"
START_TIMEOUT="${MLFLOW_START_TIMEOUT:-180}"

log() { echo "mlflow-server: $*" >&2; }

# Prints the path of an mlflow executable at the pinned version, installing it if needed.
mlflow_bin() {
  local candidate
  for candidate in "$(command -v mlflow 2>/dev/null || true)" "$VENV/bin/mlflow"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" --version 2>/dev/null | grep -q "version ${MLFLOW_VERSION}\$"; then
      echo "$candidate"
      return
    fi
  done
  log "installing mlflow==${MLFLOW_VERSION} into $VENV"
  if python3 -m venv "$VENV" >&2 2>&1; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow==${MLFLOW_VERSION}" >&2
    echo "$VENV/bin/mlflow"
  else
    # No venv module (Debian without python3-venv): install for the user instead.
    log "python3 -m venv failed; installing with pip --user"
    python3 -m pip install --quiet --disable-pip-version-check --user "mlflow==${MLFLOW_VERSION}" >&2 \
      || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages "mlflow==${MLFLOW_VERSION}" >&2
    echo "$(python3 -m site --user-base)/bin/mlflow"
  fi
}

install_chromium() {
  local chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
  if [ -x "$chromium" ]; then
    log "chromium present at $chromium"
    return
  fi
  log "installing chromium (apt package 'chromium') for the MLflow UI check"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium >&2
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

print_env() {
  [ -f "$STATE_DIR/uri" ] || { log "not running (no $STATE_DIR/uri)"; exit 1; }
  echo "export MLFLOW_TEST_URI=$(cat "$STATE_DIR/uri")"
  echo "export MLFLOW_BIN=$(cat "$STATE_DIR/bin")"
}

running() {
  [ -f "$STATE_DIR/pid" ] && kill -0 "$(cat "$STATE_DIR/pid")" 2>/dev/null
}

start() {
  if running; then
    log "already running at $(cat "$STATE_DIR/uri")"
    print_env
    return
  fi
  local bin port uri pid waited=0
  bin="$(mlflow_bin)"
  mkdir -p "$STATE_DIR"
  rm -rf "$STATE_DIR/store"
  mkdir -p "$STATE_DIR/store"
  port="$(free_port)"
  uri="http://127.0.0.1:${port}"
  # setsid: the server and its uvicorn workers get their own process group, stopped together.
  MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid "$bin" server \
    --backend-store-uri "sqlite:///$STATE_DIR/store/mlflow.db" \
    --artifacts-destination "$STATE_DIR/store/artifacts" \
    --host 127.0.0.1 --port "$port" --workers "$WORKERS" \
    >"$STATE_DIR/server.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$STATE_DIR/pid"
  echo "$uri" >"$STATE_DIR/uri"
  echo "$bin" >"$STATE_DIR/bin"
  until curl -sf "$uri/health" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "mlflow server exited before answering; its log:"
      tail -n 40 "$STATE_DIR/server.log" >&2
      rm -f "$STATE_DIR/pid" "$STATE_DIR/uri"
      exit 1
    fi
    if [ "$waited" -ge $((START_TIMEOUT * 5)) ]; then
      log "no answer from $uri/health after ${START_TIMEOUT}s; its log:"
      tail -n 40 "$STATE_DIR/server.log" >&2
      stop
      exit 1
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
  log "mlflow $("$bin" --version | sed 's/.*version //') serving $uri (pid $pid, store $STATE_DIR/store)"
  print_env
}

stop() {
  if [ -f "$STATE_DIR/pid" ]; then
    local pid i
    pid="$(cat "$STATE_DIR/pid")"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 75); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    log "stopped (pid $pid)"
  else
    log "not running"
  fi
  rm -rf "$STATE_DIR"
}

case "${1:-}" in
  deps)
    log "using $(mlflow_bin)"
    install_chromium
    ;;
  start) start ;;
  env) print_env ;;
  stop) stop ;;
  status)
    if running; then log "running at $(cat "$STATE_DIR/uri")"; else log "not running"; exit 1; fi
    ;;
  *)
    sed -n '2,19p' "$0" >&2
    exit 2
    ;;
esac
