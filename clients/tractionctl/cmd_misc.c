/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl status|ping|events watch|keygen.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include <zmq.h>

#include "ctl.h"
#include "pbjson.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/events.pb-c.h"
#include "util.h"

static int s_fail_status(const char *what, const traction_status_t *st)
{
	return ctl_fail("%s: %s: %s", what, traction_code_name(st->code), st->message);
}

/* ---- status ----------------------------------------------------------------- */


static void s_status_head(const Traction__V1__BrokerStatusReply *rep)
{
	printf("broker %s  up %.1fs  routed %llu  replies %llu  errors %llu  "
	       "malformed %llu  events %llu\n",
	       rep->version, (double)rep->uptime_ms / 1000.0,
	       (unsigned long long)rep->counters->requests_routed,
	       (unsigned long long)rep->counters->replies_routed,
	       (unsigned long long)rep->counters->errors_replied,
	       (unsigned long long)rep->counters->dropped_malformed,
	       (unsigned long long)rep->counters->events_relayed);
	printf("in flight: %u requests of %u clients, %.1f of %u MiB\n", rep->requests_in_flight,
	       rep->clients_in_flight, (double)rep->bytes_in_flight / (1 << 20),
	       rep->max_mb_in_flight);
	printf("event feed: %u topic prefixes held, %llu subscriptions refused\n\n",
	       rep->subscriptions, (unsigned long long)rep->counters->subscriptions_refused);
	printf("%-12s %-6s %9s %10s %8s %9s  %s\n", "SERVICE", "STATE", "INSTANCES", "REQUESTS",
	       "ERRORS", "IN-FLIGHT", "PING");
}

/* One service's line (or JSON object into svcs), with a ping of it: live
 * in the broker's table is one thing, answering is another. Whether it
 * answered. */
static bool s_status_service(ctl_t *ctl, traction_client_t *client,
			     const Traction__V1__ServiceStatus *s, json_t *svcs)
{
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *pong = NULL;
	traction_status_t pst = { 0 };
	char ping[128] = "-";
	if (s->n_instances > 0) {
		if (traction_call(client, s->name, "ping", &req.base,
				  &traction__v1__ping_reply__descriptor, (ProtobufCMessage **)&pong,
				  &pst) == 0)
			snprintf(ping, sizeof(ping), "%s pid %u up %.1fs", pong->daemon, pong->pid,
				 (double)pong->uptime_ms / 1000.0);
		else
			snprintf(ping, sizeof(ping), "%s", traction_code_name(pst.code));
	}
	bool live = s->n_instances > 0 && pong != NULL;
	if (ctl->json) {
		json_t *o = json_pack("{s:s, s:b, s:i, s:I, s:I, s:I, s:i}", "name", s->name, "live",
				      live, "instances", (int)s->n_instances, "requests",
				      (json_int_t)s->requests, "replies", (json_int_t)s->replies,
				      "errors", (json_int_t)s->errors, "in_flight", (int)s->in_flight);
		if (pong != NULL) {
			json_object_set_new(o, "daemon", json_string(pong->daemon));
			json_object_set_new(o, "pid", json_integer(pong->pid));
			json_object_set_new(o, "uptime_ms", json_integer(pong->uptime_ms));
			json_object_set_new(o, "event_head", json_integer((json_int_t)pong->event_head));
		}
		json_array_append_new(svcs, o);
	} else {
		printf("%-12s %-6s %9zu %10llu %8llu %9u  %s\n", s->name, live ? "live" : "DOWN",
		       s->n_instances, (unsigned long long)s->requests, (unsigned long long)s->errors,
		       s->in_flight, ping);
	}
	if (pong != NULL)
		traction_reply_free(&pong->base);
	return live;
}

