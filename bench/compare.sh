#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The performance report: traction against the limits of this machine and
# against the systems people would use instead (Redis 7 Streams, NATS
# JetStream, Mosquitto), all in one invocation, several runs, one table.
#
#   bench/compare.sh [RUNS] [GROWTH_MILLIONS]     (defaults: 3 runs, 10 M)
#   bench/compare.sh --only mqtt [RUNS]           (Mosquitto's rows and
#       traction-mqttd's alone, taking turns, RUNS times: each run's rates
#       and ratios printed, docs/performance.md left as it is)
#   bench/compare.sh --only cluster [RUNS]        (cluster mode's rows alone,
#       bench/cluster.sh, RUNS times, printed: as root)
#   bench/compare.sh --only raft [RUNS]           (the bare 3-node C-Raft
#       loop's rows alone, RUNS times, printed: the replication baseline,
#       on loopback and, as root, across network namespaces)
#
# It installs what it needs from Debian (the peers, their client libraries,
# gnuplot), builds the benchmarks (Release), and per run: bench_limits
# (fdatasync, bare LMDB, page cache), Redis XADD (appendfsync always and
# everysec, redis-benchmark), NATS JetStream and Mosquitto QoS 1
# (bench_peers: one record at a time with 1,000 in flight, and 16 groups
# of 64 as libtraction's publisher sends), bench_publish (bare ZeroMQ and
# the bare group-commit loop, direct and via a relay, and in the shape of
# each traction row a target compares; traction, each row checked against
# what the store holds), bench_match and bench_history (queries: history
# of 100,000 records spread over 200 versions), bench_http (the HTTP API
# against libtraction: JSON Lines ingest and tractionctl --file against the
# native publisher, queries over HTTP against the bus), bench_publish
# retention (ingest beside a large expiry and without; a store at steady
# ingest with a TTL, first run only), bench_notify (webhook delivery of
# alerts by traction-notifyd against a bare libcurl loop posting to the
# same receiver), bench/failover.sh (libtraction's publisher through two
# brokers, one SIGKILLed 10 times, against the same without a kill),
# trc-raft-bare (the bare 3-node C-Raft loop cluster mode is to be held
# against: entries/s with 256 B and 16 KiB entries, and writes resuming
# after 20 leader SIGKILLs; on loopback, and as root across network
# namespaces, tests/cluster/netns.sh), bench_publish growth
# (0 -> GROWTH_MILLIONS M records, spread over 200 versions) and
# bench_limits growth (bare LMDB appends of as many records). Every
# server runs on a free loopback port in a temp dir and is stopped by its
# PID when the script ends, however it ends.
#
# bench/report.py then prints the table (median and min-max of the runs;
# ratios are taken within each run), writes it into docs/performance.md
# between the "compare" markers, and draws docs/figures/*.png with gnuplot;
# the raw rows stay in docs/figures/compare-rows.tsv.
# About 5 minutes with the defaults on the 2-core machine; the growth run
# needs ~5 GB of disk in /tmp.
set -eu
cd "$(dirname "$0")/.."
only=
if [ "${1:-}" = --only ]; then
  only=${2:?"usage: bench/compare.sh --only mqtt|raft|cluster [RUNS]"}
  case $only in mqtt | raft | cluster) ;;
    *) echo "compare: --only mqtt, raft or cluster, nothing else" >&2; exit 2 ;; esac
  shift 2
fi
runs=${1:-3}
millions=${2:-10}

need=
for c in redis-server:redis-server redis-benchmark:redis-tools nats-server:nats-server \
         mosquitto:mosquitto gnuplot:gnuplot-nox; do
  command -v "${c%%:*}" >/dev/null 2>&1 || need="$need ${c#*:}"
done
pkg-config --exists libnats libmosquitto 2>/dev/null || need="$need libnats-dev libmosquitto-dev"
if [ -n "$need" ]; then
  sh deploy/install-deps.sh
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null
fi
# cluster mode's rows (section 12) on Debian 12's libraft 0.15, as
# tests/run.sh builds it (docs/scale-out.md: measured, never in production)
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DTRC_RAFT_UNSAFE_015=ON >/dev/null
cmake --build build-bench -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
b=build-bench/bench

