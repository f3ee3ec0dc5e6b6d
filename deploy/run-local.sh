#!/bin/sh
# Installs what is missing (Debian packages), builds, and runs the whole
# traction daemon set in the foreground on localhost, with state under
# ./var (the compiled-in defaults; no /etc, no root-owned paths).
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

# shellcheck disable=SC2086
build/broker/traction-broker $args &
pids="$!"
sleep 0.2
for d in supplyd scenariod feedbackd iterationd; do
  # shellcheck disable=SC2086
  build/services/traction-$d $args &
  pids="$pids $!"
done
echo "run-local: traction is up (state in ./var). In another terminal:" >&2
echo "  build/clients/tractionctl/tractionctl status" >&2
echo "run-local: Ctrl-C stops it." >&2
wait