static json_t *s_status_json(const Traction__V1__BrokerStatusReply *rep, json_t *svcs)
{
	json_t *doc = json_object();
	json_object_set_new(doc, "broker_version", json_string(rep->version));
	json_object_set_new(doc, "uptime_ms", json_integer(rep->uptime_ms));
	json_object_set_new(doc, "services", svcs);
	json_object_set_new(doc, "subscriptions", json_integer((json_int_t)rep->subscriptions));
	/* every counter of the reply, by its proto name */
	json_object_set_new(doc, "counters", pbjson_from_message(&rep->counters->base));
	json_object_set_new(doc, "in_flight",
			    json_pack("{s:i, s:i, s:I, s:i}", "requests", (int)rep->requests_in_flight,
				      "clients", (int)rep->clients_in_flight, "bytes",
				      (json_int_t)rep->bytes_in_flight, "max_mb",
				      (int)rep->max_mb_in_flight));
	return doc;
}

/* One broker's status and its services' pings through it: 0, 1 (it did
 * not answer) or 2 (a service is down). JSON: its document (into docs,
 * with its endpoint, when not NULL; else printed). */
static int s_status_broker(ctl_t *ctl, traction_client_t *client, const char *endpoint,
			   json_t *docs)
{
	traction_status_t st;
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__BrokerStatusReply *rep = NULL;
	if (endpoint != NULL && !ctl->json)
		printf("%s== %s\n", docs != NULL && json_array_size(docs) > 0 ? "\n" : "", endpoint);
	if (traction_call(client, "broker", "status", &req.base,
			  &traction__v1__broker_status_reply__descriptor, (ProtobufCMessage **)&rep,
			  &st) != 0) {
		if (docs != NULL && ctl->json)
			json_array_append_new(docs, json_pack("{s:s, s:s, s:s}", "endpoint", endpoint,
							      "error", traction_code_name(st.code),
							      "message", st.message));
		else if (endpoint != NULL)
			printf("no answer: %s: %s\n", traction_code_name(st.code), st.message);
		return endpoint != NULL ? 1 : s_fail_status("broker status", &st);
	}
	if (!ctl->json)
		s_status_head(rep);
	json_t *svcs = json_array();
	int down = 0;
	for (size_t i = 0; i < rep->n_services; i++)
		down += !s_status_service(ctl, client, rep->services[i], svcs);
	if (ctl->json) {
		json_t *doc = s_status_json(rep, svcs);
		if (docs != NULL) {
			json_object_set_new(doc, "endpoint", json_string(endpoint));
			json_array_append_new(docs, doc);
		} else {
			ctl_print_json(doc);
		}
	} else {
		json_decref(svcs);
	}
	traction_reply_free(&rep->base);
	return down == 0 ? 0 : 2;
}

/* With several brokers (an endpoint list), each one's view: a client of
 * each alone, so that what one broker sees is not answered by another. */
static int cmd_status(ctl_t *ctl, args_t *a)
{
	(void)a;
	size_t n = trc_endpoints_count(ctl->endpoint);
	if (n <= 1)
		return s_status_broker(ctl, ctl->client, NULL, NULL);
	json_t *docs = json_array();
	int worst = 0;
	for (size_t i = 0; i < n; i++) {
		char ep[1024];
		traction_client_t *c = NULL;
		trc_endpoint_at(ctl->endpoint, i, ep, sizeof(ep));
		int rc = ctl_client_new(ctl, ep, ctl->timeout_ms < 3000 ? ctl->timeout_ms : 3000, &c);
		if (rc == 0)
			rc = s_status_broker(ctl, c, ep, docs);
		traction_client_destroy(&c);
		worst = rc > worst ? rc : worst;
	}
	if (ctl->json)
		ctl_print_json(json_pack("{s:o}", "brokers", docs));
	else
		json_decref(docs);
	return worst == 0 ? 0 : 2;
}

static int cmd_ping(ctl_t *ctl, args_t *a)
{
	traction_status_t st;
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *pong = NULL;
	if (traction_call(ctl->client, a->pos[0], "ping", &req.base,
			  &traction__v1__ping_reply__descriptor, (ProtobufCMessage **)&pong, &st) != 0)
		return s_fail_status(a->pos[0], &st);
	if (ctl->json) {
		json_t *pos = json_object();
		for (size_t i = 0; i < pong->n_positions; i++)
			json_object_set_new(pos, pong->positions[i]->source,
					    json_integer((json_int_t)pong->positions[i]->applied_seq));
		ctl_print_json(json_pack("{s:s, s:s, s:i, s:I, s:I, s:o}", "daemon", pong->daemon,
				       "version", pong->version, "pid", (int)pong->pid, "uptime_ms",
				       (json_int_t)pong->uptime_ms, "event_head",
				       (json_int_t)pong->event_head, "positions", pos));
	} else {
		printf("%s %s pid %u up %.1fs event_head %llu\n", pong->daemon, pong->version,
		       pong->pid, (double)pong->uptime_ms / 1000.0,
		       (unsigned long long)pong->event_head);
		for (size_t i = 0; i < pong->n_positions; i++)
			printf("  applied %s events up to %llu\n", pong->positions[i]->source,
			       (unsigned long long)pong->positions[i]->applied_seq);
	}
	traction_reply_free(&pong->base);
	return 0;
}


