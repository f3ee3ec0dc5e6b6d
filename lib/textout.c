/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Help text wrapped at the terminal's width, and as roff for the manual
 * pages. See textout.h.
 */
#include "textout.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

int trc_text_width(int fd)
{
	const char *c = getenv("COLUMNS");
	if (c != NULL && c[0] != '\0') {
		char *end;
		long n = strtol(c, &end, 10);
		if (*end == '\0' && n >= 20 && n <= 1000)
			return (int)n;
	}
	struct winsize ws;
	if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* The length of the word at s: a run of non-blanks, with a quoted string
 * in it taken whole when quotes is set. */
static size_t s_word(const char *s, bool quotes)
{
	size_t n = 0;
	while (s[n] != '\0' && strchr(" \t\n", s[n]) == NULL) {
		if (quotes && (s[n] == '"' || s[n] == '\'')) {
			const char *close = strchr(s + n + 1, s[n]);
			if (close != NULL) {
				n = (size_t)(close - s) + 1;
				continue;
			}
		}
		n++;
	}
	return n;
}

static void s_wrap(FILE *f, const char *text, int col, int indent, int width, bool cmd)
{
	/* a command's line that goes on ends with " \": room kept for it */
	int room = cmd ? width - 2 : width;
	int len = col;
	bool on_line = false;
	const char *p = text;
	for (;;) {
		p += strspn(p, " \t\n");
		size_t n = s_word(p, cmd);
		if (n == 0)
			break;
		if (cmd && n == 1 && p[0] == '\\') {
			p++;
			continue;
		}
		/* the next line, when the word does not fit here and would fit
		 * better there (the first word too, after the caller's text
		 * past the indent) */
		if (len + on_line + (int)n > room && (on_line || len > indent)) {
			fprintf(f, "%s\n%*s", cmd && on_line ? " \\" : "", indent, "");
			len = indent;
			on_line = false;
		}
		if (on_line) {
			fputc(' ', f);
			len++;
		}
		fwrite(p, 1, n, f);
		len += (int)n;
		on_line = true;
		p += n;
	}
	fputc('\n', f);
}

void trc_text_wrap(FILE *f, const char *text, int col, int indent, int width)
{
	s_wrap(f, text, col, indent, width, false);
}

void trc_text_wrap_cmd(FILE *f, const char *text, int col, int indent, int width)
{
	s_wrap(f, text, col, indent, width, true);
}

void trc_roff_n(FILE *f, const char *text, size_t n)
{
	bool blank = false, line_start = true;
	for (size_t i = 0; i < n && text[i] != '\0'; i++) {
		char c = text[i];
		if (c == ' ' || c == '\t' || c == '\n') {
			blank = !line_start;
			continue;
		}
		if (blank) {
			fputc(' ', f);
			blank = false;
		}
		if (line_start && (c == '.' || c == '\''))
			fputs("\\&", f);
		line_start = false;
		if (c == '\\')
			fputs("\\e", f);
		else if (c == '-')
			fputs("\\-", f);
		else
			fputc(c, f);
	}
}

void trc_roff(FILE *f, const char *text)
{
	trc_roff_n(f, text, strlen(text));
}

const char *trc_roff_date(char *buf, size_t len)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t t = sde != NULL && sde[0] != '\0' ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
	return buf;
}

/* "-c, --config FILE" or "--set SECTION.KEY=VALUE", into buf. */
static const char *s_opt_name(const trc_opt_t *o, char *buf, size_t len)
{
	const char *sp = o->arg != NULL ? " " : "", *arg = o->arg != NULL ? o->arg : "";
	if (o->letter != 0)
		snprintf(buf, len, "-%c, --%s%s%s", o->letter, o->name, sp, arg);
	else
		snprintf(buf, len, "    --%s%s%s", o->name, sp, arg);
	return buf;
}

void trc_opt_getopt(const trc_opt_t *opts, size_t n, struct option *out, char *letters,
		    size_t len)
{
	size_t at = strlen(letters);
	for (size_t i = 0; i < n; i++) {
		const trc_opt_t *o = &opts[i];
		out[i] = (struct option){ o->name, o->arg != NULL ? required_argument : no_argument,
					  NULL, o->letter != 0 ? o->letter : 256 + (int)i };
		if (o->letter != 0 && at + 3 < len) {
			letters[at++] = o->letter;
			if (o->arg != NULL)
				letters[at++] = ':';
		}
	}
	letters[at] = '\0';
	out[n] = (struct option){ NULL, 0, NULL, 0 };
}

void trc_opt_help(FILE *f, const trc_opt_t *opts, size_t n, int col, int width)
{
	if (col > width / 2) /* a narrow terminal: room for the help */
		col = width / 2;
	for (size_t i = 0; i < n; i++) {
		char name[128];
		if (opts[i].help == NULL)
			continue;
		int at = fprintf(f, "  %s", s_opt_name(&opts[i], name, sizeof(name)));
		if (at + 2 > col) { /* too long: its help on the next line */
			fprintf(f, "\n%*s", col, "");
			at = col;
		} else {
			at += fprintf(f, "%*s", col - at, "");
		}
		trc_text_wrap(f, opts[i].help, at, col, width);
	}
}

void trc_opt_roff(FILE *f, const trc_opt_t *opts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char name[128];
		if (opts[i].help == NULL)
			continue;
		fprintf(f, ".TP\n");
		trc_roff(f, s_opt_name(&opts[i], name, sizeof(name)));
		fprintf(f, "\n");
		trc_roff(f, opts[i].help);
		fprintf(f, "\n");
	}
}
