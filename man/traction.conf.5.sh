#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# traction.conf.5.sh OUT PATH BINARY...: traction.conf(5), the file at
# PATH, from the binaries' own tables of keys (the ones --print-config
# walks): the shared sections as the first binary declares them, then each
# binary's own sections.
set -e
out=$1 path=$2
shift 2
{
  cat <<'HEAD'
.\" traction.conf(5), written by man/traction.conf.5.sh from the binaries'
.\" tables of keys (--man shared, --man own): do not edit.
HEAD
  printf '.TH TRACTION.CONF 5 %s "traction %s" "traction manual"\n' \
    "$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%F)" "$("$1" --version | sed 's/.* //')"
  cat <<'HEAD'
.SH NAME
traction.conf \- the configuration of the traction daemon set
.SH SYNOPSIS
HEAD
  printf '.I %s\n' "$path"
  cat <<'HEAD'
.SH DESCRIPTION
Every daemon of the set reads this one file, given with
\fB\-\-config\fR: the shared sections, and its own.
Lines are \fB[section]\fR or \fIkey\fR = \fIvalue\fR; a value may be
written in double quotes; a comment starts with \fB;\fR or \fB#\fR at the
start of a line or after a blank.
Every key has a compiled-in default, so no key is needed and no file is
needed; \fB\-\-print\-config\fR prints the keys in force.
.PP
An unknown section stops every daemon at start; an unknown key or a bad
value stops the daemons that read it, saying the file, the line and the
key.
On SIGHUP a daemon reads the file again: a file that does not parse is
refused and the running configuration kept.
\fB\-\-set\fR \fISECTION.KEY=VALUE\fR sets a key over the file.
.SH "SHARED SECTIONS"
Read by every daemon.
HEAD
  "$1" --man shared
  echo '.SH "SECTIONS OF ONE DAEMON"'
  for b in "$@"; do
    who=$(basename "$b" | sed 's/-/\\\\-/g')  # awk -v reads escapes: \\- is \-
    "$b" --man own | awk -v who="$who" '{ print } /^\.SS / { print "Read by \\fB" who "\\fR(8)." }'
  done
  cat <<'TAIL'
.SH "SEE ALSO"
.BR tractionctl (1),
.BR traction\-broker (8);
docs/operations.md of the traction documentation
TAIL
} >"$out.tmp"
mv "$out.tmp" "$out"
