#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing (Debian packages), builds, and runs the whole
# traction daemon set in the foreground on localhost, with state under
# ./var (the compiled-in defaults; no /etc, no root-owned paths; open:
# CurveZMQ off, every local user is admin, which it says at start), and the
# HTTP API and the dashboard on http://127.0.0.1:7480/ with an admin token
# in ./var/admin.token.
# Ctrl-C stops every daemon cleanly.
#   deploy/run-local.sh [--config FILE]
set -eu
cd "$(dirname "$0")/.."
sh deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"

args=""
if [ "${1:-}" = "--config" ] && [ -n "${2:-}" ]; then
  args="--config $2"
fi

pids=""
stop() {
  trap - INT TERM
  echo "run-local: stopping" >&2
  # shellcheck disable=SC2086
  [ -n "$pids" ] && kill -TERM $pids 2>/dev/null
  wait
  exit 0
}
trap stop INT TERM

# The HTTP gateway wants a user with a token (keys_dir, ./keys by default):
# an admin for this machine, made once; its token stays in ./var.
if [ -z "$args" ] && [ ! -f keys/local-admin.user ]; then
  mkdir -p keys var
  umask 077
  build/clients/tractionctl/tractionctl token >var/admin.token.new
  sed -n 's/^token = //p' var/admin.token.new >var/admin.token
  { echo "; made by deploy/run-local.sh: the admin of this machine's HTTP API"
    echo "role = admin"
    sed -n 's/^tokens = /tokens = /p' var/admin.token.new; } >keys/local-admin.user
  rm -f var/admin.token.new
  umask 022
fi

# Open on purpose: the compiled-in defaults leave CurveZMQ off, for
# development. The installed packages are not (docs/security.md).
if [ -z "$args" ]; then
  echo "run-local: a DEVELOPMENT set, open: CurveZMQ is off, so every local user and process is" >&2
  echo "run-local: admin on the bus (docs/security.md). The Debian packages install it locked." >&2
fi
# (the broker keeps its audit log of key changes in ./var/broker)
# shellcheck disable=SC2086
build/broker/traction-broker $args &
pids="$!"
sleep 0.2
for d in supplyd scenariod feedbackd iterationd notifyd; do
  # shellcheck disable=SC2086
  build/services/traction-$d $args &
  pids="$pids $!"
done
# shellcheck disable=SC2086
build/gateway/traction-gatewayd $args &
pids="$pids $!"
# MQTT on 127.0.0.1:1883 (docs/mqtt.md): a user's password is one of its tokens
# shellcheck disable=SC2086
build/mqtt/traction-mqttd $args &
pids="$pids $!"
echo "run-local: traction is up (state in ./var). In another terminal:" >&2
echo "  build/clients/tractionctl/tractionctl status" >&2
echo "  curl -H \"Authorization: Bearer \$(cat var/admin.token)\" http://127.0.0.1:7480/v1/supplies" >&2
echo "run-local: dashboard: http://127.0.0.1:7480/  (sign in with the token in var/admin.token)" >&2
echo "run-local: Ctrl-C stops it." >&2
wait
