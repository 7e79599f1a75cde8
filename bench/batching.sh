#!/usr/bin/env bash
# The seed's batching comparison (spec/seed.md §6): the same number of 1 KB
# messages sent one per request and in batches of 100, through `gafka bench
# produce`, against a fresh broker each; prints both summaries and the ratio.
#
#   bench/batching.sh [--count 20000] [--producers 25] [--fsync always]
#
# --producers Producer instances send side by side; each keeps one request per
# partition in flight, so with 2 partitions 25 producers keep up to 50
# requests in flight, as wrk's 50 connections do.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/broker.sh"

count=20000
producers=25
fsync=always
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --producers) producers="$2"; shift 2 ;;
    --fsync) fsync="$2"; shift 2 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

run() {
  local batch_size="$1" linger_ms="$2"
  start_broker "$fsync"
  gafka bench produce --broker "$BROKER_HOSTPORT" --topic test-topic --partitions 2 --size 1024 --quiet \
    --count "$count" --producers "$producers" --batch-size "$batch_size" --linger-ms "$linger_ms" --json
  stop_broker
}

single="$(run 1 0)"
batched="$(run 100 5)"
"$BUN" -e '
  const [single, batched] = process.argv.slice(1).map((text) => JSON.parse(text));
  for (const [name, run] of [["single (batch 1)", single], ["batched (100)", batched]]) {
    const l = run.latency_ms;
    console.log(`${name.padEnd(17)} ${Math.round(run.messages_per_second).toLocaleString("en-US").padStart(9)} msg/s  ` +
      `${run.megabytes_per_second.toFixed(1).padStart(6)} MB/s  p50 ${l.p50} ms  p99 ${l.p99} ms  errors ${run.errors}`);
  }
  console.log(`batched / single: ${(batched.messages_per_second / single.messages_per_second).toFixed(1)}x`);
' "$single" "$batched"
