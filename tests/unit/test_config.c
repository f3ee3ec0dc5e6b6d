/*
 * The configuration parser: defaults without a file, every kind of error
 * named with file, line and key, and values as documented. And the key
 * files of CurveZMQ (keys.h): roles, pairs, public-only files.
 */
#include <stdio.h>
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
	CHECK_EQ_INT(trc_config_load(&cfg, NULL, err, sizeof(err)), 0);
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

static int collect(const char *name, void *ud)
{
	char *out = ud;
	strcat(out, name);
	strcat(out, "|");
	return strcmp(name, "stop") == 0 ? 7 : 0;
}

/* A list of names ([broker] services): commas or blanks between them, each
 * a slug, refused with its file, line and key otherwise. */
TEST(name_lists)
{
	trc_config_t cfg;
	char err[512], seen[128] = "";
	CHECK_EQ_INT(parse(&cfg, "[broker]\nservices = a, b.c  d-1,,\n", err), 0);
	CHECK_STR(cfg.services, "a, b.c  d-1,,");
	CHECK_EQ_INT(trc_config_names(cfg.services, collect, seen), 0);
	CHECK_STR(seen, "a|b.c|d-1|");
	seen[0] = '\0';
	CHECK_EQ_INT(trc_config_names("x, stop, y", collect, seen), 7);
	CHECK_STR(seen, "x|stop|");
	seen[0] = '\0';
	CHECK_EQ_INT(trc_config_names("", collect, seen), 0);
	CHECK_STR(seen, "");
	CHECK_EQ_INT(parse(&cfg, "[broker]\nservices = a, b/c\n", err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "t.conf:2: [broker] services: expected names");
	char longer[160];
	snprintf(longer, sizeof(longer), "[broker]\nservices = a, %064d\n", 1);
	CHECK_EQ_INT(parse(&cfg, longer, err), TRC_ECONFIG);
	CHECK_CONTAINS(err, "[broker] services: expected names");
	snprintf(longer, sizeof(longer), "[broker]\nservices = a, %063d\n", 1);
	CHECK_EQ_INT(parse(&cfg, longer, err), 0);
}

TEST(unreadable_file)
{
	trc_config_t cfg;
	char err[512];
	CHECK_EQ_INT(trc_config_load(&cfg, "/nonexistent/traction.conf", err, sizeof(err)),
		     TRC_ECONFIG);
	CHECK_CONTAINS(err, "/nonexistent/traction.conf: cannot read");
}

TEST(dump_round_trips)
{
	trc_config_t a, b;
	char err[512];
	char path[] = "/tmp/trc-config-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	trc_config_defaults(&a);
	a.map_size_mb = 77;
	a.log_level = TRC_LOG_WARNING;
	snprintf(a.state_dir, sizeof(a.state_dir), "/srv/traction state");
	trc_config_dump(&a, f);
	fclose(f);
	int rc = trc_config_load(&b, path, err, sizeof(err));
	unlink(path);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK_EQ_INT(b.map_size_mb, 77);
	CHECK_EQ_INT(b.log_level, TRC_LOG_WARNING);
	CHECK_STR(b.state_dir, "/srv/traction state");
}

/* deploy/traction.conf is installed as the sample: it must parse, hold
 * exactly the compiled-in defaults, and name every key. */
TEST(sample_config_is_true)
{
	trc_config_t a, b;
	char err[512];
	trc_config_defaults(&a);
	int rc = trc_config_load(&b, TRACTION_SOURCE_DIR "/deploy/traction.conf", err, sizeof(err));
	CHECK_MSG(rc == 0, "%s", err);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);

	FILE *f = fopen(TRACTION_SOURCE_DIR "/deploy/traction.conf", "r");
	CHECK(f != NULL);
	static char sample[65536];
	size_t n = fread(sample, 1, sizeof(sample) - 1, f);
	sample[n] = '\0';
	fclose(f);
	char *dump = NULL;
	size_t dlen = 0;
	FILE *m = open_memstream(&dump, &dlen);
	trc_config_dump(&a, m);
	fclose(m);
	CHECK_MSG(strstr(sample, dump) != NULL,
		  "deploy/traction.conf is out of date: regenerate it with --print-config");
	free(dump);
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
	RUN(name_lists);
	RUN(unreadable_file);
	RUN(dump_round_trips);
	RUN(sample_config_is_true);
	RUN(key_files);
	DONE();
}
