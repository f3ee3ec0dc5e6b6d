#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Retention of raw feedback against a real daemon set (docs/operations.md,
# "Retention"), with a retention day of one second ([retention] day_s = 1):
#
#   expiry     metric records past their TTL leave feedback.list; problem
#              records (kept forever) stay; stats, problems and
#              iteration.history answer the same before and after
#   holds      a held scenario's and a held deployment's records stay past
#              their TTL, and go once the hold is removed
#   override   a scenario's override (every kind) expires its problems too
#   keys       a retry of an expired record within idempotency_days is a
#              duplicate, not stored again; after them it is a new record
#   audit      holds placed and ended and overrides set are in feedbackd's
#              audit log, with their reasons
#   restart    feedbackd killed in the middle of a long pass goes on after
#              its restart until every expired record is gone
#   input      unknown scenarios and deployments, a hold without a reason,
#              a hold twice: refused, naming the field
#
# Each check says ok or not ok and the run goes on; it exits 1 if one was.
#   tests/integration/retention.sh BUILD_DIR
set -uo pipefail
BUILD=$(cd "${1:?usage: retention.sh BUILD_DIR}" && pwd)
DIR=$(mktemp -d /tmp/trc-retention-XXXXXX)
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
set_traps "$DIR" retention
SET_TMP=$DIR
ctl() { "$BUILD/clients/tractionctl/tractionctl" "$@"; }
count() { # SCENARIO [KIND]: its records in feedback.list
  ctl --json feedback list --scenario "$1" ${2:+--kind "$2"} --limit 1000 |
    /usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin).get("records", [])))'
}
publish() { # SCENARIO KIND(metric|problem) COUNT [KEY-PREFIX]: records of vision@1.0
  local i
  for i in $(seq 1 "$3"); do
    if [ "$2" = metric ]; then body="\"metric\":{\"name\":\"latency_ms\",\"value\":$i}"
    else body="\"problem\":{\"severity\":\"high\",\"title\":\"drift\",\"signature\":\"drift-$1\"}"; fi
    echo "{\"scenario\":\"$1\",\"supply\":\"vision\",\"version\":\"1.0\",\"key\":\"${4:-$1-$2}-$i\",$body}"
  done | ctl feedback publish --file -
}
figures() { # stats, problems and history of vision, as JSON text
  ctl --json feedback stats --supply vision --granularity hour &&
  ctl --json feedback problems --supply vision &&
  ctl --json iteration history vision
}
wait_count() { # SCENARIO N [KIND]: up to 20 s for its records to come to N
  for _ in $(seq 1 100); do
    [ "$(count "$1" "${3:-}")" = "$2" ] && return 0
    sleep 0.2
  done
  return 1
}

SET_EXTRA="[retention]
metric_days = 3
idempotency_days = 8
day_s = 1
expire_per_tick = 100
pass_every_s = 0"
start_set "$DIR/set" "$BUILD" supplyd scenariod feedbackd iterationd
export TRACTION_ENDPOINT=$EP
for s in supply scenario feedback iteration deployment; do
  eventually ctl ping "$s" >/dev/null || fail "$s did not come up"
done
ctl provider add acme --name "Acme Vision" --kind ai-company >/dev/null || fail provider
ctl supply register vision --provider acme --kind industrial-algorithm --name Vision \
    --capability defect-detection --version 1.0 >/dev/null || fail supply
for sc in line-1 line-2 line-3 line-4; do
  ctl scenario submit $sc --enterprise "Northern Steel" --domain production --name "$sc" \
      --need defect-detection >/dev/null || fail "scenario $sc"
done
dep=$(ctl deployment adopt line-3 vision@1.0) || fail adopt
dep=$(grep -o 'dep-[0-9]*' <<<"$dep" | head -1)

# ---- input ----------------------------------------------------------------------
check "bad retention and holds are refused, naming the field"
refuses "NOT_FOUND: scenario_id: no scenario 'nosuch'" ctl retention set nosuch --days 3 ||
  bad "an unknown scenario"
refuses "hold.reason" ctl hold add --scenario line-2 || bad "a hold without a reason"
refuses "name one of scenario_id and deployment_id" ctl hold add --reason x ||
  bad "a hold of nothing"
refuses "no active deployment 'dep-99'" ctl hold add --deployment dep-99 --reason x ||
  bad "an unknown deployment"
refuses "days: at most" ctl retention set line-1 --days 99999999 || bad "too many days"
done_check

ctl hold add --scenario line-2 --reason "audit 2026-Q4" >/dev/null || fail "hold line-2"
ctl hold add --deployment "$dep" --reason "warranty dispute" >/dev/null || fail "hold $dep"
check "holds are listed with their reasons, and refused twice"
ctl hold list | grep -q "audit 2026-Q4" || bad "the scenario hold is not listed"
ctl hold list | grep -q "deployment $dep .*warranty dispute" || bad "the deployment hold"
refuses ALREADY_EXISTS ctl hold add --scenario line-2 --reason again || bad "a hold twice"
done_check

