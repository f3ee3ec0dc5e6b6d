#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Times in tractionctl's output against a real daemon set: people read ISO
# 8601 UTC to the millisecond (2026-12-04T05:30:12.345Z), programs read
# --json's milliseconds since the epoch, the same instant; durations stay
# numbers.
#
#   generic    supply show (the generic human form): "created:" and
#              "updated:" as times, no created_ms number
#   json       supply show --json: created_ms a number, the same instant
#   printers   provider show, deployment history, feedback list (their
#              own lines) print times the same way
#   durations  ping's uptime stays a number of seconds
#
# Each check says ok or not ok and the run goes on; it exits 1 if one was.
#   tests/integration/times.sh BUILD_DIR
set -uo pipefail
BUILD=$(cd "${1:?usage: times.sh BUILD_DIR}" && pwd)
DIR=$(mktemp -d /tmp/trc-times-XXXXXX)
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
set_traps "$DIR" times
SET_TMP=$DIR
ctl() { "$BUILD/clients/tractionctl/tractionctl" --endpoint "$EP" "$@"; }
ISO='[0-9]\{4\}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]\{3\}Z'

start_set "$DIR/set" "$BUILD" supplyd scenariod feedbackd iterationd
eventually ctl status >/dev/null || fail "the set did not start"
ctl provider add acme --name Acme --kind ai-company >/dev/null || fail "provider add"
ctl supply register vision --provider acme --kind industrial-algorithm --name Vision \
  --capability defect-detection --version 1.0 >/dev/null || fail "supply register"
ctl scenario submit weld --enterprise E --domain production --name Weld \
  --need defect-detection >/dev/null || fail "scenario submit"
DEP=$(eventually ctl --json deployment adopt weld vision@1.0 |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["deployment"]["id"])') ||
  fail "deployment adopt"
eventually ctl feedback publish --scenario weld --supply vision@1.0 --metric rate=0.5 \
  --observed-at 2026-11-28T10:15:00.250Z >/dev/null || fail "feedback publish"

check "generic: supply show prints created and updated as ISO 8601 UTC"
out=$(ctl supply show vision)
grep -q "^ *created: $ISO\$" <<<"$out" || bad "no created time in: $out"
grep -q "^ *updated: $ISO\$" <<<"$out" || bad "no updated time in: $out"
grep -q "_ms" <<<"$out" && bad "an _ms field in the human form: $out"
done_check

check "json: supply show --json keeps created_ms, the same instant"
json=$(ctl --json supply show vision)
ms=$(/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["supply"]["created_ms"])' <<<"$json")
[[ "$ms" =~ ^[0-9]{13}$ ]] || bad "created_ms is not milliseconds: $ms"
want=$(/usr/bin/python3 -c "import datetime, sys; t = datetime.datetime.fromtimestamp($ms / 1000, datetime.timezone.utc); print(t.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % ($ms % 1000))")
grep -q "created: $want" <<<"$out" || bad "human $(grep created <<<"$out"), json $ms ($want)"
done_check

check "printers: provider show, feedback list and deployment history print times"
ctl provider show acme | grep -q "created: $ISO" || bad "provider show: $(ctl provider show acme)"
ctl feedback list --supply vision@1.0 | grep -q "2026-11-28T10:15:00.250Z" ||
  bad "feedback list: $(ctl feedback list --supply vision@1.0)"
ctl deployment history "$DEP" | grep -q "$ISO" || bad "deployment history: $(ctl deployment history "$DEP")"
ctl --json feedback list --supply vision@1.0 | grep -q '"observed_at_ms": 1795860900250' ||
  bad "feedback list --json: no observed_at_ms number"
done_check

check "durations: ping's uptime stays a number"
ctl ping supply | grep -q "$ISO" && bad "a time in ping: $(ctl ping supply)"
ctl call supply ping | grep -q "^ *uptime_ms: [0-9]\+$" || bad "call supply ping: $(ctl call supply ping)"
done_check

echo "times: $n checks, $failed not ok"
[ "$failed" -eq 0 ]