dir=$(mktemp -d /tmp/trc-compare-XXXXXX)
pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; pid=; }
# start_set, eventually (the set of traction-mqttd's row)
# shellcheck source=../tests/set.sh
. tests/set.sh
PIDS=()
# the namespaces of the raft rows (netns_setup, netns_cleanup)
# shellcheck source=../tests/cluster/netns.sh
. tests/cluster/netns.sh
cleanup() {
  stop
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  [ -z "$NETNS_BR" ] || netns_cleanup
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() { # $1 port: until something listens there
  for _ in $(seq 1 200); do
    /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" \
      2>/dev/null && return 0
    sleep 0.05
  done
  echo "compare: nothing listens on port $1" >&2; exit 1
}

rows=$dir/rows.tsv
: > "$rows"
collect() { # $1: run; reads a benchmark's output, keeps its =row lines
  tee -a "$dir/log" | sed -n "s/^=row\t/$1\t/p" >> "$rows"
}

redis() { # $1 run, $2 appendfsync policy, $3 connections, $4 pipelined per connection
  port=$(free_port)
  rm -rf "$dir/redis"; mkdir -p "$dir/redis"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/redis" --save '' \
    --appendonly yes --appendfsync "$2" --daemonize no --logfile "$dir/redis.log" &
  pid=$!
  wait_port "$port"
  # $3 x $4 records of 256 bytes in flight: 32 x 32 as the ready-made
  # requests of bench_publish keep them, 16 x 64 as libtraction's publisher
  # does (16 requests of its default 64 records)
  n=300000
  redis-benchmark -p "$port" -n "$n" -c "$3" -P "$4" XADD bench '*' f "$value" 2>/dev/null |
    tr '\r' '\n' | awk -v run="$1" -v pol="$2" -v c="$3" -v p="$4" '
      /throughput summary:/ { rps = $3 }
      /avg +min +p50/ { getline; p50 = $3 * 1000; p99 = $5 * 1000 }
      END { printf "%s\tpeers\tRedis Streams XADD, appendfsync %s, %s x %s in flight\t%s\t%s\t%s\n",
                   run, pol, c, p, rps, p50, p99 }' > "$dir/redis.row"
  # redis-benchmark counts replies, errors too: the row stands only if the
  # stream holds every record it counted (with -P it may send up to one
  # pipeline more than -n: 300,032 at 16 x 64, the extra ones not counted)
  stored=$(redis-cli -p "$port" XLEN bench 2>/dev/null || true)
  case $stored in '' | *[!0-9]*) stored=0 ;; esac
  if [ "$stored" -lt "$n" ]; then
    echo "compare: Redis $2 $3 x $4: the stream holds $stored of $n records; no figure" >&2
    exit 1
  fi
  cat "$dir/redis.row" >> "$rows"
  stop
}

nats() { # $1 run
  port=$(free_port)
  rm -rf "$dir/nats"
  nats-server -js -sd "$dir/nats" -a 127.0.0.1 -p "$port" > "$dir/nats.log" 2>&1 &
  pid=$!
  wait_port "$port"
  $b/bench_peers nats "nats://127.0.0.1:$port" 300000 | collect "$1"
  stop
}

mqtt() { # $1 run
  port=$(free_port)
  rm -rf "$dir/mqtt"; mkdir -p "$dir/mqtt"
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\n' \
    "$port" "$dir/mqtt" > "$dir/mqtt.conf"
  mosquitto -c "$dir/mqtt.conf" > "$dir/mqtt.log" 2>&1 &
  pid=$!
  wait_port "$port"
  $b/bench_peers mqtt "$port" 300000 | collect "$1"
  stop
}

