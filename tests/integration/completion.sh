#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tractionctl's bash completion (clients/tractionctl/completion/) in a real
# bash, its function called as readline would (COMP_WORDS, COMP_CWORD),
# against a real daemon set for the ids:
#
#   loaded     the file registers _tractionctl for tractionctl (complete -p)
#   nouns      "tractionctl sup<TAB>" gives supply; "" every noun of --help
#   verbs      "scenario <TAB>" the scenario verbs; "scenario ma<TAB>" match
#   flags      "supply list --<TAB>" its options; a global option before
#              the command ("--json sup<TAB>") is passed over
#   values     "webhook deliveries --state <TAB>" pending, done, dead
#   ids        "supply show <TAB>" the supplies of the set; "scenario match
#              w<TAB>" the scenarios starting with w; "--scenario <TAB>"
#              and "deployment show <TAB>" likewise, with the endpoint given
#              on the line (--endpoint) or by $TRACTION_ENDPOINT
#   no set     with no broker on the endpoint: nothing, within the timeout
#
# Each check says ok or not ok and the run goes on; it exits 1 if one was.
#   tests/integration/completion.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
BUILD=$(cd "${1:?usage: completion.sh BUILD_DIR SOURCE_DIR}" && pwd)
SRC=$(cd "${2:?usage: completion.sh BUILD_DIR SOURCE_DIR}" && pwd)
DIR=$(mktemp -d /tmp/trc-completion-XXXXXX)
# shellcheck source=../set.sh
source "$(dirname "${BASH_SOURCE[0]}")/../set.sh"
set_traps "$DIR" completion
SET_TMP=$DIR
CTL=$BUILD/clients/tractionctl/tractionctl
ctl() { "$CTL" --endpoint "$EP" "$@"; }

# comp WORD...: what the completion offers for the last word, in a bash of
# its own that sourced the completion file (sorted, one a line). The first
# word is tractionctl's path, as a user's would be.
comp() {
  local line
  line=$(printf '%q ' "$@")
  bash --norc --noprofile -c "
    source '$SRC/clients/tractionctl/completion/tractionctl.bash'
    COMP_WORDS=('$CTL' $line)
    [ \"\${COMP_WORDS[-1]}\" = __EMPTY__ ] && COMP_WORDS[-1]=''
    COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1))
    _tractionctl
    printf '%s\n' \"\${COMPREPLY[@]}\"" | sed '/^$/d' | sort
}
# offers WORD... -- CANDIDATE...: comp WORD... gives exactly these
offers() {
  local words=() want got
  while [ "$1" != -- ]; do words+=("$1"); shift; done
  shift
  want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
  got=$(comp "${words[@]}")
  [ "$got" = "$want" ] || { bad "${words[*]}: got [$(echo $got)], want [$(echo $want)]"; return 1; }
}

start_set "$DIR/set" "$BUILD" supplyd scenariod iterationd
up() { ctl ping supply && ctl ping scenario && ctl ping deployment; }
eventually up >/dev/null || fail "the set did not start"
ctl provider add acme --name Acme --kind ai-company >/dev/null || fail "provider add"
for s in vision voice; do
  ctl supply register $s --provider acme --kind industrial-algorithm --name "$s" \
    --capability defect-detection --version 1.0 >/dev/null || fail "supply register $s"
done
for s in weld-line-3 weld-line-4 paint-shop; do
  ctl scenario submit $s --enterprise E --domain production --name "$s" \
    --need defect-detection >/dev/null || fail "scenario submit $s"
done
DEP=$(eventually ctl --json deployment adopt weld-line-3 vision@1.0 |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["deployment"]["id"])') ||
  fail "deployment adopt"

check "loaded: complete -p names _tractionctl for tractionctl"
out=$(bash --norc --noprofile -c "source '$SRC/clients/tractionctl/completion/tractionctl.bash'; complete -p tractionctl")
grep -q -- '-F _tractionctl' <<<"$out" || bad "complete -p: $out"
done_check

check "nouns: sup gives supply; nothing typed gives every noun of --help"
offers sup -- supply
nouns=$(COLUMNS=1000 "$CTL" --help | sed -n '/^Commands:/,$p' | awk 'NR > 1 { print $1 }' | sort -u)
[ "$(comp __EMPTY__)" = "$nouns" ] || bad "every noun: got [$(comp __EMPTY__ | tr '\n' ' ')]"
done_check

check "verbs: scenario's, and scenario ma gives match"
offers scenario ma -- match
offers scenario __EMPTY__ -- submit update close show list match gaps
done_check

check "flags: supply list --, and a global option before the command passed over"
offers supply list - -- --kind --provider --capability --status --limit --cursor --json --help
offers --json sup -- supply
offers -e tcp://127.0.0.1:1 scenario ma -- match
offers --ti -- --timeout
done_check

check "values: an option's listed values"
offers webhook deliveries --state __EMPTY__ -- pending done dead
offers scenario list --status o -- open
done_check

check "ids: supplies, scenarios and deployments of the running set"
offers --endpoint "$EP" supply show __EMPTY__ -- vision voice
offers --endpoint "$EP" scenario match w -- weld-line-3 weld-line-4
offers --endpoint "$EP" feedback list --scenario p -- paint-shop
offers --endpoint "$EP" iteration history v -- vision voice
offers --endpoint "$EP" deployment show __EMPTY__ -- "$DEP"
got=$(TRACTION_ENDPOINT=$EP comp provider show __EMPTY__)
[ "$got" = acme ] || bad "provider show with \$TRACTION_ENDPOINT: got [$got]"
done_check

check "no set: nothing offered, within the timeout"
t0=$(date +%s%N)
offers --endpoint tcp://127.0.0.1:1 supply show __EMPTY__ --
t=$((($(date +%s%N) - t0) / 1000000))
[ "$t" -lt 5000 ] || bad "took $t ms"
done_check

echo "completion: $n checks, $failed not ok"
[ "$failed" -eq 0 ]
