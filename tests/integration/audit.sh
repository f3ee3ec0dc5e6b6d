#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The audit log against a real daemon set (docs/operations.md, "Audit
# log"): every administrative change is recorded by the daemon that made
# it, with who, when, why and the details, and `tractionctl audit` shows
# them all, newest first, filtered; a move the gates allowed is not an
# administrative change; the entries outlive a restart; a user acting
# through the HTTP gateway is named; and no
# method of the wire changes or deletes an entry.
#
# Each check says ok or not ok and the run goes on; it exits 1 if one was.
#   tests/integration/audit.sh BUILD_DIR
set -uo pipefail
BUILD=$(cd "${1:?usage: audit.sh BUILD_DIR}" && pwd)
DIR=$(mktemp -d /tmp/trc-audit-XXXXXX)
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
set_traps "$DIR" audit
SET_TMP=$DIR
ctl() { "$BUILD/clients/tractionctl/tractionctl" "$@"; }
# the audit entries as JSON lines: daemon action subject actor edge reason details
entries() {
  ctl --json audit "$@" | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin)["entries"]:
    d = ",".join("%s=%s" % (x["key"], x["value"]) for x in e.get("details", []))
    print("|".join([e.get("daemon", ""), e.get("action", ""), e.get("subject", ""),
                    e.get("actor", ""), e.get("edge", ""), e.get("reason", ""), d]))'
}

set_user "$DIR" "$BUILD" admin admin
start_gateway_set "$DIR" "$BUILD"
export TRACTION_ENDPOINT=$EP
for s in supply scenario feedback iteration deployment; do
  eventually ctl ping "$s" >/dev/null || fail "$s did not come up"
done
ctl provider add acme --name "Acme Vision" --kind ai-company >/dev/null || fail provider
ctl supply register vision --provider acme --kind industrial-algorithm --name Vision \
    --capability defect-detection --version 1.0 >/dev/null || fail supply
ctl supply register lens --provider acme --kind industrial-algorithm --name Lens \
    --capability defect-detection --version 1.0 >/dev/null || fail supply
ctl scenario submit line-1 --enterprise "Northern Steel" --domain production --name "Line 1" \
    --need defect-detection >/dev/null || fail scenario
ctl scenario submit line-2 --enterprise "Northern Steel" --domain production --name "Line 2" \
    --need defect-detection >/dev/null || fail scenario

check "nothing administrative yet: the daemons' logs are empty, the broker's holds the keys in force"
[ -z "$(entries | grep -v '^broker|')" ] || bad "entries before any change: $(entries)"
[ "$(entries --daemon broker)" = "broker|user.added|admin|traction-broker||start: the keys in force when the log began|role=admin,tokens=1" ] ||
  bad "the broker's first entries: $(entries --daemon broker)"
done_check

dep=$(ctl --json deployment adopt line-1 vision@1.0 |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["deployment"]["id"])')
[ -n "$dep" ] || fail adopt
for i in $(seq 1 10); do
  echo "{\"scenario\":\"line-1\",\"supply\":\"vision\",\"version\":\"1.0\",\"metric\":{\"name\":\"m\",\"value\":$i}}"
done | ctl feedback publish --file - >/dev/null || fail publish

check "an advance the gates allow is not audited"
ctl deployment advance "$dep" --to refinement >/dev/null || bad "the gated advance"
entries | grep -q 'deployment.advance' && bad "a gated advance was audited"
done_check

check "a forced advance is audited with who, why, from, to"
ctl deployment advance "$dep" --to service --force --reason "the plant signed off" >/dev/null ||
  bad "forced advance"
entries --action deployment. | has "iterationd|deployment.advance|$dep|anonymous||the plant signed off|from=refinement,to=service,forced=true,backward=false" ||
  bad "no entry of the forced advance"
done_check

check "a backward move is audited"
ctl deployment advance "$dep" --to pilot --reason "drift seen" >/dev/null || bad "back"
entries --action deployment.advance | sed -n 1p | has "from=service,to=pilot,forced=false,backward=true" ||
  bad "no entry of the backward move, or not the newest"
done_check

check "retires, a closed scenario and alert rules are audited by their daemons"
ctl deployment retire "$dep" --reason "line rebuilt" >/dev/null || bad "retire"
ctl supply retire lens --reason "end of life" >/dev/null || bad "supply retire"
ctl scenario close line-2 --reason "project ended" >/dev/null || bad "close"
ctl alert add crit --kind critical-problem >/dev/null || bad "alert add"
ctl alert remove crit >/dev/null || bad "alert remove"
out=$(entries)
for want in "iterationd|deployment.retire|$dep|anonymous||line rebuilt|scenario=line-1,supply=vision,version=1.0" \
            "supplyd|supply.retire|lens|anonymous||end of life" \
            "scenariod|scenario.close|line-2|anonymous||project ended" \
            "feedbackd|alert.add|crit|" "feedbackd|alert.remove|crit|"; do
  grep -qF -- "$want" <<<"$out" || bad "missing: $want"
done
[ "$(head -1 <<<"$out" | cut -d'|' -f2)" = alert.remove ] || bad "not newest first"
done_check

check "filters: action prefix, subject, daemon, limit"
[ "$(entries --action supply. | wc -l)" = 1 ] || bad "--action supply."
[ "$(entries --subject "$dep" | wc -l)" = 3 ] || bad "--subject $dep"
[ "$(entries --daemon feedbackd | wc -l)" = 2 ] || bad "--daemon feedbackd"
[ "$(entries --limit 2 | wc -l)" = 2 ] || bad "--limit 2"
done_check

check "a user through the HTTP gateway is named as the actor"
/usr/bin/python3 - "$GW_URL" "$DIR/tokens" <<'EOF' || bad "the gateway's forced advance"
import sys, urllib.request
url, tokens = sys.argv[1:3]
tok = dict(l.split() for l in open(tokens))["admin"]
def call(method, path, body):
    req = urllib.request.Request(url.rstrip("/") + path, data=body.encode(), method=method,
                                 headers={"Authorization": "Bearer " + tok,
                                          "Content-Type": "application/json"})
    return urllib.request.urlopen(req).read()
import json
d = json.loads(call("POST", "/v1/deployments",
                    '{"scenario_id": "line-1", "supply_id": "vision", "version": "1.0"}'))
call("POST", "/v1/deployments/%s/advance" % d["deployment"]["id"],
     '{"to": "STAGE_PILOT", "force": true, "reason": "by the web"}')
EOF
entries --action deployment.advance | sed -n 1p | grep -q '|admin|.*|by the web|' ||
  bad "the entry does not name the user admin: $(entries --action deployment.advance | sed -n 1p)"
done_check

check "the entries outlive a restart of their daemon"
kill -KILL "${PIDS[4]}" # broker, supplyd, scenariod, feedbackd, iterationd
"$BUILD/services/traction-iterationd" --config "$DIR/set/traction.conf" 2>>"$DIR/set/iterationd.log" &
PIDS+=($!)
eventually ctl ping deployment >/dev/null || fail "iterationd did not come back"
[ "$(entries --daemon iterationd | wc -l)" = 4 ] || bad "iterationd's entries after the restart"
done_check

check "no method of the wire changes or deletes an entry"
methods=$(ctl methods | grep -i audit)
[ "$(grep -c . <<<"$methods")" -ge 1 ] || bad "audit.list is not on the wire"
grep -v 'audit.list' <<<"$methods" | grep -q . && bad "another audit method: $methods"
done_check

echo "audit: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
