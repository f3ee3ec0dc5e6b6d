/*
 * The INI configuration parser and the table of every key with its default,
 * type and range. See config.h for why the parser is our own.
 *
 * Syntax: "[section]", "key = value", comments from ';' or '#' at the start
 * of a line or after whitespace, values optionally in double quotes.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "util.h"

typedef enum { K_STR, K_ENDPOINT, K_PATH, K_UINT, K_LOGLEVEL, K_NAMES } key_type_t;

typedef struct {
	const char *section;
	const char *key;
	key_type_t type;
	size_t offset;
	size_t size;          /* strings: buffer size */
	unsigned min, max;    /* numbers */
	const char *def;
	const char *help;
} key_def_t;

#define OFF(f) offsetof(trc_config_t, f), sizeof(((trc_config_t *)0)->f)

static const key_def_t s_keys[] = {
	{ "bus", "client_endpoint", K_ENDPOINT, OFF(client_endpoint), 0, 0,
	  "tcp://127.0.0.1:7400", "clients (tractionctl, libtraction, other languages) connect here" },
	{ "bus", "service_endpoint", K_ENDPOINT, OFF(service_endpoint), 0, 0,
	  "tcp://127.0.0.1:7401", "services register with the broker here" },
	{ "bus", "event_publish_endpoint", K_ENDPOINT, OFF(event_publish_endpoint), 0, 0,
	  "tcp://127.0.0.1:7402", "services publish events here" },
	{ "bus", "event_subscribe_endpoint", K_ENDPOINT, OFF(event_subscribe_endpoint), 0, 0,
	  "tcp://127.0.0.1:7403", "anyone subscribes to events here" },
	{ "bus", "heartbeat_ms", K_UINT, OFF(heartbeat_ms), 50, 60000,
	  "1000", "heartbeat interval between broker and services" },
	{ "bus", "heartbeat_liveness", K_UINT, OFF(heartbeat_liveness), 2, 100,
	  "3", "missed heartbeats before a peer is declared dead" },
	{ "bus", "max_message_kb", K_UINT, OFF(max_message_kb), 1, 65536,
	  "4096", "largest message accepted on any socket, KiB" },
	{ "bus", "request_timeout_ms", K_UINT, OFF(request_timeout_ms), 10, 3600000,
	  "30000", "default and largest time a request may stay in flight" },
	{ "bus", "queue_limit", K_UINT, OFF(queue_limit), 16, 10000000,
	  "100000", "ZeroMQ high-water mark of every socket, messages" },
	{ "broker", "max_in_flight_per_client", K_UINT, OFF(max_in_flight_per_client), 1, 10000000,
	  "20000", "requests one client may have in flight; more get RESOURCE_EXHAUSTED" },
	{ "broker", "max_mb_in_flight_per_client", K_UINT, OFF(max_mb_in_flight_per_client), 1,
	  1048576, "256",
	  "MiB of requests one client may have in flight; more get RESOURCE_EXHAUSTED" },
	{ "broker", "max_mb_in_flight", K_UINT, OFF(max_mb_in_flight), 1, 1048576, "1024",
	  "MiB of requests all clients together may have in flight; more get "
	  "RESOURCE_EXHAUSTED" },
	{ "broker", "max_subscriptions", K_UINT, OFF(max_subscriptions), 1, 1000000, "1024",
	  "distinct topic prefixes subscribers may hold on the event feed; a new one past it "
	  "is refused" },
	{ "broker", "max_subscriptions_per_peer", K_UINT, OFF(max_subscriptions_per_peer), 1,
	  1000000, "256",
	  "distinct topic prefixes one subscriber key (or all without a key) may hold" },
	{ "broker", "endpoints_file", K_PATH, OFF(endpoints_file), 0, 0,
	  "", "if set, the broker writes the endpoints it bound there (for ports chosen with :*)" },
	{ "broker", "services", K_NAMES, OFF(services), 0, 0, "",
	  "services known before they register, separated by commas: a request to one with no "
	  "live instance is UNAVAILABLE (clients retry), to a name neither here nor ever "
	  "registered NOT_FOUND" },
	{ "store", "state_dir", K_PATH, OFF(state_dir), 0, 0,
	  "./var", "each daemon keeps its LMDB in state_dir/<daemon>/" },
	{ "store", "map_size_mb", K_UINT, OFF(map_size_mb), 1, 16777216,
	  "1024", "LMDB map size: the most a daemon's store may hold, MiB" },
	{ "store", "batch_max", K_UINT, OFF(batch_max), 1, 1000000,
	  "4096", "most requests applied in one durable transaction (group commit)" },
	{ "store", "batch_max_mb", K_UINT, OFF(batch_max_mb), 1, 65536,
	  "64", "most memory one batch's requests may take, decoded, MiB" },
	{ "events", "replay_interval_ms", K_UINT, OFF(replay_interval_ms), 10, 3600000,
	  "1000", "how often a consumer asks a source for events it may have missed" },
	{ "events", "replay_batch", K_UINT, OFF(replay_batch), 1, 100000,
	  "1000", "most events in one replay reply" },
	{ "log", "level", K_LOGLEVEL, OFF(log_level), 0, 0,
	  "info", "error, warning, notice, info or debug" },
	{ "security", "curve", K_UINT, OFF(curve), 0, 1, "0",
	  "1: clients must use CurveZMQ with a key listed in keys_dir (docs/security.md)" },
	{ "security", "server_key_file", K_PATH, OFF(server_key_file), 0, 0, "./server.key",
	  "the broker's key pair (lines public = Z85, secret = Z85), with curve = 1" },
	{ "security", "keys_dir", K_PATH, OFF(keys_dir), 0, 0, "./keys",
	  "one file per client key: public, role and, for publishers, scenarios" },
	{ "security", "service_curve", K_UINT, OFF(service_curve), 0, 1, "0",
	  "1: the service and event endpoints require CurveZMQ too, with role = service keys" },
	{ "security", "service_key_file", K_PATH, OFF(service_key_file), 0, 0, "./service.key",
	  "a daemon's own key pair, with service_curve = 1 (listed in keys_dir, role = service)" },
	{ "security", "server_public_key_file", K_PATH, OFF(server_public_key_file), 0, 0,
	  "./server.pub", "the broker's public key (a line public = Z85), for daemons" },
	{ "gates", "refinement_min_records", K_UINT, OFF(gate_refinement_min_records), 0, 100000000,
	  "10", "to refinement: feedback records of the deployment, at least" },
	{ "gates", "pilot_min_metric_records", K_UINT, OFF(gate_pilot_min_metric_records), 0,
	  100000000, "20", "to pilot: metric records of the deployment, at least" },
	{ "gates", "pilot_max_open_critical", K_UINT, OFF(gate_pilot_max_open_critical), 0, 1000000,
	  "0", "to pilot: open (or regressed) critical problems, at most" },
	{ "gates", "service_min_value_verifications", K_UINT,
	  OFF(gate_service_min_value_verifications), 0, 100000000, "3",
	  "to service: value verifications of the deployment, at least" },
	{ "gates", "service_min_improvement_pct", K_UINT, OFF(gate_service_min_improvement_pct), 0,
	  100000, "5", "to service: their mean improvement in percent, at least" },
	{ "gates", "service_max_open_critical", K_UINT, OFF(gate_service_max_open_critical), 0,
	  1000000, "0", "to service: open (or regressed) critical problems, at most; and every "
	  "target metric of the scenario met" },
	{ "gates", "solution_min_scenarios", K_UINT, OFF(gate_solution_min_scenarios), 1, 1000000,
	  "3", "to solution: scenarios where the same supply version is in service, at least" },
	{ "gateway", "address", K_STR, OFF(gateway_address), 0, 0, "127.0.0.1",
	  "the HTTP API listens on this IPv4 address (0.0.0.0: every interface; put TLS in "
	  "front, docs/http.md)" },
	{ "gateway", "port", K_UINT, OFF(gateway_port), 0, 65535, "7480",
	  "and this TCP port (0: one the kernel picks, written to address_file)" },
	{ "gateway", "max_connections", K_UINT, OFF(gateway_max_connections), 1, 100000, "256",
	  "HTTP connections served at once; more are answered 503" },
	{ "gateway", "max_body_mb", K_UINT, OFF(gateway_max_body_mb), 1, 4096, "64",
	  "largest request body, MiB; a larger one is answered 413" },
	{ "gateway", "timeout_s", K_UINT, OFF(gateway_timeout_s), 1, 3600, "30",
	  "an HTTP connection idle (or a client this slow) for this long is closed" },
	{ "gateway", "session_ttl_s", K_UINT, OFF(gateway_session_ttl_s), 60, 31536000, "43200",
	  "how long a browser session (POST /v1/session) lasts" },
	{ "gateway", "auth", K_UINT, OFF(gateway_auth), 0, 1, "1",
	  "1: every request needs a bearer token of a user in keys_dir (docs/http.md); 0: none, "
	  "every request acts as the gateway's own key (loopback only)" },
	{ "gateway", "key_file", K_PATH, OFF(gateway_key_file), 0, 0, "./gateway.key",
	  "the gateway's key pair with curve = 1 (listed in keys_dir with role = edge)" },
	{ "gateway", "address_file", K_PATH, OFF(gateway_address_file), 0, 0, "",
	  "if set, the gateway writes its base URL there (for port = 0)" },
	{ "gateway", "tls_cert_file", K_PATH, OFF(gateway_tls_cert_file), 0, 0, "",
	  "with tls_key_file: serve HTTPS with this PEM certificate (chain); empty: plain HTTP" },
	{ "gateway", "tls_key_file", K_PATH, OFF(gateway_tls_key_file), 0, 0, "",
	  "the PEM private key of tls_cert_file" },
	{ "gateway", "web_dir", K_PATH, OFF(gateway_web_dir), 0, 0, "./web",
	  "the dashboard's files, served at / (docs/dashboard.md); empty: no dashboard" },
	{ "gateway", "web_vendor_dir", K_PATH, OFF(gateway_web_vendor_dir), 0, 0,
	  "/usr/share/javascript",
	  "Debian's JavaScript libraries (libjs-chart.js), served at /vendor/" },
};
#define N_KEYS (sizeof(s_keys) / sizeof(s_keys[0]))

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

