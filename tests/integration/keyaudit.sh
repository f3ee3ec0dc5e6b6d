#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The broker's audit log of key and scope changes, against a real broker
# with CurveZMQ and a keys_dir, and real daemons (docs/operations.md,
# "Audit log"; docs/security.md, "Changing keys"): the key set in force at
# the first start; a key added, a reader's scope changed, a key removed, a
# public key rotated, through `tractionctl keys reload --reason` (the
# admin's name and reason); a role and a user's tokens changed through a
# plain SIGHUP (its sender's uid and command, reason SIGHUP); a keys_dir
# that does not parse refused, the keys in force kept, one
# keys.reload_refused entry and no key entry; a change made while the
# broker was stopped found at its start; the entries outlive a restart,
# merge with the daemons' in `tractionctl audit`, every filter works on
# them, and no method changes or deletes one; `tractionctl backup` takes
# the broker's log with the daemons' stores, and the restored broker has
# it (a backup without it, as an older one, restores and starts it afresh).
#
# Each check says ok or not ok and the run goes on; it exits 1 if one was.
#   tests/integration/keyaudit.sh BUILD_DIR
set -uo pipefail
BUILD=$(cd "${1:?usage: keyaudit.sh BUILD_DIR}" && pwd)
DIR=$(mktemp -d /tmp/trc-keyaudit-XXXXXX)
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
set_traps "$DIR" keyaudit
SET_TMP=$DIR
CTL=$BUILD/clients/tractionctl/tractionctl
K=$DIR/keys
mkdir -p "$K"

# pair NAME: a fresh key pair in $DIR/NAME.pair; pub NAME: its public key
pair() { "$CTL" keygen >"$DIR/$1.pair"; }
pub() { sed -n 's/^public = //p' "$DIR/$1.pair"; }
# as NAME ARGS...: tractionctl with NAME's key pair
as() { TRACTION_KEY_FILE=$DIR/$1.pair "$CTL" --timeout 2000 "${@:2}"; }
# soon CMD...: CMD succeeds within a few seconds (a signal is handled
# between two turns of the broker's loop); bounded, so that a broken
# broker that answers nothing fails the check rather than the time limit
soon() { for _ in $(seq 1 30); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
ctl() { as admin "$@"; }
# the broker's entries as lines: action|subject|actor|role|reason|details
entries() {
  ctl --json audit --daemon broker "$@" | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin)["entries"]:
    d = ",".join("%s=%s" % (x["key"], x["value"]) for x in e.get("details", []))
    print("|".join([e.get("action", ""), e.get("subject", ""), e.get("actor", ""),
                    e.get("role", ""), e.get("reason", ""), d]))'
}
count() { entries "$@" | grep -c .; }
has_entry() { [ -n "$(entries "$@")" ]; }
refused_by_signal() { entries --action keys.reload_refused | grep -q "|SIGHUP|"; }

for k in server admin qa site7 rot rot2 site8; do pair "$k"; done
printf 'public = %s\nrole = admin\n' "$(pub admin)" >"$K/admin.key"
printf 'public = %s\nrole = reader\nenterprises = Northern Steel\n' "$(pub qa)" >"$K/qa.key"
printf 'public = %s\nrole = publisher\nscenarios = line-1\n' "$(pub site7)" >"$K/site7.key"
printf 'public = %s\nrole = reader\n' "$(pub rot)" >"$K/rot.key"
tok1=$("$CTL" token | sed -n 's/^tokens = //p')
tok2=$("$CTL" token | sed -n 's/^tokens = //p')
printf 'role = reader\nproviders = acme\ntokens = %s\n' "$tok1" >"$K/alice.user"

SET_EXTRA="[security]
curve = 1
server_key_file = $DIR/server.pair
keys_dir = $K"
start_set "$DIR/set" "$BUILD" supplyd scenariod feedbackd iterationd
BROKER=${PIDS[0]}
export TRACTION_ENDPOINT=$EP TRACTION_SERVER_KEY=$(pub server)
for s in supply scenario feedback iteration deployment; do
  eventually ctl ping "$s" >/dev/null || fail "$s did not come up"
done

