# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Sourced by the cluster tests (after tests/set.sh): N hosts on this
# machine as network namespaces, each with an address of its own on one
# bridge, processes started in a host, and partitions. Nothing of the
# host's own network changes: the bridge lives in a namespace of its own
# too, and the veth pairs are made there, one end moved straight into
# its host (docs/scale-out.md, "Hosts in network namespaces").
#
#   netns_traps DIR NAME   set_traps (tests/set.sh) plus, on exit however
#                          it comes, every process of PIDS killed, every
#                          mount point of NETNS_MOUNTS unmounted (lazily:
#                          a FUSE file system killed with the rest) and
#                          every namespace of this run deleted
#   netns_deadline S       netns_in_time fails from S seconds on: a test's
#                          waits give up then, so that a red run still ends
#                          (and cleans up) before CTest's timeout kills it;
#                          and at S the test is stopped (SIGTERM) if it
#                          still runs
#   netns_seed             SEED (from the environment, or drawn) seeds
#                          $RANDOM and is printed: rerun with SEED=...
#   netns_setup N          hosts 1..N: NETNS_HOST[i] (the namespace),
#                          NETNS_ADDR[i] (10.A.B.i, A.B from this shell's
#                          pid), loopback up in each
#   netns_run I LOG CMD... CMD in host I, in the background, stderr and
#                          stdout to LOG; its pid in NETNS_PID[I] and PIDS
#   netns_kill I [SIG]     SIG (KILL) to host I's process, waited for; its
#                          exit status (a SIGTERM: whether it stopped cleanly)
#   netns_signal I SIG     SIG (STOP, CONT) to host I's process, not waited for
#   netns_partition I      host I cut off from every other (netem 100 %
#                          loss both ways where tc has netem, else its
#                          link down); netns_heal I undoes it
#
# Needs root (ip netns): CI runs as root. Not root is a failure that says
# so, never a skip. Variable NETNS_CUT=link forces link-down partitions.

declare -a NETNS_HOST NETNS_ADDR NETNS_PID NETNS_MOUNTS
NETNS_PREFIX=trcns$$
NETNS_BR=
NETNS_NET=

netns_traps() {
  set_traps "$1" "$2"
  trap netns_exit EXIT
  [ "$(id -u)" -eq 0 ] || fail "needs root for ip netns (CI runs as root; run it with sudo)"
  command -v ip >/dev/null || fail "needs ip (iproute2)"
}

netns_exit() {
  local rc=$? p
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${NETNS_MOUNTS[@]}"; do umount -l "$p" 2>/dev/null || true; done
  netns_cleanup
  (exit $rc)
  set_cleanup
}

# every namespace of this run; and those of runs killed before they could
# clean up (the same prefix with a pid that no longer runs)
netns_cleanup() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
    case $ns in
      "$NETNS_PREFIX"-*) ip netns del "$ns" 2>/dev/null || true ;;
      trcns*-*)
        pid=${ns#trcns}; pid=${pid%%-*}
        case $pid in '' | *[!0-9]*) continue ;; esac
        kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true ;;
    esac
  done
}

netns_deadline() {
  NETNS_END=$((SECONDS + $1))
  # past it the test is stopped (its cleanup runs): a wait that does not
  # ask netns_in_time cannot outlive CTest's timeout either
  local end=$(($(date +%s) + $1)) me=$$
  { while kill -0 "$me" 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do sleep 1; done
    kill -0 "$me" 2>/dev/null || exit 0
    echo "$SET_TRAP_NAME: FAILED: still running at its deadline ($1 s)" >&2
    kill -TERM "$me"; } &
  PIDS+=($!)
}
netns_in_time() { [ "$SECONDS" -lt "${NETNS_END:-999999}" ]; }

netns_seed() {
  SEED=${SEED:-$(( $(date +%s%N) % 1000000 ))}
  RANDOM=$SEED
  echo "seed $SEED (rerun with SEED=$SEED)"
}