/* Sets one key from its text; on error returns a static reason. */
static const char *s_set(trc_config_t *cfg, const key_def_t *k, const char *val)
{
	char *dst = (char *)cfg + k->offset;

	if (k->type == K_NAMES && trc_config_names(val, s_not_a_name, NULL) != 0)
		return "expected names of [A-Za-z0-9._-] (at most 63 bytes each), separated by "
		       "commas";
	switch (k->type) {
	case K_ENDPOINT:
		if (strncmp(val, "tcp://", 6) != 0 && strncmp(val, "ipc://", 6) != 0 &&
		    strncmp(val, "inproc://", 9) != 0)
			return "expected an endpoint tcp://HOST:PORT, ipc://PATH or inproc://NAME";
		/* fall through */
	case K_STR:
	case K_PATH:
	case K_NAMES:
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
	case K_UINT: {
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
	case K_LOGLEVEL: {
		int lvl = trc_log_level_parse(val);
		if (lvl < 0)
			return "expected error, warning, notice, info or debug";
		*(int *)(void *)dst = lvl;
		return NULL;
	}
	}
	return "unknown key type";
}

void trc_config_defaults(trc_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_KEYS; i++) {
		const char *why = s_set(cfg, &s_keys[i], s_keys[i].def);
		(void)why; /* the defaults are valid: tests/unit/test_config checks */
	}
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

static bool s_section_known(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(s_keys[i].section, name) == 0)
			return true;
	return false;
}

