#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# MQTT against a real daemon set: a broker, the four daemons and
# traction-mqttd on loopback ports the kernel picks, users with passwords in
# a keys_dir of their own; mosquitto_pub (Debian's mosquitto-clients) and
# tests/mqtt/test_mqtt.py (python3-paho-mqtt) as the clients nobody here
# wrote: 3.1.1 and 5.0 at QoS 0/1/2, auth refusals, refusals, a malformed
# packet, feedbackd SIGSTOPped (no PUBACK until it is back), and
# traction-mqttd SIGKILLed mid-stream of QoS 2 with a persistent session;
# TLS with client certificates (openssl makes them), a Sparkplug B edge node
# (test_sparkplug.py), hostile input (test_hostile.py).
#   tests/mqtt/run.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d /tmp/trc-mqtt-XXXXXX)
# shellcheck source=../set.sh
source "$HERE/../set.sh"
set_traps "$DIR" mqtt
command -v mosquitto_pub >/dev/null || fail "mosquitto_pub missing (deploy/install-deps.sh)"
/usr/bin/python3 -c "import paho.mqtt.client" || fail "python3-paho-mqtt missing (deploy/install-deps.sh)"

# users: a publisher of weld-line-3 (password: its token), an admin, a reader
set_user "$DIR" "$BUILD" admin admin
set_user "$DIR" "$BUILD" line3 publisher "scenarios = weld-line-3"
set_user "$DIR" "$BUILD" northern reader "enterprises = Northern Steel"
# Sparkplug B: the edge node plant7/line3-edge (and its devices) feed the
# deployment of defect-vision@1.0 in weld-line-3
printf '; GROUP/EDGE_NODE[/DEVICE] = SCENARIO SUPPLY@VERSION\nplant7/line3-edge = weld-line-3 defect-vision@1.0\n' \
  >"$DIR/sparkplug.bind"
# TLS: a CA of the test's own, the server's certificate for 127.0.0.1, client
# certificates whose CN names a user (line3), no user (ghost), and one of
# another CA (rogue, CN line3)
cert() { # NAME SUBJECT-CN CA-NAME EXTENSION
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
    -keyout "$DIR/$1.key" -out "$DIR/$1.csr" 2>/dev/null &&
  openssl x509 -req -in "$DIR/$1.csr" -CA "$DIR/$3.crt" -CAkey "$DIR/$3.key" -CAcreateserial \
    -days 2 -extfile <(printf '%s\n' "$4") -out "$DIR/$1.crt" 2>/dev/null || fail "openssl: $1"
}
for ca in ca other-ca; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=traction test $ca" -keyout "$DIR/$ca.key" -out "$DIR/$ca.crt" 2>/dev/null ||
    fail "openssl: $ca"
done
cert server 127.0.0.1 ca "subjectAltName=IP:127.0.0.1"
cert line3 line3 ca "extendedKeyUsage=clientAuth"
cert ghost ghost ca "extendedKeyUsage=clientAuth"
cert rogue line3 other-ca "extendedKeyUsage=clientAuth"
cert server-only line3 ca "extendedKeyUsage=serverAuth"
SET_TMP=$DIR
SET_EXTRA="[security]
keys_dir = $DIR/keys
[mqtt]
port = 0
address_file = $DIR/set/mqtt.addr
receive_maximum = 16
keepalive_max_s = 30
max_packet_kb = 64
max_connections = 48
max_output_kb = 64
sparkplug_bindings = $DIR/sparkplug.bind
tls_cert_file = $DIR/server.crt
tls_key_file = $DIR/server.key
tls_ca_file = $DIR/ca.crt
tls_address = 127.0.0.1
tls_port = 0"
start_set "$DIR/set" "$BUILD" supplyd scenariod feedbackd iterationd
FB=${PIDS[3]}

