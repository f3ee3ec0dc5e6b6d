#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds traction and runs every test with CTest: first the normal build
# (build/: unit and integration tests, the fault suites — power cuts — and
# the systemd test), then a short run of every libFuzzer target
# (build-fuzz/, clang), then the AddressSanitizer +
# UndefinedBehaviorSanitizer build (build-asan/: unit and integration tests
# again), then the unit and integration tests under ThreadSanitizer
# (build-tsan/: a daemon's loop and its writer thread). Exits non-zero if
# anything fails.
#
# A test that cannot run here says so and exits 77 (CTest: "Skipped").
# Skips are listed at the end of each pass; run as root — as CI is, with
# systemd-container and /dev/fuse — a skip fails the run, since every test
# can run there.
#   tests/run.sh            all of it
#   tests/run.sh --fast     the normal build only
set -eu
cd "$(dirname "$0")/.."
sh deploy/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
skips=""
run() {
  dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  log="$dir/ctest.log"
  # ctest's own status, not the pipe's (and not cut short by set -e)
  { st=0; ctest --test-dir "$dir" --output-on-failure --timeout 300 ${CTEST_ARGS:-} || st=$?; \
    echo $st > "$dir/ctest.rc"; } 2>&1 | tee "$log"
  s=$(grep '(Skipped)' "$log" | sed "s|^[[:space:]]*|$dir: |" || true)
  [ -z "$s" ] || skips="$skips$s
"
  [ "$(cat "$dir/ctest.rc")" -eq 0 ]
}
report_skips() {
  [ -n "$skips" ] || return 0
  printf 'skipped tests:\n%s' "$skips"
  if [ "$(id -u)" -eq 0 ]; then
    echo "run.sh: as root every test can run here: a skip is a failure"
    exit 1
  fi
}
trap report_skips EXIT

# cluster mode on Debian 12's libraft 0.15, for its tests (docs/scale-out.md: never in production)
raft=-DTRC_RAFT_UNSAFE_015=ON
run build -DCMAKE_BUILD_TYPE=RelWithDebInfo $raft
if [ "${1:-}" != "--fast" ]; then
  # every decoder and handler entry point, and the config parser: 20 s each
  sh tests/fuzz/run.sh 20
  # detect_leaks: the daemons' shutdown paths must free what they made.
  # the fault suites ran once, above: the sanitizer passes rerun the rest
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 CTEST_ARGS="-LE fault" \
    run build-asan -DCMAKE_BUILD_TYPE=Debug -DTRACTION_SANITIZE=ON -DTRACTION_BENCH=OFF $raft
  # halt_on_error: a race fails the test that ran into it
  TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp:halt_on_error=1" CTEST_ARGS="-L unit|integration" \
    run build-tsan -DCMAKE_BUILD_TYPE=Debug -DTRACTION_TSAN=ON -DTRACTION_BENCH=OFF $raft
fi