check "the first start records the key set in force, as the broker's"
out=$(entries)
for want in "key.added|admin|traction-broker|unspecified|start: the keys in force when the log began|role=admin,public=$(pub admin)" \
            "key.added|qa|traction-broker|unspecified|start: the keys in force when the log began|role=reader,public=$(pub qa),enterprises=Northern Steel" \
            "key.added|site7|" "key.added|rot|" "user.added|alice|traction-broker|unspecified|start: the keys in force when the log began|role=reader,providers=acme,tokens=1"; do
  grep -qF -- "$want" <<<"$out" || bad "missing: $want"
done
[ "$(grep -c . <<<"$out")" = 5 ] || bad "not five entries: $out"
grep -q "$tok1" "$DIR/set/broker.log" && bad "a token's hash in the broker's log"
grep -q "$tok1" <<<"$out" && bad "a token's hash in an entry"
done_check

check "tractionctl keys reload --reason: each difference one entry, the admin's, with the reason"
printf 'public = %s\nrole = publisher\nscenarios = line-2, line-1\n' "$(pub site8)" >"$K/site8.key"
printf 'public = %s\nrole = reader\nenterprises = Southern Glass, Northern Steel\n' "$(pub qa)" >"$K/qa.key"
rm "$K/site7.key"
printf 'public = %s\nrole = reader\n' "$(pub rot2)" >"$K/rot.key"
got=$(ctl keys reload --reason "ticket 4411") || bad "keys reload: $got"
grep -q "^keys: 5 in force, 4 changes recorded" <<<"$got" || bad "the reply: $got"
out=$(entries --actor admin)
for want in "key.added|site8|admin|admin|ticket 4411|role=publisher,public=$(pub site8),scenarios=line-1, line-2" \
            "key.scope|qa|admin|admin|ticket 4411|enterprises=Northern Steel -> Northern Steel, Southern Glass" \
            "key.removed|site7|admin|admin|ticket 4411|role=publisher,public=$(pub site7),scenarios=line-1" \
            "key.rotated|rot|admin|admin|ticket 4411|public=$(pub rot) -> $(pub rot2)"; do
  grep -qF -- "$want" <<<"$out" || bad "missing: $want"
done
[ "$(grep -c . <<<"$out")" = 4 ] || bad "not four entries: $out"
as rot2 ping broker >/dev/null || bad "the rotated key does not get in"
done_check

check "a reload that changes nothing records nothing (and reads the same keys_dir again)"
before=$(entries)
got=$(ctl keys reload --reason "nothing to see") || bad "the second reload: $got"
grep -q "^keys: 5 in force, 0 changes" <<<"$got" || bad "the reply: $got"
[ "$(entries)" = "$before" ] || bad "entries of a reload that changed nothing"
grep -q "client keys from $K\$" "$DIR/set/broker.log" || bad "the broker's log names no keys_dir"
grep -q "client keys from \$" "$DIR/set/broker.log" && bad "the broker lost its keys_dir"
done_check

check "the new key set is in force: the removed key and the old public key get no answer"
as site7 --timeout 500 ping broker >/dev/null 2>&1 && bad "site7 still gets in"
as rot --timeout 500 ping broker >/dev/null 2>&1 && bad "rot's old key still gets in"
done_check

check "SIGHUP: a role and a user's tokens, recorded as the sender's uid and command"
printf 'public = %s\nrole = admin\n' "$(pub rot2)" >"$K/rot.key"
printf 'role = reader\nproviders = acme\ntokens = %s, %s\n' "$tok1" "$tok2" >"$K/alice.user"
kill -HUP "$BROKER"
soon has_entry --action user.tokens || bad "no user.tokens entry"
out=$(entries --actor "uid $(id -u)")
grep -qF "key.role|rot|uid $(id -u)|unspecified|SIGHUP|role=reader -> admin,sender_pid=" <<<"$out" ||
  bad "no key.role entry of the signal: $out"
grep -qF "user.tokens|alice|uid $(id -u)|unspecified|SIGHUP|tokens=1 -> 2,sender_pid=" <<<"$out" ||
  bad "no user.tokens entry of the signal: $out"
grep -q "sender_comm=" <<<"$out" || bad "the sender's command is not named: $out"
grep -qe "$tok1" -e "$tok2" <<<"$out" && bad "a token's hash in an entry"
done_check