start_mqttd() {
  rm -f "$DIR/set/mqtt.addr"
  "$BUILD/mqtt/traction-mqttd" --config "$DIR/set/traction.conf" 2>>"$DIR/set/mqttd.log" &
  MQ=$!
  PIDS+=($MQ)
  for _ in $(seq 250); do [ -f "$DIR/set/mqtt.addr" ] && break; sleep 0.02; done
  [ -f "$DIR/set/mqtt.addr" ] || fail "traction-mqttd did not start"
  MQ_PORT=$(head -1 "$DIR/set/mqtt.addr" | sed 's/.*://')
  TLS_PORT=$(sed -n 's/^tls .*://p' "$DIR/set/mqtt.addr")
}
start_mqttd
echo "$MQ_PORT $MQ" >"$DIR/mqttd.info"

# the catalogue of the README's story: a supply, a scenario
CTL="$BUILD/clients/tractionctl/tractionctl --endpoint $EP"
eventually $CTL status >/dev/null || fail "the set did not come up"
$CTL provider add acme --name "Acme Vision" --kind ai-company >/dev/null
$CTL supply register defect-vision --provider acme --kind industrial-algorithm \
  --name "Defect Vision" --capability defect-detection --version 1.0 >/dev/null
$CTL scenario submit weld-line-3 --enterprise "Northern Steel" --domain production \
  --name "Weld seam inspection" --need defect-detection >/dev/null
eventually $CTL deployment adopt weld-line-3 defect-vision@1.0 >/dev/null || fail "adopt"

pw() { sed -n "s/^$1 //p" "$DIR/tokens"; }

# mosquitto_pub, 3.1.1 and 5.0, QoS 0/1/2: each a record feedbackd then holds
n=0
for v in mqttv311 mqttv5; do
  for q in 0 1 2; do
    n=$((n + 1))
    mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -V $v -q $q -u line3 -P "$(pw line3)" -i "pub-$v-$q" \
      -t traction/v1/feedback/weld-line-3/defect-vision/1.0/metric/seam_width_mm -m "1.$n" ||
      fail "mosquitto_pub -V $v -q $q"
  done
done
eventually sh -c "$CTL feedback stats --supply defect-vision@1.0 --metric seam_width_mm | grep -q 'count 6'" ||
  fail "tractionctl feedback stats does not count the 6 mosquitto_pub records"
echo "ok - mosquitto_pub 3.1.1 and 5.0 at QoS 0, 1 and 2: 6 records in feedback stats"

# a bad password: 3.1.1 and 5.0 refused (mosquitto_pub exits non-zero)
for v in mqttv311 mqttv5; do
  if mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -V $v -q 1 -u line3 -P wrong -i bad-$v \
       -t traction/v1/feedback/weld-line-3/defect-vision/1.0/metric/x -m 1 2>"$DIR/bad.err"; then
    fail "a bad password was accepted ($v)"
  fi
done
echo "ok - a bad password refused (3.1.1 and 5.0)"

# TLS on its port: a client certificate of the CA whose CN is a user publishes
# as that user, 3.1.1 and 5.0; none, another CA's, one for servers only, or
# one whose CN is no user is refused; plain MQTT there gets nothing
[ -n "$TLS_PORT" ] || fail "no TLS port in mqtt.addr"
tls_pub() { # NAME-OF-CERT-OR-none VERSION [mosquitto_pub options...]
  local c=$1 v=$2 crt=()
  shift 2
  [ "$c" = none ] || crt=(--cert "$DIR/$c.crt" --key "$DIR/$c.key")
  mosquitto_pub -h 127.0.0.1 -p "$TLS_PORT" --cafile "$DIR/ca.crt" -V "$v" -q 1 -i "tls-$c-$v" \
    "${crt[@]}" -t traction/v1/feedback/weld-line-3/defect-vision/1.0/metric/over_tls -m 4.5 "$@"
}
for v in mqttv311 mqttv5; do
  tls_pub line3 $v 2>"$DIR/tls.err" || { cat "$DIR/tls.err" >&2; fail "TLS with line3's certificate ($v)"; }
done
eventually sh -c "$CTL feedback stats --supply defect-vision@1.0 --metric over_tls | grep -q 'count 2'" ||
  fail "the 2 records over TLS are not stored"