for sc in line-1 line-2 line-3; do
  publish $sc metric 20 >/dev/null || fail "publish $sc"
  # counted at once: the records live 3 s, and the launches that follow
  # take a good part of that under TSan
  [ $sc = line-1 ] && fresh=$(count line-1 metric)
  publish $sc problem 2 >/dev/null || fail "publish $sc problems"
done
eventually ctl iteration history vision >/dev/null || fail history
sleep 1 # the evidence events of the last records, at the next tick
before=$(figures) || fail "figures"

# ---- expiry ---------------------------------------------------------------------
check "metric records past 3 days (3 s) leave the list; problem records stay"
[ "$fresh" = 20 ] || bad "line-1 lost records before their time ($fresh of 20)"
wait_count line-1 0 metric || bad "line-1 still has $(count line-1 metric) metric records"
[ "$(count line-1 problem)" = 2 ] || bad "line-1's problems went"
done_check

check "stats, problems and iteration history answer the same after expiry"
after=$(figures) || bad "figures"
[ "$before" = "$after" ] || { bad "they changed"; diff <(echo "$before") <(echo "$after") >&2; }
done_check

check "a held scenario and a held deployment keep their records"
[ "$(count line-2)" = 22 ] || bad "line-2 has $(count line-2) records, not 22"
[ "$(count line-3)" = 22 ] || bad "line-3 ($dep) has $(count line-3) records, not 22"
done_check

check "a scenario's override of every kind expires its problems too"
ctl retention set line-1 --days 1 >/dev/null || bad "retention set"
ctl retention list | grep -q "line-1 .*all kinds.*1 days" || bad "not listed"
wait_count line-1 0 || bad "line-1 still has $(count line-1) records"
done_check

check "holds removed: their records go"
ctl hold remove --deployment "$dep" >/dev/null || bad "hold remove $dep"
ctl hold remove --scenario line-2 >/dev/null || bad "hold remove line-2"
refuses NOT_FOUND ctl hold remove --scenario line-2 || bad "removed twice"
wait_count line-3 2 || bad "line-3 has $(count line-3) records, not its 2 problems"
wait_count line-2 2 || bad "line-2 has $(count line-2) records, not its 2 problems"
[ "$before" = "$(figures)" ] || bad "the figures changed"
done_check

check "holds and retention changes are in feedbackd's audit log, with their reasons"
audit=$(ctl --json audit --daemon feedbackd | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin)["entries"]:
    d = ",".join("%s=%s" % (x["key"], x["value"]) for x in e.get("details", []))
    print("|".join([e.get("action", ""), e.get("subject", ""), e.get("reason", ""), d]))')
for want in "hold.add|line-2|audit 2026-Q4|scenario=line-2,supply=" \
            "hold.add|$dep|warranty dispute|scenario=line-3,supply=vision" \
            "retention.set|line-1||kind=all,days=1" \
            "hold.remove|line-2|audit 2026-Q4|" "hold.remove|$dep|warranty dispute|"; do
  grep -qF -- "$want" <<<"$audit" || { bad "missing: $want"; echo "$audit" >&2; }
done
done_check

# ---- idempotency keys -------------------------------------------------------------
check "a retry of an expired record within idempotency_days is a duplicate"
publish line-4 metric 1 retry | grep -q "accepted 1, duplicates 0" || bad "first publish"
wait_count line-4 0 || bad "the record did not expire"
publish line-4 metric 1 retry | grep -q "accepted 0, duplicates 1" ||
  bad "the retry was not a duplicate"
[ "$(count line-4)" = 0 ] || bad "the retry was stored"
done_check

check "after idempotency_days (8 s) the same key is a new record"
sleep 6
publish line-4 metric 1 retry | grep -q "accepted 1, duplicates 0" ||
  bad "the key was still remembered"
done_check

# ---- restart in the middle of a pass -----------------------------------------------
check "feedbackd killed in the middle of a pass goes on after its restart"
publish line-4 metric 900 bulk >/dev/null || bad "publish 900"
sleep 2 # past the horizon of the pass under way: the next one takes them all
left=900
for _ in $(seq 1 100); do left=$(count line-4); [ "$left" -lt 850 ] && break; sleep 0.05; done
kill -KILL "${PIDS[3]}" # broker, supplyd, scenariod, feedbackd, iterationd
[ "$left" -gt 0 ] && [ "$left" -lt 900 ] || bad "not killed in the middle of a pass ($left left)"
"$BUILD/services/traction-feedbackd" --config "$DIR/set/traction.conf" \
  2>>"$DIR/set/feedbackd.log" &
PIDS+=($!)
eventually ctl ping feedback >/dev/null || fail "feedbackd did not come back"
wait_count line-4 0 || bad "$(count line-4) records left after the restart"
done_check

echo "retention: $n checks, $failed not ok"
[ "$failed" = 0 ]
