#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Cluster mode's rows (issue #30; docs/scale-out.md, docs/performance.md):
# the daemon set on three hosts, each a network namespace on one bridge
# (tests/cluster/netns.sh, hosts.sh: a broker and the four stateful
# daemons in cluster mode on each), [cluster] election_timeout_ms and
# heartbeat_ms as given (ELECTION_MS, HEARTBEAT_MS: 1000 and 100 by
# default, deploy/traction.conf's). Prints =row lines for
# bench/compare.sh:
#
#   - libtraction's publisher (tests/ha_publish: every record a key of its
#     own, one scenario) at full speed through the three brokers for
#     SECONDS: records/s; feedback's leader's raft entries/s and their
#     mean size (its metrics: traction_raft_entries_proposed_total,
#     _entry_bytes_proposed_total);
#   - the bare 3-node C-Raft loop (trc-raft-bare, bench/raft_bare.h) on
#     the same three hosts, with the same timing, entries of that mean
#     size (to 8 bytes) and one in flight, as the leader proposes one
#     entry at a time: entries/s, the baseline of the ratio;
#   - the same publisher on the single-host set (loopback, no cluster):
#     records/s, the cluster's ratio to it reported;
#   - KILLS times, under the publisher (paced: 5,000 records/s, so that
#     the stores stay small), feedback's leader SIGKILLed, then started
#     again once another leads: the gap in acknowledgements around each
#     kill (p50, p99: kill to the next acknowledged record).
#
# Every record acknowledged is checked stored once (feedbackd's count).
# Needs root (ip netns), as bench/compare.sh's namespace rows do.
#   bench/cluster.sh BUILD_DIR [SECONDS] [KILLS]
set -uo pipefail
BUILD=$(cd "${1:?usage: cluster.sh BUILD_DIR [SECONDS] [KILLS]}" && pwd)
secs=${2:-5}
kills=${3:-20}
election=${ELECTION_MS:-1000}
heartbeat=${HEARTBEAT_MS:-100}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=$(mktemp -d /tmp/trc-bcluster-XXXXXX)
# shellcheck source=../tests/set.sh
source "$HERE/../tests/set.sh"
# shellcheck source=../tests/cluster/netns.sh
source "$HERE/../tests/cluster/netns.sh"
netns_traps "$DIR" bench-cluster
SET_TMP=$DIR
BARE=$BUILD/bench/trc-raft-bare
[ -x "$BUILD/tests/ha_publish" ] || fail "no $BUILD/tests/ha_publish (a build with the tests)"
[ -x "$BARE" ] || fail "no $BARE (libraft-dev, libuv1-dev)"
netns_setup 3
# shellcheck source=../tests/cluster/hosts.sh
source "$HERE/../tests/cluster/hosts.sh"
hosts_conf "$DIR" "election_timeout_ms = $election
heartbeat_ms = $heartbeat"
printf "[log]\nlevel = ${BENCH_LOG_LEVEL:-warning}\n" >>"$DIR/set/traction.conf"
# feedbackd serves its metrics on its host's address (offset 3)
start_feedbackd() { start_daemon "$1" feedbackd --set metrics.base_port=9470 \
  --set "metrics.address=${A[$1]}"; }
for h in 1 2 3; do
  start_host_broker $h
  for d in supplyd scenariod iterationd; do start_daemon $h $d; done
  start_feedbackd $h
done
hosts_leaders || fail "the cluster did not come up"
ctl provider add acme --name Acme --kind ai-company >/dev/null &&
ctl supply register vision --provider acme --kind industrial-algorithm --name Vision \
  --capability defect-detection --version 1.0 >/dev/null &&
ctl scenario submit line-1 --enterprise N --domain production --name "Line 1" \
  --need defect-detection >/dev/null || fail "the catalogue"
eventually ctl scenario match line-1 | has vision >/dev/null || fail "no match"

# feedbackd's raft counters on host H: "ENTRIES BYTES"
raft_counters() { ip netns exec "${NETNS_HOST[$CLIENT]}" /usr/bin/python3 - "${A[$1]}" <<'PY'
import sys, urllib.request
t = urllib.request.urlopen("http://%s:9473/metrics" % sys.argv[1], timeout=5).read().decode()
v = {l.split()[0]: float(l.split()[1]) for l in t.splitlines() if l.startswith("traction_raft_")}
print(int(v.get("traction_raft_entries_proposed_total", 0)),
      int(v.get("traction_raft_entry_bytes_proposed_total", 0)))
PY
}

# the machine's CPU time so far, in clock ticks: "BUSY IDLE" (busy: user,
# nice, system, irq, softirq and steal; idle: idle and iowait)
cpu_ticks() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }

