#!/bin/sh
# Builds traction and runs every test with CTest: first the normal build
# (build/, including the systemd test when run as root), then a short run of
# every libFuzzer target (build-fuzz/, clang), then the AddressSanitizer +
# UndefinedBehaviorSanitizer build (build-asan/), then the unit and
# integration tests under ThreadSanitizer (build-tsan/: a daemon's loop and
# its writer thread). Exits non-zero if anything fails.
#   tests/run.sh            all of it
#   tests/run.sh --fast     the normal build only
set -eu
cd "$(dirname "$0")/.."
sh deploy/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
run() {
  dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure --timeout 300 ${CTEST_ARGS:-}
}

run build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${1:-}" != "--fast" ]; then
  # every decoder and handler entry point, and the config parser: 20 s each
  sh tests/fuzz/run.sh 20
  # detect_leaks: the daemons' shutdown paths must free what they made.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run build-asan -DCMAKE_BUILD_TYPE=Debug -DTRACTION_SANITIZE=ON -DTRACTION_BENCH=OFF
  # halt_on_error: a race fails the test that ran into it
  TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp:halt_on_error=1" CTEST_ARGS="-L unit|integration" \
    run build-tsan -DCMAKE_BUILD_TYPE=Debug -DTRACTION_TSAN=ON -DTRACTION_BENCH=OFF
fi
