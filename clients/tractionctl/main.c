/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl: every capability of the traction daemon set from the shell.
 * Nouns and verbs are dispatched from one table with their help beside
 * them (after knotc; commands.c), which --help, the manual page and the
 * shell's completion are written from too (help.c, complete.c). Human-readable output by default, --json for scripts (one
 * JSON document per command; streams one object per line). Exit status 0
 * on success, non-zero with the error on stderr otherwise.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* Parses a command's own arguments against its flag spec. */
static int s_parse(const cmd_t *c, int argc, char **argv, args_t *a, bool *json)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		if (strcmp(w, "--json") == 0 || strcmp(w, "-j") == 0) {
			*json = true;
			continue;
		}
		if (strncmp(w, "--", 2) != 0 || strcmp(w, "--") == 0 || strcmp(w, "-") == 0) {
			if (a->npos == CTL_MAX_POS)
				return ctl_fail("too many arguments");
			a->pos[a->npos++] = argv[i];
			continue;
		}
		const char *name = w + 2;
		const char *eq = strchr(name, '=');
		size_t nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
		/* find it in the spec: "name", "name*" (repeats), "name!" (no value) */
		bool found = false, multi = false, takes = true;
		const char *next;
		for (const char *spec = c->flags;; spec = next) {
			size_t base = ctl_flag_next(spec, &multi, &takes, &next);
			if (base == 0)
				break;
			if (base == nlen && strncmp(spec, name, nlen) == 0) {
				found = true;
				break;
			}
		}
		if (!found)
			return ctl_fail("%s %s: unknown option --%.*s (see --help)", c->noun,
					c->verb ? c->verb : "", (int)nlen, name);
		const char *val = NULL;
		if (takes) {
			if (eq != NULL)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return ctl_fail("--%.*s needs a value", (int)nlen, name);
		}
		int k;
		for (k = 0; k < a->nf; k++)
			if (strlen(a->f[k].name) == nlen && strncmp(a->f[k].name, name, nlen) == 0)
				break;
		if (k == a->nf) {
			if (a->nf == CTL_MAX_FLAGS)
				return ctl_fail("too many options");
			a->f[a->nf].name = strndup(name, nlen);
			a->nf++;
		}
		if (!multi)
			a->f[k].n = 0;
		if (a->f[k].n == CTL_MAX_VALUES)
			return ctl_fail("--%s: too many values", a->f[k].name);
		a->f[k].vals[a->f[k].n++] = (char *)(val != NULL ? val : "");
	}
	if (a->npos < c->min_pos || a->npos > c->max_pos)
		return ctl_fail("usage: tractionctl %s", c->usage);
	return 0;
}

static void s_args_free(args_t *a)
{
	for (int i = 0; i < a->nf; i++)
		free((char *)a->f[i].name);
}

/* What the options before the command word set. */
typedef struct {
	const char *after[8];
	int nafter;
	const char *as_user;
	const char *key_file;
	bool stale;
} globals_t;

/* The options before the command word: 0, or -1 with *exit_code set (an
 * error, --help, --version). */
static int s_globals(int argc, char **argv, ctl_t *ctl, globals_t *g, int *exit_code)
{
	struct option opts[32];
	char letters[64] = "+"; /* '+': stop at the first command word */
	trc_opt_getopt(ctl_opts, ctl_n_opts < 31 ? ctl_n_opts : 31, opts, letters, sizeof(letters));
	int c;
	uint64_t ms;
	*exit_code = 1;
	while ((c = getopt_long(argc, argv, letters, opts, NULL)) != -1) {
		switch (c) {
		case 's':
			ctl->server_key = optarg;
			break;
		case 'k':
			g->key_file = optarg;
			break;
		case 'u':
			g->as_user = optarg;
			break;
		case 'S':
			g->stale = true;
			break;
		case 'e':
			ctl->endpoint = optarg;
			break;
		case 'j':
			ctl->json = true;
			break;
		case 'a':
			if (g->nafter == 8 || strchr(optarg, ':') == NULL) {
				ctl_fail("--after SOURCE:SEQ (at most 8)");
				return -1;
			}
			g->after[g->nafter++] = optarg;
			break;
		case 't':
			if (ctl_uint("timeout", optarg, INT_MAX, &ms) != 0)
				return -1;
			ctl->timeout_ms = (int)ms;
			break;
		case 'h':
			ctl_usage(stdout);
			*exit_code = 0;
			return -1;
		case 'M':
			ctl_man(stdout);
			*exit_code = 0;
			return -1;
		case 'V':
			printf("tractionctl %s\n", traction_version());
			*exit_code = 0;
			return -1;
		default:
			ctl_usage(stderr);
			return -1;
		}
	}
	if (optind >= argc) {
		ctl_usage(stderr);
		return -1;
	}
	return 0;
}

