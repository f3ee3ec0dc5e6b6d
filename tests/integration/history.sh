#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# iteration.history is never answered from a stale cache. iterationd keeps
# the supply's lineage and roll-ups it decoded, and the last reply packed
# with the bytes it was built from (docs/iterations.md, "History"): each
# check asks a history (so the cache is warm), changes one thing the
# reply is built from and nothing else history reads, and asks again
# through another tractionctl process:
#   an addressed problem coming back in a descendant  (the problems only)
#   a deployment of a version                         (the deployments only)
#   the next page of the same history                 (the range only)
#   records of a version                              (a roll-up)
#   a new version                                     (the lineage)
#   an empty page of another supply                   (the cache's supply)
# Each check says ok or not ok and the run goes on; it exits 1 if one was.
#   tests/integration/history.sh BUILD_DIR
set -uo pipefail
BUILD=$(cd "${1:?usage: history.sh BUILD_DIR}" && pwd)
DIR=$(mktemp -d /tmp/trc-history-XXXXXX)
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
set_traps "$DIR" history
SET_TMP=$DIR
ctl() { "$BUILD/clients/tractionctl/tractionctl" "$@"; }
# hist SUPPLY [ARGS...]: the history as JSON in $DIR/h.json
hist() { ctl --json iteration history "$@" >"$DIR/h.json" 2>&1 || bad "history $*: $(head -c 300 "$DIR/h.json")"; }
# expect PYTHON-EXPRESSION: true of h (the reply), or the check is red
expect() {
  /usr/bin/python3 - "$DIR/h.json" "$1" <<'EOF' || bad "$1: $(head -c 600 "$DIR/h.json")"
import json, sys
h = json.load(open(sys.argv[1]))
v = {x["iteration"]["version"]: x for x in h.get("versions", [])}
sys.exit(0 if eval(sys.argv[2]) else 1)
EOF
}

start_set "$DIR/set" "$BUILD" supplyd scenariod feedbackd iterationd
export TRACTION_ENDPOINT=$EP
ready ctl supply scenario feedback iteration deployment
ctl provider add acme --name "Acme Vision" --kind ai-company >/dev/null || fail "provider"
for s in vision lens; do
  ctl supply register "$s" --provider acme --kind industrial-algorithm --name "$s" \
      --capability defect-detection --version 1.0 >/dev/null || fail "supply $s"
done
ctl scenario submit line-1 --enterprise "Northern Steel" --domain production --name "Line 1" \
    --need defect-detection >/dev/null || fail "scenario"
ctl feedback publish --scenario line-1 --supply vision@1.0 --problem high --title "seam missed" \
    --signature seam-miss >/dev/null || fail "the problem on 1.0"
ctl iteration record vision@1.1 --parent 1.0 >/dev/null || fail "record 1.1"
ctl iteration record vision@1.2 --parent 1.1 --addresses seam-miss >/dev/null || fail "record 1.2"
ctl iteration record vision@1.3 --parent 1.2 >/dev/null || fail "record 1.3"

# the page of 1.2 alone: history reads its roll-up and its parent's, not
# 1.0's (where the problem was first seen) nor 1.3's, so nothing else it
# keeps changes when the problem comes back in 1.3
check "a problem 1.2 addressed comes back in 1.3: 1.2's fix did not stay"
hist vision --limit 1 --cursor 2
expect 'list(v) == ["1.2"] and v["1.2"]["addressed"][0].get("stayed_fixed") is True'
ctl feedback publish --scenario line-1 --supply vision@1.3 --problem high --title "seam missed" \
    --signature seam-miss >/dev/null || bad "the problem on 1.3"
hist vision --limit 1 --cursor 2
expect 'v["1.2"]["addressed"][0].get("stayed_fixed") is not True and v["1.2"]["addressed"][0]["regressed_in"] == "1.3"'
done_check

check "a deployment of 1.2 is in its history at once"
expect 'not v["1.2"].get("deployment_ids")'
DEP=$(ctl deployment adopt line-1 vision@1.2 | awk '{print $1}')
[ -n "$DEP" ] || bad "adopt"
hist vision --limit 1 --cursor 2
expect 'v["1.2"].get("deployment_ids") == ["'"$DEP"'"]'
done_check

# 1.0 and 1.1 have no deployment and address nothing: only the cursor
# tells their pages apart
check "the next page of the same history: 1.1 after 1.0"
hist vision --limit 1
expect 'list(v) == ["1.0"] and h.get("next_cursor") == "1"'
hist vision --limit 1 --cursor 1
expect 'list(v) == ["1.1"] and h.get("next_cursor") == "2"'
done_check

check "records of 1.0: its figures at once"
hist vision
expect 'not v["1.0"].get("metrics")'
ctl feedback publish --scenario line-1 --supply vision@1.0 --metric defect_rate=0.03 >/dev/null ||
  bad "publish"
hist vision
expect '[(m["name"], m["count"]) for m in v["1.0"]["metrics"]] == [("defect_rate", 1)]'
done_check

check "a new version at once"
ctl iteration record vision@1.4 --parent 1.3 >/dev/null || bad "record 1.4"
hist vision
expect 'list(v) == ["1.0", "1.1", "1.2", "1.3", "1.4"]'
done_check

# past the last version a page reads nothing of the supply: only the
# supply's name tells the two replies apart
check "an empty page of one supply, then of another: each names its own"
hist lens --limit 1 --cursor 9
expect 'h["supply_id"] == "lens" and not h.get("versions")'
hist vision --limit 1 --cursor 9
expect 'h["supply_id"] == "vision" and not h.get("versions")'
done_check

echo "history: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
