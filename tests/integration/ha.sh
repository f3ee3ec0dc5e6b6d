#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A bus with two brokers (docs/operations.md, "Two brokers"): both started
# from one config file whose [bus] keys list an endpoint per broker, each
# taking its entry with --set broker.instance=N; the four services and
# libtraction's publisher take the whole list.
#
#   config     lists of different lengths, and an instance past the list,
#              are refused at start, naming the keys
#   both       every service answers through either broker alone
#   failover   libtraction's publisher at full speed while one broker is
#              SIGKILLed 10 times (A, B, A, ...) and restarted: every
#              record acknowledged, none refused, each stored exactly once
#              (feedbackd's count equals the records published); the gap
#              between acknowledgements around each kill < 1 s (the
#              figures are printed: p50/p99/max of all gaps, and of the
#              kill gaps)
#   events     every consumer has applied its sources' heads after the
#              storm (events reach them through either broker)
#   edges      with either broker dead, the HTTP gateway stores a POSTed
#              record and traction-mqttd a QoS 1 mosquitto_pub (PUBACK once
#              stored), both through the other broker of client_endpoint
#   status     tractionctl status shows each broker of the list
#
# Each check says ok or not ok and the run goes on; it exits 1 if one was.
#   tests/integration/ha.sh BUILD_DIR
set -uo pipefail
BUILD=$(cd "${1:?usage: ha.sh BUILD_DIR}" && pwd)
DIR=$(mktemp -d /tmp/trc-ha-XXXXXX)
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
set_traps "$DIR" ha
SET_TMP=$DIR
ctl() { "$BUILD/clients/tractionctl/tractionctl" "$@"; }

two_brokers "$DIR"
cat >>"$DIR/traction.conf" <<EOF
[security]
keys_dir = $DIR/keys
[gateway]
port = 0
address_file = $DIR/gateway.url
[mqtt]
port = 0
address_file = $DIR/mqtt.addr
EOF
set_user "$DIR" "$BUILD" site publisher "scenarios = line-1"

# ---- config -------------------------------------------------------------------------
check "lists of different lengths, and an instance past the list, are refused"
sed 's/^service_endpoint = .*/service_endpoint = tcp:\/\/127.0.0.1:1/' "$DIR/traction.conf" \
  >"$DIR/bad.conf"
refuses "client_endpoint names 2 broker(s), but service_endpoint" \
  "$BUILD/broker/traction-broker" --config "$DIR/bad.conf" --print-config ||
  bad "unequal lists"
refuses "instance = 3, but the client endpoint list names 2" \
  "$BUILD/broker/traction-broker" --config "$DIR/traction.conf" --set broker.instance=3 ||
  bad "an instance past the list"
refuses "expected SECTION.KEY=VALUE" \
  "$BUILD/broker/traction-broker" --config "$DIR/traction.conf" --set instance=2 ||
  bad "a --set without a section"
done_check

start_broker "$DIR" "$BUILD" 1
start_broker "$DIR" "$BUILD" 2
for d in supplyd scenariod feedbackd iterationd; do
  "$BUILD/services/traction-$d" --config "$DIR/traction.conf" 2>"$DIR/$d.log" &
  PIDS+=($!)
done

check "every service answers through either broker alone"
for e in "$A" "$B"; do
  for s in supply scenario feedback iteration deployment; do
    eventually ctl --endpoint "$e" ping "$s" >/dev/null || bad "$s through $e"
  done
done
done_check

export TRACTION_ENDPOINT="$A,$B"
ctl provider add acme --name "Acme Vision" --kind ai-company >/dev/null || fail provider
ctl supply register vision --provider acme --kind industrial-algorithm --name Vision \
    --capability defect-detection --version 1.0 >/dev/null || fail supply
ctl scenario submit line-1 --enterprise "Northern Steel" --domain production --name line-1 \
    --need defect-detection >/dev/null || fail scenario
ctl deployment adopt line-1 vision@1.0 >/dev/null || fail adopt

# ---- failover -------------------------------------------------------------------------
check "a publisher through 10 broker kills: all acknowledged, each stored once, gaps < 1 s"
"$BUILD/tests/ha_publish" "$A,$B" line-1 vision 1.0 "$DIR/stop" "$DIR/gaps" \
  >"$DIR/publish.out" 2>"$DIR/publish.err" &
PUB=$!
PIDS+=($PUB)
sleep 1
kills=()
for i in $(seq 1 10); do
  b=$(( (i + 1) % 2 + 1 )) # 1, 2, 1, ...: the publisher's broker each time
  kills+=("$(date +%s%3N)")
  kill_broker $b
  sleep 0.4
  start_broker "$DIR" "$BUILD" $b
  sleep 0.6
done
touch "$DIR/stop"
wait $PUB || bad "the publisher failed: $(cat "$DIR/publish.err")"
out=$(cat "$DIR/publish.out")
echo "# $out"
read -r published acked stored dups refused flush < <(sed -n \
  's/^published \([0-9]*\) acked \([0-9]*\) stored \([0-9]*\) duplicates \([0-9]*\) failed \([0-9]*\) flush \(.*\)$/\1 \2 \3 \4 \5 \6/p' \
  "$DIR/publish.out")