echo "ok - TLS: a client certificate whose CN is a user publishes as it (3.1.1 and 5.0), stored"
# a PUBLISH of many TLS records (500 feedback records, ~40 KiB)
/usr/bin/python3 -c 'import json; print(json.dumps([{"key": "tls-bulk-%d" % i, "metric":
  {"name": "tls_bulk", "value": i}} for i in range(500)]))' >"$DIR/bulk.json"
mosquitto_pub -h 127.0.0.1 -p "$TLS_PORT" --cafile "$DIR/ca.crt" --cert "$DIR/line3.crt" \
  --key "$DIR/line3.key" -q 2 -t traction/v1/feedback/weld-line-3/defect-vision/1.0 \
  -f "$DIR/bulk.json" || fail "TLS: a 40 KiB PUBLISH"
eventually sh -c "$CTL feedback stats --supply defect-vision@1.0 --metric tls_bulk | grep -q 'count 500'" ||
  fail "TLS: the 500 records of one PUBLISH are not stored"
echo "ok - TLS: one 40 KiB PUBLISH of 500 records, QoS 2, stored"
for c in none rogue server-only ghost; do
  if tls_pub $c mqttv5 2>>"$DIR/tls.err"; then fail "TLS: the client certificate '$c' was accepted"; fi
done
if tls_pub none mqttv311 -u line3 -P "$(pw line3)" 2>>"$DIR/tls.err"; then
  fail "TLS: a password without a (required) client certificate was accepted"
fi
if mosquitto_pub -h 127.0.0.1 -p "$TLS_PORT" -q 1 -u line3 -P "$(pw line3)" -t x -m 1 2>>"$DIR/tls.err"; then
  fail "plain MQTT was accepted on the TLS port"
fi
sleep 0.5
$CTL feedback stats --supply defect-vision@1.0 --metric over_tls | grep -q 'count 2' ||
  fail "a refused TLS client's record was stored"
grep -q "a client certificate refused" "$DIR/set/mqttd.log" || fail "no log of the refused certificate"
echo "ok - TLS: no client certificate, another CA's, a server's, a CN of no user, plain MQTT: refused"

# a Sparkplug B edge node (paho), its payloads from mqtt/sparkplug/'s schema
protoc --proto_path="$HERE/../../mqtt/sparkplug" --python_out="$DIR" sparkplug_payload.proto ||
  fail "protoc --python_out"
/usr/bin/python3 "$HERE/test_sparkplug.py" "$MQ_PORT" "$DIR/tokens" "$EP" "$BUILD" "$DIR" ||
  fail "test_sparkplug.py"
grep -q 'sparkplug node=plant7/line3-edge: dead' "$DIR/set/mqttd.log" ||
  fail "the NDEATH will was not applied (traction-mqttd's log)"
echo "ok - traction-mqttd logged the edge node dead by its NDEATH will"

# hostile input: floods (past max_connections, past the file limit), a client
# that never reads, oversize packets
MQ_PID=$MQ /usr/bin/python3 "$HERE/test_hostile.py" "$MQ_PORT" "$DIR/tokens" "$DIR" "$BUILD" ||
  fail "test_hostile.py"

# a real Mosquitto (Debian's mosquitto) as a plant's edge broker, bridging
# traction/v1/feedback/# to traction-mqttd at QoS 2 with a persistent session
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$MOSQUITTO" ] || fail "mosquitto missing (deploy/install-deps.sh)"
EDGE_PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$DIR/edge.conf" <<EOF
user $(id -un)
listener $EDGE_PORT 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
connection traction
address 127.0.0.1:$MQ_PORT
bridge_protocol_version mqttv311
try_private false
notifications false
cleansession false
remote_clientid edge-bridge-line3
remote_username line3
remote_password $(pw line3)
topic traction/v1/feedback/# out 2
restart_timeout 1
EOF
"$MOSQUITTO" -c "$DIR/edge.conf" 2>"$DIR/set/edge-mosquitto.log" &
PIDS+=($!)
eventually grep -q "client=edge-bridge-line3 .*connected" "$DIR/set/mqttd.log" >/dev/null ||
  fail "the edge Mosquitto's bridge did not connect"