/* No such command: the verbs of a known noun (0 when asked with --help),
 * else the nouns. The exit code. */
static int s_no_command(const char *noun, const char *verb, bool noun_known)
{
	if (!noun_known) {
		fprintf(stderr, "tractionctl: unknown command '%s'\n", noun);
		ctl_usage(stderr);
		return 1;
	}
	FILE *out = verb == NULL || strcmp(verb, "--help") != 0 ? stderr : stdout;
	if (out == stderr && verb != NULL)
		fprintf(stderr, "tractionctl: %s has no verb '%s'\n", noun, verb);
	ctl_noun_usage(out, noun);
	return out == stdout ? 0 : 1;
}

/* The client of ctl, with CurveZMQ, --after and --as: 0, or non-zero having
 * said why. */
int ctl_client_new(ctl_t *ctl, const char *endpoint, int timeout_ms, traction_client_t **c)
{
	traction_options_t o = { .timeout_ms = timeout_ms > 0 ? timeout_ms : ctl->timeout_ms,
				 .client_name = "tractionctl" };
	if (ctl->public_key[0] != '\0') {
		o.server_public_key = ctl->server_key;
		o.public_key = ctl->public_key;
		o.secret_key = ctl->secret_key;
	}
	if (traction_client_new(c, endpoint, &o) != 0)
		return ctl_fail("cannot connect to %s", endpoint);
	if (ctl->as_user != NULL && traction_client_on_behalf_of(*c, ctl->as_user) != 0)
		return ctl_fail("out of memory");
	return 0;
}

/* Commands that never reach the bus: no key is looked for. */
static bool s_offline(const cmd_t *c)
{
	static const char *const nouns[] = { "keygen", "token", "verify", "restore" };
	for (size_t i = 0; i < sizeof(nouns) / sizeof(nouns[0]); i++)
		if (strcmp(c->noun, nouns[i]) == 0)
			return true;
	return false;
}

/* The installed set's keys (docs/security.md, "Installed: secure by
 * default"): with no key given (--key-file, $TRACTION_KEY_FILE, --server-key,
 * $TRACTION_SERVER_KEY) and the default endpoint, the admin key of
 * TRACTION_CONFDIR when there is one. Readable: used, with the broker's
 * public key beside it. There but not readable: refused at once, since the
 * set would answer nothing. 0, or non-zero having said why. */
static int s_default_keys(ctl_t *ctl, globals_t *g, bool endpoint_given)
{
	static char server_pub[41];
	const char *admin = TRACTION_CONFDIR "/admin.key", *pub = TRACTION_CONFDIR "/server.pub";
	if (endpoint_given || (g->key_file != NULL && g->key_file[0] != '\0') ||
	    (ctl->server_key != NULL && ctl->server_key[0] != '\0') || access(admin, F_OK) != 0)
		return 0;
	if (access(admin, R_OK) != 0)
		return ctl_fail("%s: %s: the traction set installed here answers only clients with a "
				"CurveZMQ key; this key is root's and the group traction-admin's. Run as "
				"one of them, or give your own key (--key-file, --server-key; "
				"docs/security.md)",
				admin, strerror(errno));
	if (ctl_public_key(pub, server_pub) != 0)
		return 1;
	ctl->server_key = server_pub;
	g->key_file = admin;
	return 0;
}