# traction-mqttd with the client and payload of Mosquitto's rows: the set
# (tests/set.sh), a catalogue for its records, the daemon without
# authentication (the bench measures ingest, not passwords); every record
# checked stored once
mqttd() { # $1 run
  local d=$dir/mqttd n=300000 port got
  rm -rf "$d"; mkdir -p "$d"
  PIDS=(); SET_TMP=$d
  fail() { echo "compare: mqttd: $*" >&2; exit 1; }
  SET_EXTRA="[mqtt]
port = 0
auth = 0
receive_maximum = 1024
address_file = $d/set/mqtt.addr
[log]
level = warning" start_set "$d/set" build-bench supplyd scenariod feedbackd iterationd
  local ctl=build-bench/clients/tractionctl/tractionctl
  for s in supply scenario feedback; do
    TRACTION_ENDPOINT=$EP eventually "$ctl" ping "$s" >/dev/null || fail "$s did not come up"
  done
  TRACTION_ENDPOINT=$EP "$ctl" provider add acme --name Acme --kind ai-company >/dev/null &&
  TRACTION_ENDPOINT=$EP "$ctl" supply register vision --provider acme --kind industrial-algorithm \
    --name Vision --capability defect-detection --version 1.0 >/dev/null &&
  TRACTION_ENDPOINT=$EP "$ctl" scenario submit line-1 --enterprise N --domain production \
    --name "Line 1" --need defect-detection >/dev/null || fail "the catalogue"
  build-bench/mqtt/traction-mqttd --config "$d/set/traction.conf" 2>"$d/set/mqttd.log" &
  PIDS+=($!)
  for _ in $(seq 250); do [ -f "$d/set/mqtt.addr" ] && break; sleep 0.02; done
  port=$(head -1 "$d/set/mqtt.addr" 2>/dev/null | sed 's/.*://')
  [ -n "$port" ] || fail "traction-mqttd did not start"
  $b/bench_peers mqttd "$port" "$n" | collect "$1"
  got=$(TRACTION_ENDPOINT=$EP "$ctl" --json feedback stats --supply vision@1.0 --metric mqttbench |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["metrics"][0]["stats"]["count"])')
  [ "$got" = $((2 * n)) ] || fail "the store holds $got records, not $((2 * n)); no figure"
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}

# The bare 3-node C-Raft loop (bench/raft_bare.h): the baseline of
# cluster mode's rows, reported, not judged. Each node a process with its
# own data directory under $dir; on loopback ports, then (as root) one
# node in each of three network namespaces joined by a bridge. Without
# root the namespace rows are left out, saying so.
raft_bare() { # $1 run
  local loads=(--load 1:256 --load 64:256 --load 64:16384 --secs 5 --kills 20)
  local ports
  rm -rf "$dir/raft"; mkdir -p "$dir/raft"
  [ -x $b/trc-raft-bare ] || { echo "compare: no trc-raft-bare (libraft-dev, libuv1-dev)" >&2; exit 1; }
  ports=$(/usr/bin/python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(",".join("%d=127.0.0.1:%d" % (i + 1, s.getsockname()[1]) for i, s in enumerate(ss)))')
  $b/trc-raft-bare bench --dir "$dir/raft" --members "$ports" --label loopback "${loads[@]}" |
    collect "$1"
  if [ "$(id -u)" -ne 0 ]; then
    echo "compare: not root: no rows of the bare C-Raft loop across network namespaces" >&2
    return 0
  fi
  rm -rf "$dir/raft"; mkdir -p "$dir/raft"
  fail() { echo "compare: raft: $*" >&2; exit 1; }
  netns_setup 3
  $b/trc-raft-bare bench --dir "$dir/raft" --label "network namespaces" \
    --members "1=${NETNS_ADDR[1]}:7501,2=${NETNS_ADDR[2]}:7501,3=${NETNS_ADDR[3]}:7501" \
    --netns "${NETNS_HOST[1]},${NETNS_HOST[2]},${NETNS_HOST[3]}" "${loads[@]}" | collect "$1"
  netns_cleanup
  NETNS_BR=
}

# Cluster mode (bench/cluster.sh): three hosts in namespaces, the daemon
# set on each, against the bare loop with the same entries and the
# single-host set; [cluster] election 500 ms, heartbeat 50 ms. As root.
cluster() { # $1 run
  if [ "$(id -u)" -ne 0 ]; then
    echo "compare: not root: no cluster rows (network namespaces)" >&2
    return 0
  fi
  ELECTION_MS=500 HEARTBEAT_MS=50 bash bench/cluster.sh build-bench 5 20 | collect "$1"
}

value=$(head -c 256 /dev/zero | tr '\0' x)
started=$(date +%s)
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -srm), $(nproc) cores; $runs runs" | tee "$dir/log"
i=1
while [ "$only" = raft ] && [ "$i" -le "$runs" ]; do
  echo "## run $i of $runs ($(($(date +%s) - started)) s so far)"
  raft_bare "$i"
  i=$((i + 1))
