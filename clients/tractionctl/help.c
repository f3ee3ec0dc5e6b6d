/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl's help and its manual page, both from the command table
 * (commands.c): --help wrapped at the terminal's width, never cut, and
 * tractionctl(1) as roff, which the build writes with the hidden --man
 * and installs. A command, an option or an example is written once.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "textout.h"

/* The column of the options' and of the commands' help in --help. */
#define OPT_COL 24
#define CMD_COL 25

/* The first sentence of a help text: its length. A full stop inside
 * parentheses ("(topic = event type, e.g. supply. or ...)") or of "e.g."
 * and "i.e." does not end it. */
static size_t s_summary(const char *help)
{
	int depth = 0;
	for (const char *p = help; *p != '\0'; p++) {
		depth += (*p == '(') - (*p == ')');
		if (*p != '.' || depth > 0 || (p[1] != ' ' && p[1] != '\n' && p[1] != '\0'))
			continue;
		if (p - help >= 3 && (strncmp(p - 3, "e.g", 3) == 0 || strncmp(p - 3, "i.e", 3) == 0))
			continue;
		return (size_t)(p - help) + 1;
	}
	return strlen(help);
}

/* The forms of a usage (separated by a blank line), each in turn: its
 * length, and where it starts in *start; 0 after the last. */
static size_t s_form(const char **u, const char **start)
{
	const char *s = *u;
	if (s == NULL || *s == '\0')
		return 0;
	const char *end = strstr(s, "\n\n");
	size_t n = end != NULL ? (size_t)(end - s) : strlen(s);
	*start = s;
	*u = end != NULL ? end + 2 : s + n;
	return n;
}

/* Every option of a command: "--name NAME, --capability TAG (repeats),
 * --full-only, --json", into buf. */
static const char *s_flags(const cmd_t *c, char *buf, size_t len)
{
	size_t at = 0;
	bool rep, val;
	const char *next;
	buf[0] = '\0';
	for (const char *s = c->flags; at < len;) {
		size_t n = ctl_flag_next(s, &rep, &val, &next);
		if (n == 0)
			break;
		char mv[128];
		at += (size_t)snprintf(buf + at, len - at, "--%.*s%s%s%s, ", (int)n, s, val ? " " : "",
				       val ? ctl_flag_metavar(c, s, n, mv, sizeof(mv)) : "",
				       rep ? " (repeats)" : "");
		s = next;
	}
	if (at < len)
		snprintf(buf + at, len - at, "--json");
	return buf;
}

static void s_text(FILE *out, const char *text, size_t n, int col, int indent, int width)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%.*s", (int)n, text);
	trc_text_wrap(out, buf, col, indent, width);
}

void ctl_usage(FILE *out)
{
	int w = trc_text_width(fileno(out));
	trc_text_wrap(out, "Usage: tractionctl [OPTION]... NOUN [VERB] [ARGUMENT]...", 0, 7, w);
	fprintf(out, "\nOptions:\n");
	trc_opt_help(out, ctl_opts, ctl_n_opts, OPT_COL, w);
	fprintf(out, "\nCommands:\n");
	int at = CMD_COL > w / 2 ? w / 2 : CMD_COL; /* a narrow terminal: room for the help */
	for (size_t i = 0, n = ctl_n_cmds(); i < n; i++) {
		const cmd_t *c = ctl_cmd(i);
		int col = fprintf(out, "  %s%s%s", c->noun, c->verb ? " " : "", c->verb ? c->verb : "");
		col += fprintf(out, "%*s", col < at ? at - col : 1, "");
		s_text(out, c->help, s_summary(c->help), col, at, w);
	}
}

/* Each form of c's usage, "tractionctl FORM" wrapped after prefix. */
static void s_forms(FILE *out, const cmd_t *c, const char *prefix, int w)
{
	const char *u = c->usage, *form;
	size_t n;
	for (bool first = true; (n = s_form(&u, &form)) != 0; first = false) {
		int col = fprintf(out, "%s%*stractionctl ", first ? prefix : "",
				  first ? 0 : (int)strlen(prefix), "");
		s_text(out, form, n, col, (int)strlen(prefix) + 4, w);
	}
}

int ctl_cmd_help(const cmd_t *c)
{
	int w = trc_text_width(STDOUT_FILENO);
	char flags[2048];
	s_forms(stdout, c, "Usage: ", w);
	printf("\n");
	trc_text_wrap(stdout, c->help, 0, 0, w);
	printf("\nOptions: ");
	trc_text_wrap(stdout, s_flags(c, flags, sizeof(flags)), 9, 2, w);
	printf("\nExample:\n  ");
	trc_text_wrap_cmd(stdout, c->example, 2, 6, w);
	return 0;
}

void ctl_noun_usage(FILE *out, const char *noun)
{
	int w = trc_text_width(fileno(out));
	fprintf(out, "Usage:\n");
	for (size_t i = 0, n = ctl_n_cmds(); i < n; i++)
		if (strcmp(ctl_cmd(i)->noun, noun) == 0)
			s_forms(out, ctl_cmd(i), "  ", w);
}

/* ---- the manual page ---------------------------------------------------------- */

