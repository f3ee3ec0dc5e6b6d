/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shell's completion of tractionctl: `tractionctl __complete WORD...`
 * gets the words after "tractionctl", the last one the word being typed
 * (maybe empty), and prints the candidates that start with it, one a
 * line: the options before the command, nouns, verbs, a command's options,
 * the values its usage lists ("pending|done|dead"), and the ids of
 * providers, supplies, scenarios and deployments, asked of the running set
 * with the global options on the line. All of it from the command table
 * (commands.c); the bash and zsh functions (completion/) only call this.
 * `tractionctl __commands` lists the table's commands, one a line, for the
 * tests that hold the manual page and --help to it.
 */
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "ctl.h"

static void s_offer(const char *cand, size_t n, const char *cur)
{
	if (n >= strlen(cur) && strncmp(cand, cur, strlen(cur)) == 0)
		printf("%.*s\n", (int)n, cand);
}

/* Whether a usage's name is a list of literal choices, "pending|done|dead"
 * (not "FILE|-", a name and a literal). */
static bool s_choices(const char *name)
{
	if (strchr(name, '|') == NULL)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			return false;
	return true;
}

/* Each of "a|b|c" that starts with cur. */
static void s_offer_alternatives(const char *list, const char *cur)
{
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, "|");
		s_offer(p, n, cur);
		p += n + (p[n] == '|');
	}
}

/* The ids a list method gives, e.g. supply.list's supplies' ids. */
static void s_offer_ids(ctl_t *ctl, const char *service, const char *method, const char *cur)
{
	const ProtobufCMethodDescriptor *md = trc_method_lookup(service, method);
	ProtobufCMessage *req = md != NULL ? calloc(1, md->input->sizeof_message) : NULL, *rep = NULL;
	if (req == NULL)
		return;
	protobuf_c_message_init(md->input, req);
	char err[128];
	json_t *page = json_pack("{s:{s:i}}", "page", "limit", 1000);
	if (pbjson_to_message(page, req, err, sizeof(err)) == 0 &&
	    ctl_call_rep(ctl, service, method, req, md->output, &rep) == 0) {
		json_t *doc = pbjson_from_message(rep), *v, *item;
		const char *k;
		size_t i;
		json_object_foreach(doc, k, v) json_array_foreach(v, i, item)
		{
			const char *id = json_string_value(json_object_get(item, "id"));
			if (id != NULL)
				s_offer(id, strlen(id), cur);
		}
		json_decref(doc);
		traction_reply_free(rep);
	}
	json_decref(page);
	pbjson_free(req);
	free(req);
}

/* The values of a flag or an argument named name (its metavar, or the
 * flag's own name). */
static void s_offer_values(ctl_t *ctl, const char *noun, const char *name, const char *cur)
{
	static const struct {
		const char *name, *noun, *service, *method;
	} lists[] = {
		{ "provider", NULL, "supply", "provider.list" },
		{ "supply", NULL, "supply", "list" },
		{ "SUPPLY", NULL, "supply", "list" },
		{ "SUPPLY@VERSION", NULL, "supply", "list" },
		{ "scenario", NULL, "scenario", "list" },
		{ "SCENARIO", NULL, "scenario", "list" },
		{ "deployment", NULL, "deployment", "list" },
		{ "ID", "provider", "supply", "provider.list" },
		{ "ID", "supply", "supply", "list" },
		{ "ID", "scenario", "scenario", "list" },
		{ "ID", "deployment", "deployment", "list" },
	};
	if (s_choices(name)) {
		s_offer_alternatives(name, cur);
		return;
	}
	if (strcmp(name, "SERVICE") == 0 || strcmp(name, "SOURCE") == 0) {
		for (size_t i = 0; i < trc_n_blocks; i++) {
			char svc[64];
			size_t n = trc_service_wire_name(trc_blocks[i]->short_name, svc, sizeof(svc));
			if (strcmp(svc, "daemon") != 0)
				s_offer(svc, n, cur);
		}
		return;
	}
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (strcmp(lists[i].name, name) == 0 &&
		    (lists[i].noun == NULL || strcmp(lists[i].noun, noun) == 0)) {
			s_offer_ids(ctl, lists[i].service, lists[i].method, cur);
			return;
		}
}

/* The name of the k-th argument in c's usage ("ID", "SUPPLY@VERSION",
 * "JSON|-"), into buf; NULL if it has none. */
static const char *s_positional(const cmd_t *c, int k, char *buf, size_t len)
{
	const char *p = c->usage + strlen(c->noun);
	if (c->verb != NULL && (p = strstr(p, c->verb)) == NULL)
		return NULL;
	p += c->verb != NULL ? strlen(c->verb) : 0;
	for (int i = 0;; i++) {
		p += strspn(p, " \n");
		size_t n = strcspn(p, " \n");
		const char *t = p;
		if (n == 0 || t[0] == '-' || t[0] == '(' || (t[0] == '[' && t[1] == '-'))
			return NULL;
		p += n;
		if (t[0] == '[') {
			t++;
			n--;
		}
		while (n > 0 && t[n - 1] == ']')
			n--;
		if (i == k) {
			snprintf(buf, len, "%.*s", (int)n, t);
			return buf;
		}
	}
}

