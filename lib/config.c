/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The INI configuration parser, the shared sections' table of keys with
 * their defaults, types and ranges, and the generic checks of the sections
 * a daemon declares. See config.h for the rules and why the parser is our
 * own.
 *
 * Syntax: "[section]", "key = value", comments from ';' or '#' at the start
 * of a line or after whitespace, values optionally in double quotes.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "textout.h"
#include "cluster.h"
#include "util.h"

#define K TRC_CONF_KEY

static const trc_conf_key_t s_bus[] = {
	K(client_endpoint, "client_endpoint", ENDPOINT, 0, 0, "tcp://127.0.0.1:7400",
	  "clients (tractionctl, libtraction, other languages) connect here; with several "
	  "brokers one endpoint each, separated by commas, the same order in all four keys"),
	K(service_endpoint, "service_endpoint", ENDPOINT, 0, 0, "tcp://127.0.0.1:7401",
	  "services register with the broker here"),
	K(event_publish_endpoint, "event_publish_endpoint", ENDPOINT, 0, 0,
	  "tcp://127.0.0.1:7402", "services publish events here"),
	K(event_subscribe_endpoint, "event_subscribe_endpoint", ENDPOINT, 0, 0,
	  "tcp://127.0.0.1:7403", "anyone subscribes to events here"),
	K(heartbeat_ms, "heartbeat_ms", UINT, 50, 60000, "1000",
	  "heartbeat interval between broker and services"),
	K(heartbeat_liveness, "heartbeat_liveness", UINT, 2, 100, "3",
	  "missed heartbeats before a peer is declared dead"),
	K(max_message_kb, "max_message_kb", UINT, 1, 65536, "4096",
	  "largest message accepted on any socket, KiB"),
	K(request_timeout_ms, "request_timeout_ms", UINT, 10, 3600000, "30000",
	  "default and largest time a request may stay in flight"),
	K(queue_limit, "queue_limit", UINT, 16, 10000000, "100000",
	  "ZeroMQ high-water mark of every socket, messages"),
};

static const trc_conf_key_t s_store[] = {
	K(state_dir, "state_dir", PATH, 0, 0, "./var",
	  "each daemon keeps its LMDB in state_dir/<daemon>/"),
	K(map_size_mb, "map_size_mb", UINT, 1, 16777216, "1024",
	  "LMDB map size: the most a daemon's store may hold, MiB"),
	K(batch_max, "batch_max", UINT, 1, 1000000, "4096",
	  "most requests applied in one durable transaction (group commit)"),
	K(batch_max_mb, "batch_max_mb", UINT, 1, 65536, "64",
	  "most memory one batch's requests may take, decoded, MiB"),
};

static const trc_conf_key_t s_events[] = {
	K(replay_interval_ms, "replay_interval_ms", UINT, 10, 3600000, "1000",
	  "how often a consumer asks a source for events it may have missed"),
	K(replay_batch, "replay_batch", UINT, 1, 100000, "1000", "most events in one replay reply"),
	K(events_keep_days, "keep_days", UINT, 0, 36500, "7",
	  "a daemon's events stay whole this long for consumers' replays; older ones are "
	  "compacted to the newest of each record; 0: no bound by age"),
	K(events_keep_max, "keep_max", UINT, 0, 4000000000u, "1000000",
	  "and at most this many of the newest stay whole; 0: no bound by count"),
	K(events_trim_per_tick, "trim_per_tick", UINT, 1, 1000000, "1000",
	  "events the background trim examines per tick, in the group commit's transaction"),
};

static const trc_conf_key_t s_log[] = {
	K(log_level, "level", LOGLEVEL, 0, 0, "info", "error, warning, notice, info or debug"),
};

static const trc_conf_key_t s_security[] = {
	K(curve, "curve", UINT, 0, 1, "0",
	  "1: clients must use CurveZMQ with a key listed in keys_dir (docs/security.md)"),
	K(server_key_file, "server_key_file", PATH, 0, 0, "./server.key",
	  "the broker's key pair (lines public = Z85, secret = Z85), with curve = 1"),
	K(keys_dir, "keys_dir", PATH, 0, 0, "./keys",
	  "one file per client key: public, role and, for publishers, scenarios"),
	K(service_curve, "service_curve", UINT, 0, 1, "0",
	  "1: the service and event endpoints require CurveZMQ too, with role = service keys"),
	K(service_key_file, "service_key_file", PATH, 0, 0, "./service.key",
	  "a daemon's own key pair, with service_curve = 1 (listed in keys_dir, role = service)"),
	K(server_public_key_file, "server_public_key_file", PATH, 0, 0, "./server.pub",
	  "the broker's public key (a line public = Z85), for daemons"),
};