# one drive of the publisher from host 1: SECONDS, or until the file
# $DIR/stop exists (kills); its figures in $DIR/NAME.{out,gaps,ms,cpu}
drive() { # NAME ENDPOINTS [NETNS]
  local name=$1 pub t0 busy idle busy1 idle1
  rm -f "$DIR/stop"
  read -r busy idle <<<"$(cpu_ticks)"
  ${3:+ip netns exec "$3"} env HA_PUBLISH_RATE="${HA_PUBLISH_RATE:-}" \
    "$BUILD/tests/ha_publish" "$2" line-1 vision 1.0 "$DIR/stop" \
    "$DIR/$name.gaps" >"$DIR/$name.out" 2>"$DIR/$name.err" &
  pub=$!
  PIDS+=($pub)
  t0=$(date +%s%3N)
  if [ "$name" = kills ]; then kill_leaders; else sleep "$secs"; fi
  touch "$DIR/stop"
  wait $pub || fail "the publisher of $name failed: $(cat "$DIR/$name.err")"
  echo $(($(date +%s%3N) - t0)) >"$DIR/$name.ms"
  read -r busy1 idle1 <<<"$(cpu_ticks)"
  echo $((busy1 - busy)) $((idle1 - idle)) "$(getconf CLK_TCK)" >"$DIR/$name.cpu"
}
acked() { sed -n 's/^published \([0-9]*\) acked \([0-9]*\) .*/\2/p' "$DIR/$1.out"; }

# KILLS times: feedback's leader SIGKILLed, started again once another
# leads, and the next kill once it holds the leader's log again
kill_leaders() {
  local k l nl
  : >"$DIR/kills.kills"
  sleep 1
  for k in $(seq 1 "$kills"); do
    l=$(eventually leader_of feedback) || fail "kill $k: no leader"
    date +%s%3N >>"$DIR/kills.kills"
    kill -KILL "${PID[$l-feedbackd]}"
    wait "${PID[$l-feedbackd]}" 2>/dev/null
    for _ in $(seq 300); do
      nl=$(leader_of feedback 2>/dev/null) && [ "$nl" != "$l" ] && break
      sleep 0.05
    done
    start_feedbackd "$l"
    caught_up || fail "kill $k: host $l's feedbackd did not catch up"
  done
  sleep 1
}
# every member holds what the leader had when asked, within 30 s
caught_up() {
  local want="" got
  for _ in $(seq 300); do
    got=$(ctl --json cluster status --service feedback 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
m = [int(x.get("match_index", 0)) for x in d["members"] if not x.get("leader")]
print(d["last_index"], min(m) if d["state"] == "leader" and len(m) == 2 else 0)') || got=""
    [ -n "$want" ] || want=${got%% *}
    [ -n "$got" ] && [ -n "$want" ] && [ "${got#* }" -ge "$want" ] && return 0
    sleep 0.1
  done
  return 1
}

all_eps=$(eps 7400 | tr -d ' ')
l=$(leader_of feedback)
read -r e0 b0 <<<"$(raft_counters "$l")"
drive calm "$all_eps" "${NETNS_HOST[1]}"
[ "$(leader_of feedback)" = "$l" ] || fail "feedback's leader changed during the calm drive"
read -r e1 b1 <<<"$(raft_counters "$l")"
entries=$((e1 - e0)) bytes=$((b1 - b0))
[ "$entries" -gt 0 ] || fail "feedback's leader proposed no entry"
size=$(( (bytes / entries + 7) / 8 * 8 ))
HA_PUBLISH_RATE=5000 drive kills "$all_eps" "${NETNS_HOST[1]}"
total=$(($(acked calm) + $(acked kills)))
eventually_count() {
  local c=""
  for _ in $(seq 100); do
    c=$(ctl --json feedback stats --supply vision@1.0 --scenario line-1 --metric latency_ms |
      /usr/bin/python3 -c 'import json, sys
print(max([int(m["stats"]["count"]) for m in json.load(sys.stdin).get("metrics", [])] or [0]))')
    [ "$c" = "$1" ] && break
    sleep 0.1
  done
  echo "$c"
}
c=$(eventually_count "$total")
[ "$c" = "$total" ] || fail "feedbackd holds $c records of the $total acknowledged"
for h in 1 2 3; do for d in "${DAEMONS[@]}"; do kill -TERM "${PID[$h-$d]}"; done; done
for h in 1 2 3; do for d in "${DAEMONS[@]}"; do wait "${PID[$h-$d]}"; done; done
for h in 1 2 3; do kill -TERM "${PID[$h-broker]}"; wait "${PID[$h-broker]}"; done

# the bare loop on the same hosts, the same timing and entry size
mkdir -p "$DIR/raft"
"$BARE" bench --dir "$DIR/raft" --label "network namespaces" \
  --members "1=${A[1]}:7601,2=${A[2]}:7601,3=${A[3]}:7601" \
  --netns "${NETNS_HOST[1]},${NETNS_HOST[2]},${NETNS_HOST[3]}" \
  --election-ms "$election" --heartbeat-ms "$heartbeat" \
  --load "1:$size" --secs "$secs" --kills 0 >"$DIR/bare.out" 2>"$DIR/bare.err" ||
  fail "the bare loop: $(tail -3 "$DIR/bare.err")"

# the single-host set: the same publisher, loopback, no cluster
SET_METRICS_BASE=0 start_set "$DIR/single" "$BUILD"
for d in "${DAEMONS[@]}"; do
  "$BUILD/services/traction-$d" --config "$DIR/single/traction.conf" 2>"$DIR/single/$d.log" &
  PIDS+=($!)
done
SINGLE="$BUILD/clients/tractionctl/tractionctl --endpoint $EP"
for s in supply scenario feedback; do eventually $SINGLE ping "$s" >/dev/null || fail "single: $s"; done
$SINGLE provider add acme --name Acme --kind ai-company >/dev/null &&
$SINGLE supply register vision --provider acme --kind industrial-algorithm --name Vision \
  --capability defect-detection --version 1.0 >/dev/null &&
$SINGLE scenario submit line-1 --enterprise N --domain production --name "Line 1" \
  --need defect-detection >/dev/null || fail "single: the catalogue"
drive single "$EP"

/usr/bin/python3 - "$DIR" "$entries" "$size" "$election" "$heartbeat" "$secs" <<'PY'
import re, sys
d, entries, size, election, heartbeat, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4], sys.argv[5], int(sys.argv[6])
def rate(name):
    t = open(f"{d}/{name}.out").read()
    m = re.search(r"published (\d+) acked (\d+) stored (\d+) duplicates (\d+) failed (\d+) flush (\S+)", t)
    pub, acked, failed = int(m.group(1)), int(m.group(2)), int(m.group(5))
    if acked != pub or failed or m.group(6) != "ok":
        sys.exit(f"cluster: {name}: {t.strip()}")
    return acked / (float(open(f"{d}/{name}.ms").read()) / 1000)
def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * q))]
timing = f"election {election} ms, heartbeat {heartbeat} ms"
calm, single = rate("calm"), rate("single")
ms = float(open(f"{d}/calm.ms").read())
eps = entries / (ms / 1000)
bare = None
for line in open(f"{d}/bare.out"):
    f = line.rstrip("\n").split("\t")
    if line.startswith("=row") and "in flight (entries/s" in f[2]:
        bare = float(f[3])
