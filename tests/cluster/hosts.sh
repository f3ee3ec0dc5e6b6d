# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Sourced (after tests/set.sh and netns.sh, with netns_setup 3 done) by
# the tests and benchmarks of the daemon set on three hosts
# (tests/cluster/set.sh, bench/cluster.sh): on each host a broker (one of
# the three of [bus]'s lists) and supplyd, scenariod, feedbackd and
# iterationd in cluster mode, a state directory each under DIR; clients
# (tractionctl) run in host $CLIENT's namespace and know the three
# brokers, their own host's first.
#
#   hosts_conf DIR [EXTRA]  DIR/set/traction.conf for the three hosts,
#                           EXTRA lines added to its [cluster] section
#   in_host H NAME CMD...   CMD in host H's namespace, in the background,
#                           stderr to DIR/set/hH-NAME.log; its pid in
#                           PID[H-NAME] and PIDS
#   start_host H            host H's broker and daemons (start_host_broker H,
#                           start_daemon H DAEMON [--set K=V...])
#   hosts_cutfs CUTFS       each host's state directory DIR/hH on a
#                           trc-cutfs of its own (tests/powercut/cutfs.c)
#                           over DIR/hH.disk, seeded from $RANDOM; before
#                           start_host
#   power_cut H             host H's power goes: its broker and daemons
#                           SIGKILLed at once, its disk left with what they
#                           synced (and a seeded part of the rest, torn at
#                           sectors); the disk mounted again, nothing started
#   hosts_leaders           every group has a leader (within 30 s), and
#                           at once not if a broker or daemon started died
#                           (the last line of its log said)
#   ctl ARGS...             tractionctl from host $CLIENT
#   leader_of SERVICE       the number of the host whose replica leads
#   quiet SERVICE           the leader's last entry if every member holds
#                           it and the store applied it, else "busy"

A=("" "${NETNS_ADDR[1]}" "${NETNS_ADDR[2]}" "${NETNS_ADDR[3]}")
DAEMONS=(supplyd scenariod feedbackd iterationd)
CLIENT=1
declare -A PID FS
eps() { echo "tcp://${A[1]}:$1, tcp://${A[2]}:$1, tcp://${A[3]}:$1"; }

hosts_conf() { # DIR [EXTRA]
  HOSTS_DIR=$1
  mkdir -p "$HOSTS_DIR/set"
  cat >"$HOSTS_DIR/set/traction.conf" <<EOC
[bus]
client_endpoint = $(eps 7400)
service_endpoint = $(eps 7401)
event_publish_endpoint = $(eps 7402)
event_subscribe_endpoint = $(eps 7403)
heartbeat_ms = 200
[store]
state_dir = $HOSTS_DIR/var
$(set_sections)
[cluster]
members = h1=${A[1]}, h2=${A[2]}, h3=${A[3]}
plain_ok = 1
${2:-}
EOC
}

in_host() { # HOST NAME CMD...
  local h=$1 name=$2
  shift 2
  ip netns exec "${NETNS_HOST[h]}" "$@" 2>>"$HOSTS_DIR/set/h$h-$name.log" &
  PID[$h-$name]=$!
  PIDS+=($!)
}
start_daemon() { # HOST DAEMON [--set K=V...]
  local h=$1 d=$2
  shift 2
  in_host "$h" "$d" "$BUILD/services/traction-$d" --config "$HOSTS_DIR/set/traction.conf" \
    --set "cluster.node=h$h" --set "store.state_dir=$HOSTS_DIR/h$h" "$@"
}
start_host_broker() { # HOST
  in_host "$1" broker "$BUILD/broker/traction-broker" --config "$HOSTS_DIR/set/traction.conf" \
    --set "broker.instance=$1" --set "store.state_dir=$HOSTS_DIR/h$1"
}
start_host() { # HOST
  local d
  start_host_broker "$1"
  for d in "${DAEMONS[@]}"; do start_daemon "$1" "$d"; done
}

hosts_cutfs() { # CUTFS
  HOSTS_CUTFS=$1
  local h
  for h in 1 2 3; do host_disk "$h"; done
}
host_disk() { # HOST: its trc-cutfs mounted
  local h=$1 mnt=$HOSTS_DIR/h$1
  mkdir -p "$mnt.disk" "$mnt"
  "$HOSTS_CUTFS" "$mnt.disk" "$mnt" "$RANDOM" 2>>"$HOSTS_DIR/set/h$h-cutfs.log" &
  FS[$h]=$!
  PIDS+=($!)
  NETNS_MOUNTS+=("$mnt")
  for _ in $(seq 500); do mountpoint -q "$mnt" && return 0; sleep 0.01; done
  fail "trc-cutfs did not mount $mnt"
}
power_cut() { # HOST
  local h=$1 p done=$HOSTS_DIR/h$1.disk/.cut-done
  for p in broker "${DAEMONS[@]}"; do kill -KILL "${PID[$h-$p]}" 2>/dev/null; done
  for p in broker "${DAEMONS[@]}"; do wait "${PID[$h-$p]}" 2>/dev/null; done
  kill -USR1 "${FS[$h]}" # the moment the power went: after the processes
  for _ in $(seq 1000); do [ -s "$done" ] && break; sleep 0.01; done
  [ -s "$done" ] || fail "host $h's power cut did not finish"
  echo "power cut: host $h: $(cat "$done")"
  rm -f "$done"
  kill -KILL "${FS[$h]}"
  wait "${FS[$h]}" 2>/dev/null
  umount -l "$HOSTS_DIR/h$h"
  host_disk "$h"
}

hosts_alive() {
  local k
  for k in "${!PID[@]}"; do
    kill -0 "${PID[$k]}" 2>/dev/null && continue
    echo "h$k is not running: $(tail -1 "$HOSTS_DIR/set/h$k.log" 2>/dev/null)" >&2
    return 1
  done
}
hosts_leaders() {
  local s end=$((SECONDS + 30))
  for s in supply scenario feedback iteration; do
    while [ "$SECONDS" -lt "$end" ]; do
      hosts_alive || return 1
      leader_of "$s" >/dev/null 2>&1 && continue 2
      sleep 0.1
    done
    echo "$s: no leader within 30 s" >&2
    return 1
  done
}

# the clients' brokers: their own host's first, as a client near a broker
# has them (a broker cut off by a partition answers nothing: a client
# that tries it first waits out its deadline before the next)
client_eps() { local i e="tcp://${A[$CLIENT]}:7400"
  for i in 1 2 3; do [ "$i" != "$CLIENT" ] && e="$e,tcp://${A[i]}:7400"; done; echo "$e"; }
ctl() { ip netns exec "${NETNS_HOST[$CLIENT]}" "$BUILD/clients/tractionctl/tractionctl" \
  --endpoint "$(client_eps)" --timeout 15000 "$@"; }
leader_of() { ctl --json cluster status --service "$1" |
  /usr/bin/python3 -c 'import json, sys; l = json.load(sys.stdin)["leader"][1:]; print(l)
sys.exit(0 if l else 1)'; }
quiet() { ctl --json cluster status --service "$1" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
ok = d["state"] == "leader" and len(d["members"]) == 3 and all(
    int(m.get("match_index", 0)) == int(d["last_index"]) for m in d["members"] if not m.get("leader"))
ok = ok and int(d["last_applied"]) == int(d["store_applied"]) == int(d["last_index"])
print(d["last_index"] if ok else "busy")'; }
