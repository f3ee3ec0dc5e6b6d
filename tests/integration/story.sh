#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The story, end to end: the tutorial a new user can read, and a test.
#
# It starts the daemon set in a temp dir on ephemeral loopback ports, then
# walks the loop with tractionctl, the Python client and the C example
# publisher: add a provider, register a supply, submit a scenario with a
# demand and a target metric, match, adopt, publish feedback (JSON Lines,
# problems, value verifications), advance (one refused with reasons, then
# allowed), record a new version that addresses the problem, publish more,
# see the problem regress, and read the history and the diff.
#
#   tests/integration/story.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: story.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3   # Debian's, with python3-zmq and python3-protobuf
# the Python package as the build made it (clients/python, docs/python.md)
export PYTHONPATH="$BUILD/python${PYTHONPATH:+:$PYTHONPATH}"

DIR=$(mktemp -d /tmp/trc-story-XXXXXX)
PIDS=()
passed=0
cleanup() {
  rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    for f in "$DIR"/*.log; do echo "==== $f"; tail -n 40 "$f"; done >&2
  fi
  rm -rf "$DIR"
  exit $rc
}
trap cleanup EXIT INT TERM

fail() { echo "story: FAILED: $*" >&2; exit 1; }
ok() { passed=$((passed + 1)); echo "ok $passed - $*"; }
ctl() { "$BUILD/clients/tractionctl/tractionctl" "$@"; }
# CMD | has PATTERN: reads all of CMD's output before matching (grep -q
# stops at the first match, and under pipefail the writer's broken pipe
# would fail the check when its output outgrows the pipe's buffer)
has() { local out; out=$(cat); grep -q -- "$1" <<<"$out"; }

# ---- the daemon set, on ports the kernel picks ----------------------------
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
SET_TMP=$DIR
start_set "$DIR" "$BUILD" supplyd scenariod feedbackd iterationd
TRACTION_ENDPOINT=$EP
export TRACTION_ENDPOINT
eventually ctl status >/dev/null || fail "the set did not come up"
ok "tractionctl status: every service live"

# ---- the catalogue ----------------------------------------------------------
ctl provider add acme --name "Acme Vision" --kind ai-company >/dev/null
ctl supply register defect-vision --provider acme --kind industrial-algorithm \
    --name "Defect Vision" --capability defect-detection --capability visual-inspection \
    --version 1.0 >/dev/null
ctl scenario submit weld-line-3 --enterprise "Northern Steel" --domain production \
    --name "Weld seam inspection" --need defect-detection --need edge-deployment \
    --target "defect_rate<=0.02" >/dev/null
ok "provider, supply and scenario registered"

eventually ctl scenario match weld-line-3 | has "defect-vision .* covers 1 of 2" ||
  fail "match did not rank defect-vision"
ctl scenario gaps | has "^edge-deployment .* 1 " || fail "gaps did not show edge-deployment"
ok "match ranks the supply with reasons; gaps shows the unmet capability"

DEP=$(eventually ctl deployment adopt weld-line-3 defect-vision@1.0 | awk '{print $1}')
[ "$DEP" = dep-1 ] || fail "adopt printed '$DEP'"
ok "adopted as $DEP"

# ---- feedback from the site: JSON Lines, a problem, the Python client, C ----
$PY - "$DIR/site.jsonl" <<'EOF'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(300):
        f.write(json.dumps({"scenario": "weld-line-3", "supply": "defect-vision",
                            "version": "1.0", "key": "site7-%06d" % i,
                            "observed_at": "2026-11-28T10:%02d:00Z" % (i % 60),
                            "labels": {"line": "3"},
                            "metric": {"name": "defect_rate", "value": 0.031}}) + "\n")
EOF
eventually ctl feedback publish --file "$DIR/site.jsonl" | has "accepted 300, duplicates 0, refused 0" ||
  fail "the JSON Lines file was not accepted whole"
ctl feedback publish --file "$DIR/site.jsonl" | has "accepted 0, duplicates 300" ||
  fail "publishing the same file again stored something"
ok "300 records from JSON Lines; the same file again stores nothing"

ctl feedback publish --scenario weld-line-3 --supply defect-vision@1.0 \
    --problem critical --title "misses hairline cracks" --signature hairline-miss >/dev/null
$PY -m traction.cli publish --scenario weld-line-3 \
    --supply defect-vision@1.0 --metric defect_rate=0.031 --count 50 | has '"accepted": 50' ||
  fail "the Python client did not publish"
"$BUILD/clients/examples/publish_stream" weld-line-3 defect-vision@1.0 latency_ms 200 |
  has "^200 acknowledged" || fail "the C example did not publish"
ctl feedback stats --supply defect-vision@1.0 --metric defect_rate | has "count 350" ||
  fail "stats do not count 350 defect_rate records"
ok "a problem, 50 records from Python, 200 from C; stats count them"

# ---- stages: refused with reasons, then allowed ----------------------------
eventually ctl deployment advance "$DEP" --to refinement >/dev/null || fail "refinement refused"
# No waiting here: a critical problem blocks the gate as soon as its problem
# event arrives, before feedbackd's evidence roll-up (sent every 250 ms).
if ctl deployment advance "$DEP" --to pilot 2>"$DIR/err"; then fail "pilot allowed"; fi
grep -q "open_critical_problems is 1, needs <= 0" "$DIR/err" || fail "no reason: $(cat "$DIR/err")"
ok "to pilot refused: $(cut -c1-80 "$DIR/err")..."
# the same refusal for a program: --json puts the details on stdout
if ctl --json deployment advance "$DEP" --to pilot >"$DIR/out" 2>/dev/null; then fail "pilot allowed"; fi
/usr/bin/python3 - "$DIR/out" <<'PY' || fail "advance details: $(cat "$DIR/out")"
import json, sys
err = json.load(open(sys.argv[1]))["error"]
assert err["code"] == "FAILED_PRECONDITION", err
d = {x["subject"]: x for x in err["details"]}
assert d["open_critical_problems"]["reason"] == "above_allowed", d
assert d["open_critical_problems"]["current"] == "1" and d["open_critical_problems"]["required"] == "0", d
PY
ok "and --json gives the unmet criteria as details (open_critical_problems: 1, allowed 0)"

ctl iteration record defect-vision@1.1 --parent 1.0 --notes "hairline crack model" \
    --addresses hairline-miss >/dev/null
eventually ctl feedback problems --state addressed | has hairline-miss ||
  fail "the problem was not marked addressed"
ctl deployment upgrade "$DEP" 1.1 >/dev/null
$PY - "$DIR/site2.jsonl" <<'EOF'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(100):
        f.write(json.dumps({"scenario": "weld-line-3", "supply": "defect-vision",
                            "version": "1.1", "metric": {"name": "defect_rate", "value": 0.015}}) + "\n")
    for i in range(3):
        f.write(json.dumps({"scenario": "weld-line-3", "supply": "defect-vision", "version": "1.1",
                            "value": {"kpi": "scrap_rate", "baseline": 0.05, "achieved": 0.03,
                                      "unit": "ratio", "higher_is_better": False}}) + "\n")
EOF
eventually ctl feedback publish --file "$DIR/site2.jsonl" >/dev/null || fail "1.1 feedback refused"
ok "1.1 recorded addressing hairline-miss; deployment upgraded; 1.1 feedback published"

eventually ctl deployment advance "$DEP" --to service >/dev/null || fail "service refused"
ctl deployment show "$DEP" | has "stage service" || fail "not at service"
ok "advanced to service on 1.1's evidence"

# ---- the problem comes back ------------------------------------------------
ctl feedback publish --scenario weld-line-3 --supply defect-vision@1.1 \
    --problem critical --title "misses hairline cracks again" --signature hairline-miss >/dev/null
eventually ctl feedback regressions | has "hairline-miss .* regressed .* 1.1 back in 1.1" ||
  fail "no regression"
ok "the regression is flagged"

# ---- history and diff: what changed, what drove it, whether it helped ------
eventually bash -c "'$BUILD/clients/tractionctl/tractionctl' iteration history defect-vision | grep -q 'REGRESSED in 1.1'" ||
  fail "history does not show the regression"
ctl --json iteration history defect-vision >"$DIR/history.json"
$PY - "$DIR/history.json" <<'EOF' || fail "history JSON"
import json, sys
h = json.load(open(sys.argv[1]))
v = {x["iteration"]["version"]: x for x in h["versions"]}
assert list(v) == ["1.0", "1.1"], list(v)
a = v["1.1"]["addressed"][0]
assert a["signature"] == "hairline-miss" and a["stayed_fixed"] is False, a
d = {x["metric"]: x for x in v["1.1"]["deltas"]}["defect_rate"]
assert abs(d["from_mean"] - 0.031) < 1e-9 and abs(d["to_mean"] - 0.015) < 1e-9, d
assert d["from_count"] == 350 and d["to_count"] == 100, d
assert v["1.1"]["values"]["count"] == 3
EOF
$PY -m traction.cli call iteration history '{"supply_id": "defect-vision"}' |
  has '"version": "1.1"' ||
  fail "the Python client could not read the history"
ctl iteration diff defect-vision 1.0 1.1 >"$DIR/diff"
grep -q "defect_rate: 0.031 -> 0.015" "$DIR/diff" || fail "diff: $(cat "$DIR/diff")"
grep -q "problems regressed: hairline-miss" "$DIR/diff" || fail "diff: $(cat "$DIR/diff")"
ctl deployment history "$DEP" | has "advance  refinement -> service" || fail "timeline"
ok "history (valid JSON, read by Python too), diff and timeline tell the story"

# ---- what derives from proto/: every method, callable, and the readers' feed -
ctl methods | has "^deployment  *advance  *DeploymentAdvanceRequest -> DeploymentReply" \
    || fail "methods: $(ctl methods)"
[ "$(ctl methods | wc -l)" -ge 39 ] || fail "methods lists $(ctl methods | wc -l)"
ctl call scenario get '{"id": "weld-line-3"}' | has "Weld seam inspection" || fail "call get"
if ctl call scenario nosuch 2>"$DIR/err"; then fail "call of no method"; fi
grep -q "no such method" "$DIR/err" || fail "call: $(cat "$DIR/err")"
ctl events follow scenario --count 1 | has "^scenario #1 scenario.submitted" || fail "follow"
ctl --json events follow iteration --topic deployment.advanced --count 2 >"$DIR/out"
[ "$(grep -c '"type": *"deployment.advanced"' "$DIR/out")" -eq 2 ] || fail "follow: $(cat "$DIR/out")"
ok "methods lists the wire; call reaches any method; events follow reads the feed by topic"

# every event every daemon received was one it could apply
if grep -h "not applied" "$DIR"/*.log; then fail "an event was refused by a consumer"; fi
ok "no daemon refused an event"

echo "story: $passed passed, 0 failed"
