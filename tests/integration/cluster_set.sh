#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The daemon set itself in cluster mode (docs/scale-out.md): one broker and
# three hosts on this machine's loopback (127.0.0.1, .2, .3), each running
# supplyd, scenariod, feedbackd and iterationd with a state directory of
# its own; each daemon is a raft group of three. Driven by tractionctl
# alone, as an operator would:
#
#   status      tractionctl cluster status: four groups, each one leader
#               of three voters, the replicas agreeing on it
#   story       the story of the README through the leaders: provider,
#               supply, scenario (which needs supplyd's events, consumed
#               by scenariod's leader), deployment, feedback, stats
#   transfer    cluster transfer-leadership of feedback to a named host:
#               the new leader answers, with everything acknowledged
#   kill        SIGKILL of feedback's leader under a stream of publishes:
#               the two others go on; every record acknowledged is stored
#               once (stats count on the new leader, and --stale on each
#               follower alike)
#
#   tests/integration/cluster_set.sh BUILD_DIR
set -uo pipefail
BUILD=$(cd "${1:?usage: cluster_set.sh BUILD_DIR}" && pwd)
DIR=$(mktemp -d /tmp/trc-cluster-XXXXXX)
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
set_traps "$DIR" cluster_set
SET_TMP=$DIR
ctl() { "$BUILD/clients/tractionctl/tractionctl" --endpoint "$EP" --timeout 15000 "$@"; }
DAEMONS=(supplyd scenariod feedbackd iterationd)

