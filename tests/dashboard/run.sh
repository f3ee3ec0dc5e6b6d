#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The dashboard in a real browser against a real daemon set: a broker, the
# four daemons and traction-gatewayd (serving web/ of this tree) on loopback
# ports the kernel picks, users with tokens in a keys_dir of their own;
# tests/dashboard/test_dashboard.py seeds the README's story over the HTTP
# API and walks it through the pages in headless Chromium (Debian's
# chromium and chromium-driver, python3-selenium), keeping a screenshot of
# every page in ARTIFACTS (default BUILD_DIR/dashboard-screenshots).
#   tests/dashboard/run.sh BUILD_DIR [--serve]   (--serve: seed, print the
#   URL and a token, keep the set up until Ctrl-C: for working on the pages)
set -euo pipefail
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
MODE=${2:-test}
[ "$MODE" = "--serve" ] && MODE=serve
DIR=$(mktemp -d /tmp/trc-dash-XXXXXX)
ARTIFACTS=${ARTIFACTS:-$BUILD/dashboard-screenshots}
# shellcheck source=../set.sh
source "$HERE/../set.sh"
set_traps "$DIR" dashboard

for b in /usr/bin/chromium /usr/bin/chromedriver; do
  [ -x "$b" ] || { echo "dashboard: $b is missing (deploy/install-deps.sh installs it)" >&2; exit 77; }
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null ||
  { echo "dashboard: python3-selenium is missing (deploy/install-deps.sh)" >&2; exit 77; }

# users: an admin, a reader of Northern Steel only
set_user "$DIR" "$BUILD" admin admin
set_user "$DIR" "$BUILD" northern reader "enterprises = Northern Steel"
GATEWAY_PORT=${DASH_PORT:-0}
start_gateway_set "$DIR" "$BUILD" "web_dir = $SRC/web"

mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS"/[0-9][0-9]-*.png "$ARTIFACTS"/zz-failed.png  # this run's only
/usr/bin/python3 "$HERE/test_dashboard.py" "$GW_URL" "$DIR/tokens" "$ARTIFACTS" "$MODE"
