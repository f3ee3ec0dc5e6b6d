#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The house's size rules (issue 21, docs/architecture.md): no production C
file over 700 lines, no function over 80 lines unless the comment above it
says why it is long (a line of it starting "Long:" or containing "long
because"). Production: lib/, broker/, gateway/, services/, clients/ (not
tests/, bench/, generated code).

    tests/lint/sizes.py [ROOT]      exit 1 listing what breaks a rule
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
DIRS = ("lib", "broker", "gateway", "services", "clients", "mqtt")
FILE_MAX, FUNC_MAX = 700, 80
START = re.compile(r"^[A-Za-z_][\w\s\*]*\b(\w+)\s*\([^;]*$")  # a definition's first line, at column 0


def functions(lines):
    """(name, first line, length, comment above) of each function: the
    house style opens a function's body with "{" alone at column 0 and
    closes it with "}" alone at column 0."""
    i = 0
    while i < len(lines):
        m = START.match(lines[i])
        if m and not lines[i].startswith(("static const", "const", "typedef", "struct", "enum")):
            j = i
            while j < len(lines) and lines[j].rstrip() != "{" and not lines[j].rstrip().endswith(";"):
                j += 1
            if j < len(lines) and lines[j].rstrip() == "{":
                k = j + 1
                while k < len(lines) and lines[k].rstrip() != "}":
                    k += 1
                above = []
                a = i - 1
                while a >= 0 and (lines[a].startswith((" *", "/*", "//")) or
                                  lines[a].strip().endswith("*/")):
                    above.append(lines[a])
                    a -= 1
                yield m.group(1), i + 1, k - i + 1, "\n".join(reversed(above))
                i = k
        i += 1


def main():
    bad = []
    for d in DIRS:
        for dirpath, _, files in os.walk(os.path.join(ROOT, d)):
            if "/examples" in dirpath:
                continue
            for f in files:
                if not f.endswith(".c") or f.startswith(("test_", "fuzz_")):
                    continue  # a daemon's own test may live in its folder
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, ROOT)
                lines = open(path, encoding="utf-8").read().split("\n")
                if len(lines) > FILE_MAX:
                    bad.append(f"{rel}: {len(lines)} lines (at most {FILE_MAX})")
                for name, at, n, above in functions(lines):
                    why = re.search(r"(^|\W)(Long:|long because)", above, re.I | re.M)
                    if n > FUNC_MAX and not why:
                        bad.append(f"{rel}:{at}: {name} is {n} lines (at most {FUNC_MAX}, "
                                   "or say above it why it is long)")
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