check "the entries for --action key. are each change, newest first, named by the broker"
out=$(ctl audit --action key.)
[ "$(grep -c ' broker ' <<<"$out")" = 9 ] || bad "not nine key entries: $out"
head -1 <<<"$out" | grep -q "key.role *rot" || bad "not newest first: $out"
grep -q 'user\.' <<<"$out" && bad "--action key. shows a user entry"
done_check

check "a keys_dir that does not parse is refused: the keys in force stay, one keys.reload_refused"
before=$(count --action key.)
ubefore=$(count --action user.)
rm "$K/qa.key" # the refused set would drop qa
printf 'public = %s\nrole = wizard\n' "$(pub site7)" >"$K/bad.key"
refuses "bad.key" ctl keys reload --reason "a bad try" || bad "the bad reload was not refused"
[ "$(count --action key.)" = "$before" ] || bad "a key entry of a refused reload: $(entries | head -3)"
[ "$(count --action user.)" = "$ubefore" ] || bad "a user entry of a refused reload"
entries --action keys.reload_refused | has "^keys.reload_refused|$K|admin|admin|a bad try|error=.*bad.key" ||
  bad "no keys.reload_refused entry of the admin"
as qa ping broker >/dev/null || bad "qa, in force, was dropped by a refused reload"
kill -HUP "$BROKER"
soon refused_by_signal || bad "no keys.reload_refused entry of the SIGHUP"
[ "$(count --action key.)" = "$before" ] || bad "a key entry of a refused SIGHUP"
as qa ping broker >/dev/null || bad "qa dropped by a refused SIGHUP"
done_check

check "filters: subject, actor, time, limit"
[ "$(count --subject qa)" = 2 ] || bad "--subject qa: $(entries --subject qa)"
[ "$(count --actor traction-broker)" = 5 ] || bad "--actor traction-broker"
[ "$(count --limit 2)" = 2 ] || bad "--limit 2"
[ "$(count --from 2099-01-01T00:00:00Z)" = 0 ] || bad "--from in the future"
[ "$(count --to 2000-01-01T00:00:00Z)" = 0 ] || bad "--to in the past"
done_check

check "merged with the daemons' logs"
ctl alert add crit --kind critical-problem >/dev/null || bad "alert add"
out=$(ctl audit)
grep -q ' feedbackd *alert.add' <<<"$out" || bad "no feedbackd entry: $out"
grep -q ' broker *key.rotated' <<<"$out" || bad "no broker entry: $out"
[ "$(ctl audit --daemon feedbackd | grep -c broker)" = 0 ] || bad "--daemon feedbackd shows the broker's"
done_check

check "a restart keeps the entries, and records what changed while it was stopped"
rm "$K/bad.key"
printf 'public = %s\nrole = reader\nenterprises = Southern Glass, Northern Steel\n' "$(pub qa)" >"$K/qa.key"
kept=$(entries)
kill -TERM "$BROKER"
wait "$BROKER" 2>/dev/null
rm "$K/site8.key"
# the same ports, so the daemons find it again
{ cat "$DIR/set/endpoints"; sed '/_endpoint = /d; /^\[bus\]/d' "$DIR/set/broker.conf"; } \
  >"$DIR/set/broker2.conf"
"$BUILD/broker/traction-broker" --config "$DIR/set/broker2.conf" 2>>"$DIR/set/broker.log" &
BROKER=$!
PIDS+=("$BROKER")
eventually ctl ping broker >/dev/null || fail "the broker did not come back"
# (and the daemons with it, which register again once they hear it: the
# backup below needs every one)
eventually ctl status >/dev/null || bad "the daemons did not register again"
now=$(entries)
[ "$(tail -n +2 <<<"$now")" = "$kept" ] || bad "the entries before the restart changed"
head -1 <<<"$now" | grep -qF "key.removed|site8|traction-broker|unspecified|start: changed while the broker was stopped|role=publisher" ||
  bad "the removal while stopped is not the newest entry: $(head -2 <<<"$now")"
done_check

check "no method of the wire changes or deletes an entry; audit.list and keys.reload are the admin's"
methods=$(ctl methods | grep '^broker')
[ "$(awk '{print $2}' <<<"$methods" | tr '\n' ' ')" = "ping status audit.list keys.reload backup.begin backup.resume backup.read backup.end " ] ||
  bad "the broker's methods: $methods"
