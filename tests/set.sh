# SPDX-License-Identifier: Apache-2.0
# Sourced by the shell tests: starts a daemon set on loopback ports the
# kernel picks. The caller has an array PIDS (it kills them on exit), a
# function fail MESSAGE, and SET_TMP, a directory for scratch files;
# set_traps gives it the first two.

# set_traps DIR NAME: PIDS, a fail that says "NAME: FAILED: ...", and on
# exit (a failure, Ctrl-C, a kill) every pid of PIDS stopped, the logs of
# DIR/set/ shown if it failed, DIR removed.
set_traps() {
  SET_TRAP_DIR=$1
  SET_TRAP_NAME=$2
  PIDS=()
  trap set_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  fail() { echo "$SET_TRAP_NAME: FAILED: $*" >&2; exit 1; }
}
set_cleanup() {
  local rc=$? p f
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    for f in "$SET_TRAP_DIR"/set/*.log; do [ -f "$f" ] && { echo "==== $f"; tail -n 20 "$f"; }; done >&2
  fi
  [ -n "${KEEP_DIR:-}" ] || rm -rf "$SET_TRAP_DIR"
  exit $rc
}

# Checks that say ok or not ok and let the run go on (so a daemon broken
# on purpose shows every check it turns red): check WHAT starts one, bad
# WHY marks it red (the first reason kept), done_check says which; $n
# checks so far, $failed not ok.
n=0 failed=0 red=""
check() { n=$((n + 1)); what=$*; red=""; }
bad() { [ -n "$red" ] || red=$*; }
done_check() {
  if [ -z "$red" ]; then echo "ok $n - $what"; else
    echo "not ok $n - $what: $red"; failed=$((failed + 1)); fi
}

# CMD | has PATTERN: all of CMD's output read before matching (under
# pipefail, grep -q stopping early would fail CMD with SIGPIPE).
has() { local out; out=$(cat); grep -q -- "$1" <<<"$out" || { echo "$out" >&2; return 1; }; }
# refuses PATTERN CMD...: CMD fails, saying PATTERN.
refuses() {
  local pat=$1 out; shift
  out=$("$@" 2>&1) && { echo "$out" >&2; return 1; }
  grep -q -- "$pat" <<<"$out" || { echo "$out" >&2; return 1; }
}

# eventually CMD...: events take a moment to travel; retries for up to 10 s
# and prints CMD's output once it succeeds.
eventually() {
  for _ in $(seq 1 200); do
    if "$@" >"$SET_TMP/out" 2>"$SET_TMP/err"; then cat "$SET_TMP/out"; return 0; fi
    sleep 0.05
  done
  cat "$SET_TMP/out" "$SET_TMP/err" >&2
  return 1
}

# ready CMD SERVICE...: each SERVICE answers `CMD ping SERVICE` within
# eventually's time, or the test fails.
ready() {
  local cmd=$1 s
  shift
  for s in "$@"; do
    eventually "$cmd" ping "$s" >/dev/null || fail "$s did not come up"
  done
}

# start_set DIR BIN_DIR DAEMON...: a broker and the daemons (supplyd, ...)
# from the build tree BIN_DIR, with configs, logs and state in DIR; sets EP
# to the broker's client endpoint. $SET_EXTRA, if set, is added to every
# config (the broker's too). The broker knows the daemon set's services
# before they register ($SET_SERVICES; empty: a broker of before
# [broker] services, which would refuse the key). No daemon serves
# metrics unless $SET_METRICS_BASE names a base port ($SET_METRICS empty:
# no [metrics] section at all, for builds from before it).
start_set() {
  local dir=$1 bin=$2 services=${SET_SERVICES-supply, scenario, feedback, iteration, deployment}
  shift 2
  mkdir -p "$dir"
  cat >"$dir/broker.conf" <<EOF
[bus]
client_endpoint = tcp://127.0.0.1:*
service_endpoint = tcp://127.0.0.1:*
event_publish_endpoint = tcp://127.0.0.1:*
event_subscribe_endpoint = tcp://127.0.0.1:*
heartbeat_ms = 200
[broker]
endpoints_file = $dir/endpoints
${services:+services = $services}
[store]
state_dir = $dir/var
${SET_METRICS-[metrics]
base_port = ${SET_METRICS_BASE:-0}}
${SET_EXTRA:-}
EOF
  "$bin/broker/traction-broker" --config "$dir/broker.conf" 2>"$dir/broker.log" &
  PIDS+=($!)
  for _ in $(seq 1 250); do [ -f "$dir/endpoints" ] && break; sleep 0.02; done
  [ -f "$dir/endpoints" ] || fail "the broker in $dir did not start"
  { cat "$dir/endpoints"
    printf 'heartbeat_ms = 200\n[store]\nstate_dir = %s/var\n[events]\nreplay_interval_ms = 200\n' "$dir"
    printf '%s\n' "${SET_METRICS-[metrics]
base_port = ${SET_METRICS_BASE:-0}}"
    printf '%s\n' "${SET_EXTRA:-}"
  } >"$dir/traction.conf"
  local d
  for d in "$@"; do
    "$bin/services/traction-$d" --config "$dir/traction.conf" 2>"$dir/$d.log" &
    PIDS+=($!)
  done
  EP=$(sed -n 's/^client_endpoint = //p' "$dir/endpoints")
  [ -n "$EP" ] || fail "the broker in $dir wrote no client endpoint"
}

# set_user DIR BIN_DIR NAME ROLE [EXTRA-LINE]: a user of the HTTP gateway in
# DIR/keys with a fresh token, whose clear text goes to DIR/tokens as
# "NAME TOKEN" (the tests' clients read it).
set_user() {
  local dir=$1 bin=$2 t
  mkdir -p "$dir/keys"
  t=$("$bin/clients/tractionctl/tractionctl" token)
  printf 'role = %s\n%s\n%s\n' "$4" "${5:-}" "$(sed -n 's/^tokens = /tokens = /p' <<<"$t")" \
    >"$dir/keys/$3.user"
  echo "$3 $(sed -n 's/^token = //p' <<<"$t")" >>"$dir/tokens"
}

# start_gateway_set DIR BIN_DIR [GATEWAY-LINES]: the four daemons and the
# gateway in DIR/set, with the users of DIR/keys (set_user), the gateway on
# a port the kernel picks (GATEWAY_PORT, if set) with these [gateway] keys
# too; sets GW (its pid) and GW_URL once it listens, EP as start_set.
start_gateway_set() {
  local dir=$1 bin=$2
  SET_TMP=$dir
  SET_EXTRA="[security]
keys_dir = $dir/keys"
  start_set "$dir/set" "$bin" supplyd scenariod feedbackd iterationd
  printf '[gateway]\nport = %s\naddress_file = %s\n%s\n' "${GATEWAY_PORT:-0}" \
    "$dir/set/gateway.url" "${3:-}" >>"$dir/set/traction.conf"
  start_gateway "$dir/set" "$bin"
}

# start_gateway DIR BIN_DIR: traction-gatewayd of DIR/traction.conf (whose
# [gateway] section sets address_file = DIR/gateway.url), logging to
# DIR/gateway.log; sets GW (its pid) and GW_URL once it listens.
start_gateway() {
  local dir=$1 bin=$2
  "$bin/gateway/traction-gatewayd" --config "$dir/traction.conf" 2>"$dir/gateway.log" &
  GW=$!
  PIDS+=($GW)
  for _ in $(seq 1000); do [ -f "$dir/gateway.url" ] && break; sleep 0.02; done
  [ -f "$dir/gateway.url" ] || fail "the gateway did not start"
  GW_URL=$(cat "$dir/gateway.url")
}

# Two brokers from one config file (docs/operations.md, "Two brokers"):
# two_brokers DIR writes DIR/traction.conf, whose [bus] keys list an
# endpoint per broker on free loopback ports, then the shared sections
# (more may be appended before the daemons start); A and B are the two
# client endpoints. start_broker DIR BIN_DIR N starts traction-broker@N and
# waits until it has bound; kill_broker N SIGKILLs it (and takes it out of
# the cleanup's list).
declare -A BPID
# the sections every set of several brokers shares (two_brokers,
# tests/cluster/hosts.sh): quick replays, no metrics, the known services
set_sections() {
  printf '[events]\nreplay_interval_ms = 200\n[metrics]\nbase_port = 0\n[broker]\n'
  printf 'services = supply, scenario, feedback, iteration, deployment\n'
}
two_brokers() {
  local dir=$1 P
  mkdir -p "$dir"
  read -r -a P < <(/usr/bin/python3 -c '
import socket
ss = [socket.socket() for _ in range(8)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
  A="tcp://127.0.0.1:${P[0]}" B="tcp://127.0.0.1:${P[4]}"
  cat >"$dir/traction.conf" <<EOF
[bus]
client_endpoint = $A, $B
service_endpoint = tcp://127.0.0.1:${P[1]}, tcp://127.0.0.1:${P[5]}
event_publish_endpoint = tcp://127.0.0.1:${P[2]}, tcp://127.0.0.1:${P[6]}
event_subscribe_endpoint = tcp://127.0.0.1:${P[3]}, tcp://127.0.0.1:${P[7]}
heartbeat_ms = 200
[store]
state_dir = $dir/var
; the publishers at full speed (ha.sh, bench/failover.sh) store millions
map_size_mb = 8192
$(set_sections)
EOF
}
start_broker() {
  local dir=$1 bin=$2 n=$3
  rm -f "$dir/endpoints.$n"
  "$bin/broker/traction-broker" --config "$dir/traction.conf" --set "broker.instance=$n" \
    --set "broker.endpoints_file=$dir/endpoints.$n" 2>>"$dir/broker$n.log" &
  BPID[$n]=$!
  PIDS+=($!)
  for _ in $(seq 1 250); do [ -f "$dir/endpoints.$n" ] && return 0; sleep 0.02; done
  fail "broker $n did not start"
}
kill_broker() {
  local p keep=()
  kill -KILL "${BPID[$1]}"
  wait "${BPID[$1]}" 2>/dev/null
  for p in "${PIDS[@]}"; do [ "$p" != "${BPID[$1]}" ] && keep+=("$p"); done
  PIDS=("${keep[@]}")
}
