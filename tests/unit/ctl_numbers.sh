#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tractionctl checks every number it parses: empty, trailing junk, a sign,
# overflow, not finite; the error names the flag (or the field of a JSON
# request) and nothing is sent. No
# broker: a refused number exits before any call, and a number taken goes
# on to a call that times out (DEADLINE_EXCEEDED shows it got that far).
#   tests/unit/ctl_numbers.sh BUILD_DIR
set -u
ctl="$1/clients/tractionctl/tractionctl"
fails=0 n=0

# refused ARGS... -- EXPECTED: exits 1 saying EXPECTED
refused() {
  local args=() want
  while [ "$1" != "--" ]; do args+=("$1"); shift; done
  want=$2
  n=$((n + 1))
  out=$("$ctl" -e inproc://nowhere -t 50 "${args[@]}" 2>&1)
  st=$?
  if [ $st -ne 1 ] || [[ "$out" != *"$want"* ]]; then
    echo "FAILED: tractionctl ${args[*]}: exit $st, said: $out (wanted: $want)" >&2
    fails=$((fails + 1))
  fi
}

# taken ARGS...: past the parsing, to a call nobody answers
taken() {
  n=$((n + 1))
  out=$("$ctl" -e inproc://nowhere -t 50 "$@" 2>&1)
  if [[ "$out" != *DEADLINE_EXCEEDED* ]]; then
    echo "FAILED: tractionctl $*: said: $out (wanted DEADLINE_EXCEEDED)" >&2
    fails=$((fails + 1))
  fi
}

refused supply list --limit "" -- "--limit: '' is not a number"
refused supply list --limit 12x -- "--limit: '12x' is not a number"
refused supply list --limit " 7" -- "--limit: ' 7' is not a number"
refused supply list --limit +7 -- "--limit: '+7' is not a number"
refused supply list --limit -1 -- "--limit: '-1' is negative"
refused supply list --limit 4294967296 -- "--limit: '4294967296' is too large (at most 4294967295)"
refused feedback problems --limit 0x10 -- "--limit: '0x10' is not a number"
refused events follow supply --count -1 -- "--count: '-1' is negative"
refused events follow supply --from 99999999999999999999 -- "--from: '99999999999999999999' is too large"
refused --after supply: ping supply -- "--after: '' is not a number"
refused --after supply:-3 ping supply -- "--after: '-3' is negative"
refused -t 1e3 ping supply -- "--timeout: '1e3' is not a number"
refused -t 2147483648 ping supply -- "--timeout: '2147483648' is too large"
refused feedback publish --scenario s --supply x@1 --metric rate= -- "--metric: '' is not a number"
refused feedback publish --scenario s --supply x@1 --metric rate=0.1x -- "--metric: '0.1x' is not a number"
refused feedback publish --scenario s --supply x@1 --metric rate=1e999 -- "--metric: '1e999' is not a finite number"
refused feedback publish --scenario s --supply x@1 --kpi scrap --baseline 10 --achieved nan -- \
  "--achieved: 'nan' is not a finite number"
refused feedback publish --scenario s --supply x@1 --kpi scrap --baseline "" --achieved 8 -- \
  "--baseline: '' is not a number"
refused feedback list --to 99999999999999999999 -- "--to: '99999999999999999999' is not a time"
refused feedback stats --supply defect-vision --from yesterday -- "--from: 'yesterday' is not a time"
refused scenario submit s --enterprise e --domain production --name n --target "rate<=" -- \
  "--target: '' is not a number"
# a request in JSON: an integer that does not fit its field is refused, not wrapped
refused call supply list '{"page": {"limit": -1}}' -- "limit: -1 is negative"
refused call supply list '{"page": {"limit": 4294967296}}' -- "limit: 4294967296 is out of range"
refused call feedback events.read '{"from_seq": -5}' -- "from_seq: -5 is negative"

taken supply list --limit 0
taken supply list --limit 4294967295
taken --after supply:18446744073709551615 ping supply
taken feedback list --from 2026-11-28T10:15:00Z --to 1764325000000
taken call supply list '{"page": {"limit": 4294967295}}'

if [ $fails -ne 0 ]; then
  echo "ctl_numbers: $fails of $n failed" >&2
  exit 1
fi
echo "ok: $n checks"