static void s_man_head(FILE *out)
{
	char date[16];
	fprintf(out,
		".\\\" tractionctl(1), written by `tractionctl --man` from its command table:\n"
		".\\\" do not edit, change clients/tractionctl/ instead.\n"
		".TH TRACTIONCTL 1 %s \"traction %s\" \"traction manual\"\n"
		".SH NAME\n"
		"tractionctl \\- the command line of the traction daemon set\n"
		".SH SYNOPSIS\n"
		".B tractionctl\n"
		"[\\fIOPTION\\fR]... \\fINOUN\\fR [\\fIVERB\\fR] [\\fIARGUMENT\\fR]...\n"
		".SH DESCRIPTION\n"
		"\\fBtractionctl\\fR calls the traction daemon set through its broker: providers\n"
		"and supplies, scenarios and matching, deployments and their stages, feedback\n"
		"and its aggregates, iterations and history, alerts, webhooks, retention,\n"
		"backups and the audit log.\n"
		"Output is for people by default (times as ISO 8601 UTC, e.g.\\&\n"
		"2026\\-12\\-04T05:30:12.345Z); with \\fB\\-\\-json\\fR one JSON document a command\n"
		"(streams: one object a line), times in milliseconds since the epoch.\n"
		"Every command takes \\fB\\-\\-help\\fR, which says what this page says of it.\n"
		".SH OPTIONS\n"
		"These come before the command word.\n",
		trc_roff_date(date, sizeof(date)), TRACTION_VERSION);
	trc_opt_roff(out, ctl_opts, ctl_n_opts);
}

static void s_man_cmd(FILE *out, const cmd_t *c)
{
	char flags[2048];
	fprintf(out, ".SS \"%s%s%s\"\n", c->noun, c->verb ? " " : "", c->verb ? c->verb : "");
	const char *u = c->usage, *form;
	size_t n;
	for (bool first = true; (n = s_form(&u, &form)) != 0; first = false) {
		fprintf(out, "%s.B tractionctl\n", first ? "" : ".br\n");
		trc_roff_n(out, form, n);
		fprintf(out, "\n");
	}
	fprintf(out, ".PP\n");
	trc_roff(out, c->help);
	fprintf(out, "\n.PP\nOptions: ");
	trc_roff(out, s_flags(c, flags, sizeof(flags)));
	fprintf(out, ".\n.PP\nExample:\n.RS 4\n.nf\n");
	/* the example's lines as written, a continuation indented */
	for (const char *l = c->example; *l != '\0';) {
		size_t len = strcspn(l, "\n");
		size_t lead = strspn(l, " ");
		fprintf(out, "%s", lead > 0 ? "\\ \\ \\ \\ " : "");
		trc_roff_n(out, l + lead, len - lead);
		fprintf(out, "\n");
		l += len + (l[len] == '\n');
	}
	fprintf(out, ".fi\n.RE\n");
}

void ctl_man(FILE *out)
{
	s_man_head(out);
	fprintf(out, ".SH COMMANDS\n");
	for (size_t i = 0, n = ctl_n_cmds(); i < n; i++)
		s_man_cmd(out, ctl_cmd(i));
	fprintf(out,
		".SH ENVIRONMENT\n"
		".TP\n.B TRACTION_ENDPOINT\nthe broker's client endpoint, when \\fB\\-\\-endpoint\\fR "
		"is not given\n"
		".TP\n.B TRACTION_SERVER_KEY\nthe broker's public key (CurveZMQ)\n"
		".TP\n.B TRACTION_KEY_FILE\nthis client's key pair file (CurveZMQ)\n"
		".TP\n.B TRACTION_EVENTS_ENDPOINT\nwhere \\fBevents watch\\fR subscribes\n"
		".TP\n.B COLUMNS\nthe width \\fB\\-\\-help\\fR wraps at (else the terminal's, "
		"else 80)\n"
		".SH \"EXIT STATUS\"\n"
		"0 on success; 1 on an error, said on standard error (with \\fB\\-\\-json\\fR also "
		"as {\"error\": ...} on standard output); 2 where a command says so (a refused "
		"line of \\fBfeedback publish\\fR, a service without a live instance in "
		"\\fBstatus\\fR).\n"
		".SH \"SHELL COMPLETION\"\n"
		"Bash completes nouns, verbs, options, the values an option lists and the ids "
		"of providers, supplies, scenarios and deployments (asked of the running set) "
		"once the completion file is loaded: installed as "
		"share/bash\\-completion/completions/tractionctl, it loads by itself with the "
		"bash\\-completion package; else \\fBsource\\fR it from \\fI~/.bashrc\\fR. "
		"For zsh, the function \\fI_tractionctl\\fR goes in a directory of "
		"\\fB$fpath\\fR.\n"
		".SH \"SEE ALSO\"\n"
		".BR traction.conf (5),\n"
		".BR traction\\-broker (8),\n"
		".BR traction\\-supplyd (8),\n"
		".BR traction\\-scenariod (8),\n"
		".BR traction\\-feedbackd (8),\n"
		".BR traction\\-iterationd (8),\n"
		".BR traction\\-notifyd (8),\n"
		".BR traction\\-gatewayd (8),\n"
		".BR traction\\-mqttd (8);\n"
		"docs/cli.md of the traction documentation\n");
}