static const trc_conf_key_t s_metrics[] = {
	K(metrics_address, "address", STR, 0, 0, "127.0.0.1",
	  "every daemon serves Prometheus metrics at http://address:port/metrics"),
	K(metrics_base_port, "base_port", UINT, 0, 65000, "9470",
	  "a daemon's port is base_port plus its own offset (docs/operations.md); 0: no metrics"),
};

#define SECTION(name, keys) { name, keys, sizeof(keys) / sizeof(keys[0]), sizeof(trc_config_t) }

/* The shared sections, in the order they are written; their structs are
 * trc_config_t itself. */
static const trc_conf_section_t s_shared[] = {
	SECTION("bus", s_bus),       SECTION("store", s_store),
	SECTION("events", s_events), SECTION("log", s_log),
	SECTION("security", s_security), SECTION("metrics", s_metrics),
	{ "cluster", trc_cluster_keys, TRC_CLUSTER_NKEYS, sizeof(trc_config_t) },
};
#define N_SHARED (sizeof(s_shared) / sizeof(s_shared[0]))

#define s_fail(err, errlen, ...) trc_errf(TRC_ECONFIG, err, errlen, __VA_ARGS__)

int trc_config_names(const char *list, int (*fn)(const char *name, void *ud), void *ud)
{
	const char *p = list;
	for (;;) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		if (n == 0)
			return 0;
		char name[TRC_SLUG_MAX + 1];
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		int rc = fn(name, ud);
		if (rc != 0)
			return rc;
		p += n;
	}
}

/* The broker's bound on a service name is a byte less than a slug's. */
static int s_not_a_name(const char *name, void *ud)
{
	(void)ud;
	return strlen(name) >= TRC_SLUG_MAX || !trc_is_slug(name);
}

/* An endpoint list: one endpoint per broker (at least one, at most
 * TRC_BROKERS_MAX), each tcp://, ipc:// or inproc://. */
static const char *s_endpoints_bad(const char *val)
{
	size_t n = trc_endpoints_count(val);
	if (n == 0)
		return "expected an endpoint tcp://HOST:PORT, ipc://PATH or inproc://NAME";
	if (n > TRC_BROKERS_MAX)
		return "more endpoints than brokers a set may have (8)";
	for (size_t i = 0; i < n; i++) {
		char ep[TRC_CONFIG_STR];
		if (!trc_endpoint_at(val, i, ep, sizeof(ep)) ||
		    (strncmp(ep, "tcp://", 6) != 0 && strncmp(ep, "ipc://", 6) != 0 &&
		     strncmp(ep, "inproc://", 9) != 0))
			return "expected an endpoint tcp://HOST:PORT, ipc://PATH or inproc://NAME "
			       "(or one per broker, separated by commas)";
	}
	return NULL;
}

static const char *s_set_text(const trc_conf_key_t *k, char *dst, const char *val)
{
	const char *why;
	if (k->type == TRC_CONF_ENDPOINT && (why = s_endpoints_bad(val)) != NULL)
		return why;
	if (k->type == TRC_CONF_NAMES && trc_config_names(val, s_not_a_name, NULL) != 0)
		return "expected names of [A-Za-z0-9._-] (at most 63 bytes each), separated by "
		       "commas";
	if (strlen(val) >= k->size)
		return "value too long";
	for (const unsigned char *c = (const unsigned char *)val; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return "control character in the value";
	if (strchr(val, '"') != NULL)
		return "a double quote in the value"; /* it could not be written back */
	if (!trc_is_text(val, k->size))
		return "not valid UTF-8";
	/* the whole buffer: nothing of an earlier, longer value lingers */
	memset(dst, 0, k->size);
	memcpy(dst, val, strlen(val) + 1);
	return NULL;
}

/* Sets one key of the struct at base from its text; on error returns a
 * static reason. */
static const char *s_set(char *base, const trc_conf_key_t *k, const char *val)
{
	char *dst = base + k->offset;

	switch (k->type) {
	case TRC_CONF_ENDPOINT:
	case TRC_CONF_STR:
	case TRC_CONF_PATH:
	case TRC_CONF_NAMES:
		return s_set_text(k, dst, val);
	case TRC_CONF_UINT: {
		char *end;
		unsigned long v;
		if (val[0] < '0' || val[0] > '9')
			return "expected a non-negative integer";
		errno = 0;
		v = strtoul(val, &end, 10);
		if (errno != 0 || *end != '\0')
			return "expected a non-negative integer";
		if (v < k->min || v > k->max)
			return "out of range";
		*(unsigned *)(void *)dst = (unsigned)v;
		return NULL;
	}
	case TRC_CONF_LOGLEVEL: {
		int lvl = trc_log_level_parse(val);
		if (lvl < 0)
			return "expected error, warning, notice, info or debug";
		*(int *)(void *)dst = lvl;
		return NULL;
	}
	}
	return "unknown key type";
}

/* Every key of sec to its default, in the struct at base. */
static const char *s_defaults(const trc_conf_section_t *sec, char *base, const trc_conf_key_t **bad)
{
	for (size_t i = 0; i < sec->n_keys; i++) {
		const char *why = s_set(base, &sec->keys[i], sec->keys[i].def);
		if (why != NULL) {
			*bad = &sec->keys[i];
			return why;
		}
	}
	return NULL;
}

void trc_config_defaults(trc_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_SHARED; i++) {
		const trc_conf_key_t *bad;
		(void)s_defaults(&s_shared[i], (char *)cfg, &bad); /* valid: test_config checks */
	}
}

