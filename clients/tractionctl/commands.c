/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl's one command table: the groups of commands (each file's
 * table, with its help beside each entry) in the order people read them,
 * and the options before the command word. main.c dispatches from it,
 * help.c writes --help and the manual page from it, complete.c completes
 * from it: so none of them can list what another does not.
 */
#include <string.h>

#include "ctl.h"

static const struct {
	const cmd_t *cmds;
	const int *n;
} s_groups[] = {
	{ ctl_misc_cmds, &ctl_n_misc_cmds },
	{ ctl_catalogue_cmds, &ctl_n_catalogue_cmds },
	{ ctl_iteration_cmds, &ctl_n_iteration_cmds },
	{ ctl_feedback_cmds, &ctl_n_feedback_cmds },
	{ ctl_alert_cmds, &ctl_n_alert_cmds },
	{ ctl_audit_cmds, &ctl_n_audit_cmds },
	{ ctl_backup_cmds, &ctl_n_backup_cmds },
	{ ctl_cluster_cmds, &ctl_n_cluster_cmds },
	{ ctl_webhook_cmds, &ctl_n_webhook_cmds },
	{ ctl_retention_cmds, &ctl_n_retention_cmds },
	{ ctl_call_cmds, &ctl_n_call_cmds },
};
#define N_GROUPS (sizeof(s_groups) / sizeof(s_groups[0]))

const trc_opt_t ctl_opts[] = {
	{ 'e', "endpoint", "URL",
	  "the broker's client endpoint (default: $TRACTION_ENDPOINT, else tcp://127.0.0.1:7400)" },
	{ 'j', "json", NULL, "JSON output (also accepted after the command)" },
	{ 't', "timeout", "MS", "per request (default 10000)" },
	{ 's', "server-key", "KEY", "CurveZMQ: the broker's public key (or $TRACTION_SERVER_KEY)" },
	{ 'k', "key-file", "FILE",
	  "CurveZMQ: this client's key pair file from 'keygen' (or $TRACTION_KEY_FILE); with "
	  "neither key nor endpoint given: " TRACTION_CONFDIR "/admin.key, if there" },
	{ 'a', "after", "SRC:SEQ",
	  "read-your-writes: served once the daemon has applied event SEQ of source SRC (a "
	  "write's \"committed\")" },
	{ 'u', "as", "USER", "an edge's key: act for this user (docs/security.md)" },
	{ 'S', "stale", NULL,
	  "reads: any replica of a replicated daemon may answer, a follower too, as of what it "
	  "has applied (docs/scale-out.md); without it, its leader" },
	{ 'h', "help", NULL, "this help; 'tractionctl NOUN VERB --help' for a command's" },
	{ 'V', "version", NULL, "the version" },
	/* the build writes the manual page with it */
	{ 'M', "man", NULL, NULL },
};
const size_t ctl_n_opts = sizeof(ctl_opts) / sizeof(ctl_opts[0]);

size_t ctl_n_cmds(void)
{
	size_t n = 0;
	for (size_t g = 0; g < N_GROUPS; g++)
		n += (size_t)*s_groups[g].n;
	return n;
}

const cmd_t *ctl_cmd(size_t i)
{
	for (size_t g = 0; g < N_GROUPS; g++) {
		if (i < (size_t)*s_groups[g].n)
			return &s_groups[g].cmds[i];
		i -= (size_t)*s_groups[g].n;
	}
	return NULL;
}

const cmd_t *ctl_find(const char *noun, const char *verb, bool *noun_known)
{
	*noun_known = false;
	for (size_t i = 0, n = ctl_n_cmds(); i < n; i++) {
		const cmd_t *x = ctl_cmd(i);
		if (strcmp(x->noun, noun) != 0)
			continue;
		*noun_known = true;
		if (x->verb == NULL || (verb != NULL && strcmp(x->verb, verb) == 0))
			return x;
	}
	return NULL;
}

bool ctl_noun_has_verbs(const char *noun)
{
	for (size_t i = 0, n = ctl_n_cmds(); i < n; i++)
		if (strcmp(ctl_cmd(i)->noun, noun) == 0 && ctl_cmd(i)->verb != NULL)
			return true;
	return false;
}

size_t ctl_flag_next(const char *s, bool *repeats, bool *takes_value, const char **next)
{
	if (s == NULL || *s == '\0')
		return 0;
	size_t len = strcspn(s, ","), base = len;
	char mark = len > 0 ? s[len - 1] : 0;
	if (mark == '*' || mark == '!')
		base--;
	*repeats = mark == '*';
	*takes_value = mark != '!';
	*next = s + len + (s[len] == ',');
	return base;
}

const char *ctl_flag_metavar(const cmd_t *c, const char *name, size_t nlen, char *buf,
			     size_t len)
{
	for (const char *u = strstr(c->usage, "--"); u != NULL; u = strstr(u + 2, "--")) {
		const char *tok = u + 2 + nlen;
		if (strncmp(u + 2, name, nlen) != 0 || *tok != ' ')
			continue;
		tok++;
		size_t n = strcspn(tok, " \n");
		while (n > 0 && strchr("]).", tok[n - 1]) != NULL)
			n--;
		if (n == 0 || strchr("-[(", tok[0]) != NULL)
			break;
		snprintf(buf, len, "%.*s", (int)n, tok);
		return buf;
	}
	static const char *const common[][2] = {
		{ "limit", "N" }, { "cursor", "CURSOR" }, { "from", "TIME" }, { "to", "TIME" },
	};
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (strlen(common[i][0]) == nlen && strncmp(common[i][0], name, nlen) == 0)
			return common[i][1];
	return "VALUE";
}
