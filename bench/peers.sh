#!/bin/sh
# traction against a system people would use instead, in the same run:
# Redis 7 Streams (XADD of 256-byte records) with appendfsync always
# (acknowledged after the append-only file is fsynced, as traction acks after
# a durable LMDB commit) and, for reference, everysec (not durable), beside
# bench_publish's bare limits and traction rows. Redis comes from Debian's
# redis-server package; it runs on a loopback port in a temp dir and is
# stopped (by its PID) when the script ends, however it ends.
#
#   bench/peers.sh [runs]      (default 3 runs; about 40 s each)
#
# Not yet here: NATS JetStream and Mosquitto (issue "Performance").
set -eu
cd "$(dirname "$0")/.."
runs=${1:-3}
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  apt-get install -y -q redis-server redis-tools >/dev/null
fi
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

dir=$(mktemp -d /tmp/trc-peers-XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# A free loopback port: the kernel picks one, we hand it to Redis.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
value=$(head -c 256 /dev/zero | tr '\0' x)

redis_rate() { # $1: appendfsync policy; prints XADD records/s
  rm -rf "$dir/redis"; mkdir -p "$dir/redis"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/redis" --save '' \
    --appendonly yes --appendfsync "$1" --daemonize no --logfile "$dir/redis.log" &
  pid=$!
  for _ in $(seq 1 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  # 50 connections x 32 pipelined = 1,600 records in flight
  redis-benchmark -p "$port" -q -n 300000 -c 50 -P 32 XADD bench '*' f "$value" 2>/dev/null |
    tr '\r' '\n' | sed -n 's/.*XADD[^:]*: *\([0-9.]*\) requests per second.*/\1/p' | tail -1
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -srm), $(nproc) cores; $runs runs"
i=1
while [ "$i" -le "$runs" ]; do
  always=$(redis_rate always)
  everysec=$(redis_rate everysec)
  out=$(build-bench/bench/bench_publish 100000)
  t32=$(echo "$out" | sed -n 's/^traction publish, 32 records\/request, 100 in flight *\([0-9]*\) rec\/s.*/\1/p')
  loop=$(echo "$out" | sed -n 's/^baseline: bare group-commit loop, 1000 in flight *\([0-9]*\) rec\/s.*/\1/p')
  echo "## run $i"
  echo "$out" | grep -E '^(baseline|traction)'
  printf '%-52s %10.0f rec/s\n' "Redis Streams XADD, appendfsync always" "$always"
  printf '%-52s %10.0f rec/s\n' "Redis Streams XADD, appendfsync everysec" "$everysec"
  awk -v t="$t32" -v r="$always" -v l="$loop" 'BEGIN {
    printf "ratio: traction (32/request) / Redis appendfsync always = %.2f\n", t / r;
    printf "ratio: Redis appendfsync always / bare loop = %.2f\n", r / l }'
  i=$((i + 1))
done
