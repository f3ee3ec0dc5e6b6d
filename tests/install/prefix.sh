#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `cmake --install` to a prefix of its own (a temp dir, chosen at install
# time, not at configure time): the units, the configuration and keys-init
# name that prefix's paths (deploy/install-configured.cmake), none of
# /usr/bin or /etc of another install.
#   tests/install/prefix.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: prefix.sh BUILD_DIR}
P=$(mktemp -d /tmp/trc-prefix-XXXXXX)
trap 'rm -rf "$P"' EXIT
cmake --install "$BUILD" --prefix "$P" >"$P.log" 2>&1 || { cat "$P.log"; rm -f "$P.log"; exit 1; }
rm -f "$P.log"
fail() { echo "install: FAILED: $*" >&2; exit 1; }
passed=0
ok() { passed=$((passed + 1)); echo "ok $passed - $*"; }

U=$P/lib/systemd/system
for d in broker supplyd scenariod feedbackd iterationd notifyd gatewayd mqttd; do
  f=$U/traction-$d.service
  [ -f "$f" ] || fail "no $f"
  grep -q "^ExecStart=$P/bin/traction-$d --config $P/etc/traction/traction.conf " "$f" ||
    fail "$f: $(grep ExecStart "$f")"
  grep -q "^LoadCredential=[a-z]*\.key:$P/etc/traction/private/$d\.key$" "$f" ||
    fail "$f: $(grep LoadCredential "$f")"
  grep -q "^Documentation=file://$P/share/doc/traction/" "$f" || fail "$f: $(grep Documentation "$f")"
  [ -x "$P/bin/traction-$d" ] || fail "no $P/bin/traction-$d"
done
grep -q "^ExecStart=$P/bin/traction-broker .*--set broker.instance=%i" "$U/traction-broker@.service" ||
  fail "the template: $(grep ExecStart "$U/traction-broker@.service")"
[ -f "$U/traction-.service.d/10-traction.conf" ] && [ -f "$U/traction.target" ] || fail "drop-in, target"
ok "every unit's ExecStart, LoadCredential and Documentation under $P"

C=$P/etc/traction/traction.conf
[ -f "$C" ] || fail "no $C"
for line in "state_dir = $P/var/lib/traction" "keys_dir = $P/etc/traction/keys" \
            "server_key_file = $P/etc/traction/private/broker.key" \
            "server_public_key_file = $P/etc/traction/server.pub" \
            "web_dir = $P/share/traction/web" "curve = 1" "service_curve = 1"; do
  grep -qx "$line" "$C" || fail "$C lacks '$line'"
done
[ -d "$P/etc/traction/keys" ] && [ -f "$P/share/traction/web/index.html" ] || fail "keys_dir, web_dir"
ok "the config's state, keys and web paths under $P, curve on"

# nothing of another install's paths (comments of the units may say /etc/ssl)
bad=$(grep -rn '/usr/bin\|/etc/traction\|/usr/share' "$U" "$C" "$P/libexec/traction/keys-init" | grep -v "$P" || true)
[ -z "$bad" ] || fail "paths outside the prefix: $bad"
# the config parses, as a daemon reads it
"$P/bin/traction-broker" --config "$C" --print-config >/dev/null || fail "the broker refuses $C"
ok "no path outside $P; the installed config parses"

# keys-init with that prefix: every pair, twice over without a change
# (its tractionctl finds libtraction in the prefix; the admin key's group
# is ours, so no group is made on this machine)
so=$(find "$P" -name libtraction.so.0 | head -1)
export LD_LIBRARY_PATH=${so%/*} TRACTION_ADMIN_GROUP=$(id -gn)
"$P/libexec/traction/keys-init" "$P/etc/traction" 2>"$P/keys-init.err" ||
  fail "keys-init: $(cat "$P/keys-init.err")"
sum1=$(cat "$P"/etc/traction/private/*.key "$P"/etc/traction/admin.key | md5sum)
"$P/libexec/traction/keys-init" "$P/etc/traction" 2>"$P/keys-init.err" ||
  fail "keys-init again: $(cat "$P/keys-init.err")"
sum2=$(cat "$P"/etc/traction/private/*.key "$P"/etc/traction/admin.key | md5sum)
[ "$sum1" = "$sum2" ] || fail "keys-init replaced a key on its second run"
[ "$(stat -c %a "$P/etc/traction/private")" = 700 ] || fail "private/ is not 0700"
[ "$(stat -c %a "$P/etc/traction/private/feedbackd.key")" = 600 ] || fail "a pair is not 0600"
n=$(grep -l '^role = service$' "$P"/etc/traction/keys/*.key | wc -l)
[ "$n" = 5 ] || fail "$n service keys in keys_dir, expected 5"
grep -q '^role = admin$' "$P/etc/traction/keys/admin.key" || fail "no admin key in keys_dir"
[ "$(stat -c %a "$P/etc/traction/admin.key")" = 640 ] || fail "admin.key is not 0640"
ok "keys-init: the pairs made once (0600 in 0700), the public keys with their roles"
echo "install: $passed passed, 0 failed"
