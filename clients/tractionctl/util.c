/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl's helpers: argument lookup, calling and printing, parsing of
 * versions, enums, times and pairs. See ctl.h.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "blocks.h"
#include "ctl.h"
#include "jsonl.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"

int ctl_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("tractionctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

void ctl_print_json(json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY);
	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(doc);
}

const char *arg(const args_t *a, const char *name)
{
	for (int i = 0; i < a->nf; i++)
		if (strcmp(a->f[i].name, name) == 0 && a->f[i].n > 0)
			return a->f[i].vals[a->f[i].n - 1];
	return NULL;
}

bool arg_set(const args_t *a, const char *name)
{
	for (int i = 0; i < a->nf; i++)
		if (strcmp(a->f[i].name, name) == 0)
			return true;
	return false;
}

int args_all(const args_t *a, const char *name, char ***vals)
{
	for (int i = 0; i < a->nf; i++)
		if (strcmp(a->f[i].name, name) == 0) {
			*vals = (char **)a->f[i].vals;
			return a->f[i].n;
		}
	*vals = NULL;
	return 0;
}

const char *arg_req(const args_t *a, const char *name)
{
	const char *v = arg(a, name);
	if (v == NULL)
		ctl_fail("--%s is required", name);
	return v;
}

int ctl_call_rep(ctl_t *ctl, const char *service, const char *method, const ProtobufCMessage *req,
		 const ProtobufCMessageDescriptor *rep_desc, ProtobufCMessage **rep)
{
	traction_status_t st;
	/* the method and its types come from proto/'s service blocks: a
	 * command that disagrees with them is a bug of tractionctl's */
	const ProtobufCMethodDescriptor *md = trc_method_lookup(service, method);
	if (md == NULL || md->input != req->descriptor || md->output != rep_desc)
		return ctl_fail("internal error: %s.%s is not declared so in proto/", service, method);
	int code = traction_call(ctl->client, service, method, req, md->output, rep, &st);
	if (code == 0)
		return 0;
	/* the details are for programs: --json prints them on stdout as
	 * {"error": {"code", "message", "details"}}; people read stderr */
	const Traction__V1__ErrorDetails *d = traction_last_details(ctl->client);
	if (ctl->json)
		ctl_print_json(pbjson_error(traction_code_name(code), st.message,
					    d != NULL ? &d->base : NULL));
	ctl_fail("%s: %s", traction_code_name(code), st.message);
	for (size_t i = 0; d != NULL && i < d->n_details; i++) {
		const Traction__V1__ErrorDetail *x = d->details[i];
		fprintf(stderr, "  %s: %s", x->subject, x->reason);
		if (x->current[0] != '\0' || x->required[0] != '\0')
			fprintf(stderr, " (is %s, needs %s)", x->current[0] ? x->current : "-",
				x->required[0] ? x->required : "-");
		fputc('\n', stderr);
	}
	return 1;
}

int ctl_call(ctl_t *ctl, const char *service, const char *method, const ProtobufCMessage *req,
	     const ProtobufCMessageDescriptor *rep_desc, print_fn print_human)
{
	ProtobufCMessage *rep = NULL;
	if (ctl_call_rep(ctl, service, method, req, rep_desc, &rep) != 0)
		return 1;
	if (ctl->json)
		ctl_print_json(pbjson_from_message(rep));
	else if (print_human != NULL)
		print_human(rep);
	else
		pbjson_print_human(rep, 0);
	traction_reply_free(rep);
	return 0;
}

int ctl_uint(const char *flag, const char *s, uint64_t max, uint64_t *out)
{
	/* strtoull alone would take "", " 7", "+7", "-1" (as 2^64-1) and "7x" */
	if (s[0] == '-' && isdigit((unsigned char)s[1]))
		return ctl_fail("--%s: '%s' is negative", flag, s);
	if (!isdigit((unsigned char)s[0]))
		return ctl_fail("--%s: '%s' is not a number", flag, s);
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end != '\0')
		return ctl_fail("--%s: '%s' is not a number", flag, s);
	if (errno == ERANGE || v > max)
		return ctl_fail("--%s: '%s' is too large (at most %llu)", flag, s,
				(unsigned long long)max);
	*out = v;
	return 0;
}

int ctl_double(const char *flag, const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || isspace((unsigned char)s[0]))
		return ctl_fail("--%s: '%s' is not a number", flag, s);
	if (errno == ERANGE || !isfinite(v))
		return ctl_fail("--%s: '%s' is not a finite number", flag, s);
	*out = v;
	return 0;
}