static const trc_conf_section_t *s_shared_section(const char *name)
{
	for (size_t i = 0; i < N_SHARED; i++)
		if (strcmp(s_shared[i].name, name) == 0)
			return &s_shared[i];
	return NULL;
}

/* Whether a key's member lies inside its struct and has the size its
 * type needs. */
static bool s_key_fits(const trc_conf_section_t *sec, const trc_conf_key_t *k)
{
	if (k->key == NULL || k->def == NULL || k->help == NULL || k->offset > sec->size ||
	    k->size > sec->size - k->offset)
		return false;
	switch (k->type) {
	case TRC_CONF_UINT:
		return k->size == sizeof(unsigned) && k->min <= k->max;
	case TRC_CONF_LOGLEVEL:
		return k->size == sizeof(int);
	default:
		return k->size > 0;
	}
}

/* One own section: a name of its own, keys that fit, defaults in bounds. */
static int s_check_own(trc_config_t *cfg, size_t i, char *err, size_t errlen)
{
	const trc_conf_section_t *sec = cfg->own[i];
	if (sec->name == NULL || !trc_is_slug(sec->name) || s_shared_section(sec->name) != NULL)
		return s_fail(err, errlen, "[%s]: a section name taken or not a name",
			      sec->name != NULL ? sec->name : "(null)");
	for (size_t j = 0; j < i; j++)
		if (strcmp(cfg->own[j]->name, sec->name) == 0)
			return s_fail(err, errlen, "[%s]: declared twice", sec->name);
	for (size_t j = 0; j < sec->n_keys; j++) {
		const trc_conf_key_t *k = &sec->keys[j];
		if (!s_key_fits(sec, k))
			return s_fail(err, errlen, "[%s] %s: not a valid declaration", sec->name,
				      k->key != NULL ? k->key : "(null)");
		for (size_t l = 0; l < j; l++)
			if (strcmp(sec->keys[l].key, k->key) == 0)
				return s_fail(err, errlen, "[%s] %s: declared twice", sec->name,
					      k->key);
	}
	const trc_conf_key_t *bad = NULL;
	const char *why = s_defaults(sec, (char *)cfg->own_values + cfg->own_at[i], &bad);
	if (why != NULL)
		return s_fail(err, errlen, "[%s] %s: the default '%s': %s", sec->name, bad->key,
			      bad->def, why);
	return TRC_OK;
}

int trc_config_init(trc_config_t *cfg, const trc_conf_section_t *const *own,
		    const char *others, char *err, size_t errlen)
{
	trc_config_defaults(cfg);
	cfg->own = own;
	cfg->others = others;
	size_t at = 0, n = 0;
	for (; own != NULL && own[n] != NULL; n++) {
		const trc_conf_section_t *sec = own[n];
		size_t align = alignof(max_align_t);
		at = (at + align - 1) / align * align;
		if (n >= TRC_CONFIG_OWN_MAX || sec->size > TRC_CONFIG_OWN_BYTES - at)
			return s_fail(err, errlen,
				      "[%s]: more own sections, or larger, than a configuration "
				      "holds (TRC_CONFIG_OWN_MAX, TRC_CONFIG_OWN_BYTES)",
				      sec->name != NULL ? sec->name : "(null)");
		cfg->own_at[n] = at;
		at += sec->size;
		int rc = s_check_own(cfg, n, err, errlen);
		if (rc != TRC_OK)
			return rc;
	}
	return TRC_OK;
}