/* ---- events watch ------------------------------------------------------------------ */

volatile sig_atomic_t ctl_stop;

static void s_on_signal(int sig)
{
	(void)sig;
	ctl_stop = 1;
}

void ctl_stop_on_signals(void)
{
	signal(SIGINT, s_on_signal);
	signal(SIGTERM, s_on_signal);
}

void ctl_print_event(ctl_t *ctl, const Traction__V1__Event *ev)
{
	if (ctl->json) { /* a stream: one object per line */
		json_t *j = pbjson_from_message(&ev->base);
		char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
		if (s != NULL)
			printf("%s\n", s);
		free(s);
		json_decref(j);
	} else {
		printf("%s #%llu %s\n", ev->source, (unsigned long long)ev->seq, ev->type);
	}
	fflush(stdout);
}

static int cmd_events(ctl_t *ctl, args_t *a)
{
	const char *ep = arg(a, "events-endpoint");
	if (ep == NULL)
		ep = getenv("TRACTION_EVENTS_ENDPOINT");
	if (ep == NULL || ep[0] == '\0')
		ep = "tcp://127.0.0.1:7403";
	const char *topic = arg(a, "topic") != NULL ? arg(a, "topic") : "";
	uint64_t count = UINT64_MAX; /* no end */
	if (arg(a, "count") && ctl_uint("count", arg(a, "count"), UINT64_MAX - 1, &count) != 0)
		return 1;
	void *zctx = zmq_ctx_new();
	void *sub = zmq_socket(zctx, ZMQ_SUB);
	int linger = 0;
	zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
	if (zmq_connect(sub, ep) != 0) {
		zmq_close(sub);
		zmq_ctx_term(zctx);
		return ctl_fail("cannot connect to %s", ep);
	}
	ctl_stop_on_signals();
	uint64_t seen = 0;
	while (!ctl_stop && seen < count) {
		zmq_pollitem_t it = { sub, 0, ZMQ_POLLIN, 0 };
		if (zmq_poll(&it, 1, 200) <= 0)
			continue;
		zmq_msg_t t, b;
		zmq_msg_init(&t);
		zmq_msg_init(&b);
		if (zmq_msg_recv(&t, sub, 0) < 0 || !zmq_msg_more(&t) || zmq_msg_recv(&b, sub, 0) < 0) {
			zmq_msg_close(&t);
			zmq_msg_close(&b);
			continue;
		}
		Traction__V1__Event *ev =
			traction__v1__event__unpack(NULL, zmq_msg_size(&b), zmq_msg_data(&b));
		if (ev != NULL) {
			ctl_print_event(ctl, ev);
			traction__v1__event__free_unpacked(ev, NULL);
			seen++;
		}
		zmq_msg_close(&t);
		zmq_msg_close(&b);
	}
	zmq_close(sub);
	zmq_ctx_term(zctx);
	return 0;
}

/* ---- token ------------------------------------------------------------------------- */

/* An API token for the HTTP gateway: 32 random bytes as base64url, and the
 * SHA-256 a user's file in keys_dir holds (docs/http.md). libsodium is
 * already under libzmq; the token itself is printed once and kept nowhere. */
