/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text for people: help wrapped at the terminal's width, never cut, and
 * the same text as roff for the manual pages (man(7)). The help texts of
 * tractionctl's command table and of every daemon's options and keys go
 * through here, so --help and the pages say the same thing.
 */
#ifndef TRC_TEXTOUT_H
#define TRC_TEXTOUT_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

/* The width to wrap at: $COLUMNS when it is a number from 20 to 1000,
 * else the terminal's when fd is one, else 80. */
int trc_text_width(int fd);

/* Writes text as words separated by single blanks (any run of blanks
 * and newlines in text is one), lines no longer than width unless a word
 * alone is: the first at column col (where the caller left the line; if
 * the first word does not fit there and col is past indent, it goes to
 * the next line), the next ones indented by indent. A word is never
 * split. Ends the line. */
void trc_text_wrap(FILE *f, const char *text, int col, int indent, int width);

/* The same for a shell command: a double- or single-quoted string is one
 * word, a "\" alone (a continuation in text) is dropped, and a line that
 * goes on ends with " \" so that what is printed still runs. */
void trc_text_wrap_cmd(FILE *f, const char *text, int col, int indent, int width);

/* Text as roff for a filled paragraph: blanks and newlines run into one
 * blank, '\\' and '-' escaped, a '.' or '\'' that would start a line
 * guarded. No newline at the end. */
void trc_roff(FILE *f, const char *text);
/* At most n bytes of text, the same way. */
void trc_roff_n(FILE *f, const char *text, size_t n);

/* A command-line option with its help: getopt's table, --help's list and
 * the manual page's OPTIONS are written from one array of them. */
typedef struct {
	char letter;       /* 0: a long option only */
	const char *name;
	const char *arg;   /* its value's name; NULL: takes none */
	const char *help;  /* NULL: hidden (for the build and the shell) */
} trc_opt_t;

/* getopt_long's table of n options into out (n + 1 entries, the last
 * zeroed) and their letters into letters (after its first byte, which the
 * caller sets: '+' or ':' or any letter). An option's getopt value is its
 * letter, or 256 + its index when it has none. */
void trc_opt_getopt(const trc_opt_t *opts, size_t n, struct option *out, char *letters,
		    size_t len);
/* "  -c, --config FILE   help..." for each option that is not hidden,
 * the help from column col (at most half the width), wrapped at width. */
void trc_opt_help(FILE *f, const trc_opt_t *opts, size_t n, int col, int width);
/* The same as the .TP paragraphs of a manual page's OPTIONS. */
void trc_opt_roff(FILE *f, const trc_opt_t *opts, size_t n);

/* The date for a page's .TH: $SOURCE_DATE_EPOCH when it is set (a
 * reproducible build), else today, as YYYY-MM-DD. */
const char *trc_roff_date(char *buf, size_t len);

#endif
