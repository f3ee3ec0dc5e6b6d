#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""--help wraps, never cuts (lib/textout.c): tractionctl's help, each of
its commands' help, and every daemon's, at a narrow COLUMNS and at the
default of 80 (not a terminal), against the same help at COLUMNS=1000:

  width    no line is longer than the width, unless it holds one word
           alone (a word is never split; a quoted string in an example
           is one word)
  words    the narrow help has exactly the words of the wide one, in the
           same order (an example's " \\" continuations aside): nothing
           cut, nothing lost
  summary  each command's line in the list is a whole sentence (its
           help's first), not the help's first line cut where it broke

  tests/unit/help_wrap.py BUILD_DIR DAEMON_BINARY...
"""
import os
import shlex
import subprocess
import sys

BUILD = sys.argv[1]
CTL = os.path.join(BUILD, "clients/tractionctl/tractionctl")
DAEMONS = sys.argv[2:]
failed = []


def run(argv, columns):
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    p = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        failed.append(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr}")
    return p.stdout


def words(text):
    return [w for w in text.split() if w != "\\"]


def one_word(line):
    body = line.strip()
    if body.endswith(" \\"):
        body = body[:-2]
    try:
        return len(shlex.split(body)) <= 1
    except ValueError:
        return " " not in body


def check(argv, width):
    wide = run(argv, 1000)
    narrow = run(argv, width)
    what = f"COLUMNS={width or 'unset'} {' '.join(os.path.basename(a) for a in argv)}"
    for line in narrow.splitlines():
        if len(line) > (width or 80) and not one_word(line):
            failed.append(f"{what}: a line of {len(line)} columns: {line!r}")
    if words(narrow) != words(wide):
        a, b = words(narrow), words(wide)
        at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        failed.append(f"{what}: words differ from the wide help at word {at}: "
                      f"{a[at:at + 5]} against {b[at:at + 5]}")
    return narrow


def commands():
    out = subprocess.run([CTL, "__commands"], capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines()]


cmds = commands()
if len(cmds) < 50:
    failed.append(f"only {len(cmds)} commands from __commands")
for width in (40, 57, None):
    top = check([CTL, "--help"], width)
    for c in cmds:
        check([CTL] + c + ["--help"], width)
    for d in DAEMONS:
        check([d, "--help"], width)

# the list of commands: each summary is a whole first sentence
top = run([CTL, "--help"], 1000)
listed = top.split("Commands:\n", 1)[1].splitlines()
for c in cmds:
    name = " ".join(c)
    line = next((x for x in listed if x[2:].startswith(name + " ")), None)
    if line is None:
        failed.append(f"--help does not list {name}")
    elif not line.rstrip().endswith("."):
        failed.append(f"--help's summary of {name} is not a whole sentence: {line!r}")

for f in failed:
    print("not ok -", f)
print(f"help_wrap: {len(cmds)} commands and {len(DAEMONS)} daemons at 40, 57 and 80 columns: "
      f"{'FAILED' if failed else 'ok'}")
sys.exit(1 if failed else 0)