refuses PERMISSION_DENIED as qa audit --daemon broker || bad "a reader read the broker's log"
refuses PERMISSION_DENIED as qa keys reload --reason x || bad "a reader reloaded the keys"
refuses INVALID_ARGUMENT ctl keys reload --reason "" || bad "a reload without a reason"
[ "$(entries)" = "$now" ] || bad "the refused calls changed the log"
done_check

# broker_on STATE_DIR: the broker again, on the same ports, its state in STATE_DIR
broker_on() {
  kill -TERM "$BROKER"
  wait "$BROKER" 2>/dev/null
  sed "s|^state_dir = .*|state_dir = $1|" "$DIR/set/broker2.conf" >"$DIR/set/broker3.conf"
  "$BUILD/broker/traction-broker" --config "$DIR/set/broker3.conf" 2>>"$DIR/set/broker.log" &
  BROKER=$!
  PIDS+=("$BROKER")
  eventually ctl ping broker >/dev/null || fail "the broker did not come back"
}

check "tractionctl backup takes the broker's log; the restored broker has it, and records nothing new"
printf 'public = %s\nrole = reader\n' "$(pub site8)" >"$K/site8.key"
ctl keys reload --reason "ticket 5000, before the backup" >/dev/null || bad "keys reload"
entries --subject site8 | has "^key.added|site8|admin|admin|ticket 5000, before the backup|" ||
  bad "no entry of the change before the backup"
kept=$(entries)
ctl backup "$DIR/bk" >/dev/null || bad "the backup failed"
/usr/bin/python3 - "$DIR/bk/manifest.json" "$(grep -c . <<<"$kept")" <<'PY' || bad "the manifest has no copy of the broker's log"
import json, sys
d = [x for x in json.load(open(sys.argv[1]))["daemons"] if x["daemon"] == "broker"]
assert len(d) == 1 and d[0]["file"] == "broker/data.mdb" and len(d[0]["sha256"]) == 64, d
assert d[0]["services"] == ["broker"] and d[0]["databases"]["keys"] == 5, d
assert d[0]["databases"]["audit"] == int(sys.argv[2]), d
PY
ctl verify "$DIR/bk" | has "^ok broker " || bad "verify does not check the broker's copy"
ctl restore "$DIR/bk" --state-dir "$DIR/r1" >/dev/null || bad "the restore failed"
[ -f "$DIR/r1/broker/data.mdb" ] || bad "no state_dir/broker restored"
broker_on "$DIR/r1"
now=$(entries)
[ "$(tail -n +2 <<<"$now")" = "$kept" ] || bad "the restored log is not the one backed up: $(head -3 <<<"$now")"
head -1 <<<"$now" | grep -q "^store.restore|" || bad "the restore is not the newest entry: $(head -1 <<<"$now")"
grep -q "audit log in $DIR/r1/broker; 0 key changes recorded at start" "$DIR/set/broker.log" ||
  bad "the restored broker recorded changes at its start"
done_check

check "a backup without the broker's copy (an older one) restores; the broker starts its log afresh"
cp -r "$DIR/bk" "$DIR/bk-old"
rm -r "$DIR/bk-old/broker"
/usr/bin/python3 - "$DIR/bk-old/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["daemons"] = [x for x in m["daemons"] if x["daemon"] != "broker"]
json.dump(m, open(sys.argv[1], "w"), indent=2, sort_keys=True)
PY
ctl verify "$DIR/bk-old" >/dev/null || bad "verify refuses a backup without the broker's copy"
ctl restore "$DIR/bk-old" --state-dir "$DIR/r2" >/dev/null || bad "the restore failed"
[ -e "$DIR/r2/broker" ] && bad "a broker's state restored from a backup without one"
broker_on "$DIR/r2"
fresh=$(entries)
[ "$(grep -c . <<<"$fresh")" = 5 ] || bad "not the five first-start entries: $fresh"
[ "$(grep -vc "|start: the keys in force when the log began|" <<<"$fresh")" = 0 ] ||
  bad "entries other than the first start's: $fresh"
done_check

echo "keyaudit: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
