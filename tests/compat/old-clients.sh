#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The first wave's clients against the current daemon set, and the reverse.
#
# The first wave is commit d1122c6. This test extracts its tree
# (git archive), builds its tractionctl, its Python client's generated
# modules, its broker and its supplyd (cached under WORK, keyed by the
# commit), then:
#
#  1. starts the CURRENT broker and four daemons from BUILD (ephemeral
#     loopback ports, state in a temp dir, as tests/integration/story.sh
#     does) and walks the loop with the OLD tractionctl (linked to the OLD
#     libtraction): provider, supply, scenario, adopt, feedback with
#     idempotency keys (the same key twice is a duplicate), stats, list,
#     iteration, deployment history, status; then the OLD
#     clients/python/tractionpy.py (with the OLD generated modules)
#     publishes and reads the history. Each output is checked for the
#     values that must be in it.
#  2. starts the OLD broker and the OLD supplyd and runs the CURRENT
#     tractionctl against them: a client speaking a newer protocol version
#     must fail fast (non-zero, within a few seconds) with a message that
#     says "version", not hang or half-work.
#  3. starts the CURRENT broker with the OLD supplyd (which says no replica
#     role: SINGLE) and the OLD tractionctl writes and reads through it;
#     the Header's replica fields encoded by either side read on the other.
#
#   tests/compat/old-clients.sh SRC_DIR BUILD_DIR WORK_DIR
#
# SRC_DIR must be a git clone holding d1122c6 (a shallow clone does not:
# git fetch --unshallow). BUILD_DIR is the current tree's build (its
# traction-broker, traction-*d and tractionctl built). WORK_DIR keeps the
# first wave's tree and build between runs.
set -euo pipefail

WAVE1=d1122c6
# what the first wave's build must make (the stamp of the cache names them)
WAVE1_TARGETS="tractionctl traction_python traction-broker traction-supplyd"
PY=/usr/bin/python3   # Debian's, with python3-zmq and python3-protobuf

usage="usage: old-clients.sh SRC_DIR BUILD_DIR WORK_DIR"
SRC=$(cd "${1:?$usage}" && pwd)
BUILD=$(cd "${2:?$usage}" && pwd)
mkdir -p "${3:?$usage}"
WORK=$(cd "$3" && pwd)

# Nothing from the caller's environment picks the endpoint, the keys or
# the libraries the clients load.
unset TRACTION_ENDPOINT TRACTION_SERVER_KEY TRACTION_KEY_FILE TRACTION_PYTHON_GEN LD_LIBRARY_PATH

T0=$(date +%s%N)
passed=0
fail() { echo "compat: FAILED: $*" >&2; exit 1; }
ok() { passed=$((passed + 1)); echo "ok $passed - $*"; }
since_ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

# ---- the first wave's tree and build (cached) -------------------------------
if ! git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
  fail "$SRC is not a git clone: this test needs the history (the first wave is commit $WAVE1)"
fi
if ! COMMIT=$(git -C "$SRC" rev-parse --verify --quiet "$WAVE1^{commit}"); then
  shallow=$(git -C "$SRC" rev-parse --is-shallow-repository 2>/dev/null || echo unknown)
  fail "commit $WAVE1 (the first wave) is not in $SRC (shallow clone: $shallow);" \
       "fetch the full history with: git -C $SRC fetch --unshallow"
fi

OLD_SRC="$WORK/wave1"
OLD_BUILD="$WORK/wave1-build"
STAMP="$WORK/wave1.stamp"
OLDCTL="$OLD_BUILD/clients/tractionctl/tractionctl"
OLDPY="$OLD_SRC/clients/python/tractionpy.py"
OLDPYGEN="$OLD_BUILD/python"
want_stamp="$COMMIT $WAVE1_TARGETS"
have_all() {
  [ -x "$OLDCTL" ] && [ -x "$OLD_BUILD/broker/traction-broker" ] &&
    [ -x "$OLD_BUILD/services/traction-supplyd" ] && [ -f "$OLDPY" ] &&
    [ -f "$OLDPYGEN/traction/v1/iteration_pb2.py" ]
}
if [ "$(cat "$STAMP" 2>/dev/null || true)" = "$want_stamp" ] && have_all; then
  ok "first wave ${COMMIT:0:12}: cached build in $OLD_BUILD"
