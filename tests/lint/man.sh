#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The manual pages the build writes (man/CMakeLists.txt), rendered and
# checked against the binaries that wrote them:
#
#   render     every page renders without a warning: groff -man -ww, man
#              --warnings at 80 columns, and mandoc -Tlint (warnings and up)
#   commands   tractionctl(1) has a section for every command of the table
#              (tractionctl __commands) and none the table lacks; each with
#              its options (as __complete offers them) and an example
#   options    tractionctl(1) and each daemon's page name every option of
#              their --help
#   keys       every key of each binary's --print-config is in
#              traction.conf(5) under its section, and a daemon's own
#              sections' keys in its page
#   install    cmake --install puts the pages in man1, man5 and man8 and
#              the completions where bash-completion and zsh look
#
# Each check says ok or not ok and the run goes on; it exits 1 if one was.
#   tests/lint/man.sh BUILD_DIR DAEMON_BINARY...
set -uo pipefail
BUILD=$(cd "${1:?usage: man.sh BUILD_DIR DAEMON_BINARY...}" && pwd)
shift
DAEMONS=("$@")
DIR=$(mktemp -d /tmp/trc-man-XXXXXX)
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
set_traps "$DIR" man
CTL=$BUILD/clients/tractionctl/tractionctl
MAN=$BUILD/man
PAGES=("$MAN/tractionctl.1" "$MAN/traction.conf.5")
for d in "${DAEMONS[@]}"; do PAGES+=("$MAN/$(basename "$d").8"); done

# the text of a page's section .SS "NAME" (up to the next .SS or .SH)
ss() { awk -v h=".SS \"$2\"" '$0 == h { on = 1; next } /^\.S[SH] / { on = 0 } on' "$1"; }
# a roff'd word: its hyphens escaped as the pages write them
roff() { sed 's/-/\\-/g' <<<"$1"; }

check "render: every page without a warning (groff -ww, man --warnings, mandoc -Tlint)"
for p in "${PAGES[@]}"; do
  [ -s "$p" ] || { bad "$p: missing or empty"; continue; }
  out=$(groff -man -ww -z "$p" 2>&1) && [ -z "$out" ] || bad "groff: $p: $out"
  out=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$p" 2>&1 >/dev/null) && [ -z "$out" ] ||
    bad "man: $p: $out"
  if ! command -v mandoc >/dev/null; then
    bad "mandoc is not installed (deploy/install-deps.sh)"
  else
    out=$(mandoc -Tlint -W warning "$p" 2>&1) || bad "mandoc: $p: $out"
  fi
done
done_check

check "commands: tractionctl(1) has each command of the table, and no other"
want=$("$CTL" __commands | sort)
got=$(sed -n 's/^\.SS "\(.*\)"$/\1/p' "$MAN/tractionctl.1" | sort)
[ "$(wc -l <<<"$want")" -ge 50 ] || bad "only $(wc -l <<<"$want") commands from __commands"
missing=$(comm -23 <(echo "$want") <(echo "$got"))
extra=$(comm -13 <(echo "$want") <(echo "$got"))
[ -z "$missing" ] || bad "not in the page: $(echo $missing)"
[ -z "$extra" ] || bad "in the page, not in the table: $(echo $extra)"
while read -r cmd; do
  text=$(ss "$MAN/tractionctl.1" "$cmd")
  grep -q '^Example:' <<<"$text" && grep -q '^tractionctl ' <<<"$text" ||
    bad "$cmd: no example"
  # shellcheck disable=SC2086
  for f in $("$CTL" __complete $cmd -); do
    [ "$f" = --help ] || grep -qF -- "$(roff "$f")" <<<"$text" || bad "$cmd: $f not in its section"
  done
done <<<"$want"
done_check

check "options: the pages name every option of --help"
for f in $("$CTL" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  grep -qF -- "$(roff "$f")" "$MAN/tractionctl.1" || bad "tractionctl(1): no $f"
done
for d in "${DAEMONS[@]}"; do
  for f in $("$d" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -qF -- "$(roff "$f")" "$MAN/$(basename "$d").8" || bad "$(basename "$d")(8): no $f"
  done
done
done_check

check "keys: every key of every binary in traction.conf(5), its own in its page"
for d in "${DAEMONS[@]}"; do
  page=$MAN/$(basename "$d").8
  "$d" --print-config | awk '/^\[/ { print "S", $0; next } /^[a-z_]+ = / { print "K", $1 }' >"$DIR/keys"
  sec=""
  while read -r kind name; do
    if [ "$kind" = S ]; then sec=$name; continue; fi
    ss "$MAN/traction.conf.5" "$sec" | grep -qxF ".B $(roff "$name")" ||
      bad "traction.conf(5) $sec: no $name"
    case $sec in "[bus]" | "[store]" | "[events]" | "[log]" | "[security]" | "[metrics]" | "[cluster]") ;;
      *) ss "$page" "$sec" | grep -qxF ".B $(roff "$name")" || bad "$(basename "$d")(8) $sec: no $name" ;;
    esac
  done <"$DIR/keys"
done
done_check

check "install: the pages in man1, man5, man8; the completions"
DESTDIR=$DIR/inst cmake --install "$BUILD" >"$DIR/install.log" 2>&1 || bad "cmake --install: $(tail -3 "$DIR/install.log")"
for f in man/man1/tractionctl.1 man/man5/traction.conf.5 bash-completion/completions/tractionctl \
         zsh/vendor-completions/_tractionctl; do
  [ -n "$(find "$DIR/inst" -path "*/share/$f")" ] || bad "not installed: share/$f"
done
for d in "${DAEMONS[@]}"; do
  [ -n "$(find "$DIR/inst" -path "*/share/man/man8/$(basename "$d").8")" ] || bad "not installed: $(basename "$d").8"
done
done_check

echo "man: $n checks, $failed not ok"
[ "$failed" -eq 0 ]