static int cmd_token(ctl_t *ctl, args_t *a)
{
	if (sodium_init() < 0)
		return ctl_fail("libsodium does not start");
	const char *given = arg(a, "hash");
	char token[64], hex[crypto_hash_sha256_BYTES * 2 + 1];
	if (given != NULL) {
		snprintf(token, sizeof(token), "%s", given);
	} else {
		unsigned char raw[32];
		randombytes_buf(raw, sizeof(raw));
		memcpy(token, "trc_", 4);
		sodium_bin2base64(token + 4, sizeof(token) - 4, raw, sizeof(raw),
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	}
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	if (given != NULL)
		printf("%s\n", hex);
	else if (ctl->json)
		ctl_print_json(json_pack("{s:s, s:s}", "token", token, "sha256", hex));
	else /* the token for the user; the line for its file in keys_dir */
		printf("token = %s\ntokens = %s\n", token, hex);
	return 0;
}

/* ---- keygen ------------------------------------------------------------------------ */

/* --out FILE: the pair into a new file only this user may read; an existing
 * file is refused, never replaced (deploy/keys-init.sh makes the installed
 * set's keys this way, at every configure of the package). */
static int s_keygen_out(const char *path, const char *pub, const char *sec)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return ctl_fail("keygen --out %s: %s%s", path, strerror(errno),
				errno == EEXIST ? " (a key pair is never replaced)" : "");
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "public = %s\nsecret = %s\n", pub, sec);
	bool ok = write(fd, buf, (size_t)n) == n && fsync(fd) == 0;
	sodium_memzero(buf, sizeof(buf));
	if (close(fd) != 0)
		ok = false;
	if (!ok) {
		unlink(path);
		return ctl_fail("keygen --out %s: cannot write it", path);
	}
	return 0;
}

static int cmd_keygen(ctl_t *ctl, args_t *a)
{
	char pub[41], sec[41];
	if (zmq_curve_keypair(pub, sec) != 0)
		return ctl_fail("this libzmq has no CurveZMQ (built without libsodium?)");
	int rc = 0;
	if (arg(a, "out") != NULL)
		rc = s_keygen_out(arg(a, "out"), pub, sec);
	else if (ctl->json)
		ctl_print_json(json_pack("{s:s, s:s}", "public", pub, "secret", sec));
	else /* a key pair file, as --key-file and server_key_file read it */
		printf("public = %s\nsecret = %s\n", pub, sec);
	sodium_memzero(sec, sizeof(sec));
	return rc;
}

const cmd_t ctl_misc_cmds[] = {
	{ "status", NULL, cmd_status, "", 0, 0, "status",
	  "Show every service, its live instances and the broker's counters; ping each.\n"
	  "Exit status 2 when a service has no live instance.",
	  "tractionctl status --json" },
	{ "ping", NULL, cmd_ping, "", 1, 1, "ping SERVICE",
	  "Ask one service (or 'broker') for its health, version and event positions.",
	  "tractionctl ping feedback" },
	{ "events", "watch", cmd_events, "topic,count,events-endpoint", 0, 0,
	  "events watch [--topic PREFIX] [--count N] [--events-endpoint URL]",
	  "Print events as they are published (topic = event type, e.g. supply. or\n"
	  "feedback.evidence); with --json one object per line. The endpoint defaults to\n"
	  "$TRACTION_EVENTS_ENDPOINT, else tcp://127.0.0.1:7403.",
	  "tractionctl events watch --topic deployment." },
	{ "token", NULL, cmd_token, "hash", 0, 0, "token [--hash TOKEN]",
	  "Make an API token for the HTTP gateway: give the token to the user and put the\n"
	  "'tokens = ...' line (its SHA-256) in the user's file of keys_dir, then reload the\n"
	  "gateway (docs/http.md). --hash prints the SHA-256 of a token you have.",
	  "tractionctl token" },
	{ "keygen", NULL, cmd_keygen, "out", 0, 0, "keygen [--out FILE]",
	  "Make a CurveZMQ key pair (Z85) as a key pair file. The public key goes into a file of\n"
	  "the broker's keys directory, with the client's role; the file stays with the client\n"
	  "(--key-file) or, for the broker's own pair, becomes server_key_file (docs/security.md).\n"
	  "--out FILE writes it to a new file of mode 0600 instead, and refuses one that exists.",
	  "tractionctl keygen > site7.pair" },
};
const int ctl_n_misc_cmds = sizeof(ctl_misc_cmds) / sizeof(ctl_misc_cmds[0]);
