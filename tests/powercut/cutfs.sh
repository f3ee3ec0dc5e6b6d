#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trc-cutfs itself (cutfs.c), before the tests that trust it: what was
# synced survives a cut, what was not is undone (BACKING/.cut-keep = 0),
# and a file's unsynced writes follow it through a rename, as C-Raft
# finalizes its open segments and a restarted node makes a new "open-1"
# (a write to the new one once failed with EIO: a stale record of the
# old name).
#   tests/powercut/cutfs.sh PATH/TO/trc-cutfs
set -uo pipefail
CUTFS=${1:?usage: cutfs.sh PATH/TO/trc-cutfs}
if [ "$(id -u)" -ne 0 ] || [ ! -e /dev/fuse ]; then
  echo "skipped: needs root and /dev/fuse to mount trc-cutfs"
  exit 77
fi
DIR=$(mktemp -d /tmp/trc-cutfs-XXXXXX)
FS=
cleanup() {
  [ -n "$FS" ] && { kill -KILL "$FS"; wait "$FS"; } 2>/dev/null
  umount -l "$DIR/mnt" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
mkdir -p "$DIR/disk" "$DIR/mnt"
"$CUTFS" "$DIR/disk" "$DIR/mnt" 7 2>"$DIR/cutfs.log" &
FS=$!
for _ in $(seq 500); do mountpoint -q "$DIR/mnt" && break; sleep 0.01; done
mountpoint -q "$DIR/mnt" || { echo "cutfs.sh: FAILED: trc-cutfs did not mount"; exit 1; }
echo 0 >"$DIR/disk/.cut-keep"

# before the cut, through the mount
/usr/bin/python3 - "$DIR/mnt" <<'PYEOF' || exit 1
import os, sys
m = sys.argv[1]
def put(name, off, data, sync, size=None):
    fd = os.open(os.path.join(m, name), os.O_WRONLY | os.O_CREAT, 0o600)
    if size is not None:
        os.ftruncate(fd, size)
    os.pwrite(fd, data, off)
    if sync:
        os.fsync(fd)
    os.close(fd)
put("open-1", 0, b"A" * 4096, True)            # synced: survives
put("open-1", 4096, b"B" * 4096, False)        # not synced: undone
os.rename(os.path.join(m, "open-1"), os.path.join(m, "seg-1"))
put("seg-1", 8192, b"C" * 4096, False)         # after the rename, not synced
# a new file of the old name, larger, written past the old one's end
put("open-1", 0, b"D" * 4096, True, size=1 << 20)
put("open-1", 65536, b"E" * 4096, False)
put("kept", 0, b"F" * 512, True)
os.rename(os.path.join(m, "kept"), os.path.join(m, "seg-2"))
print("cutfs.sh: writes and renames through the mount: ok")
PYEOF

kill -USR1 "$FS"
for _ in $(seq 500); do [ -s "$DIR/disk/.cut-done" ] && break; sleep 0.01; done
[ -s "$DIR/disk/.cut-done" ] || { echo "cutfs.sh: FAILED: the cut did not finish"; exit 1; }
echo "cutfs.sh: cut: $(cat "$DIR/disk/.cut-done")"

# after the cut, in the backing directory
/usr/bin/python3 - "$DIR/disk" <<'PYEOF'
import os, sys
d = sys.argv[1]
bad = []
def read(name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read()
seg = read("seg-1")
if seg != b"A" * 4096:
    bad.append("seg-1 holds %d bytes (%r...), not the 4096 synced ones" % (len(seg), seg[4090:4100]))
new = read("open-1")
if len(new) != 1 << 20 or new[:4096] != b"D" * 4096 or new[65536:65536 + 4096] != bytes(4096):
    bad.append("open-1: its synced bytes or its size changed, or its unsynced write stayed")
if read("seg-2") != b"F" * 512:
    bad.append("seg-2: the synced file renamed lost its bytes")
for b in bad:
    print("cutfs.sh: FAILED: " + b)
if not bad:
    print("cutfs.sh: synced kept, unsynced undone, across renames: ok")
sys.exit(1 if bad else 0)
PYEOF