int trc_config_parse(trc_config_t *cfg, const char *name, const char *text,
		     size_t len, char *err, size_t errlen)
{
	char section[64] = "";
	unsigned lineno = 0;
	size_t pos = 0;

	while (pos < len) {
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		lineno++;
		size_t linelen = end - pos;
		char *line = malloc(linelen + 1);
		if (line == NULL)
			return s_fail(err, errlen, "%s: out of memory", name);
		memcpy(line, text + pos, linelen);
		line[linelen] = '\0';
		pos = end + 1;

		if (memchr(line, '\0', linelen) != NULL) {
			free(line);
			return s_fail(err, errlen, "%s:%u: NUL byte in line", name, lineno);
		}
		char *s = s_trim(line);
		if (*s == '\0' || *s == ';' || *s == '#') {
			free(line);
			continue;
		}
		if (*s == '[') {
			char *close = strchr(s, ']');
			char *rest = close != NULL ? s_trim(close + 1) : NULL;
			if (close == NULL || (*rest != '\0' && *rest != ';' && *rest != '#')) {
				free(line);
				return s_fail(err, errlen, "%s:%u: malformed section header", name, lineno);
			}
			*close = '\0';
			char *sec = s_trim(s + 1);
			if (!s_section_known(sec)) {
				int rc = s_fail(err, errlen, "%s:%u: [%s]: unknown section", name,
						lineno, sec);
				free(line);
				return rc;
			}
			snprintf(section, sizeof(section), "%s", sec);
			free(line);
			continue;
		}
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			free(line);
			return s_fail(err, errlen, "%s:%u: expected 'key = value'", name, lineno);
		}
		*eq = '\0';
		char *key = s_trim(s);
		char *val = s_value(s_trim(eq + 1));
		const key_def_t *k = NULL;
		for (size_t i = 0; i < N_KEYS; i++)
			if (strcmp(s_keys[i].section, section) == 0 && strcmp(s_keys[i].key, key) == 0)
				k = &s_keys[i];
		int rc = TRC_OK;
		if (section[0] == '\0')
			rc = s_fail(err, errlen, "%s:%u: %s: key outside of any section", name,
				    lineno, key);
		else if (k == NULL)
			rc = s_fail(err, errlen, "%s:%u: [%s] %s: unknown key", name, lineno,
				    section, key);
		else if (val == NULL)
			rc = s_fail(err, errlen, "%s:%u: [%s] %s: unterminated quote", name,
				    lineno, section, key);
		else {
			const char *why = s_set(cfg, k, val);
			if (why != NULL)
				rc = s_fail(err, errlen, "%s:%u: [%s] %s: %s: '%s'", name, lineno,
					    section, key, why, val);
		}
		free(line);
		if (rc != TRC_OK)
			return rc;
	}
	return TRC_OK;
}

