#!/usr/bin/env bash
# P1, the seed's wrk scenario: a broker on a temporary data dir and a free port,
# the 2-partition topic, then wrk with bench/produce.lua (one 1 KB message per
# request); the broker is stopped and its dir removed at the end.
#
#   bench/wrk.sh [-d 10s] [-c 50] [-t 2] [--fsync always|interval:<ms>|never] [--partitions 2]
#   bench/wrk.sh --hello    the same wrk run against a bare Bun.serve "hello" (the ceiling)
#   bench/wrk.sh --echo     ... against a bare Bun.serve that parses the JSON body and answers JSON
#   bench/wrk.sh --durable  ... against a bare Bun.serve that also appends each value to a file and
#                           answers after its fdatasync (group commit): the least a durable produce costs
#
# Needs wrk (apt install wrk). GAFKA_BROKER_PREFIX="--cpu-prof --cpu-prof-dir=DIR" profiles the broker.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/broker.sh"

duration=10s
connections=50
threads=2
fsync=always
partitions=2
target=gafka
while [ $# -gt 0 ]; do
  case "$1" in
    -d | --duration) duration="$2"; shift 2 ;;
    -c | --connections) connections="$2"; shift 2 ;;
    -t | --threads) threads="$2"; shift 2 ;;
    --fsync) fsync="$2"; shift 2 ;;
    --partitions) partitions="$2"; shift 2 ;;
    --hello) target=hello; shift ;;
    --echo) target=echo; shift ;;
    --durable) target=durable; shift ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt install wrk)" >&2; exit 1; }

if [ "$target" = gafka ]; then
  start_broker "$fsync"
  gafka admin create-topic --name "${GAFKA_TOPIC:-test-topic}" --partitions "$partitions" --broker "$BROKER_HOSTPORT" >/dev/null
  echo "gafka broker at $BROKER_URL (fsync $fsync, $partitions partitions); wrk -t$threads -c$connections -d$duration"
else
  BROKER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/gafka-bench-XXXXXX")"
  "$BUN" "$REPO_ROOT/bench/hello-server.ts" "$target" >"$BROKER_DIR/stdout" 2>"$BROKER_DIR/stderr" &
  BROKER_PID=$!
  for _ in $(seq 1 100); do
    BROKER_URL="$(grep -o 'http://[^ ]*' "$BROKER_DIR/stdout" 2>/dev/null | head -n 1 || true)" && [ -n "$BROKER_URL" ] && break
    sleep 0.05
  done
  echo "bare Bun.serve ($target) at $BROKER_URL; wrk -t$threads -c$connections -d$duration"
fi
wrk -t"$threads" -c"$connections" -d"$duration" -s "$REPO_ROOT/bench/produce.lua" "$BROKER_URL"
