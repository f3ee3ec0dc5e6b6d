/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a daemon says of itself: its options (one table, which getopt,
 * --help and the manual page read), --help wrapped at the terminal's
 * width, and its manual page, section 8, with the keys of its own
 * sections of the file from its configuration's table (the one that
 * --print-config walks). The build writes each installed daemon's page
 * and traction.conf(5) with the hidden --man (man/CMakeLists.txt).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "textout.h"

static const trc_opt_t s_opts[] = {
	{ 'c', "config", "FILE",
	  "read the configuration from FILE (INI, traction.conf(5)); without it the compiled-in "
	  "defaults apply (state under ./var)" },
	{ 0, "set", "SECTION.KEY=VALUE",
	  "set one key over the file (repeatable; kept across reloads), e.g. --set "
	  "broker.instance=2" },
	{ 0, "print-config", NULL, "print the effective configuration and exit" },
	{ 'h', "help", NULL, "show this help and exit" },
	{ 'V', "version", NULL, "show the version and exit" },
	/* the build's: page (this one's, section 8), shared or own (the
	 * sections' keys for traction.conf(5)) */
	{ 0, "man", "WHAT", NULL },
};

const trc_opt_t *trc_daemon_opts(size_t *n)
{
	*n = sizeof(s_opts) / sizeof(s_opts[0]);
	return s_opts;
}

static const char *const s_signals[][2] = {
	{ "SIGTERM, SIGINT", "finish the work in flight (a batch is committed and answered) and stop" },
	{ "SIGHUP",
	  "read the configuration file again (with the --set options); a file that does not "
	  "parse is refused and the running configuration kept" },
};
#define N_SIGNALS (sizeof(s_signals) / sizeof(s_signals[0]))

void trc_daemon_usage(const trc_daemon_info_t *info, FILE *out)
{
	int w = trc_text_width(fileno(out));
	char line[256];
	snprintf(line, sizeof(line), "Usage: %s [--config FILE]", info->name);
	trc_text_wrap(out, line, 0, 11, w);
	if (info->also != NULL) {
		snprintf(line, sizeof(line), "%s %s: %s.", info->name, info->also, info->also_help);
		fprintf(out, "       ");
		trc_text_wrap(out, line, 7, 11, w);
	}
	trc_text_wrap(out, info->summary, 0, 0, w);
	fprintf(out, "\nOptions:\n");
	trc_opt_help(out, s_opts, sizeof(s_opts) / sizeof(s_opts[0]), 22, w);
	fprintf(out, "\nSignals:\n");
	for (size_t i = 0; i < N_SIGNALS; i++) {
		snprintf(line, sizeof(line), "%s: %s.", s_signals[i][0], s_signals[i][1]);
		fprintf(out, "  ");
		trc_text_wrap(out, line, 2, 4, w);
	}
	fprintf(out, "\n");
	trc_text_wrap(out, "Every configuration key: man traction.conf, or docs/operations.md.", 0, 0,
		      w);
}