[ "${published:-0}" -gt 10000 ] || bad "only ${published:-0} records published"
[ "${acked:-x}" = "${published:-y}" ] || bad "$acked of $published acknowledged"
[ "${refused:-1}" = 0 ] || bad "$refused refused: $out"
[ "${flush:-}" = ok ] || bad "the flush timed out"
# exactly once: feedbackd holds one record for each published key
count=$(eventually ctl --json feedback stats --supply vision@1.0 --scenario line-1 \
  --metric latency_ms | /usr/bin/python3 -c 'import json, sys
d = json.load(sys.stdin)
print(max([int(m["stats"]["count"]) for m in d.get("metrics", [])] or [0]))')
[ "$count" = "${published:-x}" ] || bad "feedbackd counts $count records of $published"
[ $((stored + dups)) = "${acked:-x}" ] || bad "$stored stored + $dups duplicates != $acked"
# the gap around each kill: the longest gap ending within 1.5 s after it
kill_gaps=$(/usr/bin/python3 - "$DIR/gaps" "${kills[@]}" <<'EOF'
import sys
gaps = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l[0].isdigit()]
out = []
for k in map(float, sys.argv[2:]):
    around = [g for end, g in gaps if k <= end <= k + 1500 and end - g <= k + 50]
    out.append(max(around) if around else 0.0)
print(" ".join("%.1f" % g for g in out))
EOF
)
echo "# gaps between acknowledgements (ms): $(tail -n 1 "$DIR/gaps")"
echo "# gap around each broker kill (ms): $kill_gaps"
echo "# $(/usr/bin/python3 -c 'import sys
g = sorted(map(float, sys.argv[1:]))
print("kill gaps p50 %.1f p99 %.1f max %.1f ms" % (g[len(g) // 2], g[(len(g) * 99) // 100], g[-1]))' $kill_gaps)"
max=$(sed -n 's/^p50 .* max \([0-9.]*\)$/\1/p' "$DIR/gaps")
/usr/bin/python3 -c "import sys; sys.exit(0 if float('${max:-9999}') < 1000 else 1)" ||
  bad "the longest gap between acknowledgements was ${max:-?} ms"
done_check

# ---- events ---------------------------------------------------------------------------
check "every consumer has applied its sources' heads after the storm"
heads() { # the event heads of the sources, then what each consumer applied of them
  local s
  for s in supply scenario feedback iteration; do
    ctl --json ping "$s" | S=$s /usr/bin/python3 -c 'import json, os, sys
d = json.load(sys.stdin)
print("head", os.environ["S"], d.get("event_head", 0))
for src, seq in d.get("positions", {}).items():
    print("applied", src, seq)'
  done
}
caught_up() {
  heads | /usr/bin/python3 -c 'import sys
head, applied = {}, []
for l in sys.stdin:
    k, name, seq = l.split()
    if k == "head":
        head[name] = int(seq)
    else:
        applied.append((name, int(seq)))
bad = [(n, s, head.get(n)) for n, s in applied if head.get(n) is not None and s != head[n]]
print(bad)
sys.exit(1 if bad or not applied else 0)'
}
eventually caught_up >/dev/null || bad "behind: $(caught_up)"
done_check

# ---- edges ----------------------------------------------------------------------------
check "with either broker dead, the gateway and traction-mqttd store through the other"
"$BUILD/gateway/traction-gatewayd" --config "$DIR/traction.conf" 2>"$DIR/gateway.log" &
PIDS+=($!)
"$BUILD/mqtt/traction-mqttd" --config "$DIR/traction.conf" 2>"$DIR/mqttd.log" &
PIDS+=($!)
for _ in $(seq 250); do [ -f "$DIR/gateway.url" ] && [ -f "$DIR/mqtt.addr" ] && break; sleep 0.02; done
[ -f "$DIR/gateway.url" ] && [ -f "$DIR/mqtt.addr" ] || fail "the gateway or mqttd did not start"
GW_URL=$(cat "$DIR/gateway.url")
MQ_PORT=$(sed -n 1p "$DIR/mqtt.addr" | sed 's/.*://')
TOKEN=$(sed -n 's/^site //p' "$DIR/tokens")
for b in 1 2; do
  kill_broker $b
  rec="{\"scenario\":\"line-1\",\"supply\":\"vision\",\"version\":\"1.0\",\"key\":\"gw-$b\","
  rec="$rec\"metric\":{\"name\":\"edge_ms\",\"value\":$b}}"
  code=$(curl -s -o "$DIR/post.out" -w '%{http_code}' -X POST "$GW_URL/v1/feedback" \
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" --max-time 15 \
    -d "$rec")
  case "$code" in 2??) ;; *) bad "gateway POST with broker $b dead: $code $(cat "$DIR/post.out")";; esac
  timeout 20 mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -V mqttv5 -q 1 -u site -P "$TOKEN" \
    -i "ha-$b" -t traction/v1/feedback/line-1/vision/1.0/metric/edge_ms -m "1$b" ||
    bad "mosquitto_pub QoS 1 with broker $b dead"
  start_broker "$DIR" "$BUILD" $b
done
edge_count() {
  ctl --json feedback stats --supply vision@1.0 --scenario line-1 --metric edge_ms |
    /usr/bin/python3 -c 'import json, sys
print(max([int(m["stats"]["count"]) for m in json.load(sys.stdin).get("metrics", [])] or [0]))'
}
got=""; for _ in $(seq 100); do got=$(edge_count); [ "$got" = 4 ] && break; sleep 0.1; done
[ "$got" = 4 ] || bad "feedbackd holds $got of the 4 records the edges were given"
done_check

check "tractionctl status shows each broker of the list"
st=$(eventually ctl status) # every service live through both, once they re-registered
has "$A" <<<"$st" || bad "no line for broker $A"
has "$B" <<<"$st" || bad "no line for broker $B"
done_check

exit $((failed > 0))
