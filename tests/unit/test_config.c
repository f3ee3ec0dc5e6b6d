/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration parser: defaults without a file, every kind of error
 * named with file, line and key, and values as documented; sections a
 * daemon declares, checked generically; the set's sample made of what
 * each binary declares. And the key files of CurveZMQ (keys.h): roles,
 * pairs, public-only files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "error.h"
#include "keys.h"
#include "log.h"
#include "traction/v1/bus.pb-c.h"

static int parse(trc_config_t *cfg, const char *text, char *err)
{
	trc_config_defaults(cfg);
	err[0] = '\0';
	return trc_config_parse(cfg, "t.conf", text, strlen(text), err, 512);
}

TEST(defaults_without_file)
{
	trc_config_t cfg;
	char err[512];
	trc_config_defaults(&cfg);
	CHECK_EQ_INT(trc_config_read(&cfg, NULL, err, sizeof(err)), 0);
	CHECK_STR(cfg.client_endpoint, "tcp://127.0.0.1:7400");
	CHECK_STR(cfg.service_endpoint, "tcp://127.0.0.1:7401");
	CHECK_STR(cfg.event_publish_endpoint, "tcp://127.0.0.1:7402");
	CHECK_STR(cfg.event_subscribe_endpoint, "tcp://127.0.0.1:7403");
	CHECK_STR(cfg.state_dir, "./var");
	CHECK_EQ_INT(cfg.map_size_mb, 1024);
	CHECK_EQ_INT(cfg.log_level, TRC_LOG_INFO);
	CHECK_EQ_INT(cfg.heartbeat_ms, 1000);
}

TEST(issue_example_parses)
{
	trc_config_t cfg;
	char err[512];
	const char *text =
		"[bus]\n"
		"client_endpoint  = tcp://127.0.0.1:7500   ; clients: tractionctl\n"
		"service_endpoint = tcp://127.0.0.1:7501\n"
		"# a comment\n"
		"event_publish_endpoint   = tcp://127.0.0.1:7502\n"
		"event_subscribe_endpoint = tcp://127.0.0.1:7503\r\n"
		"[store]\n"
		"state_dir = \"/tmp/with ; semicolon\"  ; quoted\n"
		"map_size_mb = 2048\n"
		"[log]\nlevel = debug\n";
	CHECK_EQ_INT(parse(&cfg, text, err), 0);
	CHECK_STR(cfg.client_endpoint, "tcp://127.0.0.1:7500");
	CHECK_STR(cfg.event_subscribe_endpoint, "tcp://127.0.0.1:7503");
	CHECK_STR(cfg.state_dir, "/tmp/with ; semicolon");
	CHECK_EQ_INT(cfg.map_size_mb, 2048);
	CHECK_EQ_INT(cfg.log_level, TRC_LOG_DEBUG);
}

