#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Every source of ours says its licence in one line at its top
(issue 31, debian/copyright): "SPDX-License-Identifier: Apache-2.0" in a
comment within the first three lines (after a #! line). Sources: C and its
headers, Python, shell, the dashboard's JavaScript and CSS, and any file
that starts with #! (sh, bash, python3). Build trees and generated code are
not ours to mark.

    tests/lint/spdx.py [ROOT]      exit 1 listing each file without it
"""
import os
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
TAG = "SPDX-License-Identifier: Apache-2.0"
EXTS = (".c", ".h", ".cc", ".cpp", ".py", ".sh", ".js", ".css", ".sh.in")
# build trees (build*/ at the top), packaging's work dirs, caches
SKIP_TOP = ("build", ".git", ".pybuild", "obj-")
SKIP_ANY = {"__pycache__", ".git", "node_modules"}


def sources(root):
    for top, dirs, files in os.walk(root):
        rel = os.path.relpath(top, root)
        if rel == ".":
            dirs[:] = [d for d in dirs if not d.startswith(SKIP_TOP)]
        elif rel == "debian":   # the packages' build dirs: debian/<package>/
            dirs[:] = [d for d in dirs if d == "source"]
        dirs[:] = [d for d in dirs if d not in SKIP_ANY and not d.endswith(".egg-info")]
        for f in files:
            path = os.path.join(top, f)
            if f.endswith(EXTS) or f == "rules" or shebang(path):
                yield path


def shebang(path):
    try:
        with open(path, "rb") as f:
            first = f.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and any(w in first for w in (b"sh", b"python"))


def main():
    bad = []
    for path in sorted(sources(ROOT)):
        with open(path, encoding="utf-8", errors="replace") as f:
            head = [f.readline() for _ in range(4)]
        if head[0].startswith("#!"):
            head = head[1:]
        if not any(TAG in line for line in head[:3]):
            bad.append(os.path.relpath(path, ROOT))
    for b in bad:
        print(f"{b}: no '{TAG}' line at its top")
    print(f"spdx: {len(bad)} file(s) without the licence line")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
