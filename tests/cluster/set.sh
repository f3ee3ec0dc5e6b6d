#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The daemon set on three hosts, each a network namespace with an address
# of its own on one bridge (netns.sh): on each host a broker (one of the
# three of [bus]'s lists) and supplyd, scenariod, feedbackd and iterationd
# in cluster mode, a state directory each; clients (tractionctl, in host
# 1's namespace) know the three brokers. The seed of what is drawn is
# printed (rerun with SEED=...).
#
#   status     every group has a leader of three voters
#   story      provider, supply, scenario, deployment, feedback
#   kill       the host of feedback's leader loses its broker and its
#              feedbackd (SIGKILL) under a stream of publishes with keys:
#              the other two go on, every record acknowledged stored once
#   partition  the host of feedback's new leader cut off: the majority
#              elects and takes writes, through its own brokers; a write
#              from the cut host is not acknowledged (nor stored); healed,
#              the cut host catches up: the stats of every replica equal
#   stop       feedback's leader frozen (SIGSTOP) past the election
#              timeout under publishes, then resumed: the others elect and
#              go on; a read after the resume sees every acknowledged write
#   wipe       a follower of feedback removed from the group, its
#              store and log wiped, started to join and added again under
#              publishes: it catches up (the checker: to the same store)
#   power cut  the host of feedback's leader loses its power under
#              publishes (every host's state is on a trc-cutfs of its own,
#              tests/powercut/cutfs.c): its broker and daemons SIGKILLed,
#              what they did not sync dropped; started again on what its
#              disk kept, it catches up from its own raft log (no store
#              fetched) and every replica counts every acknowledged write
#   faults     FAULTS rounds (4; the long profile: FAULTS=40), each a
#              fault drawn under 500 publishes with keys: feedback's
#              leader SIGKILLed, a follower SIGKILLed, a broker SIGKILLed,
#              the leader's host cut off, the leader frozen, or a host's
#              power cut; then restarted, healed or resumed: every
#              publish acknowledged and stored once
#   checker    every group quiet, every daemon stopped: on the three
#              hosts each daemon's store has the same last entry, event
#              log and digest (trc-storecheck), and feedbackd's records
#              exactly the acknowledged keys, each once
#
# With DEMO=1 it stops after "story" and leaves the cluster running until
# Ctrl-C, printing how to reach it (deploy/cluster-demo.sh).
#   tests/cluster/set.sh BUILD_DIR
set -uo pipefail
BUILD=$(cd "${1:?usage: set.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=$(mktemp -d /tmp/trc-nsset-XXXXXX)
# shellcheck source=../set.sh
source "$HERE/../set.sh"
# shellcheck source=netns.sh
source "$HERE/netns.sh"
netns_traps "$DIR" cluster.set
SET_TMP=$DIR
netns_seed
FAULTS=${FAULTS:-4}
# (the demo stays up until Ctrl-C: no deadline)
[ -n "${DEMO:-}" ] || netns_deadline $((390 + 20 * FAULTS))
netns_setup 3
# shellcheck source=hosts.sh
source "$HERE/hosts.sh"
hosts_conf "$DIR" "election_timeout_ms = 500
heartbeat_ms = 50"
# the hosts' disks can lose power (not in the demo: it cuts nothing)
[ -n "${DEMO:-}" ] || hosts_cutfs "$BUILD/tests/integration/trc-cutfs"
for h in 1 2 3; do start_host $h; done

check "status: every group has a leader of three voters"
hosts_leaders || fail "the cluster did not come up"
eventually ctl status >/dev/null || bad "the set is not live: $(ctl status 2>&1)"
for s in supply scenario feedback iteration; do
  l=$(eventually leader_of "$s") || { bad "$s: no leader"; continue; }
  [ "$(ctl cluster status --service "$s" | grep -c ' voter ')" -eq 3 ] || bad "$s: not 3 voters"
done
done_check

check "story: provider, supply, scenario, deployment and feedback"
ctl provider add acme --name Acme --kind ai-company >/dev/null || bad "provider add"
ctl supply register vision --provider acme --kind industrial-algorithm --name Vision \
  --capability defect-detection --version 1.0 >/dev/null || bad "supply register"
ctl scenario submit weld --enterprise E --domain production --name Weld \
  --need defect-detection >/dev/null || bad "scenario submit"
eventually ctl scenario match weld | has vision || bad "match"
eventually ctl deployment adopt weld vision@1.0 >/dev/null || bad "deployment adopt"
publish() { # FROM TO: records with keys k-FROM..k-TO-1
  local i
  for i in $(seq "$1" $(($2 - 1))); do
    echo "{\"scenario\":\"weld\",\"supply\":\"vision\",\"version\":\"1.0\",\"key\":\"k-$i\",\"metric\":{\"name\":\"rate\",\"value\":0.5}}"
  done | ctl feedback publish --file - >/dev/null 2>>"$DIR/publish.err" ||
    { echo "publish $1..$2: $(tail -3 "$DIR/publish.err")" >&2; return 1; }
}
new_leader() { # OLD: until a replica on another host leads feedback (10 s)
  local nl
  for _ in $(seq 100); do
    netns_in_time || return 1
    nl=$(leader_of feedback 2>/dev/null)
    [ -n "$nl" ] && [ "$nl" != "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
count() { ctl --json "$@" feedback stats --scenario weld --supply vision@1.0 --metric rate |
  /usr/bin/python3 -c 'import json, sys; d = json.load(sys.stdin)
print(max([int(m["stats"]["count"]) for m in d.get("metrics", [])] or [0]))'; }
replicas_count() { # WANT: STALE reads, each replica in turn (the broker's
  local c             # ties go round), until each counts WANT (10 s each)
  for _ in $(seq 9); do
    for _ in $(seq 100); do
      c=$(count --stale 2>/dev/null)
      [ "$c" = "$1" ] && break
      sleep 0.1
    done
    [ "$c" = "$1" ] || { echo "a replica's stats count $c, not $1" >&2; return 1; }
  done
}
eventually publish 0 100 || bad "publish"
[ "$(eventually count)" = 100 ] || bad "stats count $(count), not 100"
done_check

if [ -n "${DEMO:-}" ]; then
  echo
  echo "The cluster runs: 3 hosts, ${NETNS_HOST[*]}; brokers at $(eps 7400)."
  echo "In another shell, as root:"
  echo "  ip netns exec ${NETNS_HOST[1]} $BUILD/clients/tractionctl/tractionctl \\"
  echo "    --endpoint '$(eps 7400 | tr -d ' ')' cluster status"
  echo "Logs: $DIR/set/. Ctrl-C stops it and removes everything."
  while :; do sleep 3600; done
fi

check "kill: the host of feedback's leader loses its broker and feedbackd under publishes"
TOTAL=20100
l=$(leader_of feedback)
[ "$l" = 1 ] && CLIENT=2 # the clients go on from a host that stays
{ publish 100 "$TOTAL"; echo $? >"$DIR/pub.rc"; } &
pub=$!
sleep 0.$((RANDOM % 5 + 1))
kill -0 "$pub" 2>/dev/null || bad "the publishes ended before the kill"
echo "kill: host $l's broker and feedbackd"
kill -KILL "${PID[$l-feedbackd]}" "${PID[$l-broker]}"
wait "${PID[$l-feedbackd]}" "${PID[$l-broker]}" 2>/dev/null
wait "$pub"
[ "$(cat "$DIR/pub.rc")" = 0 ] || bad "a publish failed across the failover"
got=$(eventually count)
[ "$got" = $TOTAL ] || bad "stats count $got, not $TOTAL (each key once)"
publish 0 $TOTAL || bad "the same keys again"
[ "$(count)" = $TOTAL ] || bad "the same keys stored twice: $(count)"
nl=$(eventually leader_of feedback)
[ -n "$nl" ] && [ "$nl" != "$l" ] || bad "feedback's leader after the kill: '$nl'"
done_check

check "partition: the new leader's host cut off; the majority goes on; healed, it catches up"
start_host_broker "$l"
start_daemon "$l" feedbackd
cut=$(eventually leader_of feedback)
for c in 1 2 3; do [ "$c" != "$cut" ] && CLIENT=$c; done
echo "partition: host $cut cut off"
netns_partition "$cut"
new_leader "$cut" || bad "the majority elected no leader"
publish $TOTAL $((TOTAL + 500)) || bad "the majority took no writes"
# the minority refuses: from the cut host only its own broker is reached,
# and its feedbackd leads no majority (the count below: never stored)
c=$CLIENT
CLIENT=$cut
ctl --timeout 2000 feedback publish --scenario weld --supply vision@1.0 --metric rate=0.5 \
  --key minority-1 >/dev/null 2>&1 && bad "the cut host acknowledged a write"
CLIENT=$c
[ "$(eventually count)" = $((TOTAL + 500)) ] || bad "stats count $(count) on the majority"
netns_heal "$cut"
CLIENT=$cut # from the healed host
replicas_count $((TOTAL + 500)) || bad "a replica's count after the heal"
done_check

check "stop: feedback's leader frozen (SIGSTOP) past the election timeout, then resumed"
FROM=$((TOTAL + 500))
END=$((FROM + 2500))
s=$(eventually leader_of feedback)
for c in 1 2 3; do [ "$c" != "$s" ] && CLIENT=$c; done
{ publish $((FROM + 500)) $END; echo $? >"$DIR/pub.rc"; } &
pub=$!
sleep 0.$((RANDOM % 5 + 1))
echo "stop: host $s's feedbackd"
kill -STOP "${PID[$s-feedbackd]}"
new_leader "$s" || bad "no other leader while the leader is frozen"
publish $FROM $((FROM + 500)) || bad "the new leader took no writes"
want=$(count) # with the stream's: every write acknowledged until now, at least
kill -CONT "${PID[$s-feedbackd]}"
# at once, while it may still think it leads: a linearizable read sees
# every write acknowledged before it (a deposed leader's store does not)
for _ in 1 2 3 4 5; do
  c=$(count)
  [ -n "$c" ] && [ "$c" -ge "$want" ] || bad "a read after the resume saw $c of $want writes"
  want=$c
done
wait "$pub"
[ "$(cat "$DIR/pub.rc")" = 0 ] || bad "a publish failed across the freeze"
[ "$(eventually count)" = $END ] || bad "stats count $(count), not $END"
done_check

check "wipe: a follower of feedback removed, wiped, started to join and added again"
FROM=$END
END=$((END + 1000))
l=$(eventually leader_of feedback)
w=1 # the lower follower: never h3, whose id is also the next free one
[ "$l" = 1 ] && w=2
CLIENT=$l
{ publish $FROM $END; echo $? >"$DIR/pub.rc"; } &
pub=$!
echo "wipe: host $w's feedbackd"
out=$(ctl cluster remove --name "h$w" --service feedback) || bad "cluster remove h$w: $out"
[ "$(ctl cluster status --service feedback | grep -c ' voter ')" -eq 2 ] || bad "not 2 voters"
kill -KILL "${PID[$w-feedbackd]}"
wait "${PID[$w-feedbackd]}" 2>/dev/null
rm -rf "$DIR/h$w/feedbackd"
start_daemon "$w" feedbackd --set cluster.join=1
out=$(ctl cluster add --name "h$w" --host "${A[$w]}" --service feedback) ||
  bad "cluster add h$w: $out"
wait "$pub"
[ "$(cat "$DIR/pub.rc")" = 0 ] || bad "a publish failed while a member was wiped"
[ "$(eventually count)" = $END ] || bad "stats count $(count), not $END"
[ "$(ctl cluster status --service feedback | grep -c ' voter ')" -eq 3 ] ||
  bad "not 3 voters after the add"
replicas_count $END || bad "a replica's count after the wiped member was added again"
done_check

check "power cut: the host of feedback's leader loses its power under publishes"
FROM=$END
END=$((END + 2000))
p=$(eventually leader_of feedback)
for c in 1 2 3; do [ "$c" != "$p" ] && CLIENT=$c; done
fetched=$(grep -c "store is in place" "$DIR/set/h$p-feedbackd.log")
{ publish $FROM $END; echo $? >"$DIR/pub.rc"; } &
pub=$!
sleep 0.$((RANDOM % 5 + 1))
kill -0 "$pub" 2>/dev/null || bad "the publishes ended before the cut"
power_cut "$p"
new_leader "$p" || bad "no other leader after the power cut"
start_host "$p"
wait "$pub"
[ "$(cat "$DIR/pub.rc")" = 0 ] || bad "a publish failed across the power cut"
[ "$(eventually count)" = $END ] || bad "stats count $(count), not $END"
replicas_count $END || bad "a replica's count after the power cut"
[ "$(grep -c "store is in place" "$DIR/set/h$p-feedbackd.log")" = "$fetched" ] ||
  bad "host $p's feedbackd fetched a store after the cut (its own log should do)"
done_check

# Faults drawn in a loop (from the seed), each under a stream of 500
# publishes; the clients on a host the fault leaves whole.
for round in $(seq 1 "$FAULTS"); do
  f=$((RANDOM % 6))
  l=$(eventually leader_of feedback)
  o=$((l % 3 + 1))          # another host
  CLIENT=$((o % 3 + 1))     # and the third: the clients'
  said=("feedback's leader on host $l SIGKILLed" "feedback's follower on host $o SIGKILLed"
    "host $o's broker SIGKILLed" "host $l, feedback's leader's, cut off"
    "feedback's leader on host $l frozen (SIGSTOP)" "host $l's power cut")
  check "fault $round: ${said[f]}, under 500 publishes"
  FROM=$END
  END=$((END + 500))
  { publish $FROM $END; echo $? >"$DIR/pub.rc"; } &
  pub=$!
  sleep 0.$((RANDOM % 3 + 1))
  case $f in
  0) kill -KILL "${PID[$l-feedbackd]}"; wait "${PID[$l-feedbackd]}" 2>/dev/null
     new_leader "$l" || bad "no new leader"; start_daemon "$l" feedbackd ;;
  1) kill -KILL "${PID[$o-feedbackd]}"; wait "${PID[$o-feedbackd]}" 2>/dev/null
     sleep 0.5; start_daemon "$o" feedbackd ;;
  2) kill -KILL "${PID[$o-broker]}"; wait "${PID[$o-broker]}" 2>/dev/null
     sleep 0.5; start_host_broker "$o" ;;
  3) netns_partition "$l"; new_leader "$l" || bad "the majority elected no leader"
     netns_heal "$l" ;;
  4) kill -STOP "${PID[$l-feedbackd]}"; new_leader "$l" || bad "no new leader"
     kill -CONT "${PID[$l-feedbackd]}" ;;
  5) power_cut "$l"; new_leader "$l" || bad "no new leader"; start_host "$l" ;;
  esac
  wait "$pub"
  [ "$(cat "$DIR/pub.rc")" = 0 ] || bad "a publish failed across the fault"
  [ "$(eventually count)" = $END ] || bad "stats count $(count), not $END"
  done_check