TEST(errors_name_file_line_key)
{
	trc_config_t cfg;
	char err[512];
	CHECK_EQ_INT(parse(&cfg, "[store]\n\nmap_size = 5\n", err), TRC_ECONFIG);
	CHECK_STR(err, "t.conf:3: [store] map_size: unknown key");

	CHECK_EQ_INT(parse(&cfg, "[store]\nmap_size_mb = lots\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "t.conf:2: [store] map_size_mb: expected a non-negative integer");

	CHECK_EQ_INT(parse(&cfg, "[store]\nmap_size_mb = -1\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "t.conf:2: [store] map_size_mb");

	CHECK_EQ_INT(parse(&cfg, "[store]\nmap_size_mb = 0\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "out of range");

	CHECK_EQ_INT(parse(&cfg, "[store]\nmap_size_mb = 99999999999999999999\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "t.conf:2:");

	CHECK_EQ_INT(parse(&cfg, "[nope]\n", err), TRC_ECONFIG);
	CHECK_STR(err, "t.conf:1: [nope]: unknown section");

	CHECK_EQ_INT(parse(&cfg, "level = info\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "t.conf:1: level: key outside of any section");

	CHECK_EQ_INT(parse(&cfg, "[bus]\nclient_endpoint = http://x\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "t.conf:2: [bus] client_endpoint: expected an endpoint");

	CHECK_EQ_INT(parse(&cfg, "[log]\nlevel = loud\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "[log] level");

	CHECK_EQ_INT(parse(&cfg, "[bus\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "t.conf:1: malformed section header");

	CHECK_EQ_INT(parse(&cfg, "[bus]\njust words\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "t.conf:2: expected 'key = value'");

	CHECK_EQ_INT(parse(&cfg, "[store]\nstate_dir = \"open\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "unterminated quote");

	CHECK_EQ_INT(parse(&cfg, "[store]\nstate_dir = x\0y\n", err), 0); /* strlen stops */
	CHECK_EQ_INT(parse(&cfg, "[store]\nstate_dir = bad\xff\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "t.conf:2: [store] state_dir: not valid UTF-8");
	CHECK_EQ_INT(parse(&cfg, "[store]\nstate_dir = a\tb\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "control character");
	CHECK_EQ_INT(parse(&cfg, "[bus]\nclient_endpoint = tcp://[a\"\"b\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "a double quote"); /* found by fuzz_config */
	/* found by fuzz_config: a long value, then a short one, reads back the same */
	trc_config_t a, b;
	trc_config_defaults(&a);
	trc_config_defaults(&b);
	const char *two = "[store]\nstate_dir = /a/very/long/path/indeed\nstate_dir = /b\n";
	CHECK_EQ_INT(trc_config_parse(&a, "t", two, strlen(two), err, 512), 0);
	CHECK_EQ_INT(trc_config_parse(&b, "t", "[store]\nstate_dir = /b\n", 23, err, 512), 0);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	const char nul[] = "[store]\nstate_dir = x\0y\n";
	trc_config_defaults(&cfg);
	CHECK_EQ_INT(trc_config_parse(&cfg, "t.conf", nul, sizeof(nul) - 1, err, 512), TRC_ECONFIG);
	CHECK_CONTAINS(err, "NUL byte");
}

/* A daemon's section of its own, with a key of every type. */
typedef struct {
	char name[32];
	char where[64];
	char dir[TRC_CONFIG_PATH];
	unsigned count;
	int level;
	char peers[TRC_CONFIG_PATH];
} demo_t;

#define D(member, type, min, max, def) \
	{ #member, TRC_CONF_##type, TRC_CONF_AT(demo_t, member), min, max, def, "help of " #member }
static const trc_conf_key_t s_demo_keys[] = {
	D(name, STR, 0, 0, "demo"),      D(where, ENDPOINT, 0, 0, "ipc://demo"),
	D(dir, PATH, 0, 0, ""),          D(count, UINT, 2, 10, "5"),
	D(level, LOGLEVEL, 0, 0, "notice"), D(peers, NAMES, 0, 0, "a, b"),
};
static const trc_conf_section_t s_demo = { "demo", s_demo_keys, 6, sizeof(demo_t) };
static const trc_conf_section_t *const s_demo_config[] = { &s_demo, NULL };

static int parse_demo(trc_config_t *cfg, const char *text, char *err)
{
	CHECK_EQ_INT(trc_config_init(cfg, s_demo_config, "bus gates gateway", err, 512), 0);
	err[0] = '\0';
	return trc_config_parse(cfg, "t.conf", text, strlen(text), err, 512);
}

/* Declared keys: their defaults, values of each type, bounds, unknown
 * keys; the set's other sections passed over, any other refused. */
TEST(declared_sections)
{
	static trc_config_t cfg;
	char err[512];
	CHECK_EQ_INT(parse_demo(&cfg, "", err), 0);
	const demo_t *d = trc_config_section(&cfg, &s_demo);
	CHECK(d != NULL);
	CHECK_STR(d->name, "demo");
	CHECK_STR(d->where, "ipc://demo");
	CHECK_STR(d->dir, "");
	CHECK_EQ_INT(d->count, 5);
	CHECK_EQ_INT(d->level, TRC_LOG_NOTICE);
	CHECK_STR(d->peers, "a, b");
	CHECK_EQ_INT(parse_demo(&cfg, "[demo]\nname = x ; c\ncount = 10\nlevel = debug\n"
				     "where = tcp://h:1\ndir = \"/a b\"\n[store]\nbatch_max = 7\n",
				err), 0);
	d = trc_config_section(&cfg, &s_demo);
	CHECK_STR(d->name, "x");
	CHECK_EQ_INT(d->count, 10);
	CHECK_EQ_INT(d->level, TRC_LOG_DEBUG);
	CHECK_STR(d->where, "tcp://h:1");
	CHECK_STR(d->dir, "/a b");
	CHECK_EQ_INT(cfg.batch_max, 7);
	/* a copy carries them (a module's, a reload's) */
	static trc_config_t copy;
	copy = cfg;
	CHECK_EQ_INT(((const demo_t *)trc_config_section(&copy, &s_demo))->count, 10);

	CHECK_EQ_INT(parse_demo(&cfg, "[demo]\ncount = 11\n", err), TRC_ECONFIG);
	CHECK_STR(err, "t.conf:2: [demo] count: out of range: '11'");
	CHECK_EQ_INT(parse_demo(&cfg, "[demo]\ncount = 1\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "out of range");
	CHECK_EQ_INT(parse_demo(&cfg, "[demo]\ncounts = 3\n", err), TRC_ECONFIG);
	CHECK_STR(err, "t.conf:2: [demo] counts: unknown key");
	CHECK_EQ_INT(parse_demo(&cfg, "[demo]\nwhere = http://x\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "[demo] where: expected an endpoint");
	CHECK_EQ_INT(parse_demo(&cfg, "[demo]\nname = 0123456789012345678901234567890123\n", err),
		     TRC_ECONFIG);
	CHECK_CONTAINS(err, "value too long");
	CHECK_EQ_INT(parse_demo(&cfg, "[demo]\nlevel = loud\n", err), TRC_ECONFIG);
	CHECK_EQ_INT(parse_demo(&cfg, "[demo]\npeers = a/b\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "[demo] peers: expected names");

	/* another daemon's section: passed over, whatever its keys, but a
	 * line must still be one; a name of no daemon is a typo */
	CHECK_EQ_INT(parse_demo(&cfg, "[gates]\nanything = at all\n[demo]\ncount = 2\n", err), 0);
	CHECK_EQ_INT(((const demo_t *)trc_config_section(&cfg, &s_demo))->count, 2);
	CHECK_EQ_INT(parse_demo(&cfg, "[gates]\njust words\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "t.conf:2: expected 'key = value'");
	CHECK_EQ_INT(parse_demo(&cfg, "[gates]\nx = \"open\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "unterminated quote");
	CHECK_EQ_INT(parse_demo(&cfg, "[gatez]\nanything = 1\n", err), TRC_ECONFIG);
	CHECK_STR(err, "t.conf:1: [gatez]: unknown section");
	/* without the set's names, only ours */
	CHECK_EQ_INT(trc_config_init(&cfg, s_demo_config, NULL, err, 512), 0);
	CHECK_EQ_INT(trc_config_parse(&cfg, "t.conf", "[gates]\n", 8, err, 512), TRC_ECONFIG);
	CHECK_STR(err, "t.conf:1: [gates]: unknown section");
	/* not made for it */
	trc_config_defaults(&cfg);
	CHECK(trc_config_section(&cfg, &s_demo) == NULL);
	CHECK_EQ_INT(trc_config_parse(&cfg, "t.conf", "[demo]\n", 7, err, 512), TRC_ECONFIG);
}

/* A declaration that could not work is refused before anything runs. */
TEST(bad_declarations)
{
	static trc_config_t cfg;
	char err[512];
	static const trc_conf_key_t out[] = { D(count, UINT, 2, 10, "11") };
	static const trc_conf_section_t s_out = { "demo", out, 1, sizeof(demo_t) };
	static const trc_conf_section_t *const c_out[] = { &s_out, NULL };
	CHECK_EQ_INT(trc_config_init(&cfg, c_out, NULL, err, sizeof(err)), TRC_ECONFIG);
	CHECK_STR(err, "[demo] count: the default '11': out of range");

	static const trc_conf_section_t s_bus = { "bus", s_demo_keys, 6, sizeof(demo_t) };
	static const trc_conf_section_t *const c_bus[] = { &s_bus, NULL };
	CHECK_EQ_INT(trc_config_init(&cfg, c_bus, NULL, err, sizeof(err)), TRC_ECONFIG);
	CHECK_CONTAINS(err, "[bus]: a section name taken");
	static const trc_conf_section_t *const c_twice[] = { &s_demo, &s_demo, NULL };
	CHECK_EQ_INT(trc_config_init(&cfg, c_twice, NULL, err, sizeof(err)), TRC_ECONFIG);
	CHECK_CONTAINS(err, "[demo]: declared twice");

	static const trc_conf_key_t wide[] = { { "count", TRC_CONF_UINT, 0, 8, 0, 1, "0", "h" } };
	static const trc_conf_section_t s_wide = { "wide", wide, 1, sizeof(demo_t) };
	static const trc_conf_section_t *const c_wide[] = { &s_wide, NULL };
	CHECK_EQ_INT(trc_config_init(&cfg, c_wide, NULL, err, sizeof(err)), TRC_ECONFIG);
	CHECK_CONTAINS(err, "[wide] count: not a valid declaration");

	static const trc_conf_section_t s_huge = { "huge", s_demo_keys, 6,
						   TRC_CONFIG_OWN_BYTES + 1 };
	static const trc_conf_section_t *const c_huge[] = { &s_huge, NULL };
	CHECK_EQ_INT(trc_config_init(&cfg, c_huge, NULL, err, sizeof(err)), TRC_ECONFIG);
	CHECK_CONTAINS(err, "[huge]: more own sections, or larger");
}

static int collect(const char *name, void *ud)
{
	char *out = ud;
	strcat(out, name);
	strcat(out, "|");
	return strcmp(name, "stop") == 0 ? 7 : 0;
}

/* A list of names (such as [broker] services): commas or blanks between
 * them, each a slug, refused with its file, line and key otherwise. */
TEST(name_lists)
{
	static trc_config_t cfg;
	char err[512], seen[128] = "";
	CHECK_EQ_INT(parse_demo(&cfg, "[demo]\npeers = a, b.c  d-1,,\n", err), 0);
	const demo_t *d = trc_config_section(&cfg, &s_demo);
	CHECK_STR(d->peers, "a, b.c  d-1,,");
	CHECK_EQ_INT(trc_config_names(d->peers, collect, seen), 0);
	CHECK_STR(seen, "a|b.c|d-1|");
	seen[0] = '\0';
	CHECK_EQ_INT(trc_config_names("x, stop, y", collect, seen), 7);
	CHECK_STR(seen, "x|stop|");
	seen[0] = '\0';
	CHECK_EQ_INT(trc_config_names("", collect, seen), 0);
	CHECK_STR(seen, "");
	CHECK_EQ_INT(parse_demo(&cfg, "[demo]\npeers = a, b/c\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "t.conf:2: [demo] peers: expected names");
	char longer[160];
	snprintf(longer, sizeof(longer), "[demo]\npeers = a, %064d\n", 1);
	CHECK_EQ_INT(parse_demo(&cfg, longer, err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "[demo] peers: expected names");
	snprintf(longer, sizeof(longer), "[demo]\npeers = a, %063d\n", 1);
	CHECK_EQ_INT(parse_demo(&cfg, longer, err), 0);
}

TEST(unreadable_file)
{
	trc_config_t cfg;
	char err[512];
	trc_config_defaults(&cfg);
	CHECK_EQ_INT(trc_config_read(&cfg, "/nonexistent/traction.conf", err, sizeof(err)),
		     TRC_ECONFIG);
	CHECK_CONTAINS(err, "/nonexistent/traction.conf: cannot read");
}

TEST(dump_round_trips)
{
	static trc_config_t a, b;
	char err[512];
	char path[] = "/tmp/trc-config-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	CHECK_EQ_INT(trc_config_init(&a, s_demo_config, NULL, err, sizeof(err)), 0);
	a.map_size_mb = 77;
	a.log_level = TRC_LOG_WARNING;
	snprintf(a.state_dir, sizeof(a.state_dir), "/srv/traction state");
	demo_t *d = (demo_t *)trc_config_section(&a, &s_demo);
	d->count = 9;
	snprintf(d->dir, sizeof(d->dir), "/x ; y");
	trc_config_dump(&a, f);
	fclose(f);
	CHECK_EQ_INT(trc_config_init(&b, s_demo_config, NULL, err, sizeof(err)), 0);
	int rc = trc_config_read(&b, path, err, sizeof(err));
	unlink(path);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK_EQ_INT(b.map_size_mb, 77);
	CHECK_EQ_INT(b.log_level, TRC_LOG_WARNING);
	CHECK_STR(b.state_dir, "/srv/traction state");
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
}

/* What a command prints on stdout (all of it, malloc'd), and its exit
 * status in *status. */
static char *run(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL);
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	CHECK(out != NULL);
	for (size_t n; (n = fread(out + len, 1, cap - len - 1, p)) > 0;) {
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			out = realloc(out, cap);
			CHECK(out != NULL);
		}
	}
	out[len] = '\0';
	int st = pclose(p);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	CHECK_MSG(f != NULL, "%s", path);
	static char buf[1 << 17];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strdup(buf);
}

/* deploy/traction.conf is installed as the sample: a header of 9 comment
 * lines, then what the set's binaries print with --print-config, each of
 * which knows the shared sections and its own: the shared sections once,
 * then each binary's own in the order of TRACTION_SET_BINARIES. Each
 * binary reads the whole sample and holds exactly its defaults then. */
TEST(sample_config_is_true)
{
	const char *sample_path = TRACTION_SOURCE_DIR "/deploy/traction.conf";
	char *sample = slurp(sample_path);
	static trc_config_t shared_cfg;
	trc_config_defaults(&shared_cfg);
	char *shared = NULL;
	size_t slen = 0;
	FILE *m = open_memstream(&shared, &slen);
	trc_config_dump(&shared_cfg, m);
	fclose(m);

	size_t cap = strlen(sample) + 1, len = 0;
	char *expect = calloc(1, cap + slen + 1);
	memcpy(expect, shared, slen);
	len = slen;
	char bins[] = TRACTION_SET_BINARIES;
	int n_bins = 0;
	for (char *save = NULL, *bin = strtok_r(bins, ":", &save); bin != NULL;
	     bin = strtok_r(NULL, ":", &save), n_bins++) {
		char cmd[1200];
		int st;
		snprintf(cmd, sizeof(cmd), "'%s' --print-config", bin);
		char *out = run(cmd, &st);
		CHECK_MSG(st == 0, "%s", cmd);
		CHECK_MSG(strncmp(out, shared, slen) == 0, "%s: not the shared sections first", bin);
		size_t own = strlen(out) - slen;
		CHECK_MSG(len + own < cap + slen, "%s: more than the sample holds", bin);
		memcpy(expect + len, out + slen, own);
		len += own;
		/* the whole sample, the others' sections too: the same */
		snprintf(cmd, sizeof(cmd), "'%s' --config '%s' --print-config", bin, sample_path);
		char *again = run(cmd, &st);
		CHECK_MSG(st == 0 && strcmp(again, out) == 0, "%s does not read the sample as its "
			  "defaults", bin);
		free(again);
		free(out);
	}
	CHECK(n_bins >= 6);
	const char *body = sample;
	for (int i = 0; i < 9; i++) {
		CHECK_MSG(*body == ';', "line %d of the sample's header is not a comment", i + 1);
		body = strchr(body, '\n') + 1;
	}
	CHECK_MSG(strcmp(body, expect) == 0,
		  "deploy/traction.conf is out of date: regenerate it from each binary's "
		  "--print-config (docs/operations.md)");
	free(expect);
	free(shared);
	free(sample);
}

/* The build hands every binary the set's sections (from the sample): one
 * passes over another's section unread and refuses a typo in a name. */
TEST(binaries_know_the_set)
{
	char dir[] = "/tmp/trc-conf-XXXXXX", path[64], cmd[1400];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/t.conf", dir);
	char bins[] = TRACTION_SET_BINARIES;
	char *save = NULL, *broker = strtok_r(bins, ":", &save);
	FILE *f = fopen(path, "w");
	fputs("[gates]\nrefinement_min_records = lots\n", f);
	fclose(f);
	int st;
	snprintf(cmd, sizeof(cmd), "'%s' --config %s --print-config >/dev/null 2>&1", broker, path);
	free(run(cmd, &st));
	CHECK_MSG(st == 0, "the broker refused [gates], which is not its to check");
	f = fopen(path, "w");
	fputs("[gatez]\nrefinement_min_records = 5\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' --config %s 2>&1", broker, path);
	char *out = run(cmd, &st);
	CHECK_EQ_INT(st, 1);
	CHECK_CONTAINS(out, "t.conf:1: [gatez]: unknown section");
	free(out);
	unlink(path);
	rmdir(dir);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

TEST(key_files)
{
	char dir[] = "/tmp/trc-keys-XXXXXX", path[64], err[256];
	char pub[TRC_Z85_KEY + 1], sec[TRC_Z85_KEY + 1];
	const char *k1 = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
	const char *k2 = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
	CHECK(mkdtemp(dir) != NULL);
	char text[256];
	/* a daemon's key: role = service */
	snprintf(path, sizeof(path), "%s/feedbackd.key", dir);
	snprintf(text, sizeof(text), "public = %s\nrole = service\n", k1);
	write_text(path, text);
	trc_keys_t *keys = NULL;
	CHECK_MSG(trc_keys_load(&keys, dir, err, sizeof(err)) == 0, "%s", err);
	const trc_key_t *k = trc_keys_by_public(keys, k1);
	CHECK(k != NULL && k->role == TRACTION__V1__ROLE__ROLE_SERVICE);
	CHECK_STR(k->name, "feedbackd");
	trc_keys_destroy(&keys);
	/* an unknown role names the choices */
	snprintf(text, sizeof(text), "public = %s\nrole = root\n", k1);
	write_text(path, text);
	CHECK(trc_keys_load(&keys, dir, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "expected publisher, reader, admin, service or edge");
	unlink(path);
	/* a pair needs both halves; the broker's public key alone is enough
	 * where no secret is wanted, and a secret line there is dropped */
	snprintf(path, sizeof(path), "%s/server.pub", dir);
	snprintf(text, sizeof(text), "public = %s\n", k1);
	write_text(path, text);
	CHECK(trc_keypair_load(path, pub, sec, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "needs public and secret");
	CHECK_EQ_INT(trc_keypair_load(path, pub, NULL, err, sizeof(err)), 0);
	CHECK_STR(pub, k1);
	snprintf(text, sizeof(text), "public = %s\nsecret = %s\n", k1, k2);
	write_text(path, text);
	CHECK_EQ_INT(trc_keypair_load(path, pub, NULL, err, sizeof(err)), 0);
	CHECK_EQ_INT(trc_keypair_load(path, pub, sec, err, sizeof(err)), 0);
	CHECK_STR(sec, k2);
	snprintf(text, sizeof(text), "secret = %s\n", k2);
	write_text(path, text);
	CHECK(trc_keypair_load(path, pub, NULL, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "needs public");
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	RUN(defaults_without_file);
	RUN(issue_example_parses);
	RUN(errors_name_file_line_key);
	RUN(declared_sections);
	RUN(bad_declarations);
	RUN(name_lists);
	RUN(unreadable_file);
	RUN(dump_round_trips);
	RUN(sample_config_is_true);
	RUN(binaries_know_the_set);
	RUN(key_files);
	DONE();
}
