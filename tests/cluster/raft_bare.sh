#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Three bare C-Raft nodes (bench/raft_bare.c) in three network namespaces
# (tests/cluster/netns.sh): the harness and the faults of issue #30 on
# raft alone, before cluster mode runs on it.
#   1. a leader is elected; entries are applied on all three, same digest
#   2. the leader cut off: a proposal on it does not complete and its
#      applied count does not move, while the majority elects a new leader
#      and applies more
#   3. healed: the old leader catches up to the same count and digest
#   4. the leader SIGSTOPped past the election timeout: the others elect
#      and apply; SIGCONT: an entry asked of it while stopped is not
#      applied, and it catches up
#   5. a node (drawn with the printed seed) SIGKILLed, entries applied
#      without it, restarted from its data directory: it catches up
#   6. SIGTERM: each node stops cleanly (under ASan: frees what it made)
# Each check says ok or not ok; the run goes on where it can. Needs root.
#   tests/cluster/raft_bare.sh PATH/TO/trc-raft-bare
set -uo pipefail
BIN=${1:?usage: raft_bare.sh PATH/TO/trc-raft-bare}
DIR=$(mktemp -d /tmp/trc-cluster-XXXXXX)
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
# shellcheck source=netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
netns_traps "$DIR" cluster.raft_bare
netns_deadline 45
mkdir -p "$DIR/set"
netns_seed
netns_setup 3
MEMBERS="1=${NETNS_ADDR[1]}:7501,2=${NETNS_ADDR[2]}:7501,3=${NETNS_ADDR[3]}:7501"
started=$(date +%s)

start() { netns_run "$1" "$DIR/set/n$1.log" "$BIN" node --id "$1" --dir "$DIR/n$1" --members "$MEMBERS"; }
ctl() { local i=$1; shift; "$BIN" ctl "$DIR/n$i" "$@"; }
# field I KEY: KEY of node I's status ("" if it does not answer)
field() { ctl "$1" status 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# leader_among I...: the one of them that says it leads, within 10 s
leader_among() {
  local i
  for _ in $(seq 1 200); do
    netns_in_time || return 1
    for i in "$@"; do [ "$(field "$i" state)" = leader ] && { echo "$i"; return 0; }; done
    sleep 0.05
  done
  return 1
}
# same_as I J...: each of J... has node I's count and digest, within 10 s
same_as() {
  local want j ok
  for _ in $(seq 1 200); do
    netns_in_time || break
    want="$(field "$1" count) $(field "$1" digest)"
    ok=1
    for j in "${@:2}"; do [ "$(field "$j" count) $(field "$j" digest)" = "$want" ] || ok=0; done
    [ "$ok" = 1 ] && [ "${want% *}" != "" ] && return 0
    sleep 0.05
  done
  for j in "$@"; do echo "node $j: $(ctl "$j" status 2>&1)" >&2; done
  return 1
}
# load I: node I applies entries for 1 s; prints how many
load() { ctl "$1" --timeout 8000 load 8 256 1000 | tr ' ' '\n' | sed -n 's/^entries=//p'; }

for i in 1 2 3; do start "$i"; done

check "a leader is elected; its entries are applied on all three, one digest"
L=$(leader_among 1 2 3) || fail "no leader within 10 s"
got=$(load "$L")
[ "${got:-0}" -gt 0 ] || bad "leader $L applied no entry of its load"
same_as "$L" 1 2 3 || bad "the three differ"
echo "# leader $L; $(field "$L" count) entries"
done_check

others=()
for i in 1 2 3; do [ "$i" != "$L" ] && others+=("$i"); done
check "leader $L cut off: a proposal on it does not complete, its count does not move"
before=$(field "$L" count)
netns_partition "$L"
reply=$(ctl "$L" --timeout 8000 apply 64 2500)
case $reply in applied*) bad "the cut-off leader applied an entry: $reply" ;; esac
echo "# on the cut-off node: $reply"
done_check

check "the majority (${others[*]}) elects a new leader and applies more"
M=$(leader_among "${others[@]}") || bad "no leader among ${others[*]} within 10 s"
if [ -n "${M:-}" ]; then
  got=$(load "$M")
  [ "${got:-0}" -gt 0 ] || bad "new leader $M applied nothing"
  same_as "$M" "${others[@]}" || bad "the majority differs"
  [ "$(field "$M" count)" -gt "$before" ] || bad "the majority's count did not grow"
fi
now=$(field "$L" count)
[ "$now" = "$before" ] || bad "the cut-off node's count moved: $before -> $now"
echo "# cut-off node $L at $now, majority at $(field "${M:-${others[0]}}" count)"
done_check

check "healed: node $L catches up to the same count and digest"
netns_heal "$L"
M=$(leader_among 1 2 3) || bad "no leader after the heal"
same_as "${M:-${others[0]}}" 1 2 3 || bad "node $L did not catch up"
done_check

S=$(leader_among 1 2 3) || fail "no leader after the heal"
others=()
for i in 1 2 3; do [ "$i" != "$S" ] && others+=("$i"); done
check "leader $S SIGSTOPped past the election timeout: the others elect and apply; SIGCONT: what it was asked while stopped is not applied, and it catches up"
netns_signal "$S" STOP
M=$(leader_among "${others[@]}") || bad "no leader among ${others[*]} while $S is stopped"
if [ -n "${M:-}" ]; then
  got=$(load "$M")
  [ "${got:-0}" -gt 0 ] || bad "new leader $M applied nothing"
fi
# asked while stopped: the request waits in its socket, read on SIGCONT
ctl "$S" --timeout 8000 apply 64 3000 >"$DIR/stopped.reply" 2>&1 &
asked=$!
sleep 0.3
netns_signal "$S" CONT
wait "$asked"
reply=$(cat "$DIR/stopped.reply")
case $reply in applied*) bad "the deposed leader applied an entry: $reply" ;; esac
echo "# asked of the deposed leader $S: $reply"
same_as "${M:-${others[0]}}" 1 2 3 || bad "node $S did not catch up"
done_check

K=$(( RANDOM % 3 + 1 ))
check "node $K SIGKILLed, entries applied without it, restarted from its data dir: it catches up"
netns_kill "$K"
live=()
for i in 1 2 3; do [ "$i" != "$K" ] && live+=("$i"); done
M=$(leader_among "${live[@]}") || bad "no leader among ${live[*]}"
if [ -n "${M:-}" ]; then
  got=$(load "$M")
  [ "${got:-0}" -gt 0 ] || bad "leader $M applied nothing without node $K"
fi
start "$K"
same_as "${M:-${live[0]}}" 1 2 3 || bad "node $K did not catch up"
echo "# all three at $(field 1 count) entries, digest $(field 1 digest)"
done_check

check "SIGTERM: each node stops cleanly (exit 0; under ASan, no leak)"
for i in 1 2 3; do
  netns_kill "$i" TERM || bad "node $i exited $? (its log below)"
done
done_check

netns_in_time || echo "cluster.raft_bare: the waits gave up at the deadline (45 s)" >&2
echo "cluster.raft_bare: $n checks, $failed not ok, $(( $(date +%s) - started )) s (seed $SEED)"
[ "$failed" -eq 0 ]
