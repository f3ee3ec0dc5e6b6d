#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian packages of traction the Debian way (debian/, debhelper,
# `dpkg-buildpackage -us -uc -b`) in a clean copy of this tree, and puts
# them in OUTDIR (default ./debs): traction, tractionctl, libtraction0,
# libtraction-dev, python3-traction and their -dbgsym packages, with the
# .changes and .buildinfo. The copy holds what git tracks and what it does
# not ignore (no build trees), so a clean clone and a working tree build
# alike. Install them with `apt install ./debs/*.deb` (README.md).
#   deploy/build-debs.sh [OUTDIR]
set -eu
cd "$(dirname "$0")/.."
SRC=$PWD
OUT=$(mkdir -p "${1:-debs}" && cd "${1:-debs}" && pwd)
sh deploy/install-deps.sh

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
W=$(mktemp -d /tmp/traction-debs-XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir "$W/traction-$version"
if [ -d .git ] || [ -f .git ]; then
  # (a file git tracks but this working tree has deleted is left out)
  git ls-files -z --cached --others --exclude-standard | tr '\0' '\n' |
    while IFS= read -r f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf - | tar -xf - -C "$W/traction-$version"
else
  tar -cf - --exclude='./build*' --exclude=./debs --exclude=./.git . |
    tar -xf - -C "$W/traction-$version"
fi
[ -f "$W/traction-$version/debian/control" ] || { echo "build-debs: no debian/ in the copy" >&2; exit 1; }

# Debian's tools and interpreters only (pybuild runs the python3.X it finds
# first on PATH: /usr/bin's, not a pyenv's or a venv's)
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -le 2 ] || jobs=2
cd "$W/traction-$version"
DEB_BUILD_OPTIONS="parallel=$jobs ${DEB_BUILD_OPTIONS:-}" \
  dpkg-buildpackage -us -uc -b >"$W/build.log" 2>&1 ||
  { tail -n 60 "$W/build.log" >&2; echo "build-debs: dpkg-buildpackage failed" >&2; exit 1; }
cd "$W"
mv ./*.deb ./*.changes ./*.buildinfo "$OUT"/
ls -1 "$OUT"/*.deb >&2
echo "build-debs: the packages are in $OUT (apt install $OUT/traction*.deb ...)" >&2
