#!/usr/bin/env bash
# The cost of authentication and ACL checks on P1 and P2, in alternating pairs: each round runs
# the same workload on a fresh broker with --auth off (every request anonymous) and on a fresh
# broker with --auth required, where every request carries HTTP Basic for a user that is no super
# user and 100 ACLs are in force (its WRITE on the topic among them), so each request pays the
# remembered Basic check and a full ACL walk. The order flips each round.
#
#   bench/auth-cost.sh [--rounds 5] [--duration 10s] [--count 1000000]
#
# Prints one line per run: round, mode, P1 msg/s (wrk, bench/produce.lua, 50 connections, one
# 1 KB record per request), the broker's CPU time per P1 request (user + system, from
# /proc/PID/stat: steadier than throughput on a shared machine), P2 msg/s (gafka bench produce,
# record batches of 1,000, 4 producers), and the 1-minute load average.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/broker.sh"

rounds=5
duration=10s
count=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --count) count="$2"; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt install wrk)" >&2; exit 1; }

BENCH_PASSWORD="bench-password-$$"

# Starts a broker in `mode` (off|required) with the 2-partition topic; sets AUTH_ARGS and AUTHORIZATION for the clients.
setup() {
  local mode="$1"
  start_broker always --auth "$mode"
  AUTH_ARGS=()
  AUTHORIZATION=""
  if [ "$mode" = required ]; then
    local admin_password
    admin_password="$(cat "$BROKER_DIR/data/admin-password")"
    local admin=(--broker "$BROKER_HOSTPORT" --user admin)
    GAFKA_PASSWORD="$admin_password" GAFKA_NEW_PASSWORD="$BENCH_PASSWORD" gafka admin users add --name bench "${admin[@]}" >/dev/null
    for i in $(seq 1 97); do
      GAFKA_PASSWORD="$admin_password" gafka admin acls add --principal User:bench --operation read --topic "unrelated-$i" "${admin[@]}" >/dev/null
    done
    GAFKA_PASSWORD="$admin_password" gafka admin acls add --principal User:bench --operation write,describe,create --topic test-topic "${admin[@]}" >/dev/null
    GAFKA_PASSWORD="$admin_password" gafka admin create-topic --name test-topic --partitions 2 "${admin[@]}" >/dev/null
    AUTH_ARGS=(--user bench)
    AUTHORIZATION="Basic $(printf '%s' "bench:$BENCH_PASSWORD" | base64 -w0)"
  else
    gafka admin create-topic --name test-topic --partitions 2 --broker "$BROKER_HOSTPORT" >/dev/null
  fi
}

run() {
  local round="$1" mode="$2"
  setup "$mode"
  local p1 p2 cpu_before cpu_after wrk_out requests
  sleep 2 # let the set-up's processes (a hundred CLI calls under --auth required) leave the CPUs
  cpu_before="$(awk '{print $14 + $15}' "/proc/$BROKER_PID/stat")"
  wrk_out="$(GAFKA_AUTHORIZATION="$AUTHORIZATION" wrk -t2 -c50 -d"$duration" -s "$REPO_ROOT/bench/produce.lua" "$BROKER_URL")"
  cpu_after="$(awk '{print $14 + $15}' "/proc/$BROKER_PID/stat")"
  p1="$(awk '/Requests\/sec/ {print $2}' <<<"$wrk_out")"
  requests="$(awk '/requests in/ {print $1}' <<<"$wrk_out")"
  local cpu_us=$(( (cpu_after - cpu_before) * 1000000 / $(getconf CLK_TCK) / requests ))
  p2="$(GAFKA_PASSWORD="$BENCH_PASSWORD" gafka bench produce --broker "$BROKER_HOSTPORT" "${AUTH_ARGS[@]}" --topic test-topic --partitions 2 --size 1024 \
    --count "$count" --producers 4 --batch-size 1000 --linger-ms 5 --quiet --json | grep -o '"messages_per_second":[0-9.]*' | cut -d: -f2)"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$mode" "$p1" "$cpu_us" "$p2" "$(cut -d' ' -f1 /proc/loadavg)"
  stop_broker
}

printf 'round\tauth\tP1 msg/s\tP1 broker CPU µs/request\tP2 msg/s\tload\n'
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then run "$round" off; run "$round" required; else run "$round" required; run "$round" off; fi
done
