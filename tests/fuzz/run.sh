#!/bin/sh
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for
# SECONDS (default 20) from the committed seed corpora; new inputs go to a
# scratch copy, so the repository's corpora only change on purpose.
# A crash leaves its input as crash-* in build-fuzz/ and fails the run.
#   tests/fuzz/run.sh [SECONDS]
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-20}
CC=clang cmake -S . -B build-fuzz -DTRACTION_FUZZ=ON -DBUILD_TESTING=OFF -DTRACTION_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc 2>/dev/null || echo 2)" --target fuzz_wire fuzz_config fuzz_handlers >/dev/null
rc=0
for t in wire config handlers; do
  work=$(mktemp -d /tmp/trc-corpus-XXXXXX)
  cp tests/fuzz/corpus/$t/* "$work/"
  echo "fuzz_$t: $secs s"
  if ! (cd build-fuzz && ASAN_OPTIONS=detect_leaks=1 ./tests/fuzz/fuzz_$t -max_total_time="$secs" \
        -print_final_stats=1 "$work" 2>&1 | tail -n 12); then rc=1; fi
  if ls build-fuzz/crash-* >/dev/null 2>&1; then rc=1; fi
  rm -rf "$work"
done
[ $rc -eq 0 ] && echo "fuzz: 3 passed, 0 failed" || echo "fuzz: FAILED"
exit $rc
