#!/usr/bin/env bash
# P2 and P3 on 2 partitions, before and after a change, in alternating pairs (the order flips
# each round), each run on a fresh broker with --fsync always from its own tree (broker and
# CLI alike). BEFORE and AFTER are checkouts of the project with node_modules (a git worktree
# of an older commit, with node_modules linked in).
#
#   bench/before-after.sh BEFORE_TREE AFTER_TREE [ROUNDS=5]
#
# P2: gafka bench produce --partitions 2 --size 1024 --count 1000000 --producers 4 --batch-size 1000 --linger-ms 5
# P3: a 3 s warm-up, then gafka bench e2e --partitions 2 --rate 5000 --duration 10s (send to receipt)
set -euo pipefail
BEFORE=$(cd "$1" && pwd); AFTER=$(cd "$2" && pwd); ROUNDS=${3:-5}

start() { # tree → sets PID, PORT, DATA
  DATA=$(mktemp -d /tmp/gafka-before-after-XXXX)
  "$1/node_modules/.bin/bun" "$1/src/main.ts" broker --host 127.0.0.1 --port 0 --kafka-port=off --data-dir "$DATA" --log-level warn > "$DATA.out" 2>&1 &
  PID=$!
  for _ in $(seq 1 200); do grep -q "listening on" "$DATA.out" && break; sleep 0.05; done
  PORT=$(grep -o "listening on http://127.0.0.1:[0-9]*" "$DATA.out" | grep -o "[0-9]*$")
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; rm -rf "$DATA" "$DATA.out"; }
gafka() { local tree=$1; shift; "$tree/node_modules/.bin/bun" "$tree/src/main.ts" "$@"; }

p2() {
  start "$1"
  gafka "$1" bench produce --broker "127.0.0.1:$PORT" --topic test-topic --partitions 2 --size 1024 --count 1000000 --producers 4 --batch-size 1000 --linger-ms 5 2>&1 | grep -oE "throughput [0-9,]+ msg/s" | grep -oE "[0-9,]+"
  stop
}
p3() {
  start "$1"
  gafka "$1" bench e2e --broker "127.0.0.1:$PORT" --topic e2e --partitions 2 --rate 5000 --duration 3s > /dev/null 2>&1
  gafka "$1" bench e2e --broker "127.0.0.1:$PORT" --topic e2e --partitions 2 --rate 5000 --duration 10s 2>&1 | grep -E "^ *latency" | grep -oE "p50 [0-9.]+ ms|p99 [0-9.]+ ms" | tr '\n' ' '
  stop
}

echo "| round | order | P2 before msg/s | P2 after msg/s | P3 before | P3 after | load |"
echo "|---|---|---|---|---|---|---|"
for round in $(seq 1 "$ROUNDS"); do
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  if [ $((round % 2)) -eq 1 ]; then
    b2=$(p2 "$BEFORE"); a2=$(p2 "$AFTER"); b3=$(p3 "$BEFORE"); a3=$(p3 "$AFTER"); order="before→after"
  else
    a2=$(p2 "$AFTER"); b2=$(p2 "$BEFORE"); a3=$(p3 "$AFTER"); b3=$(p3 "$BEFORE"); order="after→before"
  fi
  echo "| $round | $order | $b2 | $a2 | $b3 | $a3 | $load |"
done
