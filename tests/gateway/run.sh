#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The HTTP API against a real daemon set: a broker, the four daemons and
# traction-gatewayd on loopback ports the kernel picks, users with tokens in
# a keys_dir of their own; tests/gateway/test_http.py (standard library
# only, under /usr/bin/python3) walks the story over HTTP, the auth, the
# scopes, the event stream, the OpenAPI document and hostile input;
# tests/gateway/test_filelimit.py, the gateway past its file limit.
#   tests/gateway/run.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d /tmp/trc-http-XXXXXX)
# shellcheck source=../set.sh
source "$HERE/../set.sh"
set_traps "$DIR" gateway

# users: an admin, a reader of Northern Steel, a publisher of weld-line-3
set_user "$DIR" "$BUILD" admin admin
set_user "$DIR" "$BUILD" northern reader "enterprises = Northern Steel"
set_user "$DIR" "$BUILD" site3 publisher "scenarios = weld-line-3"
start_gateway_set "$DIR" "$BUILD" "max_body_mb = 1
max_connections = 8
timeout_s = 2
web_dir = $(cd "$HERE/../../web" && pwd)"

/usr/bin/python3 "$HERE/test_http.py" "$GW_URL" "$DIR/tokens"
kill -0 "$GW" || fail "the gateway died"
# a clean stop: every connection's thread and client freed (under the
# sanitizers, a leak or an error is a non-zero exit)
kill -TERM "$GW"
rc=0
wait "$GW" || rc=$?
[ $rc -eq 0 ] || { grep -v "^20" "$DIR/set/gateway.log" | head -n 80 >&2; fail "the gateway exited $rc"; }
grep -q "stopped" "$DIR/set/gateway.log" || fail "the gateway did not stop cleanly"

# past its file limit (lowered while it runs): no spin, answers after; a
# gateway whose idle connections outlive the test (libmicrohttpd 0.9.75
# polls with a zero timeout in an idle connection's last second: that
# spin is its own, docs/http.md)
sed -e "s|^address_file = .*|address_file = $DIR/set/gateway-fd.url|" \
  -e "s|^timeout_s = .*|timeout_s = 60|" "$DIR/set/traction.conf" >"$DIR/set/fd.conf"
"$BUILD/gateway/traction-gatewayd" --config "$DIR/set/fd.conf" 2>"$DIR/set/gateway-fd.log" &
GWF=$!
PIDS+=($GWF)
for _ in $(seq 1000); do [ -f "$DIR/set/gateway-fd.url" ] && break; sleep 0.02; done
[ -f "$DIR/set/gateway-fd.url" ] || fail "the gateway (file limit) did not start"
/usr/bin/python3 "$HERE/test_filelimit.py" "$GWF" "$(cat "$DIR/set/gateway-fd.url")" \
  "$DIR/set/gateway-fd.log" || fail "test_filelimit.py"
kill -TERM "$GWF"
rc=0
wait "$GWF" || rc=$?
[ $rc -eq 0 ] || fail "the gateway (file limit) exited $rc"

# HTTPS: a second gateway with a self-signed certificate for 127.0.0.1
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$DIR/tls.key" -out "$DIR/tls.crt" 2>/dev/null ||
  fail "openssl could not make a certificate"
sed -e "s|^address_file = .*|address_file = $DIR/set/gateway-tls.url|" "$DIR/set/traction.conf" \
  >"$DIR/set/tls.conf"
printf 'tls_cert_file = %s\ntls_key_file = %s\n' "$DIR/tls.crt" "$DIR/tls.key" >>"$DIR/set/tls.conf"
"$BUILD/gateway/traction-gatewayd" --config "$DIR/set/tls.conf" 2>"$DIR/set/gateway-tls.log" &
GWT=$!
PIDS+=($GWT)
for _ in $(seq 1000); do [ -f "$DIR/set/gateway-tls.url" ] && break; sleep 0.02; done
URL=$(cat "$DIR/set/gateway-tls.url" 2>/dev/null) || fail "the HTTPS gateway did not start"
case "$URL" in https://*) ;; *) fail "the HTTPS gateway wrote $URL" ;; esac
/usr/bin/python3 - "$URL" "$DIR/tls.crt" "$(sed -n 's/^admin //p' "$DIR/tokens")" <<'PY' ||
import http.client, json, ssl, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
ctx = ssl.create_default_context(cafile=sys.argv[2])
c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
c.request("GET", "/v1/supplies/defect-vision", headers={"Authorization": "Bearer " + sys.argv[3]})
r = c.getresponse()
doc = json.loads(r.read())
assert r.status == 200 and doc["supply"]["id"] == "defect-vision", (r.status, doc)
# the certificate is checked: a context that trusts nothing refuses it
try:
    http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(),
                                timeout=10).request("GET", "/v1/health")
    sys.exit("an untrusted certificate was accepted")
except ssl.SSLError:
    pass
# plain HTTP to the HTTPS port gets no answer
p = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
try:
    p.request("GET", "/v1/health")
    st = p.getresponse().status
    sys.exit(f"plain HTTP answered {st}")
except (http.client.HTTPException, OSError):
    pass
print("ok - HTTPS: the catalogue over TLS with the user's token; plain HTTP and untrusted certificates refused")
PY
  fail "HTTPS"
kill -TERM "$GWT"
wait "$GWT" || fail "the HTTPS gateway exited $?"