static int s_connect(ctl_t *ctl, const globals_t *g)
{
	if (ctl->server_key != NULL && ctl->server_key[0] != '\0') {
		if (g->key_file == NULL || g->key_file[0] == '\0')
			return ctl_fail("--server-key needs --key-file (this client's key pair)");
		if (ctl_keypair(g->key_file, ctl->public_key, ctl->secret_key) != 0)
			return 1;
	}
	ctl->as_user = g->as_user;
	int rc = ctl_client_new(ctl, ctl->endpoint, 0, &ctl->client);
	if (rc == 0)
		traction_client_stale(ctl->client, g->stale);
	for (int i = 0; i < g->nafter && rc == 0; i++) {
		char src[64];
		const char *a = g->after[i], *colon = strchr(a, ':');
		uint64_t seq;
		if (colon == a || (size_t)(colon - a) >= sizeof(src))
			rc = ctl_fail("--after %s: expected SOURCE:SEQ, e.g. supply:42", a);
		else if (ctl_uint("after", colon + 1, UINT64_MAX, &seq) != 0)
			rc = 1;
		else {
			snprintf(src, sizeof(src), "%.*s", (int)(colon - a), a);
			rc = traction_client_after(ctl->client, src, seq) != 0;
		}
	}
	return rc;
}

/* the endpoint when neither --endpoint nor $TRACTION_ENDPOINT gives one
 * (compared by address: whether one was given decides the default keys) */
static const char s_default_endpoint[] = "tcp://127.0.0.1:7400";

/* ctl's defaults, from the environment. */
static void s_defaults(ctl_t *ctl, globals_t *g)
{
	g->key_file = getenv("TRACTION_KEY_FILE");
	ctl->server_key = getenv("TRACTION_SERVER_KEY");
	ctl->endpoint = getenv("TRACTION_ENDPOINT");
	if (ctl->endpoint == NULL || ctl->endpoint[0] == '\0')
		ctl->endpoint = s_default_endpoint;
}

int ctl_connect_words(ctl_t *ctl, int nwords, char **words)
{
	/* getopt reads them as tractionctl's own, before a command word */
	char **av = calloc((size_t)nwords + 3, sizeof(*av));
	globals_t g = { 0 };
	int code, rc = 1;
	if (av == NULL)
		return 1;
	av[0] = (char *)"tractionctl";
	memcpy(av + 1, words, (size_t)nwords * sizeof(*av));
	av[nwords + 1] = (char *)"-";
	s_defaults(ctl, &g);
	optind = 0;
	if (s_globals(nwords + 2, av, ctl, &g, &code) == 0)
		rc = s_connect(ctl, &g);
	free(av);
	return rc;
}

int main(int argc, char **argv)
{
	/* a TAB waits for its ids a short while (--timeout on the line wins) */
	ctl_t ctl = { .timeout_ms = 10000 };
	globals_t g = { 0 };
	s_defaults(&ctl, &g);
	if (argc > 1 && strcmp(argv[1], "__commands") == 0) {
		ctl_commands_list(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "__complete") == 0) {
		ctl.timeout_ms = 2000;
		int rc = ctl_complete(&ctl, argc - 2, argv + 2);
		traction_client_destroy(&ctl.client);
		return rc;
	}
	int code;
	if (s_globals(argc, argv, &ctl, &g, &code) != 0)
		return code;
	const char *noun = argv[optind];
	const char *verb = optind + 1 < argc ? argv[optind + 1] : NULL;
	bool noun_known;
	const cmd_t *cmd = ctl_find(noun, verb, &noun_known);
	if (cmd == NULL)
		return s_no_command(noun, verb, noun_known);
	int first = optind + (cmd->verb != NULL ? 2 : 1);
	for (int i = first; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return ctl_cmd_help(cmd);
	args_t a;
	int rc = s_parse(cmd, argc - first, argv + first, &a, &ctl.json);
	if (rc == 0 && !s_offline(cmd))
		rc = s_default_keys(&ctl, &g, ctl.endpoint != s_default_endpoint);
	if (rc == 0)
		rc = s_connect(&ctl, &g);
	if (rc == 0)
		rc = cmd->fn(&ctl, &a);
	traction_client_destroy(&ctl.client);
	s_args_free(&a);
	return rc != 0 ? (rc < 0 ? 1 : rc) : 0;
}