const void *trc_config_section(const trc_config_t *cfg, const trc_conf_section_t *sec)
{
	for (size_t i = 0; cfg->own != NULL && cfg->own[i] != NULL; i++)
		if (cfg->own[i] == sec)
			return cfg->own_values + cfg->own_at[i];
	return NULL;
}

/* The section called name and the struct its values go to: a shared one,
 * one of cfg's own, or NULL. */
static const trc_conf_section_t *s_find(trc_config_t *cfg, const char *name, char **base)
{
	const trc_conf_section_t *sec = s_shared_section(name);
	*base = (char *)cfg;
	for (size_t i = 0; sec == NULL && cfg->own != NULL && cfg->own[i] != NULL; i++)
		if (strcmp(cfg->own[i]->name, name) == 0) {
			sec = cfg->own[i];
			*base = (char *)cfg->own_values + cfg->own_at[i];
		}
	return sec;
}

static int s_is(const char *name, void *ud)
{
	return strcmp(name, ud) == 0;
}

/* One of the set's sections that is not ours: passed over unread. */
static bool s_other(const trc_config_t *cfg, const char *name)
{
	return cfg->others != NULL && trc_config_names(cfg->others, s_is, (void *)name) != 0;
}

static char *s_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Strips a trailing comment that starts after whitespace; a quoted value
 * keeps everything between its quotes. Returns NULL on a bad quote. */
