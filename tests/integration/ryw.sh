#!/bin/bash
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
#   publish -> history, diff   a version's records just published
#   record -> history          a version just recorded
# and, on the way, a figure with no data behind it is absent, never a zero.
#
#   tests/integration/ryw.sh BUILD_DIR [ROUNDS]
set -euo pipefail
BUILD=$(cd "${1:?usage: ryw.sh BUILD_DIR [ROUNDS]}" && pwd)
ROUNDS=${2:-20}
DIR=$(mktemp -d /tmp/trc-ryw-XXXXXX)
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
set_traps "$DIR" ryw
SET_TMP=$DIR
passed=0
ok() { passed=$((passed + 1)); echo "ok $passed - $*"; }
ctl() { "$BUILD/clients/tractionctl/tractionctl" "$@"; }
# CMD | has PATTERN: all of CMD's output read before matching (pipefail)
has() { local out; out=$(cat); grep -q -- "$1" <<<"$out" || { echo "$out" >&2; return 1; }; }

# ---- the set (setup: the only waiting, for the daemons to come up) --------
start_set "$DIR/set" "$BUILD" supplyd scenariod feedbackd iterationd
export TRACTION_ENDPOINT=$EP
for s in supply scenario feedback iteration deployment; do
  eventually ctl ping "$s" >/dev/null || fail "$s did not come up"
done

# ---- from here on: no sleep, no retry ----------------------------------------
ctl provider add acme --name "Acme Vision" --kind ai-company >/dev/null
ctl supply register vision --provider acme --kind industrial-algorithm --name Vision \
    --capability defect-detection --version 1.0 >/dev/null

# submit -> publish: feedbackd learns scenarios from scenariod's events; a
# publish right after the submit catches up instead of refusing the name
for i in $(seq 1 "$ROUNDS"); do
  ctl scenario submit "line-$i" --enterprise "Northern Steel" --domain production \
      --name "Line $i" --need defect-detection >/dev/null
  ctl feedback publish --scenario "line-$i" --supply vision@1.0 --metric "defect_rate=0.03" \
      >"$DIR/out" 2>&1 || fail "round $i: publish right after submit: $(cat "$DIR/out")"
  grep -q "^record [0-9]" "$DIR/out" || fail "round $i: $(cat "$DIR/out")"
done
ok "$ROUNDS publishes, each right after its scenario's submit, none refused"

# a supply just registered, at once in its history and in a deployment
ctl supply register lens --provider acme --kind industrial-algorithm --name Lens \
    --capability defect-detection --version 1.0 >/dev/null
ctl iteration history lens | has "^1.0  released" || fail "history right after the register"
DEP=$(ctl deployment adopt line-1 lens@1.0 | awk '{print $1}')
[ -n "$DEP" ] || fail "adopt right after the supply's register"
ok "a supply just registered has its history, and is adopted as $DEP"

# publish -> advance: the gate counts exactly the records just published
/usr/bin/python3 - "$DIR/lens.jsonl" <<'EOF'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(12):
        f.write(json.dumps({"scenario": "line-1", "supply": "lens", "version": "1.0",
                            "metric": {"name": "defect_rate", "value": 0.02 + i / 1000}}) + "\n")
EOF
ctl feedback publish --file "$DIR/lens.jsonl" | has "accepted 12, duplicates 0, refused 0" ||
  fail "the 12 records were not all stored"
ctl deployment advance "$DEP" --to refinement >"$DIR/out" 2>&1 ||
  fail "advance right after the publish: $(cat "$DIR/out")"
grep -q "feedback_records .* current 12," "$DIR/out" || fail "advance judged on: $(cat "$DIR/out")"
ok "advance right after publishing 12 records: judged on 12 (feedback_records needs 10)"

# publish -> match: the value verifications just published rank the supply
/usr/bin/python3 - "$DIR/values.jsonl" <<'EOF'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(3):
        f.write(json.dumps({"scenario": "line-1", "supply": "lens", "version": "1.0",
                            "value": {"kpi": "scrap_rate", "baseline": 0.05, "achieved": 0.04,
                                      "unit": "ratio", "higher_is_better": False}}) + "\n")
EOF
ctl feedback publish --file "$DIR/values.jsonl" | has "accepted 3," || fail "values not stored"
ctl scenario match line-1 | has "lens .* 3 value verifications (mean +20.0%)" ||
  fail "match does not show the 3 value verifications just published"
ok "match right after publishing 3 value verifications shows them (mean +20.0%)"

# record -> publish -> history and diff: a version just recorded takes
# feedback at once, and its records are in its history and the diff
ctl iteration record lens@1.1 --parent 1.0 --notes "finer seams" >/dev/null
ctl iteration history lens | has "1.1 <- 1.0" || fail "history misses the version just recorded"
ok "history right after the record shows 1.1"
/usr/bin/python3 - "$DIR/v11.jsonl" <<'EOF'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(5):
        f.write(json.dumps({"scenario": "line-1", "supply": "lens", "version": "1.1",
                            "metric": {"name": "defect_rate", "value": 0.01}}) + "\n")
EOF
ctl feedback publish --file "$DIR/v11.jsonl" | has "accepted 5, duplicates 0, refused 0" ||
  fail "publish for the version just recorded"
ctl iteration history lens | has "defect_rate: mean 0.01 over 5 records; vs parent" ||
  fail "history does not show 1.1's records just published"
ctl --json iteration diff lens 1.0 1.1 >"$DIR/diff.json"
/usr/bin/python3 - "$DIR/diff.json" <<'EOF' || fail "diff: $(cat "$DIR/diff.json")"
import json, sys
d = {x["metric"]: x for x in json.load(open(sys.argv[1]))["deltas"]}["defect_rate"]
assert d["from_count"] == 12 and d["to_count"] == 5, d
assert abs(d["to_mean"] - 0.01) < 1e-12 and "abs_delta" in d and "pct_delta" in d, d
EOF
ok "history and diff right after publishing 1.1's records: 12 -> 5 records"

# a figure with no data behind it is absent, never a zero
ctl iteration record lens@1.2 --parent 1.1 --notes "nothing published yet" >/dev/null
ctl --json iteration diff lens 1.1 1.2 >"$DIR/diff.json"
/usr/bin/python3 - "$DIR/diff.json" <<'EOF' || fail "diff to 1.2: $(cat "$DIR/diff.json")"
import json, sys
r = json.load(open(sys.argv[1]))
d = {x["metric"]: x for x in r["deltas"]}["defect_rate"]
assert d["from_count"] == 5 and d["to_count"] == 0 and "from_mean" in d, d
for k in ("to_mean", "abs_delta", "pct_delta"):
    assert k not in d, (k, d)
assert "mean_improvement_pct" not in r.get("to_values", {}), r
assert "mean_improvement_pct" not in r["from_values"], r["from_values"]
EOF
ctl iteration diff lens 1.1 1.2 | has "defect_rate: 0.01 -> no data  (no delta; 5 -> 0 records)" ||
  fail "diff to 1.2 prints a figure for no data"
ok "diff to a version without records: its mean and the deltas are absent, not 0"

echo "ryw: $passed passed, 0 failed"
