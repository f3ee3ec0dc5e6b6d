#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Broker failover (docs/operations.md, "Two brokers"; the row of issue
# #29): libtraction's publisher at full speed through two brokers, the
# four services behind them; SECONDS without a kill (the baseline: the
# gaps between acknowledgements the same publisher has on the same set
# when nothing dies), then the same with its broker SIGKILLed 10 times
# (A, B, A, ...: one a second) and restarted 0.4 s later. Prints =row lines
# for bench/compare.sh (gaps in us): the rate and the p50/p99 gap between
# acknowledgements without a kill; the rate and the p50/p99 of the gap
# around each kill; and every record acknowledged is checked stored once.
#   bench/failover.sh BUILD_DIR [SECONDS]
set -uo pipefail
BUILD=$(cd "${1:?usage: failover.sh BUILD_DIR [SECONDS]}" && pwd)
secs=${2:-5}
DIR=$(mktemp -d /tmp/trc-failover-XXXXXX)
# shellcheck source=../tests/set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tests/set.sh"
set_traps "$DIR" failover
SET_TMP=$DIR
ctl() { "$BUILD/clients/tractionctl/tractionctl" "$@"; }
two_brokers "$DIR"
printf '[log]\nlevel = warning\n' >>"$DIR/traction.conf"
start_broker "$DIR" "$BUILD" 1
start_broker "$DIR" "$BUILD" 2
for d in supplyd scenariod feedbackd iterationd; do
  "$BUILD/services/traction-$d" --config "$DIR/traction.conf" 2>"$DIR/$d.log" &
  PIDS+=($!)
done
export TRACTION_ENDPOINT="$A,$B"
for s in supply scenario feedback; do eventually ctl ping "$s" >/dev/null || fail "$s"; done
ctl provider add acme --name Acme --kind ai-company >/dev/null &&
ctl supply register vision --provider acme --kind industrial-algorithm --name Vision \
  --capability defect-detection --version 1.0 >/dev/null &&
ctl scenario submit line-1 --enterprise N --domain production --name "Line 1" \
  --need defect-detection >/dev/null || fail "the catalogue"

# one drive: SECONDS of publishing, KILLS kills (0: none); its figures in
# $DIR/$name.{out,gaps}, the kill times in $DIR/$name.kills
drive() { # NAME KILLS
  local name=$1 kills=$2 i b pub t0
  rm -f "$DIR/stop"
  : >"$DIR/$name.kills"
  "$BUILD/tests/ha_publish" "$A,$B" line-1 vision 1.0 "$DIR/stop" "$DIR/$name.gaps" \
    >"$DIR/$name.out" 2>"$DIR/$name.err" &
  pub=$!
  PIDS+=($pub)
  t0=$(date +%s%3N)
  if [ "$kills" -eq 0 ]; then
    sleep "$secs"
  else
    for i in $(seq 1 "$kills"); do
      sleep 0.6
      b=$(( (i + 1) % 2 + 1 ))
      date +%s%3N >>"$DIR/$name.kills"
      kill_broker $b
      sleep 0.4
      start_broker "$DIR" "$BUILD" $b
    done
    sleep 0.5
  fi
  touch "$DIR/stop"
  wait $pub || fail "the publisher of $name failed: $(cat "$DIR/$name.err")"
  echo $(( $(date +%s%3N) - t0 )) >"$DIR/$name.ms"
}
drive calm 0
drive kills 10
/usr/bin/python3 - "$DIR" <<'PY'
import re, sys
d = sys.argv[1]
def out(name):
    t = open(f"{d}/{name}.out").read()
    m = re.search(r"published (\d+) acked (\d+) stored (\d+) duplicates (\d+) failed (\d+) flush (\S+)", t)
    pub, acked, stored, dup, failed = map(int, m.groups()[:5])
    if acked != pub or failed or m.group(6) != "ok":
        sys.exit(f"failover: {name}: {t.strip()}")
    return pub, float(open(f"{d}/{name}.ms").read()) / 1000
def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * q))]
pub, s = out("calm")
last = open(f"{d}/calm.gaps").read().splitlines()[-1].split()
p99 = float(last[3]) * 1000
longest = float(last[5]) * 1000
print("=row\tfailover\tpublisher through two brokers, none killed (p50: the p99 gap between acks; "
      "p99: the longest)\t%.0f\t%.0f\t%.0f" % (pub / s, p99, longest))
pub2, s2 = out("kills")
gaps = [tuple(map(float, l.split())) for l in open(f"{d}/kills.gaps") if l[0].isdigit()]
kg = []
for k in map(float, open(f"{d}/kills.kills").read().split()):
    around = [g for end, g in gaps if k <= end <= k + 3000 and end - g <= k + 50]
    kg.append(max(around) if around else 0.0)
print("=row\tfailover\tpublisher through two brokers, one SIGKILLed 10 times (p50, p99: of the gap "
      "around each kill)\t%.0f\t%.0f\t%.0f" % (pub2 / s2, pct(kg, 0.5) * 1000, max(kg) * 1000))
print("# gap around each kill (ms): " + " ".join("%.1f" % g for g in kg))
print("# records: %d without a kill, %d with; every one acknowledged, none refused" % (pub, pub2))
PY
[ $? -eq 0 ] || fail "no figures"
count=$(ctl --json feedback stats --supply vision@1.0 --scenario line-1 --metric latency_ms |
  /usr/bin/python3 -c 'import json, sys
print(max([int(m["stats"]["count"]) for m in json.load(sys.stdin).get("metrics", [])] or [0]))')
total=$(( $(sed -n 's/^published \([0-9]*\) .*/\1/p' "$DIR/calm.out") + $(sed -n 's/^published \([0-9]*\) .*/\1/p' "$DIR/kills.out") ))
[ "$count" = "$total" ] || fail "feedbackd holds $count records of the $total acknowledged"
echo "# feedbackd holds $count records: each acknowledged record once"
