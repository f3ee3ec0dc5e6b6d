#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages, built the way README.md says (deploy/build-debs.sh:
# dpkg-buildpackage in a clean copy of the tree), then checked by lintian:
# an error fails, and so does any warning that is neither fixed nor
# overridden with its reason (debian/*.lintian-overrides); and every binary
# has its manual page in the package that ships it.
# The packages stay in OUTDIR for the systemd test (tests/systemd/).
#   tests/package/build.sh OUTDIR
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:?usage: build.sh OUTDIR}
command -v dpkg-buildpackage >/dev/null && command -v lintian >/dev/null && command -v dh >/dev/null ||
  { echo "SKIP: dpkg-dev, debhelper or lintian missing (deploy/install-deps.sh)"; exit 77; }
rm -rf "$OUT" && mkdir -p "$OUT"

t0=$(date +%s)
sh "$SRC/deploy/build-debs.sh" "$OUT"
echo "package: built in $(( $(date +%s) - t0 )) s"

for p in traction tractionctl libtraction0 libtraction-dev python3-traction \
         traction-dbgsym tractionctl-dbgsym libtraction0-dbgsym; do
  ls "$OUT/${p}_"*.deb >/dev/null 2>&1 || { echo "package: FAILED: no $p package"; exit 1; }
done
echo "ok - the five packages and the -dbgsym ones of the three with binaries"

# what goes where: a file of each package that must be there
# (the listing read whole before grep: grep -q would cut dpkg-deb's pipe)
check() { local l; l=$(dpkg-deb -c "$OUT/$1_"*.deb); grep -q -- "$2" <<<"$l" || { echo "package: FAILED: $1 lacks $2"; exit 1; }; }
check traction ./usr/bin/traction-broker
check traction ./lib/systemd/system/traction.target
check traction ./lib/systemd/system/traction-broker@.service
check traction ./etc/traction/traction.conf
check traction ./usr/share/traction/web/index.html
check traction ./usr/libexec/traction/keys-init
check tractionctl ./usr/bin/tractionctl
check libtraction0 "libtraction.so.0 "
check libtraction-dev ./usr/include/traction/traction.h
check libtraction-dev "libtraction.so -> "
check libtraction-dev ./usr/lib/.*/pkgconfig/libtraction.pc
check python3-traction ./usr/lib/python3/dist-packages/traction/client.py
dpkg-deb -I "$OUT"/traction_*.deb conffiles | grep -qx /etc/traction/traction.conf ||
  { echo "package: FAILED: traction.conf is not a conffile"; exit 1; }
dpkg-deb -f "$OUT"/tractionctl_*.deb Depends | grep -q 'libtraction0 (>= ' ||
  { echo "package: FAILED: tractionctl's Depends lack libtraction0: $(dpkg-deb -f "$OUT"/tractionctl_*.deb Depends)"; exit 1; }
echo "ok - each file in its package; the conffile; shlibs dependencies from the symbols file"

# lintian: errors and warnings fail (a warning is fixed, or overridden in
# debian/*.lintian-overrides with its reason)
lintian --fail-on error --info --display-level '>=warning' "$OUT"/*.changes >"$OUT/lintian.txt" 2>&1 ||
  { cat "$OUT/lintian.txt"; echo "package: FAILED: lintian found errors"; exit 1; }
# (I: lines explain a tag; N: lines too)
other=$(grep '^W: ' "$OUT/lintian.txt" || true)
[ -z "$other" ] || { cat "$OUT/lintian.txt"; echo "package: FAILED: lintian warnings neither fixed nor overridden:
$other"; exit 1; }
echo "ok - lintian: no errors, no warnings"
# every binary with its manual page, in the package that ships the binary
for deb in "$OUT"/*.deb; do
  case $deb in *-dbgsym_*) continue ;; esac
  list=$(dpkg-deb -c "$deb")   # (not piped into grep -q: pipefail and SIGPIPE)
  for b in $(awk '{print $6}' <<<"$list" | grep '^\./usr/bin/' | sed 's|^\./usr/bin/||' || true); do
    grep -Eq "/usr/share/man/man[18]/$b\.[18]\.gz\$" <<<"$list" ||
      { echo "package: FAILED: $b in $(basename "$deb") has no manual page there"; exit 1; }
  done
done
echo "ok - every binary has its manual page in its package"
echo "package: 5 passed, 0 failed"
