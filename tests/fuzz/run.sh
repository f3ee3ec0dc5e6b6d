#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for
# SECONDS (default 20) from the committed seed corpora; new inputs go to a
# scratch copy, so the repository's corpora only change on purpose.
# The run fails if a fuzzer exits non-zero or leaves a crash-, leak-, oom-,
# timeout- or slow-unit- input in build-fuzz/ (listed, with how to replay).
#   tests/fuzz/run.sh [SECONDS]
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-20}
CC=clang cmake -S . -B build-fuzz -DTRACTION_FUZZ=ON -DBUILD_TESTING=OFF -DTRACTION_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc 2>/dev/null || echo 2)" --target fuzz_wire fuzz_config fuzz_entry fuzz_handlers fuzz_mqtt >/dev/null
rc=0
rm -f build-fuzz/crash-* build-fuzz/leak-* build-fuzz/oom-* build-fuzz/timeout-* build-fuzz/slow-unit-*
for t in wire config entry handlers mqtt; do
  work=$(mktemp -d /tmp/trc-corpus-XXXXXX)
  log=$(mktemp /tmp/trc-fuzz-log-XXXXXX)
  cp tests/fuzz/corpus/$t/* "$work/"
  echo "fuzz_$t: $secs s"
  # the fuzzer's own exit status, not that of a pipe's last command
  st=0
  (cd build-fuzz && ASAN_OPTIONS=detect_leaks=1 ./tests/fuzz/fuzz_$t -max_total_time="$secs" \
     -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" >"$log" 2>&1) || st=$?
  tail -n 12 "$log"
  if [ "$st" -ne 0 ]; then
    echo "fuzz_$t: exit status $st"
    rc=1
  fi
  rm -rf "$work" "$log"
done
for f in build-fuzz/crash-* build-fuzz/leak-* build-fuzz/oom-* build-fuzz/timeout-* \
         build-fuzz/slow-unit-*; do
  [ -e "$f" ] || continue
  echo "fuzz: left $f (replay: build-fuzz/tests/fuzz/fuzz_TARGET $f)"
  rc=1
done
[ $rc -eq 0 ] && echo "fuzz: 5 passed, 0 failed" || echo "fuzz: FAILED"
exit $rc