done

check "checker: on every replica each acknowledged key stored once, equal stores"
# quiet (hosts.sh): each group's leader knows every member holds its last
# entry, and nothing has come since for a second (the followers then
# learn the commit index and apply it)
for g in supply scenario feedback iteration; do
  last=""
  for _ in $(seq 60); do
    q=$(quiet "$g" 2>/dev/null)
    [ "$q" != busy ] && [ -n "$q" ] && [ "$q" = "$last" ] && break
    last=$q
    sleep 1
  done
  [ "$q" != busy ] && [ "$q" = "$last" ] || bad "$g did not go quiet ($q)"
done
sleep 0.5
for h in 1 2 3; do for d in "${DAEMONS[@]}"; do kill -TERM "${PID[$h-$d]}"; done; done
for h in 1 2 3; do for d in "${DAEMONS[@]}"; do wait "${PID[$h-$d]}"; done; done
seq 0 $((END - 1)) | sed 's/^/key k-/' | sort >"$DIR/sent"
for d in "${DAEMONS[@]}"; do
  "$BUILD/tests/cluster/trc-storecheck" "$DIR"/h{1,2,3}/"$d"/data.mdb >"$DIR/check.$d" ||
    bad "$d: a store that cannot be read"
  sed "s|^$DIR/||" "$DIR/check.$d"
  # the same entries applied, the same records, the same event log
  [ "$(awk '{print $5, $7}' "$DIR/check.$d" | sort -u | wc -l)" = 1 ] ||
    bad "$d: the replicas' event logs or applied entries differ: $(cat "$DIR/check.$d")"
  [ "$(awk '{print $3}' "$DIR/check.$d" | sort -u | wc -l)" = 1 ] ||
    bad "$d: the replicas' stores differ: $(cat "$DIR/check.$d")"
done
for h in 1 2 3; do
  "$BUILD/tests/cluster/trc-storecheck" --keys "$DIR/h$h/feedbackd/data.mdb" |
    grep '^key ' | sort >"$DIR/keys.$h"
  dup=$(uniq -d "$DIR/keys.$h" | head -3)
  [ -z "$dup" ] || bad "host $h stored keys twice: $dup"
  cmp -s "$DIR/keys.$h" "$DIR/sent" ||
    bad "host $h's keys are not the acknowledged ones: $(diff "$DIR/sent" "$DIR/keys.$h" | head -4)"
done
done_check

echo "cluster.set: $n checks, $failed not ok (seed $SEED)"
[ "$failed" -eq 0 ]
