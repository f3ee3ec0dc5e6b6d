#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A local 3-host cluster in one command (docs/scale-out.md): three network
# namespaces on a bridge of their own, on each a broker and the four
# stateful daemons in cluster mode, the README's story through them; then
# it stays up until Ctrl-C, saying how to reach it, and removes everything
# when stopped (nothing of this machine's own network changes). As root,
# from a build tree (the README's first command made build/):
#   sudo deploy/cluster-demo.sh [BUILD_DIR]
# It is tests/cluster/set.sh with DEMO=1: the same set-up the cluster
# test checks.
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
[ -x "$BUILD/services/traction-feedbackd" ] || {
  echo "cluster-demo: no build in $BUILD: build first (README, Quick start)" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || { echo "cluster-demo: needs root (ip netns)" >&2; exit 1; }
DEMO=1 exec bash tests/cluster/set.sh "$BUILD"