int ctl_arg_u32(const args_t *a, const char *flag, uint32_t *out)
{
	const char *s = arg(a, flag);
	uint64_t v;
	if (s == NULL)
		return 0;
	if (ctl_uint(flag, s, UINT32_MAX, &v) != 0)
		return 1;
	*out = (uint32_t)v;
	return 0;
}

int ctl_arg_page(const args_t *a, Traction__V1__PageRequest *page)
{
	page->cursor = (char *)arg(a, "cursor");
	return ctl_arg_u32(a, "limit", &page->limit);
}

int ctl_arg_time(const args_t *a, const char *flag, int64_t *ms)
{
	const char *v = arg(a, flag);
	if (v != NULL && trc_time_parse(v, ms) != 0)
		return ctl_fail("--%s: '%s' is not a time: 2026-11-28T10:15:00Z or milliseconds",
				flag, v);
	return 0;
}

int ctl_split_version(const char *s, char *supply, size_t slen, char *version, size_t vlen)
{
	const char *at = strchr(s, '@');
	size_t n = at != NULL ? (size_t)(at - s) : strlen(s);
	if (n == 0 || n >= slen)
		return ctl_fail("'%s': expected SUPPLY or SUPPLY@VERSION", s);
	memcpy(supply, s, n);
	supply[n] = '\0';
	version[0] = '\0';
	if (at != NULL) {
		if (strlen(at + 1) == 0 || strlen(at + 1) >= vlen)
			return ctl_fail("'%s': expected SUPPLY@VERSION", s);
		snprintf(version, vlen, "%s", at + 1);
	}
	return 0;
}

int ctl_enum(const ProtobufCEnumDescriptor *d, const char *flag, const char *label, int *out)
{
	char labels[512];
	*out = pbjson_enum_value(d, label);
	if (*out < 0)
		return ctl_fail("--%s: '%s' is not one of: %s", flag, label,
				pbjson_enum_labels(d, labels, sizeof(labels)));
	return 0;
}

int ctl_pairs(const char *flag, char **vals, int n, void ***out)
{
	Traction__V1__KeyValue **kv = calloc((size_t)(n > 0 ? n : 1), sizeof(*kv));
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(vals[i], '=');
		if (eq == NULL) {
			ctl_pairs_free((void **)kv, i);
			return ctl_fail("--%s: '%s' is not KEY=VALUE", flag, vals[i]);
		}
		kv[i] = calloc(1, sizeof(**kv));
		traction__v1__key_value__init(kv[i]);
		kv[i]->key = strndup(vals[i], (size_t)(eq - vals[i]));
		kv[i]->value = strdup(eq + 1);
	}
	*out = (void **)kv;
	return 0;
}

void ctl_pairs_free(void **kv_, int n)
{
	Traction__V1__KeyValue **kv = (Traction__V1__KeyValue **)kv_;
	for (int i = 0; kv != NULL && i < n; i++) {
		if (kv[i] == NULL)
			continue;
		free(kv[i]->key);
		free(kv[i]->value);
		free(kv[i]);
	}
	free(kv);
}

/* The "public" and "secret" lines of a key file ('\0' for a missing one):
 * 0, or -1 with errno when it cannot be read. */
static int s_key_lines(const char *path, char public_key[41], char secret_key[41])
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	char line[256];
	public_key[0] = secret_key[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		char k[16], v[64];
		if (sscanf(line, " %15[a-z] = %63s", k, v) != 2 || strlen(v) != 40)
			continue;
		if (strcmp(k, "public") == 0)
			memcpy(public_key, v, 41);
		else if (strcmp(k, "secret") == 0)
			memcpy(secret_key, v, 41);
	}
	fclose(f);
	return 0;
}

int ctl_keypair(const char *path, char public_key[41], char secret_key[41])
{
	if (s_key_lines(path, public_key, secret_key) != 0)
		return ctl_fail("%s: cannot read the key file: %s", path, strerror(errno));
	if (public_key[0] == '\0' || secret_key[0] == '\0')
		return ctl_fail("%s: needs the lines 'public = KEY' and 'secret = KEY'", path);
	return 0;
}

int ctl_public_key(const char *path, char public_key[41])
{
	char secret[41];
	if (s_key_lines(path, public_key, secret) != 0)
		return ctl_fail("%s: cannot read the key file: %s", path, strerror(errno));
	sodium_memzero(secret, sizeof(secret));
	if (public_key[0] == '\0')
		return ctl_fail("%s: needs the line 'public = KEY'", path);
	return 0;
}

const char *ctl_when(int64_t ms, char *buf, size_t len)
{
	return pbjson_time(ms, buf, len);
}
