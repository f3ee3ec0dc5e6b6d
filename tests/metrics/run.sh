#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Metrics with a real Prometheus (Debian's prometheus and promtool): the
# daemon set, the gateway and the MQTT daemon serve /metrics on ports of their own
# ([metrics] base_port plus each daemon's offset); every endpoint passes
# `promtool check metrics` in the text format and ends with "# EOF" in
# OpenMetrics; a Prometheus on a loopback port scrapes the set every
# second, and PromQL returns the number of records published, the
# publishes counted, every target up; then every query of the Grafana
# dashboard (deploy/grafana/traction.json) runs against it and returns
# data. Each check says ok or not ok; exits 1 if one was not.
#   tests/metrics/run.sh BUILD_DIR
set -uo pipefail
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=$(mktemp -d /tmp/trc-metrics-XXXXXX)
# shellcheck source=../set.sh
source "$SRC/tests/set.sh"
set_traps "$DIR" metrics
SET_TMP=$DIR
command -v prometheus >/dev/null && command -v promtool >/dev/null ||
  fail "needs Debian's prometheus (deploy/install-deps.sh installs it)"
ctl() { "$BUILD/clients/tractionctl/tractionctl" "$@"; }
# a base port with the 8 ports of the set free after it, and one more port
read -r BASE PROM_PORT < <(/usr/bin/python3 - <<'EOF'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
# below the ephemeral range: the set's own outgoing connections and
# port-0 listeners cannot take one of these between this check and the binds
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    b = random.randrange(10000, max(low - 10, 10010), 10)
    if all(free(b + i) for i in range(9)):
        print(b, b + 8); break
EOF
)
[ -n "${BASE:-}" ] || fail "no free ports"

# ---- the set, with metrics -----------------------------------------------------
set_user "$DIR" "$BUILD" operator admin
SET_METRICS_BASE=$BASE start_gateway_set "$DIR" "$BUILD"
export TRACTION_ENDPOINT=$EP
printf '[mqtt]\nport = 0\naddress_file = %s\n' "$DIR/set/mqtt.addr" >>"$DIR/set/traction.conf"
"$BUILD/mqtt/traction-mqttd" --config "$DIR/set/traction.conf" 2>"$DIR/set/mqttd.log" &
PIDS+=($!)
"$BUILD/services/traction-notifyd" --config "$DIR/set/traction.conf" 2>"$DIR/set/notifyd.log" &
PIDS+=($!)
for s in supply scenario feedback iteration deployment notify; do
  eventually ctl ping "$s" >/dev/null || fail "$s did not come up"
done
for _ in $(seq 250); do [ -f "$DIR/set/mqtt.addr" ] && break; sleep 0.02; done
[ -f "$DIR/set/mqtt.addr" ] || fail "traction-mqttd did not start"
# broker 0, supplyd 1, scenariod 2, feedbackd 3, iterationd 4, gatewayd 5, mqttd 6, notifyd 7
declare -A PORT=([broker]=$BASE [supplyd]=$((BASE + 1)) [scenariod]=$((BASE + 2))
                 [feedbackd]=$((BASE + 3)) [iterationd]=$((BASE + 4)) [gatewayd]=$((BASE + 5))
                 [mqttd]=$((BASE + 6)) [notifyd]=$((BASE + 7)))

RECORDS=40
ctl provider add acme --name "Acme Vision" --kind ai-company >/dev/null || fail "provider"
ctl supply register vision --provider acme --kind industrial-algorithm --name Vision \
    --capability defect-detection --version 1.0 >/dev/null || fail "supply"
ctl scenario submit line-1 --enterprise "Northern Steel" --domain production \
    --name "Line 1" --need defect-detection >/dev/null || fail "scenario"
/usr/bin/python3 - "$DIR/f.jsonl" "$RECORDS" <<'EOF'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({"scenario": "line-1", "supply": "vision", "version": "1.0",
                            "metric": {"name": "defect_rate", "value": 0.01 * (i % 5)}}) + "\n")
EOF
ctl feedback publish --file "$DIR/f.jsonl" | grep -q "accepted $RECORDS, duplicates 0, refused 0" ||
  fail "the $RECORDS records were not all stored"
ctl supply show no-such-supply >/dev/null 2>&1 # a NOT_FOUND, counted by its code
curl -s -o /dev/null "$GW_URL/v1/supplies"      # a 401: no token

# ---- every endpoint -------------------------------------------------------------
for d in broker supplyd scenariod feedbackd iterationd gatewayd mqttd notifyd; do
  url="http://127.0.0.1:${PORT[$d]}/metrics"
  check "$d: $url passes promtool check metrics"
  if curl -fsS "$url" >"$DIR/$d.prom" 2>"$DIR/err"; then
    promtool check metrics <"$DIR/$d.prom" >"$DIR/lint" 2>&1 || bad "$(head -c 400 "$DIR/lint")"
    grep -q "^traction_build_info{daemon=\"traction-$d\"" "$DIR/$d.prom" ||
      bad "no traction_build_info of traction-$d"
  else
    bad "no answer: $(cat "$DIR/err")"
  fi
  done_check
  check "$d: OpenMetrics when Accept asks for it"
  curl -fsS -D "$DIR/h" -H 'Accept: application/openmetrics-text; version=1.0.0' "$url" \
    >"$DIR/$d.om" 2>/dev/null || bad "no answer"
  grep -qi "^content-type: application/openmetrics-text" "$DIR/h" || bad "content type: $(grep -i content-type "$DIR/h")"
  [ "$(tail -n 1 "$DIR/$d.om")" = "# EOF" ] || bad "does not end with # EOF"
  grep -q "^# TYPE process_cpu_seconds counter" "$DIR/$d.om" ||
    bad "a counter family keeps _total in OpenMetrics"
  done_check
