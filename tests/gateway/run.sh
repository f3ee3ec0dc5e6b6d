#!/bin/bash
# The HTTP API against a real daemon set: a broker, the four daemons and
# traction-gatewayd on loopback ports the kernel picks, users with tokens in
# a keys_dir of their own; tests/gateway/test_http.py (standard library
# only, under /usr/bin/python3) walks the story over HTTP, the auth, the
# scopes, the event stream, the OpenAPI document and hostile input.
#   tests/gateway/run.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d /tmp/trc-http-XXXXXX)
PIDS=()
cleanup() {
  rc=$?
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    for f in "$DIR"/set/*.log; do [ -f "$f" ] && { echo "==== $f"; tail -n 20 "$f"; }; done >&2
  fi
  rm -rf "$DIR"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() { echo "gateway: FAILED: $*" >&2; exit 1; }
ctl() { "$BUILD/clients/tractionctl/tractionctl" "$@"; }

# users: an admin, a reader of Northern Steel, a publisher of weld-line-3
mkdir -p "$DIR/keys"
: >"$DIR/tokens"
user() { # NAME ROLE EXTRA-LINE
  local t
  t=$(ctl token)
  printf 'role = %s\n%s\n%s\n' "$2" "$3" "$(sed -n 's/^tokens = /tokens = /p' <<<"$t")" \
    >"$DIR/keys/$1.user"
  echo "$1 $(sed -n 's/^token = //p' <<<"$t")" >>"$DIR/tokens"
}
user admin admin ""
user northern reader "enterprises = Northern Steel"
user site3 publisher "scenarios = weld-line-3"

# shellcheck source=../set.sh
source "$HERE/../set.sh"
SET_TMP=$DIR
SET_EXTRA="[security]
keys_dir = $DIR/keys"
start_set "$DIR/set" "$BUILD" supplyd scenariod feedbackd iterationd
cat >>"$DIR/set/traction.conf" <<EOF
[gateway]
port = 0
address_file = $DIR/set/gateway.url
max_body_mb = 1
max_connections = 8
timeout_s = 2
EOF
"$BUILD/gateway/traction-gatewayd" --config "$DIR/set/traction.conf" 2>"$DIR/set/gateway.log" &
GW=$!
PIDS+=($GW)
for _ in $(seq 200); do [ -f "$DIR/set/gateway.url" ] && break; sleep 0.02; done
[ -f "$DIR/set/gateway.url" ] || fail "the gateway did not start"

/usr/bin/python3 "$HERE/test_http.py" "$(cat "$DIR/set/gateway.url")" "$DIR/tokens"
kill -0 "$GW" || fail "the gateway died"
# a clean stop: every connection's thread and client freed (under the
# sanitizers, a leak or an error is a non-zero exit)
kill -TERM "$GW"
rc=0
wait "$GW" || rc=$?
[ $rc -eq 0 ] || { grep -v "^20" "$DIR/set/gateway.log" | head -n 80 >&2; fail "the gateway exited $rc"; }
grep -q "stopped" "$DIR/set/gateway.log" || fail "the gateway did not stop cleanly"
