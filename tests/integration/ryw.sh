#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Read your writes across daemons, as a new user meets it: every step is
# a tractionctl process of its own (the next command is another process,
# so no client-side token carries the write over), and the checks have no
# sleep and no retry: the daemon that serves a step catches up with the
# daemon the previous step wrote to (docs/protocol.md, "Positions"), or
# the step fails.
#
#   submit -> publish          a scenario (and a supply) just announced
#   register -> history, adopt a supply just registered
#   publish -> advance         a gate judged on the records just published
#   publish -> match           the scenario's evidence from the field
#   record -> history          a version just recorded
#   publish -> history, diff   a version's records just published
# and a figure with no data behind it is absent, never a zero.
#
# Each check says ok or not ok and the run goes on, so a daemon broken on
# purpose shows every check it turns red; it exits 1 if one was.
#   tests/integration/ryw.sh BUILD_DIR [ROUNDS]
set -uo pipefail
BUILD=$(cd "${1:?usage: ryw.sh BUILD_DIR [ROUNDS]}" && pwd)
ROUNDS=${2:-20}
DIR=$(mktemp -d /tmp/trc-ryw-XXXXXX)
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
set_traps "$DIR" ryw
SET_TMP=$DIR
ctl() { "$BUILD/clients/tractionctl/tractionctl" "$@"; }
jsonl() { # FILE SUPPLY VERSION BODY-JSON COUNT: COUNT records for scenario line-1
  /usr/bin/python3 - "$@" <<'EOF'
import json, sys
path, supply, version, body, count = sys.argv[1:6]
with open(path, "w") as f:
    for i in range(int(count)):
        r = {"scenario": "line-1", "supply": supply, "version": version}
        r.update(json.loads(body))
        f.write(json.dumps(r) + "\n")
EOF
}

# ---- the set (setup: the only waiting, for the daemons to come up) --------
start_set "$DIR/set" "$BUILD" supplyd scenariod feedbackd iterationd
export TRACTION_ENDPOINT=$EP
ready ctl supply scenario feedback iteration deployment

# ---- from here on: no sleep, no retry ----------------------------------------
ctl provider add acme --name "Acme Vision" --kind ai-company >/dev/null || fail "provider"
ctl supply register vision --provider acme --kind industrial-algorithm --name Vision \
    --capability defect-detection --version 1.0 >/dev/null || fail "supply"

# submit -> publish: feedbackd learns scenarios from scenariod's events; a
# publish right after the submit catches up instead of refusing the name
check "$ROUNDS publishes, each right after its scenario's submit, none refused"
for i in $(seq 1 "$ROUNDS"); do
  ctl scenario submit "line-$i" --enterprise "Northern Steel" --domain production \
      --name "Line $i" --need defect-detection >/dev/null || fail "submit line-$i"
  ctl feedback publish --scenario "line-$i" --supply vision@1.0 --metric "defect_rate=0.03" \
      >"$DIR/out" 2>&1 && grep -q "^record [0-9]" "$DIR/out" ||
    bad "round $i: $(head -c 200 "$DIR/out")"
done
done_check

# register -> history, adopt: a supply just registered, at once
ctl supply register lens --provider acme --kind industrial-algorithm --name Lens \
    --capability defect-detection --version 1.0 >/dev/null || fail "supply lens"
check "a supply just registered has its history, and is adopted"
ctl iteration history lens 2>&1 | has "^1.0  released" || bad "history right after the register"
DEP=$(ctl deployment adopt line-1 lens@1.0 2>"$DIR/err" | awk '{print $1}')
[ -n "$DEP" ] || bad "adopt right after the register: $(cat "$DIR/err")"
done_check

# publish -> advance: the gate counts exactly the records just published
jsonl "$DIR/lens.jsonl" lens 1.0 '{"metric": {"name": "defect_rate", "value": 0.02}}' 12
ctl feedback publish --file "$DIR/lens.jsonl" | has "accepted 12, duplicates 0, refused 0" ||
  fail "the 12 records were not all stored"