if bare is None:
    sys.exit("cluster: no row from the bare loop: " + open(f"{d}/bare.out").read())
print(f"=row\tcluster\t3 hosts in network namespaces ({timing}): publisher records/s\t{calm:.0f}\t-\t-")
print(f"=row\tcluster\tthe single-host set, the same publisher: records/s\t{single:.0f}\t-\t-")
# (names that stay the same from run to run: the report takes each row's
# median over the runs by its name)
print(f"=row\tcluster\t3 hosts: feedback's raft entries/s\t{eps:.0f}\t-\t-")
print(f"=row\tcluster\t3 hosts: the mean raft entry (bytes)\t{size}\t-\t-")
print(f"=row\tcluster\t3 hosts: records a raft entry\t{calm / eps:.0f}\t-\t-")
print(f"=row\tcluster\tbare C-Raft, 3 nodes in the same namespaces ({timing}), entries of "
      f"the cluster's mean size, 1 in flight: entries/s\t{bare:.0f}\t-\t-")
print(f"=row\tcluster\t3 hosts: entries/s over the bare loop's (target >= 0.6)\t{eps / bare:.2f}\t-\t-")
print(f"=row\tcluster\t3 hosts: records/s over the single-host set's\t{calm / single:.2f}\t-\t-")
def cpu(name, records_s):
    busy, idle, hz = map(int, open(f"{d}/{name}.cpu").read().split())
    secs = float(open(f"{d}/{name}.ms").read()) / 1000
    return busy / (busy + idle), busy / hz / secs / records_s * 1e6
for name, what, r in (("calm", "3 hosts", calm), ("single", "the single-host set", single)):
    share, us = cpu(name, r)
    print(f"=row\tcluster\t{what}: the machine's CPU busy during the drive (%, all cores; "
          f"steal counted busy)\t{share * 100:.0f}\t-\t-")
    print(f"=row\tcluster\t{what}: CPU time per record acknowledged (us, all processes)"
          f"\t{us:.1f}\t-\t-")
rate("kills")
if not open(f"{d}/kills.kills").read().split():
    sys.exit(0)
gaps = [tuple(map(float, l.split())) for l in open(f"{d}/kills.gaps") if l[0].isdigit()]
kg = []
for k in map(float, open(f"{d}/kills.kills").read().split()):
    around = [g for end, g in gaps if k <= end <= k + 30000 and end - g <= k + 50]
    kg.append(max(around) if around else 0.0)
print(f"=row\tcluster\t3 hosts: writes resume after feedback's leader is SIGKILLed "
      f"(ms, the longest; p50, p99: of the gap in acknowledgements around each kill)"
      f"\t{max(kg):.0f}\t{pct(kg, 0.5) * 1000:.0f}\t{pct(kg, 0.99) * 1000:.0f}")
print("# gap around each kill (ms): " + " ".join("%.0f" % g for g in kg))
PY
[ $? -eq 0 ] || fail "no figures"
echo "# every record acknowledged stored once: $total"