int trc_config_load(trc_config_t *cfg, const char *path, char *err, size_t errlen)
{
	trc_config_defaults(cfg);
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

void trc_config_dump(const trc_config_t *cfg, void *stdio_file)
{
	FILE *f = stdio_file;
	const char *section = "";
	for (size_t i = 0; i < N_KEYS; i++) {
		const key_def_t *k = &s_keys[i];
		const char *p = (const char *)cfg + k->offset;
		if (strcmp(section, k->section) != 0) {
			fprintf(f, "%s[%s]\n", i == 0 ? "" : "\n", k->section);
			section = k->section;
		}
		fprintf(f, "; %s (default: %s)\n", k->help, k->def[0] ? k->def : "empty");
		switch (k->type) {
		case K_STR:
		case K_ENDPOINT:
		case K_PATH:
		case K_NAMES:
			/* Quoted, so that ';', '#' and spaces read back as written. */
			fprintf(f, "%s = \"%s\"\n", k->key, p);
			break;
		case K_UINT:
			fprintf(f, "%s = %u\n", k->key, *(const unsigned *)(const void *)p);
			break;
		case K_LOGLEVEL: {
			static const char *names[] = { "", "", "", "error", "warning",
						       "notice", "info", "debug" };
			int lvl = *(const int *)(const void *)p;
			fprintf(f, "%s = %s\n", k->key, lvl >= 3 && lvl <= 7 ? names[lvl] : "info");
			break;
		}
		}
	}
}