seq 1 50 | sed 's/^/1./' | mosquitto_pub -h 127.0.0.1 -p "$EDGE_PORT" -q 2 -l \
  -t traction/v1/feedback/weld-line-3/defect-vision/1.0/metric/bridged || fail "mosquitto_pub to the edge"
eventually sh -c "$CTL feedback stats --supply defect-vision@1.0 --metric bridged | grep -q 'count 50'" ||
  fail "the 50 records published to the edge Mosquitto are not stored"
sleep 1
$CTL feedback stats --supply defect-vision@1.0 --metric bridged | grep -q 'count 50' ||
  fail "the bridged records are stored more than once"
echo "ok - a Mosquitto edge broker bridging to traction-mqttd (QoS 2): 50 records, stored once"
# traction-mqttd SIGKILLed while the bridge has messages in flight, and
# feedbackd stopped so that records reach it while no PUBREC can go; both
# come back (traction-mqttd on its port): the bridge sends its unanswered
# PUBLISHes again, and each record is stored once
sed "s/^port = 0$/port = $MQ_PORT/" "$DIR/set/traction.conf" >"$DIR/set/bridge.conf"
kill -STOP "$FB"
seq 1 300 | sed 's/^/2./' | mosquitto_pub -h 127.0.0.1 -p "$EDGE_PORT" -q 2 -l \
  -t traction/v1/feedback/weld-line-3/defect-vision/1.0/metric/bridged ||
  { kill -CONT "$FB"; fail "mosquitto_pub to the edge (second stream)"; }
sleep 1
kill -KILL "$MQ"
wait "$MQ" 2>/dev/null || true
kill -CONT "$FB"
"$BUILD/mqtt/traction-mqttd" --config "$DIR/set/bridge.conf" 2>>"$DIR/set/mqttd.log" &
MQ=$!
PIDS+=($MQ)
for _ in $(seq 1 600); do
  $CTL feedback stats --supply defect-vision@1.0 --metric bridged | grep -q 'count 350' && break
  sleep 0.1
done
sleep 1
$CTL feedback stats --supply defect-vision@1.0 --metric bridged | grep -q 'count 350' || {
  $CTL feedback stats --supply defect-vision@1.0 --metric bridged >&2
  fail "through a SIGKILL of traction-mqttd, the bridged records are not stored once each"
}
echo "ok - the bridge through a SIGKILL of traction-mqttd: 350 records, each stored once"

MQ_PID=$MQ FB_PID=$FB /usr/bin/python3 "$HERE/test_mqtt.py" "$MQ_PORT" "$DIR/tokens" "$EP" \
  "$BUILD" "$DIR" || { [ -f "$DIR/mqttd.pid" ] && PIDS+=("$(cat "$DIR/mqttd.pid")"); fail "test_mqtt.py"; }
# the traction-mqttd the test restarted (after its SIGKILL) is stopped with the set
[ -f "$DIR/mqttd.pid" ] && PIDS+=("$(cat "$DIR/mqttd.pid")")

# the refusals list (3.1.1 acknowledged them): traction-mqttd refusals
"$BUILD/mqtt/traction-mqttd" refusals --config "$DIR/set/traction.conf" >"$DIR/refusals" ||
  fail "traction-mqttd refusals"
grep -q '"client":"refuse-v4"' "$DIR/refusals" || { cat "$DIR/refusals" >&2; fail "no 3.1.1 refusal listed"; }
echo "ok - traction-mqttd refusals lists the 3.1.1 refusals"
grep -q 'spBv1.0/plant7/NBIRTH/nowhere.*bound to no deployment' "$DIR/refusals" ||
  fail "the unbound Sparkplug edge node is not listed"
echo "ok - traction-mqttd refusals lists the unbound Sparkplug edge node"
