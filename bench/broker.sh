# Sourced by the bench scripts: start a broker on a temporary data dir and a
# free port, and stop it and remove the dir on exit.
#   start_broker <fsync policy> [more broker args]  → BROKER_PID, BROKER_URL, BROKER_HOSTPORT, BROKER_DIR
#   GAFKA_BUN overrides the bun executable; GAFKA_BROKER_PREFIX is put before `src/main.ts`
#   (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the broker).

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUN="${GAFKA_BUN:-$REPO_ROOT/node_modules/.bin/bun}"
BROKER_PID=""
BROKER_DIR=""

gafka() {
  "$BUN" "$REPO_ROOT/src/main.ts" "$@"
}

start_broker() {
  local fsync="$1"
  shift
  BROKER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/gafka-bench-XXXXXX")"
  # shellcheck disable=SC2086 # GAFKA_BROKER_PREFIX is a list of flags
  "$BUN" ${GAFKA_BROKER_PREFIX:-} "$REPO_ROOT/src/main.ts" broker --host 127.0.0.1 --port 0 \
    --data-dir "$BROKER_DIR/data" --fsync "$fsync" --log-level warn "$@" >"$BROKER_DIR/stdout" 2>"$BROKER_DIR/stderr" &
  BROKER_PID=$!
  for _ in $(seq 1 200); do
    BROKER_URL="$(grep -o 'http://[^ ]*' "$BROKER_DIR/stdout" 2>/dev/null | head -n 1 || true)"
    [ -n "$BROKER_URL" ] && break
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then
      echo "broker exited before listening:" >&2
      cat "$BROKER_DIR/stderr" >&2
      return 1
    fi
    sleep 0.05
  done
  if [ -z "$BROKER_URL" ]; then
    echo "broker did not print 'listening on' within 10 s" >&2
    return 1
  fi
  BROKER_HOSTPORT="${BROKER_URL#http://}"
}

# Stops the broker (SIGTERM: it finishes in-flight writes and fsyncs) and removes its data dir.
stop_broker() {
  if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
    kill -TERM "$BROKER_PID"
    wait "$BROKER_PID" 2>/dev/null || true
  fi
  BROKER_PID=""
  if [ -n "$BROKER_DIR" ]; then rm -rf "$BROKER_DIR"; fi
  BROKER_DIR=""
}

trap stop_broker EXIT
trap 'exit 130' INT TERM