else
  t=$(date +%s%N)
  rm -rf "$OLD_SRC" "$OLD_BUILD" "$STAMP"
  mkdir -p "$OLD_SRC"
  git -C "$SRC" archive "$COMMIT" | tar -x -C "$OLD_SRC"
  echo "compat: building the first wave's $WAVE1_TARGETS in $OLD_BUILD (log: $WORK/wave1-build.log)"
  # shellcheck disable=SC2086
  if ! { cmake -S "$OLD_SRC" -B "$OLD_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
           -DBUILD_TESTING=OFF -DTRACTION_BENCH=OFF &&
         cmake --build "$OLD_BUILD" -j 2 --target $WAVE1_TARGETS; } >"$WORK/wave1-build.log" 2>&1; then
    tail -n 40 "$WORK/wave1-build.log" >&2
    fail "the first wave's build failed (log above, whole in $WORK/wave1-build.log)"
  fi
  have_all || fail "the first wave's build did not make every binary it should"
  echo "$want_stamp" >"$STAMP"
  ok "first wave ${COMMIT:0:12}: extracted and built in $(since_ms "$t") ms"
fi

# The old tractionctl must run on the OLD libtraction (the point of the test).
# (grep without -q: -q stops at the first match and ldd, cut short, fails the pipe)
ldd "$OLDCTL" | grep "libtraction.so.0 => $OLD_BUILD/clients/libtraction/" >/dev/null ||
  fail "the old tractionctl does not load the old libtraction: $(ldd "$OLDCTL" | grep libtraction)"
NEWCTL="$BUILD/clients/tractionctl/tractionctl"
for b in "$BUILD/broker/traction-broker" "$BUILD/services/traction-supplyd" \
         "$BUILD/services/traction-scenariod" "$BUILD/services/traction-feedbackd" \
         "$BUILD/services/traction-iterationd" "$NEWCTL"; do
  [ -x "$b" ] || fail "$b is not built (build the current tree first)"
done
[ -x "$PY" ] || fail "$PY is missing (Debian's python3 with python3-zmq and python3-protobuf)"

