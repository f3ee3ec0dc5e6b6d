# Sourced by the shell tests: starts a daemon set on loopback ports the
# kernel picks. The caller has an array PIDS (it kills them on exit), a
# function fail MESSAGE, and SET_TMP, a directory for scratch files.

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

# start_set DIR BIN_DIR DAEMON...: a broker and the daemons (supplyd, ...)
# from the build tree BIN_DIR, with configs, logs and state in DIR; sets EP
# to the broker's client endpoint. $SET_EXTRA, if set, is added to every
# config (the broker's too). The broker knows the daemon set's services
# before they register ($SET_SERVICES; empty: a broker of before
# [broker] services, which would refuse the key).
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
${SET_EXTRA:-}
EOF
  "$bin/broker/traction-broker" --config "$dir/broker.conf" 2>"$dir/broker.log" &
  PIDS+=($!)
  for _ in $(seq 1 250); do [ -f "$dir/endpoints" ] && break; sleep 0.02; done
  [ -f "$dir/endpoints" ] || fail "the broker in $dir did not start"
  { cat "$dir/endpoints"
    printf 'heartbeat_ms = 200\n[store]\nstate_dir = %s/var\n[events]\nreplay_interval_ms = 200\n' "$dir"
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