done
while [ "$only" = cluster ] && [ "$i" -le "$runs" ]; do
  echo "## run $i of $runs ($(($(date +%s) - started)) s so far)"
  cluster "$i"
  i=$((i + 1))
done
if [ "$only" = raft ] || [ "$only" = cluster ]; then
  # the rows of every run, for docs/performance.md's baseline section
  awk -F'\t' '{ printf "run %s\t%s\t%s\t%s\t%s\n", $1, $3, $4, $5, $6 }' "$rows"
  exit 0
fi
while [ -n "$only" ] && [ "$i" -le "$runs" ]; do
  echo "## run $i of $runs ($(($(date +%s) - started)) s so far)"
  mqtt "$i"
  mqttd "$i"
  i=$((i + 1))
done
if [ -n "$only" ]; then
  # each run's traction-mqttd rate over Mosquitto's, row by row
  awk -F'\t' '{ rate[$1 FS $3] = $4; runs[$1] = 1 }
    $3 ~ /^Mosquitto/ { s = $3; sub(/^Mosquitto QoS 1 \(persistence on\), /, "", s); shape[s] = 1 }
    END { for (r in runs) for (s in shape) {
            m = rate[r FS "Mosquitto QoS 1 (persistence on), " s]
            t = rate[r FS "traction-mqttd QoS 1 (PUBACK once stored), " s]
            if (m > 0) printf "run %s, %s: Mosquitto %.0f/s, traction-mqttd %.0f/s, %.2fx\n", r, s, m, t, t / m } }' \
    "$rows" | sort
  exit 0
fi
while [ "$i" -le "$runs" ]; do
  echo "## run $i of $runs ($(($(date +%s) - started)) s so far)"
  mkdir -p "$dir/limits"
  $b/bench_limits "$dir/limits" | collect "$i"
  redis "$i" always 32 32
  redis "$i" always 16 64
  redis "$i" always 1000 1
  redis "$i" everysec 32 32
  nats "$i"
  mqtt "$i"
  mqttd "$i"
  $b/bench_publish 100000 | collect "$i"
  # ingest beside a large expiry and without (the ack p99 target), and,
  # in the first run only, a store at steady ingest with a TTL (90 s)
  $b/bench_publish retention 100000 | collect "$i"
  [ "$i" -ne 1 ] || $b/bench_publish steady 90 1000 | collect "$i"
  $b/bench_match 10000 300 | collect "$i"
  $b/bench_history 200 100000 | collect "$i"
  $b/bench_http 100000 4 | collect "$i"
  $b/bench_lanes 300000 3 | collect "$i"
  $b/bench_notify 2000 16 | collect "$i"
  bash bench/failover.sh build-bench 5 | collect "$i"
  raft_bare "$i"
  cluster "$i"
  $b/bench_publish growth "$millions" | collect "$i"
  # the same growth with nothing but LMDB: what the machine gives a
  # growing store (run after traction's, so any memory the first growth
  # warmed helps this one, not traction)
  mkdir -p "$dir/limits"
  $b/bench_limits growth "$dir/limits" "$millions" | collect "$i"
  i=$((i + 1))
done
echo "## all runs took $(($(date +%s) - started)) s"
# the raw rows beside the figures: report.py can write the table again
# from them (a change of its layout needs no new run)
cp "$rows" docs/figures/compare-rows.tsv
/usr/bin/python3 bench/report.py "$rows" --runs "$runs" --millions "$millions" \
  --command "bench/compare.sh $runs $millions" --doc docs/performance.md --figures docs/figures