/* The page's NAME to OPTIONS. */
static void s_man_head(const trc_daemon_info_t *info, FILE *out)
{
	char date[16], upper[64];
	size_t i;
	for (i = 0; info->name[i] != '\0' && i + 1 < sizeof(upper); i++)
		upper[i] = (char)(info->name[i] >= 'a' && info->name[i] <= 'z' ? info->name[i] - 32
									: info->name[i]);
	upper[i] = '\0';
	fprintf(out, ".\\\" %s(8), written by `%s --man page` from its tables: do not edit.\n",
		info->name, info->name);
	fprintf(out, ".TH ");
	trc_roff(out, upper);
	fprintf(out, " 8 %s \"traction %s\" \"traction manual\"\n.SH NAME\n",
		trc_roff_date(date, sizeof(date)), TRACTION_VERSION);
	trc_roff(out, info->name);
	fprintf(out, " \\- ");
	trc_roff(out, info->summary);
	fprintf(out, "\n.SH SYNOPSIS\n.B ");
	trc_roff(out, info->name);
	fprintf(out, "\n[\\fB\\-\\-config\\fR \\fIFILE\\fR] [\\fB\\-\\-set\\fR "
		     "\\fISECTION.KEY=VALUE\\fR]...\n");
	char also[256];
	snprintf(also, sizeof(also), "%s %s", info->name, info->also ? info->also : "");
	if (info->also != NULL) {
		fprintf(out, ".br\n.B ");
		trc_roff(out, also);
		fprintf(out, "\n");
	}
	fprintf(out, ".SH DESCRIPTION\n");
	trc_roff(out, info->summary);
	fprintf(out, "\n.PP\nOne daemon of the traction set, which its daemons and clients "
		     "reach through the broker over ZeroMQ. It runs in the foreground and logs to "
		     "standard error (the journal, under systemd); under systemd it says READY "
		     "once it serves, and pings the watchdog.\n");
	if (info->also != NULL) {
		fprintf(out, ".PP\n\\fB");
		trc_roff(out, also);
		fprintf(out, "\\fR: ");
		trc_roff(out, info->also_help);
		fprintf(out, ".\n");
	}
	fprintf(out, ".SH OPTIONS\n");
	trc_opt_roff(out, s_opts, sizeof(s_opts) / sizeof(s_opts[0]));
}

static void s_man_page(const trc_daemon_info_t *info, const trc_config_t *cfg, FILE *out)
{
	s_man_head(info, out);
	fprintf(out, ".SH SIGNALS\n");
	for (size_t i = 0; i < N_SIGNALS; i++) {
		fprintf(out, ".TP\n.B ");
		trc_roff(out, s_signals[i][0]);
		fprintf(out, "\n");
		trc_roff(out, s_signals[i][1]);
		fprintf(out, ".\n");
	}
	fprintf(out, ".SH FILES\n.TP\n.I %s\n", TRACTION_CONF_FILE);
	fprintf(out, "the configuration of the whole set, which the packaged unit gives with "
		     "\\fB\\-\\-config\\fR (traction.conf(5))\n"
		     ".TP\n.IR state_dir /\\fIdaemon\\fR/\n"
		     "a daemon's LMDB store, when it keeps one ([store] state_dir)\n"
		     ".TP\n.I keys_dir\n"
		     "the CurveZMQ keys and the users of the set ([security] keys_dir)\n"
		     ".SH CONFIGURATION\nIt reads the shared sections ");
	trc_config_man_names(cfg, out, true, false);
	fprintf(out, " of traction.conf(5)");
	if (cfg->own == NULL || cfg->own[0] == NULL) {
		fprintf(out, "; it has no section of its own.\n");
	} else {
		fprintf(out, ", and its own: ");
		trc_config_man_names(cfg, out, false, true);
		fprintf(out, ".\n");
		trc_config_man(cfg, out, false, true);
	}
	fprintf(out, ".SH ENVIRONMENT\n.TP\n.B NOTIFY_SOCKET\nset by systemd: READY, "
		     "RELOADING, STOPPING and the watchdog are told there\n"
		     ".TP\n.B COLUMNS\nthe width \\fB\\-\\-help\\fR wraps at (else the "
		     "terminal's, else 80)\n"
		     ".SH \"SEE ALSO\"\n.BR traction.conf (5),\n.BR tractionctl (1),\n"
		     ".BR systemd.service (5);\ndocs/operations.md of the traction documentation\n");
}

int trc_daemon_man(const trc_daemon_info_t *info, const trc_config_t *cfg, const char *what,
		   FILE *out)
{
	if (strcmp(what, "page") == 0)
		s_man_page(info, cfg, out);
	else if (strcmp(what, "shared") == 0 || strcmp(what, "own") == 0)
		trc_config_man(cfg, out, what[0] == 's', what[0] == 'o');
	else
		return -1;
	return 0;
}
