#!/usr/bin/env bash
# The broker's CPU (user and system ticks of its process, /proc/PID/stat) and the client's
# throughput for one produce run on a fresh broker with --fsync always, to compare broker flags
# in alternating runs on a shared machine (throughput moves with the load; the broker's ticks
# for the same records much less).
#
#   bench/broker-cpu.sh PARTITIONS batched|small [broker flags...]
#
# batched: P2's command (`gafka bench produce --size 1024 --count 600000 --producers 4
#          --batch-size 1000 --linger-ms 5`);
# small:   many small rounds: 100,000 records of 1 KiB from 32 producers, batches of 10, no linger.
set -euo pipefail
cd "$(dirname "$0")/.."
PARTITIONS=$1; MODE=$2; shift 2
BUN=./node_modules/.bin/bun
DATA=$(mktemp -d /tmp/gafka-broker-cpu-XXXX)
PORT=$((20000 + RANDOM % 20000))
$BUN src/main.ts broker --port "$PORT" --kafka-port=off --data-dir "$DATA" --fsync=always "$@" > "$DATA.out" 2>&1 &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true; wait $BROKER 2>/dev/null || true; rm -rf "$DATA" "$DATA.out"' EXIT
for _ in $(seq 1 100); do grep -q "listening on" "$DATA.out" && break; sleep 0.1; done
curl -s -XPOST "localhost:$PORT/api/v1/topics" -H 'content-type: application/json' -d "{\"name\":\"b\",\"partitions\":$PARTITIONS}" > /dev/null
read -r USER1 SYS1 < <(awk '{print $14, $15}' "/proc/$BROKER/stat")
if [ "$MODE" = small ]; then
  LOAD=(--count 100000 --producers 32 --batch-size 10 --linger-ms 0 --max-pending 320)
else
  LOAD=(--count 600000 --producers 4 --batch-size 1000 --linger-ms 5)
fi
OUT=$($BUN src/main.ts bench produce --broker "localhost:$PORT" --topic b --size 1024 "${LOAD[@]}" 2>&1 | grep -E "throughput|latency" | tr -s ' ' | tr '\n' ' ')
read -r USER2 SYS2 < <(awk '{print $14, $15}' "/proc/$BROKER/stat")
echo "partitions=$PARTITIONS $MODE $* | broker user=$((USER2 - USER1)) sys=$((SYS2 - SYS1)) ticks | $OUT"
