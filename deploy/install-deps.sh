#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages traction needs to build, test and run.
# Does nothing when they are all there already. The one list of packages:
# .ci/run, deploy/run-local.sh and tests/run.sh all call this.
set -eu

PACKAGES="build-essential cmake pkg-config
  libzmq3-dev libprotobuf-c-dev protobuf-c-compiler liblmdb-dev lmdb-utils
  protobuf-compiler python3-zmq python3-protobuf
  libsystemd-dev uthash-dev libjansson-dev systemd-container clang libclang-rt-14-dev
  libfuse3-dev fuse3 libmicrohttpd-dev libgnutls28-dev libsodium-dev openssl curl
  libcurl4-gnutls-dev libxxhash-dev libuv1-dev libraft-dev
  mosquitto mosquitto-clients libmosquitto-dev python3-paho-mqtt prometheus
  libjs-chart.js chromium chromium-driver python3-selenium fonts-dejavu-core
  python3-venv python3-setuptools python3-wheel python3-pytest python3-pandas python3-matplotlib
  groff mandoc man-db bash-completion iproute2
  debhelper dh-python pybuild-plugin-pyproject python3-all dpkg-dev fakeroot lintian"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
