#!/usr/bin/env bash
# P3 as measured in bench/RESULTS.md: end to end at a fixed rate through a
# consumer group, on a warm broker, beside this machine's ceilings in the same
# sitting. Starts a broker on a temporary data dir, warms it with one 5 s run,
# then per round prints one line each for:
#   gafka, commit on each poll (the default)   gafka bench e2e --warm-up 1s
#   gafka, Kafka's commit model                 ... --commit-interval 1s
#   the durable ceiling, with and without the commit (bench/durable-ceiling.ts)
#   a bare round trip (bench/rtt-ceiling.ts)
#
#   bench/p3-latency.sh [--rounds 3] [--rate 5000] [--seconds 10]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/broker.sh"

rounds=3
rate=5000
seconds=10
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

start_broker always
e2e() {
  gafka bench e2e --broker "$BROKER_HOSTPORT" --topic e2e --partitions 2 --rate "$rate" --quiet "$@" 2>&1 | grep -E '^ *latency' | sed 's/^ *//'
}
e2e --duration 5s >/dev/null
for round in $(seq 1 "$rounds"); do
  echo "round $round"
  echo "  gafka, commit on each poll:    $(e2e --duration "$((seconds + 1))s" --warm-up 1s)"
  echo "  gafka, --commit-interval 1s:   $(e2e --duration "$((seconds + 1))s" --warm-up 1s --commit-interval 1s)"
  echo "  $("$BUN" "$REPO_ROOT/bench/durable-ceiling.ts" --rate="$rate" --seconds="$seconds" | sed 's/; send→ack.*//')"
  echo "  $("$BUN" "$REPO_ROOT/bench/durable-ceiling.ts" --rate="$rate" --seconds="$seconds" --commit=no | sed 's/; send→ack.*//')"
  echo "  $("$BUN" "$REPO_ROOT/bench/rtt-ceiling.ts" --rate="$rate" --seconds="$seconds")"
done