netns_setup() {
  local n=$1 i
  netns_cleanup
  NETNS_NET=10.$(( ($$ >> 8) & 255 )).$(( $$ & 255 ))
  NETNS_BR=$NETNS_PREFIX-br
  ip netns add "$NETNS_BR" || fail "ip netns add $NETNS_BR"
  ip -n "$NETNS_BR" link add br0 type bridge || fail "no bridge in $NETNS_BR"
  ip -n "$NETNS_BR" link set br0 up
  for i in $(seq 1 "$n"); do
    NETNS_HOST[i]=$NETNS_PREFIX-h$i
    NETNS_ADDR[i]=$NETNS_NET.$i
    ip netns add "${NETNS_HOST[i]}" || fail "ip netns add ${NETNS_HOST[i]}"
    ip -n "$NETNS_BR" link add "v$i" type veth peer name eth0 netns "${NETNS_HOST[i]}" ||
      fail "no veth pair for host $i"
    ip -n "$NETNS_BR" link set "v$i" master br0
    ip -n "$NETNS_BR" link set "v$i" up
    ip -n "${NETNS_HOST[i]}" link set lo up
    ip -n "${NETNS_HOST[i]}" addr add "${NETNS_ADDR[i]}/24" dev eth0
    ip -n "${NETNS_HOST[i]}" link set eth0 up
  done
  # host 1 reaches every other before anything starts (no ping here: a
  # refused TCP connection is an answer from the host)
  for i in $(seq 2 "$n"); do
    netns_reaches 1 "${NETNS_ADDR[i]}" || fail "host 1 cannot reach host $i (${NETNS_ADDR[i]})"
  done
  if [ "${NETNS_CUT:-}" != link ] &&
     ip netns exec "${NETNS_HOST[1]}" tc qdisc add dev eth0 root netem loss 0% 2>/dev/null; then
    ip netns exec "${NETNS_HOST[1]}" tc qdisc del dev eth0 root
    NETNS_CUT='netem'
  else
    NETNS_CUT='link'
  fi
  echo "netns: $n hosts ${NETNS_HOST[*]} on $NETNS_NET.0/24, bridge in $NETNS_BR;" \
       "partitions by $NETNS_CUT"
}

# netns_reaches I ADDR: host I gets an answer from ADDR within 2 s
netns_reaches() {
  ip netns exec "${NETNS_HOST[$1]}" /usr/bin/python3 -c '
import socket, sys
s = socket.socket()
s.settimeout(2)
try:
    s.connect((sys.argv[1], 9))
except ConnectionRefusedError:
    pass' "$2" 2>/dev/null
}

netns_run() {
  local i=$1 log=$2
  shift 2
  ip netns exec "${NETNS_HOST[i]}" "$@" >>"$log" 2>&1 &
  NETNS_PID[i]=$!
  PIDS+=($!)
}

netns_kill() {
  local i=$1 p keep=() rc=0
  kill -"${2:-KILL}" "${NETNS_PID[i]}" 2>/dev/null
  wait "${NETNS_PID[i]}" 2>/dev/null || rc=$?
  for p in "${PIDS[@]}"; do [ "$p" != "${NETNS_PID[i]}" ] && keep+=("$p"); done
  PIDS=("${keep[@]}")
  NETNS_PID[i]=
  return $rc
}

netns_signal() { kill -"$2" "${NETNS_PID[$1]}" || fail "could not send SIG$2 to host $1"; }

netns_partition() {
  local i=$1
  echo "netns: host $i cut off ($NETNS_CUT)"
  if [ "$NETNS_CUT" = netem ]; then
    ip netns exec "${NETNS_HOST[i]}" tc qdisc add dev eth0 root netem loss 100% &&
    ip netns exec "$NETNS_BR" tc qdisc add dev "v$i" root netem loss 100%
  else
    ip -n "$NETNS_BR" link set "v$i" down
  fi || fail "could not cut host $i off"
}

netns_heal() {
  local i=$1
  echo "netns: host $i back"
  if [ "$NETNS_CUT" = netem ]; then
    ip netns exec "${NETNS_HOST[i]}" tc qdisc del dev eth0 root &&
    ip netns exec "$NETNS_BR" tc qdisc del dev "v$i" root
  else
    ip -n "$NETNS_BR" link set "v$i" up
  fi || fail "could not bring host $i back"
}