# ---- processes: only the ones started here are stopped ----------------------
RUN=$(mktemp -d "${TMPDIR:-/tmp}/trc-compat-XXXXXX")
PIDS=()
cleanup() {
  rc=$?
  set +e
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  if [ $rc -ne 0 ]; then
    for f in "$RUN"/*/*.log; do [ -f "$f" ] && { echo "==== $f"; tail -n 30 "$f"; }; done >&2
  fi
  rm -rf "$RUN"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_set DIR BIN_DIR DAEMON...: sets EP
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
SET_TMP=$RUN

# CMD | has PATTERN (grep -E): reads all of CMD's output first
has() { local out; out=$(cat); grep -Eq -- "$1" <<<"$out" || { printf '%s\n' "$out" >&2; return 1; }; }
# expect FILE WHAT PATTERN...: every PATTERN (grep -E) has a line in FILE
expect() {
  local f=$1 what=$2 p
  shift 2
  for p in "$@"; do
    grep -Eq -- "$p" "$f" || fail "$what: no line matches '$p' in:
$(cat "$f")"
  done
}

# wait_for PATTERN CMD...: retries CMD for up to 10 s until it succeeds and
# a line of its output matches PATTERN (grep -E); prints that output
wait_for() {
  local pat=$1
  shift
  for _ in $(seq 1 200); do
    if "$@" >"$RUN/out" 2>"$RUN/err" && grep -Eq -- "$pat" "$RUN/out"; then cat "$RUN/out"; return 0; fi
    sleep 0.05
  done
  echo "compat: waited 10 s for a line matching '$pat' from: $*" >&2
  cat "$RUN/out" "$RUN/err" >&2
  return 1
}

# ============================================================================
# 1. the first wave's clients against the current set
# ============================================================================
start_set "$RUN/new" "$BUILD" supplyd scenariod feedbackd iterationd
NEW_EP=$EP
octl() { "$OLDCTL" --endpoint "$NEW_EP" "$@"; }
oldpy() { TRACTION_PYTHON_GEN="$OLDPYGEN" "$PY" "$OLDPY" --endpoint "$NEW_EP" "$@"; }

all_live() {
  local out s
  out=$(octl status) || return 1
  for s in supply scenario feedback iteration deployment; do
    grep -Eq "^$s +live +1 " <<<"$out" || return 1
  done
  printf '%s\n' "$out"
}
eventually all_live >"$RUN/status" || fail "old tractionctl status: the current set did not come up"
expect "$RUN/status" "status" "^broker " "^SERVICE +STATE +INSTANCES"
ok "old tractionctl status: supply, scenario, feedback, iteration, deployment live"

# ---- the catalogue ----------------------------------------------------------
octl provider add acme --name "Acme Vision" --kind ai-company >"$RUN/o" || fail "provider add"
expect "$RUN/o" "provider add" "^  id: acme$" "^  kind: ai-company$"
octl provider show acme | has "^  name: Acme Vision$" || fail "provider show"
ok "provider add / show"

octl supply register defect-vision --provider acme --kind industrial-algorithm \
    --name "Defect Vision" --capability defect-detection --capability visual-inspection \
    --version 1.0 >"$RUN/o" || fail "supply register"
expect "$RUN/o" "supply register" "^  provider_id: acme$" \
  "^  capabilities: defect-detection, visual-inspection$" "^  initial_version: 1.0$" "^  status: active$"
octl --json supply show defect-vision >"$RUN/supply.json" || fail "supply show --json"
"$PY" - "$RUN/supply.json" <<'EOF' || fail "supply show --json: $(cat "$RUN/supply.json")"
import json, sys
s = json.load(open(sys.argv[1]))["supply"]
assert s["id"] == "defect-vision" and s["kind"] == "industrial-algorithm", s
assert s["capabilities"] == ["defect-detection", "visual-inspection"], s
assert s["initial_version"] == "1.0" and s["status"] == "active", s
EOF
ok "supply register / show (text and JSON)"

octl scenario submit weld-line-3 --enterprise "Northern Steel" --domain production \
    --name "Weld seam inspection" --need defect-detection --need edge-deployment \
    --target "defect_rate<=0.02" >"$RUN/o" || fail "scenario submit"
expect "$RUN/o" "scenario submit" "^  enterprise: Northern Steel$" \
  "^    capabilities: defect-detection, edge-deployment$" "^      metric: defect_rate$" \
  "^      comparison: le$" "^      threshold: 0.02$"
wait_for "^1 +defect-vision .*covers 1 of 2" octl scenario match weld-line-3 >/dev/null ||
  fail "scenario match did not rank defect-vision"
ok "scenario submit / match"

# ---- adopt, feedback with keys ----------------------------------------------
eventually octl deployment adopt weld-line-3 defect-vision@1.0 >"$RUN/o" || fail "deployment adopt"
expect "$RUN/o" "deployment adopt" "^dep-1 +defect-vision@1.0 in weld-line-3 +stage validation$"
ok "deployment adopt: dep-1 at validation"

pub() { octl feedback publish --scenario weld-line-3 --supply defect-vision@1.0 "$@"; }
eventually pub --metric defect_rate=0.031 --label line=3 --key compat-m1 >"$RUN/o" ||
  fail "feedback publish (metric)"
M1=$(sed -n 's/^record \([0-9][0-9]*\)$/\1/p' "$RUN/o")
[ -n "$M1" ] || fail "metric publish printed: $(cat "$RUN/o")"
pub --metric defect_rate=0.031 --label line=3 --key compat-m1 >"$RUN/o" ||
  fail "feedback publish (the same key again)"
grep -qx "duplicate of record $M1" "$RUN/o" || fail "the same key again printed: $(cat "$RUN/o")"
pub --metric defect_rate=0.029 --label line=4 --key compat-m2 | has "^record [0-9]+$" ||
  fail "feedback publish (second metric)"
pub --problem critical --title "misses hairline cracks" --signature hairline-miss \
    --key compat-p1 | has "^record [0-9]+$" || fail "feedback publish (problem)"
ok "feedback publish: a metric (record $M1), the same key again a duplicate of $M1, a second metric, a problem"

wait_for "^problems critical: 1 reports" \
    octl feedback stats --supply defect-vision@1.0 --metric defect_rate >"$RUN/o" || fail "feedback stats"
expect "$RUN/o" "feedback stats" "^defect_rate: count 2  mean 0.03  stddev 0.001  min 0.029  max 0.031 " \
  "^problems critical: 1 reports, 1 open, 0 addressed, 0 regressed$"
octl feedback list --supply defect-vision@1.0 >"$RUN/o" || fail "feedback list"
expect "$RUN/o" "feedback list" "^$M1 .*defect-vision@1.0 +weld-line-3 +metric defect_rate = 0.031$" \
  " weld-line-3 +metric defect_rate = 0.029$" " weld-line-3 +problem critical misses hairline cracks #hairline-miss$"
[ "$(grep -c "defect-vision@1.0" "$RUN/o")" = 3 ] || fail "feedback list: not 3 records: $(cat "$RUN/o")"
octl feedback list --supply defect-vision@1.0 --label line=3 >"$RUN/o" || fail "feedback list --label"
expect "$RUN/o" "feedback list --label line=3" "metric defect_rate = 0.031$"
[ "$(grep -c "defect-vision@1.0" "$RUN/o")" = 1 ] || fail "feedback list --label line=3: $(cat "$RUN/o")"
octl --json feedback list --supply defect-vision@1.0 >"$RUN/list.json" || fail "feedback list --json"
"$PY" - "$RUN/list.json" <<'EOF' || fail "feedback list --json: $(cat "$RUN/list.json")"
import json, sys
r = {x["idempotency_key"]: x for x in json.load(open(sys.argv[1]))["records"]}
assert sorted(r) == ["compat-m1", "compat-m2", "compat-p1"], sorted(r)
assert r["compat-m1"]["metric"] == {"name": "defect_rate", "value": 0.031}, r["compat-m1"]
assert {"key": "line", "value": "3"} in r["compat-m1"]["labels"], r["compat-m1"]
assert r["compat-p1"]["problem"]["signature"] == "hairline-miss", r["compat-p1"]
EOF
ok "feedback stats (count 2, mean 0.03, 1 critical open) and list (3 records, by label, keys in JSON)"

# ---- a new version, the deployment follows it --------------------------------
octl iteration record defect-vision@1.1 --parent 1.0 --notes "hairline crack model" \
    --addresses hairline-miss >"$RUN/o" || fail "iteration record"
expect "$RUN/o" "iteration record" "^  version: 1.1$" "^  parent_version: 1.0$" \
  "^  notes: hairline crack model$" "^  addresses: hairline-miss$"
octl deployment upgrade dep-1 1.1 | has "^dep-1 +defect-vision@1.1 in weld-line-3" || fail "deployment upgrade"
octl deployment history dep-1 >"$RUN/o" || fail "deployment history"
expect "$RUN/o" "deployment history" "^dep-1: defect-vision in weld-line-3$" \
  " adopt +- -> validation +\(1.0\)$" " upgrade +validation -> validation +\(1.1\)$" "^  ran 1.1 from "
wait_for "^defect-vision +hairline-miss +critical +addressed +1 +1.1 " \
    octl feedback problems --state addressed >/dev/null ||
  fail "feedback problems: hairline-miss not addressed by 1.1"
ok "iteration record 1.1 addressing hairline-miss; deployment upgrade and history; the problem addressed"

# ---- the first wave's Python client ------------------------------------------
oldpy publish --scenario weld-line-3 --supply defect-vision@1.1 --metric defect_rate=0.015 \
    --count 5 --key-prefix compat-py >"$RUN/o" || fail "tractionpy publish: $(cat "$RUN/o")"
grep -qx '{"accepted": 5, "duplicates": 0, "refused": \[\]}' "$RUN/o" || fail "tractionpy publish printed: $(cat "$RUN/o")"
oldpy publish --scenario weld-line-3 --supply defect-vision@1.1 --metric defect_rate=0.015 \
    --count 5 --key-prefix compat-py >"$RUN/o" || fail "tractionpy publish again: $(cat "$RUN/o")"
grep -qx '{"accepted": 0, "duplicates": 5, "refused": \[\]}' "$RUN/o" ||
  fail "tractionpy publish with the same keys again printed: $(cat "$RUN/o")"
wait_for "^defect_rate: count 5  mean 0.015 " \
    octl feedback stats --supply defect-vision@1.1 --metric defect_rate >/dev/null || fail "stats of 1.1 do not count Python's 5 records"
ok "old tractionpy.py publish: 5 accepted, the same keys again 5 duplicates; stats count them"

eventually oldpy history defect-vision >"$RUN/history.json" || fail "tractionpy history"
"$PY" - "$RUN/history.json" <<'EOF' || fail "tractionpy history: $(head -c 2000 "$RUN/history.json")"
import json, sys
h = json.load(open(sys.argv[1]))
assert h["supply_id"] == "defect-vision", h.get("supply_id")
v = {x["iteration"]["version"]: x for x in h["versions"]}
assert list(v) == ["1.0", "1.1"], list(v)
assert v["1.1"]["iteration"]["parent_version"] == "1.0"
assert v["1.1"]["addressed"][0]["signature"] == "hairline-miss", v["1.1"]["addressed"]
assert v["1.1"]["deployment_ids"] == ["dep-1"], v["1.1"]["deployment_ids"]
d = {x["metric"]: x for x in v["1.1"]["deltas"]}["defect_rate"]
assert abs(d["from_mean"] - 0.03) < 1e-9 and abs(d["to_mean"] - 0.015) < 1e-9, d
assert int(d["from_count"]) == 2 and int(d["to_count"]) == 5, d
EOF
octl iteration history defect-vision >"$RUN/o" || fail "iteration history"
expect "$RUN/o" "iteration history" "^  1.1 <- 1.0 " "addresses hairline-miss: stayed fixed" \
  "deployed as: dep-1"
ok "old tractionpy.py history and old tractionctl iteration history: 1.0 -> 1.1, defect_rate 0.03 -> 0.015"

all_live >"$RUN/o" || fail "old tractionctl status at the end: $(cat "$RUN/o")"
expect "$RUN/o" "status" "^broker " "^feedback +live +1 +[0-9]+ "
if grep -h "not applied" "$RUN"/new/*.log; then fail "a current daemon refused an event"; fi
ok "old tractionctl status at the end: every service live; no daemon refused an event"
# ---- a v1.1 field between daemons: ReplayReply.compacted_below ------------------
# (docs/protocol.md, "Compaction"): the first wave's decoder passes over it
# and reads the events and head as they are; the current one reads a
# first-wave reply (without it) as 0, no gap to accept.
replay_py() { # GEN MODE FILE
  PYTHONPATH="$1" "$PY" - "$2" "$3" <<'EOF'
import sys
from traction.v1 import events_pb2 as ev
mode, path = sys.argv[1], sys.argv[2]
def reply(**kw):
    r = ev.ReplayReply(head_seq=9, **kw)
    for seq in (4, 7, 8, 9):
        r.events.add(source="feedback", seq=seq, type="feedback.problem")
    return r
if mode == "new-encode":
    open(path, "wb").write(reply(compacted_below=8).SerializeToString())
elif mode == "old-encode":
    open(path, "wb").write(reply().SerializeToString())
else:
    r = ev.ReplayReply.FromString(open(path, "rb").read())
    assert [e.seq for e in r.events] == [4, 7, 8, 9] and r.head_seq == 9, r
    if mode == "new-decode":
        assert r.compacted_below == 0, r.compacted_below
EOF
}
replay_py "$BUILD/python" new-encode "$RUN/replay.new" || fail "a current ReplayReply does not encode"
replay_py "$OLDPYGEN" old-decode "$RUN/replay.new" || fail "the first wave cannot read a ReplayReply with compacted_below"
replay_py "$OLDPYGEN" old-encode "$RUN/replay.old" || fail "a first-wave ReplayReply does not encode"
replay_py "$BUILD/python" new-decode "$RUN/replay.old" || fail "a first-wave ReplayReply does not read as compacted_below 0"
ok "ReplayReply.compacted_below (v1.1): the first wave reads past it; its replies read as 0"

echo "compat: the first wave's clients against the current set: done in $(since_ms "$T0") ms"

# ============================================================================
# 2. the current tractionctl against the first wave's broker and supplyd
# ============================================================================
# (an old build knows no [metrics] section: none is written for it)
SET_METRICS="" SET_SERVICES="" start_set "$RUN/old" "$OLD_BUILD" supplyd
OLD_EP=$EP
# the old set answers the old client: what follows is about the new one
eventually "$OLDCTL" --endpoint "$OLD_EP" supply list >/dev/null ||
  fail "the first wave's broker and supplyd did not come up"
t=$(date +%s%N)
rc=0
timeout 30 "$NEWCTL" --endpoint "$OLD_EP" supply list >"$RUN/o" 2>"$RUN/e" || rc=$?
ms=$(since_ms "$t")
echo "compat: current tractionctl supply list against the first wave's broker: exit $rc in $ms ms"
echo "compat:   stderr: $(head -c 500 "$RUN/e")"
[ $rc -ne 0 ] || fail "the current tractionctl succeeded against the first wave's broker" \
  "(a client of a newer protocol version must be refused): stdout: $(head -c 300 "$RUN/o")"
[ $rc -ne 124 ] || fail "the current tractionctl hung against the first wave's broker (killed after 30 s)"
[ "$ms" -le 5000 ] || fail "the current tractionctl took $ms ms to fail against the first wave's broker (want <= 5000)"
grep -qi "version" "$RUN/e" || fail "the current tractionctl's error does not say 'version': $(cat "$RUN/e")"
ok "current tractionctl against the first wave's broker: exit $rc in $ms ms, says: $(head -n 1 "$RUN/e" | cut -c1-120)"

# ============================================================================
# 3. replica roles (v1.1, docs/protocol.md): a first-wave daemon behind the
#    current broker says no role and is SINGLE, a leader of term 0
# ============================================================================
SET_SERVICES="supply" start_set "$RUN/mixed" "$BUILD"
MIX_EP=$EP
{ cat "$RUN/mixed/endpoints"
  printf 'heartbeat_ms = 200\n[store]\nstate_dir = %s/var\n' "$RUN/mixed"
} >"$RUN/mixed/old.conf"
"$OLD_BUILD/services/traction-supplyd" --config "$RUN/mixed/old.conf" 2>"$RUN/mixed/supplyd.log" &
PIDS+=($!)
mctl() { "$OLDCTL" --endpoint "$MIX_EP" "$@"; }
eventually mctl supply list >/dev/null || fail "the current broker routes nothing to the first wave's supplyd"
mctl provider add acme --name "Acme Vision" --kind ai-company >"$RUN/o" ||
  fail "provider add through the current broker to the first wave's supplyd"
mctl provider show acme | has "^  name: Acme Vision$" || fail "provider show"
ok "the first wave's supplyd behind the current broker (no role: SINGLE) gets writes and reads"
# the Header's new fields: the first wave's decoder passes over them, and
# the current one reads a first-wave READY as SINGLE at term 0
header_py() { # GEN MODE FILE
  PYTHONPATH="$1" "$PY" - "$2" "$3" <<'EOF'
import sys
from traction.v1 import bus_pb2 as bus
mode, path = sys.argv[1], sys.argv[2]
if mode == "new-encode":
    h = bus.Header(version=2, kind=bus.FRAME_READY, service="supply",
                   replica_role=bus.REPLICA_FOLLOWER, term=7, consistency=bus.CONSISTENCY_STALE,
                   instance="00e43c986d")
    open(path, "wb").write(h.SerializeToString())
elif mode == "old-encode":
    open(path, "wb").write(bus.Header(version=1, kind=bus.FRAME_READY,
                                      service="supply").SerializeToString())
else:
    h = bus.Header.FromString(open(path, "rb").read())
    assert h.kind == bus.FRAME_READY and h.service == "supply", h
    if mode == "new-decode":
        assert (h.replica_role, h.term, h.consistency, h.instance) == (
            bus.REPLICA_SINGLE, 0, bus.CONSISTENCY_LINEARIZABLE, ""), h
EOF
}
header_py "$BUILD/python" new-encode "$RUN/hdr.new" || fail "a current Header does not encode"
header_py "$OLDPYGEN" old-decode "$RUN/hdr.new" ||
  fail "the first wave cannot read a Header with replica_role, term, consistency, instance"
header_py "$OLDPYGEN" old-encode "$RUN/hdr.old" || fail "a first-wave Header does not encode"
header_py "$BUILD/python" new-decode "$RUN/hdr.old" || fail "a first-wave READY does not read as SINGLE at term 0"
ok "Header.replica_role, term, consistency, instance (v1.1): the first wave reads past them; its frames read as SINGLE, 0, linearizable, no instance"

echo "compat: $passed passed, 0 failed, in $(since_ms "$T0") ms"
