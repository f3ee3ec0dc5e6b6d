#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# to-file.sh OUT CMD [ARG]...: CMD's standard output into OUT, whole or not
# at all (a page half written by a failing binary must not look built).
set -e
out=$1
shift
"$@" >"$out.tmp"
mv "$out.tmp" "$out"