/* Whether the flag word w (after "--") is one of c's, taking a value. */
static bool s_flag(const cmd_t *c, const char *w, bool *takes_value)
{
	bool rep;
	const char *next;
	for (const char *s = c->flags;; s = next) {
		size_t n = ctl_flag_next(s, &rep, takes_value, &next);
		if (n == 0)
			return false;
		if (strlen(w) == n && strncmp(s, w, n) == 0)
			return true;
	}
}

/* The words of command c (w[0..n)) and cur, the one being typed. */
static void s_command(ctl_t *ctl, const cmd_t *c, int n, char **w, const char *cur)
{
	int npos = 0;
	bool val;
	for (int k = 0; k < n; k++) {
		if (strncmp(w[k], "--", 2) != 0 || strchr(w[k], '=') != NULL || w[k][2] == '\0') {
			npos += w[k][0] != '-';
			continue;
		}
		if (!s_flag(c, w[k] + 2, &val) || !val)
			continue;
		if (k + 1 == n) { /* cur is this flag's value */
			char mv[128];
			const char *name = w[k] + 2;
			const char *m = ctl_flag_metavar(c, name, strlen(name), mv, sizeof(mv));
			s_offer_values(ctl, c->noun, s_choices(m) ? m : name, cur);
			return;
		}
		k++;
	}
	if (cur[0] == '-') {
		bool rep;
		const char *next;
		char f[96];
		for (const char *s = c->flags;; s = next) {
			size_t len = ctl_flag_next(s, &rep, &val, &next);
			if (len == 0)
				break;
			snprintf(f, sizeof(f), "--%.*s", (int)len, s);
			s_offer(f, strlen(f), cur);
		}
		s_offer("--json", 6, cur);
		s_offer("--help", 6, cur);
		return;
	}
	char name[64];
	if (s_positional(c, npos, name, sizeof(name)) != NULL)
		s_offer_values(ctl, c->noun, name, cur);
}

int ctl_complete(ctl_t *ctl, int nw, char **w)
{
	if (nw < 1)
		return 0;
	const char *cur = w[nw - 1];
	int n = nw - 1, i = 0;
	while (i < n && w[i][0] == '-') {
		const char *name = w[i][1] == '-' ? w[i] + 2 : NULL;
		for (size_t k = 0; k < ctl_n_opts; k++)
			if (ctl_opts[k].arg != NULL &&
			    (name != NULL ? strcmp(ctl_opts[k].name, name) == 0
					  : w[i][1] == ctl_opts[k].letter && w[i][2] == '\0'))
				i++; /* its value, the next word */
		if (++i > n)
			return 0; /* the value of a global option: the shell's files */
	}
	int globals = i;
	if (i == n) {
		for (size_t k = 0; cur[0] == '-' && k < ctl_n_opts; k++) {
			char o[64];
			snprintf(o, sizeof(o), "--%s", ctl_opts[k].name);
			if (ctl_opts[k].help != NULL)
				s_offer(o, strlen(o), cur);
		}
		for (size_t k = 0, nc = ctl_n_cmds(); cur[0] != '-' && k < nc; k++) {
			const char *noun = ctl_cmd(k)->noun;
			size_t j = 0;
			while (j < k && strcmp(ctl_cmd(j)->noun, noun) != 0)
				j++;
			if (j == k) /* its first command */
				s_offer(noun, strlen(noun), cur);
		}
		return 0;
	}
	const char *noun = w[i++], *verb = NULL;
	if (ctl_noun_has_verbs(noun)) {
		if (i == n) {
			for (size_t k = 0, nc = ctl_n_cmds(); k < nc; k++)
				if (strcmp(ctl_cmd(k)->noun, noun) == 0)
					s_offer(ctl_cmd(k)->verb, strlen(ctl_cmd(k)->verb), cur);
			return 0;
		}
		verb = w[i++];
	}
	bool known;
	const cmd_t *c = ctl_find(noun, verb, &known);
	if (c == NULL || ctl_connect_words(ctl, globals, w) != 0)
		return 0;
	s_command(ctl, c, n - i, w + i, cur);
	return 0;
}

void ctl_commands_list(FILE *out)
{
	for (size_t i = 0, n = ctl_n_cmds(); i < n; i++)
		fprintf(out, "%s%s%s\n", ctl_cmd(i)->noun, ctl_cmd(i)->verb ? " " : "",
			ctl_cmd(i)->verb ? ctl_cmd(i)->verb : "");
}