check "advance right after publishing 12 records: judged on 12 (feedback_records needs 10)"
ctl deployment advance "${DEP:-dep-1}" --to refinement >"$DIR/out" 2>&1 ||
  bad "refused: $(head -c 300 "$DIR/out")"
grep -q "feedback_records .* current 12," "$DIR/out" || bad "judged on: $(head -c 300 "$DIR/out")"
done_check

# publish -> match: the value verifications just published rank the supply
jsonl "$DIR/values.jsonl" lens 1.0 '{"value": {"kpi": "scrap_rate", "baseline": 0.05,
  "achieved": 0.04, "unit": "ratio", "higher_is_better": false}}' 3
ctl feedback publish --file "$DIR/values.jsonl" | has "accepted 3," || fail "values not stored"
check "match right after publishing 3 value verifications shows them (mean +20.0%)"
ctl scenario match line-1 2>&1 | has "lens .* 3 value verifications (mean +20.0%)" ||
  bad "match does not show the 3 value verifications just published"
done_check

# record -> history; record -> publish -> history and diff: a version
# just recorded takes feedback at once, and its records are in its
# history and in the diff
ctl iteration record lens@1.1 --parent 1.0 --notes "finer seams" >/dev/null || fail "record"
check "history right after the record shows 1.1"
ctl iteration history lens 2>&1 | has "1.1 <- 1.0" || bad "history misses the version just recorded"
done_check
check "history and diff right after publishing 1.1's records: 12 -> 5 records"
jsonl "$DIR/v11.jsonl" lens 1.1 '{"metric": {"name": "defect_rate", "value": 0.01}}' 5
ctl feedback publish --file "$DIR/v11.jsonl" 2>&1 | has "accepted 5, duplicates 0, refused 0" ||
  bad "publish for the version just recorded"
ctl iteration history lens 2>&1 | has "defect_rate: mean 0.01 over 5 records; vs parent" ||
  bad "history does not show 1.1's records just published"
ctl --json iteration diff lens 1.0 1.1 >"$DIR/diff.json" 2>&1
/usr/bin/python3 - "$DIR/diff.json" <<'EOF' || bad "diff: $(head -c 400 "$DIR/diff.json")"
import json, sys
d = {x["metric"]: x for x in json.load(open(sys.argv[1]))["deltas"]}["defect_rate"]
assert d["from_count"] == 12 and d["to_count"] == 5, d
assert abs(d["to_mean"] - 0.01) < 1e-12 and "abs_delta" in d and "pct_delta" in d, d
EOF
done_check

# a figure with no data behind it is absent, never a zero
ctl iteration record lens@1.2 --parent 1.1 --notes "nothing published yet" >/dev/null ||
  fail "record 1.2"
check "diff to a version without records: its mean and the deltas are absent, not 0"
ctl --json iteration diff lens 1.1 1.2 >"$DIR/diff.json" 2>&1
/usr/bin/python3 - "$DIR/diff.json" <<'EOF' || bad "diff to 1.2: $(head -c 400 "$DIR/diff.json")"
import json, sys
r = json.load(open(sys.argv[1]))
d = {x["metric"]: x for x in r["deltas"]}["defect_rate"]
assert d["from_count"] == 5 and d["to_count"] == 0 and "from_mean" in d, d
for k in ("to_mean", "abs_delta", "pct_delta"):
    assert k not in d, (k, d)
assert "mean_improvement_pct" not in r.get("to_values", {}), r
assert "mean_improvement_pct" not in r["from_values"], r["from_values"]
EOF
ctl iteration diff lens 1.1 1.2 2>&1 | has "defect_rate: 0.01 -> no data  (no delta; 5 -> 0 records)" ||
  bad "diff to 1.2 prints a figure for no data"
done_check

echo "ryw: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