# a base port with its next few free (each daemon's raft port is base +
# its offset, 1-4, on each host's own loopback address; its metrics port
# base + 10 + its offset), from below the
# kernel's ephemeral range: there no outgoing connection takes it as its
# own port while a daemon is down (tests/integration/ports.h)
BASE=$(/usr/bin/python3 -c '
import socket, random
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(100):
    b = random.randrange(10000, low - 10)
    try:
        ss = []
        for h in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
            for o in list(range(1, 5)) + list(range(11, 15)):
                s = socket.socket(); s.bind((h, b + o)); ss.append(s)
        print(b); break
    except OSError:
        pass')
[ -n "$BASE" ] || fail "no free ports"

SET_EXTRA="[cluster]
members = h1=127.0.0.1, h2=127.0.0.2, h3=127.0.0.3
base_port = $BASE
election_timeout_ms = 500
heartbeat_ms = 50"
start_set "$DIR/set" "$BUILD"
declare -A PID
start_host_daemon() { # HOST DAEMON
  "$BUILD/services/traction-$2" --config "$DIR/set/traction.conf" --set "cluster.node=$1" \
    --set "store.state_dir=$DIR/set/$1" --set "metrics.base_port=$((BASE + 10))" \
    --set "metrics.address=127.0.0.${1#h}" 2>>"$DIR/set/$1-$2.log" &
  PID[$1-$2]=$!
  PIDS+=($!)
}
for h in h1 h2 h3; do
  for d in "${DAEMONS[@]}"; do start_host_daemon "$h" "$d"; done
done

# the host whose DAEMON leads, from its cluster.status
leader_of() { ctl --json cluster status --service "$1" |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["leader"])'; }

check "status: four groups, each one leader of three voters, the replicas agreeing"
eventually ctl status >/dev/null || bad "the set is not live: $(ctl status 2>&1)"
for s in supply scenario feedback iteration; do
  l=$(eventually leader_of "$s") || { bad "$s: no leader"; continue; }
  out=$(ctl cluster status --service "$s")
  [ "$(grep -c ' voter ' <<<"$out")" -eq 3 ] || bad "$s: not three voters: $out"
  for _ in 1 2 3 4 5 6; do
    st=$(ctl --stale --json cluster status --service "$s" |
      /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["leader"])')
    [ "$st" = "$l" ] || bad "$s: a replica says the leader is '$st', the leader '$l'"
  done
done
done_check

check "story: provider, supply, scenario, deployment and feedback through the leaders"
ctl provider add acme --name Acme --kind ai-company >/dev/null || bad "provider add"
ctl supply register vision --provider acme --kind industrial-algorithm --name Vision \
  --capability defect-detection --version 1.0 >/dev/null || bad "supply register"
ctl scenario submit weld --enterprise E --domain production --name Weld \
  --need defect-detection >/dev/null || bad "scenario submit"
eventually ctl scenario match weld | has vision || bad "match: $(ctl scenario match weld 2>&1)"
eventually ctl deployment adopt weld vision@1.0 >/dev/null || bad "deployment adopt"
publish() { # FROM TO: records with keys k-FROM..k-TO-1
  local i
  for i in $(seq "$1" $(($2 - 1))); do
    echo "{\"scenario\":\"weld\",\"supply\":\"vision\",\"version\":\"1.0\",\"key\":\"k-$i\",\"metric\":{\"name\":\"rate\",\"value\":0.5}}"
  done | ctl feedback publish --file - >/dev/null
}
count() { ctl --json "$@" feedback stats --scenario weld --supply vision@1.0 --metric rate |
  /usr/bin/python3 -c 'import json, sys; d = json.load(sys.stdin)
print(max([int(m["stats"]["count"]) for m in d.get("metrics", [])] or [0]))'; }
eventually publish 0 100 || bad "publish"
[ "$(eventually count)" = 100 ] || bad "stats count $(count), not 100"
done_check

check "metrics: each replica's raft series, one leader, its entries and their bytes"
# feedbackd's series on host N (its metrics port: base + 10 + 3)
scrape() { /usr/bin/python3 - "127.0.0.$1" $((BASE + 13)) <<'PY'
import sys, urllib.request
text = urllib.request.urlopen("http://%s:%s/metrics" % (sys.argv[1], sys.argv[2]), timeout=5).read()
for line in text.decode().splitlines():
    if line.startswith("traction_raft_"):
        print(line)
PY
}
leaders=0; terms=""
for h in 1 2 3; do
  m=$(scrape $h) || { bad "host $h: no metrics"; continue; }
  v() { awk -v k="$1" '$1 == k { print $2 }' <<<"$m"; }
  [ "$(v traction_raft_leader)" = 1 ] && { leaders=$((leaders + 1)); lm=$m; }
  terms="$terms $(v traction_raft_term)"
  [ "$(v traction_raft_applied_index | cut -d. -f1)" -gt 0 ] 2>/dev/null ||
    bad "host $h applied nothing: $m"
done
[ "$leaders" = 1 ] || bad "$leaders replicas say they lead"
[ "$(tr ' ' '\n' <<<"$terms" | sort -u | grep -c .)" = 1 ] || bad "the terms differ:$terms"
e=$(awk '$1 == "traction_raft_entries_proposed_total" { print int($2) }' <<<"${lm:-}")
b=$(awk '$1 == "traction_raft_entry_bytes_proposed_total" { print int($2) }' <<<"${lm:-}")
[ "${e:-0}" -gt 0 ] && [ "${b:-0}" -gt "${e:-0}" ] || bad "the leader's entries $e, bytes $b"
done_check

check "idle: nothing to do, no raft entry (feedbackd's 250 ms tick is left out without work), no replica spins"
last_index() { ctl --json cluster status --service feedback |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["last_index"])'; }
prev=$(last_index) still=0
for _ in $(seq 40); do # the story's evidence and events settle first
  sleep 0.25
  now=$(last_index)
  if [ "$now" = "$prev" ]; then still=$((still + 1)); else still=0; fi
  prev=$now
  [ "$still" -ge 8 ] && break
done
[ "$still" -ge 8 ] || bad "feedback's log still grows, idle: at $prev"
# and no replica spins: CPU seconds of each daemon over 2 s, idle
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
declare -A t0
for k in "${!PID[@]}"; do t0[$k]=$(cpu "${PID[$k]}"); done
sleep 2
hz=$(getconf CLK_TCK)
for k in "${!PID[@]}"; do
  used=$(( $(cpu "${PID[$k]}") - ${t0[$k]} ))
  [ $((used * 100 / hz)) -le 20 ] || bad "$k used $((used * 100 / hz)) cs of CPU in 2 s, idle"
done
done_check

check "transfer: feedback's leadership to a named host; it answers with everything"
old=$(leader_of feedback)
to=h1; [ "$old" = h1 ] && to=h2
ctl cluster transfer-leadership --service feedback --name "$to" | has "the leader is $to" ||
  bad "transfer: $(ctl cluster status --service feedback 2>&1)"
[ "$(leader_of feedback)" = "$to" ] || bad "the leader is $(leader_of feedback), not $to"
publish 100 150 || bad "publish after the transfer"
[ "$(count)" = 150 ] || bad "stats count $(count), not 150"
done_check

check "kill: feedback's leader SIGKILLed under a stream of publishes; none lost, none twice"
TOTAL=20150 # records; enough to be still publishing when the leader dies
l=$(leader_of feedback)
{ publish 150 "$TOTAL"; echo $? >"$DIR/pub.rc"; } &
pub=$!
sleep 0.1
kill -0 "$pub" 2>/dev/null || bad "the publishes ended before the kill: no failover under load"
kill -KILL "${PID[$l-feedbackd]}"
wait "$pub"
wait "${PID[$l-feedbackd]}" 2>/dev/null
[ "$(cat "$DIR/pub.rc")" = 0 ] || bad "a publish failed across the failover"
got=$(eventually count)
[ "$got" = $TOTAL ] || bad "stats count $got, not $TOTAL (each key once)"
publish 0 $TOTAL || bad "the same keys again"
[ "$(count)" = $TOTAL ] || bad "the same keys again stored twice: $(count)"
nl=$(leader_of feedback)
[ "$nl" != "$l" ] || bad "the killed replica still leads"
for _ in 1 2 3 4; do # followers, as of what they applied: alike once caught up
  c=$(eventually count --stale)
  for _ in $(seq 50); do [ "$c" = $TOTAL ] && break; sleep 0.1; c=$(count --stale); done
  [ "$c" = $TOTAL ] || bad "a replica's stats count $c"
done
done_check

echo "cluster_set: $n checks, $failed not ok"
[ "$failed" -eq 0 ]
