#!/usr/bin/env bash
# P4: one group member catching up on stored messages. Starts a broker on a
# temporary data dir, stores --count 1 KB messages in a 2-partition topic
# (`gafka bench produce`), then runs `gafka bench consume` --rounds times, each
# with a new group reading everything from the earliest offset, and prints
# each round's msgs/s, the broker's CPU seconds (user + system, from
# /proc/PID/stat) during the round, and the medians.
#
#   bench/p4-catch-up.sh [--count 1000000] [--rounds 3] [--max-poll-records 10000] [--fsync always] [--format batch|json]
#                        [--commit-interval 1s]   (Kafka's commit model: background commits, fetch-ahead)
#
# --format is the consume side's wire form (the SDK's default is batch: Kafka
# record batches; json: the JSON answer); the messages are stored the same way.
#
# GAFKA_BROKER_PREFIX="--cpu-prof --cpu-prof-dir=DIR" profiles the broker
# (the profile is written when the broker stops, at the end).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/broker.sh"

count=1000000
rounds=3
max_poll_records=10000
fsync=always
format=batch
commit_interval=()
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --max-poll-records) max_poll_records="$2"; shift 2 ;;
    --fsync) fsync="$2"; shift 2 ;;
    --format) format="$2"; shift 2 ;;
    --commit-interval) commit_interval=(--commit-interval "$2"); shift 2 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

start_broker "$fsync"
gafka bench produce --broker "$BROKER_HOSTPORT" --topic stored --partitions 2 --size 1024 --quiet --json \
  --count "$count" --producers 4 --batch-size 1000 >/dev/null
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$BROKER_PID/stat"; }
ticks_per_second="$(getconf CLK_TCK)"
rates=()
for round in $(seq 1 "$rounds"); do
  ticks_before="$(cpu_ticks)"
  summary="$(gafka bench consume --broker "$BROKER_HOSTPORT" --topic stored --quiet --json \
    --count "$count" --max-poll-records "$max_poll_records" --format "$format" "${commit_interval[@]}")"
  rate="$("$BUN" -e 'const r = JSON.parse(process.argv[1]); console.log(Math.round(r.messages_per_second), "msgs/s", r.messages, "messages", r.errors, "errors, poll p50", r.latency_ms.p50, "ms")' "$summary")"
  broker_cpu="$(awk -v a="$ticks_before" -v b="$(cpu_ticks)" -v hz="$ticks_per_second" 'BEGIN { printf "%.2f", (b - a) / hz }')"
  echo "round $round: $rate broker_cpu_s=$broker_cpu"
  rates+=("${rate%% *}")
done
printf '%s\n' "${rates[@]}" | sort -n | awk '{ a[NR] = $1 } END { print "median msgs/s:", a[int((NR + 1) / 2)] }'