static char *s_value(char *v)
{
	if (*v == '"') {
		char *close = strchr(v + 1, '"');
		if (close == NULL)
			return NULL;
		char *rest = s_trim(close + 1);
		if (*rest != '\0' && *rest != ';' && *rest != '#')
			return NULL;
		*close = '\0';
		return v + 1;
	}
	for (char *p = v; *p != '\0'; p++) {
		if ((*p == ';' || *p == '#') && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	return s_trim(v);
}

/* Where the parser is: in no section yet, in one of ours (sec, base), or
 * in one of the set's others (skip). */
typedef struct {
	const char *file;
	unsigned lineno;
	char name[64];
	const trc_conf_section_t *sec;
	char *base;
	bool skip;
} parse_t;

/* A line "[name]": the section we are in from here. */
static int s_section_line(trc_config_t *cfg, parse_t *p, char *s, char *err, size_t errlen)
{
	char *close = strchr(s, ']');
	char *rest = close != NULL ? s_trim(close + 1) : NULL;
	if (close == NULL || (*rest != '\0' && *rest != ';' && *rest != '#'))
		return s_fail(err, errlen, "%s:%u: malformed section header", p->file, p->lineno);
	*close = '\0';
	char *name = s_trim(s + 1);
	p->sec = s_find(cfg, name, &p->base);
	p->skip = p->sec == NULL && s_other(cfg, name);
	if (p->sec == NULL && !p->skip)
		return s_fail(err, errlen, "%s:%u: [%s]: unknown section", p->file, p->lineno,
			      name);
	snprintf(p->name, sizeof(p->name), "%s", name);
	return TRC_OK;
}

/* A line "key = value": set, or checked for its form only in another's
 * section. */
static int s_key_line(parse_t *p, char *s, char *err, size_t errlen)
{
	char *eq = strchr(s, '=');
	if (eq == NULL)
		return s_fail(err, errlen, "%s:%u: expected 'key = value'", p->file, p->lineno);
	*eq = '\0';
	char *key = s_trim(s);
	char *val = s_value(s_trim(eq + 1));
	const trc_conf_key_t *k = NULL;
	for (size_t i = 0; p->sec != NULL && i < p->sec->n_keys; i++)
		if (strcmp(p->sec->keys[i].key, key) == 0)
			k = &p->sec->keys[i];
	if (p->name[0] == '\0')
		return s_fail(err, errlen, "%s:%u: %s: key outside of any section", p->file,
			      p->lineno, key);
	if (k == NULL && !p->skip)
		return s_fail(err, errlen, "%s:%u: [%s] %s: unknown key", p->file, p->lineno,
			      p->name, key);
	if (val == NULL)
		return s_fail(err, errlen, "%s:%u: [%s] %s: unterminated quote", p->file,
			      p->lineno, p->name, key);
	const char *why = p->skip ? NULL : s_set(p->base, k, val);
	if (why != NULL)
		return s_fail(err, errlen, "%s:%u: [%s] %s: %s: '%s'", p->file, p->lineno, p->name,
			      key, why, val);
	return TRC_OK;
}

int trc_config_parse(trc_config_t *cfg, const char *name, const char *text,
		     size_t len, char *err, size_t errlen)
{
	parse_t p = { .file = name };
	size_t pos = 0;

	while (pos < len) {
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		p.lineno++;
		size_t linelen = end - pos;
		char *line = malloc(linelen + 1);
		if (line == NULL)
			return s_fail(err, errlen, "%s: out of memory", name);
		memcpy(line, text + pos, linelen);
		line[linelen] = '\0';
		pos = end + 1;

		int rc = TRC_OK;
		bool nul = memchr(line, '\0', linelen) != NULL;
		char *s = s_trim(line);
		if (nul)
			rc = s_fail(err, errlen, "%s:%u: NUL byte in line", name, p.lineno);
		else if (*s == '[')
			rc = s_section_line(cfg, &p, s, err, errlen);
		else if (*s != '\0' && *s != ';' && *s != '#')
			rc = s_key_line(&p, s, err, errlen);
		free(line);
		if (rc != TRC_OK)
			return rc;
	}
	return TRC_OK;
}

int trc_config_check(const trc_config_t *cfg, char *err, size_t errlen)
{
	size_t n = trc_config_brokers(cfg);
	if (trc_endpoints_count(cfg->service_endpoint) != n ||
	    trc_endpoints_count(cfg->event_publish_endpoint) != n ||
	    trc_endpoints_count(cfg->event_subscribe_endpoint) != n)
		return s_fail(err, errlen,
			      "[bus]: client_endpoint names %zu broker(s), but service_endpoint, "
			      "event_publish_endpoint and event_subscribe_endpoint %zu, %zu and %zu: "
			      "one endpoint per broker in each, in the same order",
			      n, trc_endpoints_count(cfg->service_endpoint),
			      trc_endpoints_count(cfg->event_publish_endpoint),
			      trc_endpoints_count(cfg->event_subscribe_endpoint));
	return TRC_OK;
}

size_t trc_config_brokers(const trc_config_t *cfg)
{
	return trc_endpoints_count(cfg->client_endpoint);
}

int trc_config_read(trc_config_t *cfg, const char *path, char *err, size_t errlen)
{
	if (path == NULL)
		return TRC_OK;

	FILE *f = fopen(path, "r");
	if (f == NULL)
		return s_fail(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > (16u << 20)) {
				free(buf);
				fclose(f);
				return s_fail(err, errlen, "%s: larger than 16 MiB", path);
			}
			char *nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return s_fail(err, errlen, "%s: out of memory", path);
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	int rd_err = ferror(f);
	fclose(f);
	if (rd_err) {
		free(buf);
		return s_fail(err, errlen, "%s: read error", path);
	}
	int rc = trc_config_parse(cfg, path, buf, len, err, errlen);
	free(buf);
	return rc;
}

/* A key's value as the file writes it, into out. */
static void s_value_text(const trc_conf_key_t *k, const char *p, char *out, size_t len)
{
	switch (k->type) {
	case TRC_CONF_STR:
	case TRC_CONF_ENDPOINT:
	case TRC_CONF_PATH:
	case TRC_CONF_NAMES:
		/* Quoted, so that ';', '#' and spaces read back as written. */
		snprintf(out, len, "\"%s\"", p);
		break;
	case TRC_CONF_UINT:
		snprintf(out, len, "%u", *(const unsigned *)(const void *)p);
		break;
	case TRC_CONF_LOGLEVEL: {
		static const char *names[] = { "", "", "", "error", "warning",
					       "notice", "info", "debug" };
		int lvl = *(const int *)(const void *)p;
		snprintf(out, len, "%s", lvl >= 3 && lvl <= 7 ? names[lvl] : "info");
		break;
	}
	}
}

static void s_dump_section(const trc_conf_section_t *sec, const char *base, FILE *f, bool first)
{
	char v[TRC_CONFIG_PATH + 8];
	fprintf(f, "%s[%s]\n", first ? "" : "\n", sec->name);
	for (size_t i = 0; i < sec->n_keys; i++) {
		const trc_conf_key_t *k = &sec->keys[i];
		fprintf(f, "; %s (default: %s)\n", k->help, k->def[0] ? k->def : "empty");
		s_value_text(k, base + k->offset, v, sizeof(v));
		fprintf(f, "%s = %s\n", k->key, v);
	}
}

/* One "[section] key = value" line into the digest. */
static void s_digest_key(crypto_generichash_state *st, const char *section,
			 const trc_conf_key_t *k, const char *base)
{
	char v[TRC_CONFIG_PATH + 8], line[TRC_CONFIG_PATH + 160];
	s_value_text(k, base + k->offset, v, sizeof(v));
	int n = snprintf(line, sizeof(line), "[%s] %s = %s\n", section, k->key, v);
	crypto_generichash_update(st, (const unsigned char *)line,
				  (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

uint64_t trc_config_digest(const trc_config_t *cfg)
{
	crypto_generichash_state st;
	unsigned char h[crypto_generichash_BYTES_MIN];
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	for (size_t i = 0; i < N_SHARED; i++)
		for (size_t j = 0; strcmp(s_shared[i].name, "events") == 0 && j < s_shared[i].n_keys;
		     j++)
			if (strncmp(s_shared[i].keys[j].key, "keep_", 5) == 0 ||
			    strcmp(s_shared[i].keys[j].key, "trim_per_tick") == 0)
				s_digest_key(&st, "events", &s_shared[i].keys[j],
					     (const char *)cfg);
	for (size_t i = 0; cfg->own != NULL && cfg->own[i] != NULL; i++)
		for (size_t j = 0; j < cfg->own[i]->n_keys; j++)
			s_digest_key(&st, cfg->own[i]->name, &cfg->own[i]->keys[j],
				     (const char *)cfg->own_values + cfg->own_at[i]);
	crypto_generichash_final(&st, h, sizeof(h));
	uint64_t d = 0;
	for (int i = 0; i < 8; i++)
		d = d << 8 | h[i];
	return d;
}

void trc_config_dump(const trc_config_t *cfg, void *stdio_file)
{
	for (size_t i = 0; i < N_SHARED; i++)
		s_dump_section(&s_shared[i], (const char *)cfg, stdio_file, i == 0);
	for (size_t i = 0; cfg->own != NULL && cfg->own[i] != NULL; i++)
		s_dump_section(cfg->own[i], (const char *)cfg->own_values + cfg->own_at[i],
			       stdio_file, false);
}

/* What a key takes, for the manual: "a number from 1 to 100". */
static void s_man_type(const trc_conf_key_t *k, FILE *f)
{
	switch (k->type) {
	case TRC_CONF_STR:
		fprintf(f, "text");
		break;
	case TRC_CONF_ENDPOINT:
		fprintf(f, "endpoints: tcp://HOST:PORT, ipc://PATH or inproc://NAME");
		break;
	case TRC_CONF_PATH:
		fprintf(f, "a path");
		break;
	case TRC_CONF_UINT:
		fprintf(f, "a number from %u to %u", k->min, k->max);
		break;
	case TRC_CONF_LOGLEVEL:
		fprintf(f, "error, warning, notice, info or debug");
		break;
	case TRC_CONF_NAMES:
		fprintf(f, "names separated by commas");
		break;
	}
}

static void s_man_section(const trc_conf_section_t *sec, FILE *f)
{
	fprintf(f, ".SS \"[%s]\"\n", sec->name);
	for (size_t i = 0; i < sec->n_keys; i++) {
		const trc_conf_key_t *k = &sec->keys[i];
		fprintf(f, ".TP\n.B ");
		trc_roff(f, k->key);
		fprintf(f, "\n");
		trc_roff(f, k->help);
		fprintf(f, "\n(");
		s_man_type(k, f);
		fprintf(f, "; default: ");
		trc_roff(f, k->def[0] != '\0' ? k->def : "empty");
		fprintf(f, ")\n");
	}
}

void trc_config_man(const trc_config_t *cfg, void *stdio_file, bool shared, bool own)
{
	for (size_t i = 0; shared && i < N_SHARED; i++)
		s_man_section(&s_shared[i], stdio_file);
	for (size_t i = 0; own && cfg->own != NULL && cfg->own[i] != NULL; i++)
		s_man_section(cfg->own[i], stdio_file);
}

void trc_config_man_names(const trc_config_t *cfg, void *stdio_file, bool shared, bool own)
{
	const char *sep = "";
	for (size_t i = 0; shared && i < N_SHARED; i++, sep = ", ")
		fprintf(stdio_file, "%s[%s]", sep, s_shared[i].name);
	for (size_t i = 0; own && cfg->own != NULL && cfg->own[i] != NULL; i++, sep = ", ")
		fprintf(stdio_file, "%s[%s]", sep, cfg->own[i]->name);
}