done
check "feedbackd counts what it stored and served"
grep -q "^traction_store_entries{db=\"records\"} $RECORDS\$" "$DIR/feedbackd.prom" ||
  bad "records: $(grep 'db="records"' "$DIR/feedbackd.prom")"
grep -q '^traction_requests_total{service="feedback",method="publish",code="OK"} [1-9]' \
  "$DIR/feedbackd.prom" || bad "no publish counted"
grep -q '^traction_store_commit_seconds_count [1-9]' "$DIR/feedbackd.prom" || bad "no commit timed"
done_check
check "supplyd counts a NOT_FOUND by its code"
grep -q '^traction_requests_total{service="supply",method="get",code="NOT_FOUND"} 1$' \
  "$DIR/supplyd.prom" || bad "$(grep NOT_FOUND "$DIR/supplyd.prom" || echo none)"
done_check
check "the gateway counts its answers by status"
grep -q '^traction_http_responses_total{code="401"} 1$' "$DIR/gatewayd.prom" ||
  bad "$(grep 'traction_http_responses_total{code="401"}' "$DIR/gatewayd.prom" || echo none)"
done_check
check "traction-mqttd counts its connections and records"
grep -q '^traction_mqtt_connections 0$' "$DIR/mqttd.prom" &&
  grep -q '^traction_mqtt_records_accepted_total 0$' "$DIR/mqttd.prom" ||
  bad "$(grep traction_mqtt "$DIR/mqttd.prom" | head -3)"
done_check
check "traction-notifyd shows its queue and what is in flight"
grep -q '^traction_notify_queue_deliveries 0$' "$DIR/notifyd.prom" &&
  grep -q '^traction_notify_in_flight_deliveries 0$' "$DIR/notifyd.prom" &&
  grep -q '^traction_notify_attempt_seconds_count 0$' "$DIR/notifyd.prom" ||
  bad "$(grep traction_notify "$DIR/notifyd.prom" | head -3)"
done_check
check "a 404 off /metrics, a 405 for POST"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$BASE/nope")" = 404 ] || bad "not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$BASE/metrics")" = 405 ] ||
  bad "not 405"
done_check

# ---- a real Prometheus --------------------------------------------------------------
{ printf 'global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n'
  printf 'scrape_configs:\n  - job_name: traction\n    static_configs:\n      - targets: ['
  sep=""; for d in "${!PORT[@]}"; do printf '%s"127.0.0.1:%s"' "$sep" "${PORT[$d]}"; sep=", "; done
  printf ']\n'; } >"$DIR/prometheus.yml"
promtool check config "$DIR/prometheus.yml" >/dev/null || fail "prometheus.yml: $(promtool check config "$DIR/prometheus.yml" 2>&1)"
prometheus --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$DIR/set/prometheus.log" 2>&1 &
PIDS+=($!)
PROM="http://127.0.0.1:$PROM_PORT"
for _ in $(seq 1 300); do curl -fsS "$PROM/-/ready" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$PROM/-/ready" >/dev/null 2>&1 || fail "prometheus did not get ready"
# query EXPR: the result vector's values, one a line ("" if none); fails on an error
query() {
  curl -fsS --get "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    /usr/bin/python3 -c 'import json,sys
r = json.load(sys.stdin)
if r.get("status") != "success":
    sys.exit("error: " + r.get("error", "?"))
for s in r["data"]["result"]:
    print(s["value"][1])'
}
# until every target has been scraped 3 times (rate() needs two samples)
for _ in $(seq 1 200); do
  [ "$(query 'count(count_over_time(up{job="traction"}[1m]) >= 3)')" = "${#PORT[@]}" ] && break
  sleep 0.1
done
check "every daemon's endpoint is up in Prometheus"
# a scrape of a TSan daemon may miss its 1 s once: up at its next
for _ in $(seq 1 100); do
  [ "$(query 'sum(up{job="traction"})')" = "${#PORT[@]}" ] && break
  sleep 0.2
done
[ "$(query 'sum(up{job="traction"})')" = "${#PORT[@]}" ] || bad "up: $(query 'up{job="traction"}' | tr '\n' ' ')"
done_check
check "PromQL gives the records published"
[ "$(query 'sum(traction_store_entries{db="records"})')" = "$RECORDS" ] ||
  bad "$(query 'sum(traction_store_entries{db="records"})')"
done_check
check "PromQL gives the publishes counted by feedbackd and routed by the broker"
v=$(query 'sum(traction_requests_total{service="feedback",method="publish",code="OK"})')
[ -n "$v" ] && [ "$v" != 0 ] || bad "feedback.publish OK: '$v'"
v=$(query 'sum(traction_broker_service_requests_total{service="feedback"})')
[ -n "$v" ] && [ "$v" != 0 ] || bad "broker: '$v'"
done_check

# ---- the Grafana dashboard's queries ---------------------------------------------
/usr/bin/python3 -c 'import json,sys
for p in json.load(open(sys.argv[1]))["panels"]:
    for t in p.get("targets", []):
        print(p["title"] + "\t" + t["expr"])' "$SRC/deploy/grafana/traction.json" >"$DIR/exprs"
[ -s "$DIR/exprs" ] || fail "no queries in deploy/grafana/traction.json"
while IFS=$'\t' read -r title expr; do
  check "dashboard \"$title\" returns data"
  out=$(query "$expr" 2>&1) || bad "$out"
  [ -n "$out" ] || bad "no series: $expr"
  done_check
done <"$DIR/exprs"

echo "$n checks, $failed not ok"
[ "$failed" -eq 0 ]
