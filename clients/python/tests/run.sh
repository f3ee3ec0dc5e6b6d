#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The Python package as a user installs it (docs/python.md): a venv with
# the system's site packages (Debian's python3-zmq, python3-protobuf,
# python3-pytest, python3-pandas) and pip install --no-build-isolation of a
# copy of clients/python (so the checkout stays clean), then pytest against
# a real daemon set of the build in BUILD_DIR.
#   clients/python/tests/run.sh BUILD_DIR [pytest args]
set -eu
BUILD=$(cd "$1" && pwd)
shift
SRC=$(cd "$(dirname "$0")/../../.." && pwd)
W=$(mktemp -d /tmp/trc-pypkg-XXXXXX)
trap 'rm -rf "$W"' EXIT
cp -r "$SRC/clients/python" "$W/pkg"
rm -rf "$W/pkg/build" "$W/pkg"/*.egg-info
/usr/bin/python3 -m venv --system-site-packages "$W/venv"
TRACTION_PROTO_DIR="$SRC/proto" "$W/venv/bin/pip" install -q --no-build-isolation \
  --no-index "$W/pkg" >"$W/pip.log" 2>&1 || { cat "$W/pip.log"; exit 1; }
cd "$W"   # the installed package, not the source folder, is what is imported
TRACTION_BUILD="$BUILD" "$W/venv/bin/python" -m pytest -q -p no:cacheprovider \
  "$SRC/clients/python/tests" "$@"
