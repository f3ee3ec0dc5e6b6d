/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's sockets and loop: client requests in and routed (route.c),
 * replies back; heartbeats both ways; dead instances dropped and their
 * requests answered UNAVAILABLE; requests past their deadline answered
 * DEADLINE_EXCEEDED; the broker's own service (ping, status); the event
 * relay (XSUB -> XPUB). The broker never crashes on input: what it cannot
 * route it answers, what it cannot answer it drops and counts.
 */
#include "broker.h"
#include "broker_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "auth.h"
#include "daemon.h"
#include "error.h"
#include "log.h"
#include "registry.h"
#include "subs.h"
#include "util.h"
#include "wire.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"


/* ---- replies the broker makes itself ------------------------------------------ */

static int s_send_parts(void *sock, const void *rid, size_t ridlen, const trc_frame_t *f, int n)
{
	if (zmq_send(sock, rid, ridlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return trc_err_from_errno(errno);
	return trc_send(sock, f, n, ZMQ_DONTWAIT);
}

void broker_answer(trc_broker_t *b, void *sock, const void *rid, size_t ridlen, uint32_t ver,
		   uint64_t request_id, int code, const char *message,
		   const ProtobufCMessage *body)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	Traction__V1__Status st = TRACTION__V1__STATUS__INIT;
	uint8_t hbuf[1024];
	char esc[512]; /* what we quote from a request is escaped (trc_escape) */
	h.version = ver; /* the request's: a version 1 client decodes only 1 */
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REPLY;
	h.request_id = request_id;
	st.code = code;
	trc_escape(esc, sizeof(esc), message, strlen(message));
	st.message = esc;
	h.status = &st;
	size_t hlen = trc_header_pack(&h, hbuf, sizeof(hbuf));
	size_t blen = body != NULL ? protobuf_c_message_get_packed_size(body) : 0;
	uint8_t *bbuf = malloc(blen > 0 ? blen : 1);
	if (hlen == 0 || bbuf == NULL) {
		free(bbuf);
		return;
	}
	if (body != NULL)
		protobuf_c_message_pack(body, bbuf);
	trc_frame_t f[2] = { { hbuf, hlen }, { bbuf, blen } };
	if (s_send_parts(sock, rid, ridlen, f, 2) != 0)
		b->counters.dropped_unroutable++;
	free(bbuf);
	if (code != 0)
		b->counters.errors_replied++;
}

void broker_control(trc_broker_t *b, const void *wid, size_t widlen,
		    Traction__V1__FrameKind kind)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	uint8_t hbuf[64];
	h.version = TRC_PROTOCOL_VERSION;
	h.kind = kind;
	size_t hlen = trc_header_pack(&h, hbuf, sizeof(hbuf));
	trc_frame_t f[1] = { { hbuf, hlen } };
	s_send_parts(b->service, wid, widlen, f, 1);
}

void broker_fail_ticket(trc_broker_t *b, trc_ticket_t *t, int code, const char *msg)
{
	void *sock = t->from_service_socket ? b->service : b->client;
	t->service->errors++;
	broker_answer(b, sock, t->client->id, t->client->ridlen, t->version, t->request_id, code,
		      msg, NULL);
	trc_registry_ticket_done(&b->reg, t);
}

void broker_drop_worker(trc_broker_t *b, trc_worker_t *w, const char *why)
{
	trc_ticket_t *t, *tt;
	char msg[160];
	unsigned failed = 0;
	snprintf(msg, sizeof(msg), "the service instance handling the request went away (%s)",
		 why);
	HASH_ITER(hh, b->reg.tickets, t, tt) {
		if (t->worker == w) {
			broker_fail_ticket(b, t, TRACTION__V1__CODE__UNAVAILABLE, msg);
			failed++;
		}
	}
	trc_info("instance=%s service=%s dropped: %s; %u in-flight answered UNAVAILABLE", w->hex,
		 w->nservices > 0 ? w->services[0]->name : "?", why, failed);
	trc_registry_worker_remove(&b->reg, w);
}

/* ---- the broker's own service: "broker" ---------------------------------------- */

static int s_cmp_service(const void *a, const void *b)
{
	const Traction__V1__ServiceStatus *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static void s_status(trc_broker_t *b, void *sock, const void *rid, size_t ridlen,
		     uint32_t ver, uint64_t request_id)
{
	Traction__V1__BrokerStatusReply rep = TRACTION__V1__BROKER_STATUS_REPLY__INIT;
	size_t ns = HASH_COUNT(b->reg.services), i = 0;
	int64_t now = trc_mono_ms();
	Traction__V1__ServiceStatus *ss = calloc(ns + 1, sizeof(*ss));
	Traction__V1__ServiceStatus **sp = calloc(ns + 1, sizeof(*sp));
	size_t nw = HASH_COUNT(b->reg.workers) * TRC_WORKER_SERVICES_MAX;
	Traction__V1__InstanceStatus *is = calloc(nw + 1, sizeof(*is));
	Traction__V1__InstanceStatus **ip = calloc(nw + 1, sizeof(*ip));
	char (*ids)[TRC_ROUTING_ID_MAX * 2 + 1] = calloc(nw + 1, sizeof(*ids));
	size_t k = 0;
	if (ss == NULL || sp == NULL || is == NULL || ip == NULL || ids == NULL) {
		broker_answer(b, sock, rid, ridlen, ver, request_id,
			      TRACTION__V1__CODE__RESOURCE_EXHAUSTED, "out of memory", NULL);
		goto out;
	}
	trc_bservice_t *s, *st;
	HASH_ITER(hh, b->reg.services, s, st) {
		traction__v1__service_status__init(&ss[i]);
		ss[i].name = s->name;
		ss[i].requests = s->requests;
		ss[i].replies = s->replies;
		ss[i].errors = s->errors;
		ss[i].in_flight = s->in_flight;
		ss[i].instances = &ip[k];
		for (size_t j = 0; j < s->nworkers; j++, k++) {
			trc_worker_t *w = s->workers[j];
			traction__v1__instance_status__init(&is[k]);
			trc_hex(ids[k], w->id, w->idlen);
			is[k].id = ids[k];
			is[k].in_flight = w->in_flight;
			is[k].served = w->served;
			is[k].idle_ms = now - w->last_seen;
			is[k].replica_role = (Traction__V1__ReplicaRole)w->role;
			is[k].term = w->term;
			ip[k] = &is[k];
			ss[i].n_instances++;
		}
		sp[i] = &ss[i];
		i++;
	}
	qsort(sp, ns, sizeof(*sp), s_cmp_service);
	rep.version = (char *)TRACTION_VERSION;
	rep.uptime_ms = now - b->started;
	rep.services = sp;
	rep.n_services = ns;
	rep.counters = &b->counters;
	rep.clients_in_flight = HASH_COUNT(b->reg.clients);
	rep.requests_in_flight = b->reg.in_flight;
	rep.bytes_in_flight = b->reg.bytes;
	rep.max_mb_in_flight = b->conf.max_mb_in_flight;
	rep.subscriptions = (uint32_t)trc_subs_count(b->subs);
	broker_answer(b, sock, rid, ridlen, ver, request_id, 0, "", &rep.base);
out:
	free(ss);
	free(sp);
	free(is);
	free(ip);
	free(ids);
}

void broker_own_request(trc_broker_t *b, void *sock, const void *rid, size_t ridlen,
			const Traction__V1__Header *h, const trc_key_t *key,
			const broker_caller_t *who, const void *body, size_t blen)
{
	uint32_t ver = h->version;
	/* a publisher reads nothing (docs/security.md): ping only */
	if (key != NULL && key->role == TRACTION__V1__ROLE__ROLE_PUBLISHER &&
	    strcmp(h->method, "ping") != 0) {
		broker_answer(b, sock, rid, ridlen, ver, h->request_id,
			      TRACTION__V1__CODE__PERMISSION_DENIED,
			      "broker: the publisher role may only publish feedback", NULL);
		return;
	}
	if (strcmp(h->method, "status") == 0) {
		s_status(b, sock, rid, ridlen, ver, h->request_id);
	} else if (broker_audit_method(h->method)) {
		broker_audit_request(b, sock, rid, ridlen, h, who, body, blen);
	} else if (strcmp(h->method, "ping") == 0) {
		Traction__V1__PingReply rep = TRACTION__V1__PING_REPLY__INIT;
		rep.daemon = (char *)"traction-broker";
		rep.version = (char *)TRACTION_VERSION;
		rep.uptime_ms = trc_mono_ms() - b->started;
		rep.pid = (uint32_t)getpid();
		broker_answer(b, sock, rid, ridlen, ver, h->request_id, 0, "", &rep.base);
	} else {
		char msg[256];
		snprintf(msg, sizeof(msg), "unknown method '%.64s' of service 'broker' "
			 "(it has: ping, status, audit.list, keys.reload, backup.begin, backup.resume, "
			 "backup.read, backup.end)", h->method);
		broker_answer(b, sock, rid, ridlen, ver, h->request_id,
			      TRACTION__V1__CODE__UNIMPLEMENTED, msg, NULL);
	}
}

/* ---- events --------------------------------------------------------------------- */

static void s_relay(trc_broker_t *b, void *from, void *to)
{
	for (;;) {
		zmq_msg_t part;
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, from, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&part);
			return;
		}
		int more = zmq_msg_more(&part);
		if (zmq_msg_send(&part, to, (more ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
			zmq_msg_close(&part);
		if (!more) {
			b->counters.events_relayed++;
			return;
		}
	}
}

/* Subscriptions from the event feed's subscribers (the XPUB is in manual
 * mode: nothing is applied until we say so). A subscription is applied to
 * the peer that sent it only if it is a topic prefix within the bounds
 * (subs.h); a prefix nobody held before is forwarded upstream, so that the
 * daemons' PUB sockets send us its events. An unsubscription without
 * metadata is libzmq's word that the last peer holding a prefix has gone. */
static void s_subscriptions(trc_broker_t *b)
{
	for (unsigned n = 0; n < 4096; n++) {
		zmq_msg_t msg;
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, b->xpub, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		const uint8_t *d = zmq_msg_data(&msg);
		size_t len = zmq_msg_size(&msg);
		bool from_peer = zmq_msg_gets(&msg, "Socket-Type") != NULL;
		if (len == 0 || d[0] > 1 || zmq_msg_more(&msg)) {
			b->counters.subscriptions_refused++;
			zmq_msg_close(&msg);
			continue;
		}
		const char *user = from_peer ? zmq_msg_gets(&msg, "User-Id") : NULL;
		trc_sub_verdict_t v = TRC_SUB_KNOWN;
		if (d[0] == 1) {
			v = trc_subs_offer(b->subs, user != NULL && user[0] ? user : "anonymous",
					   d + 1, len - 1);
			if (v == TRC_SUB_NEW || v == TRC_SUB_KNOWN)
				zmq_setsockopt(b->xpub, ZMQ_SUBSCRIBE, d + 1, len - 1);
		} else if (from_peer) {
			zmq_setsockopt(b->xpub, ZMQ_UNSUBSCRIBE, d + 1, len - 1);
		} else if (trc_subs_gone(b->subs, d + 1, len - 1)) {
			v = TRC_SUB_NEW; /* the last holder left: tell the daemons too */
		}
		if (v == TRC_SUB_NEW) {
			zmq_send(b->xsub, d, len, ZMQ_DONTWAIT);
		} else if (v != TRC_SUB_KNOWN) {
			char topic[64];
			trc_escape(topic, sizeof(topic), d + 1, len - 1);
			b->counters.subscriptions_refused++;
			trc_debug("refused a subscription to '%s' (%zu bytes) from %s: %s", topic,
				  len - 1, user != NULL && user[0] ? user : "anonymous",
				  v == TRC_SUB_BAD ? "not a topic prefix"
				  : v == TRC_SUB_FULL ? "max_subscriptions reached"
						      : "max_subscriptions_per_peer reached");
		}
		zmq_msg_close(&msg);
	}
}

/* ---- timers --------------------------------------------------------------------- */

static void s_timers(trc_broker_t *b)
{
	int64_t now = trc_mono_ms();
	if (now >= b->next_heartbeat) {
		int64_t dead = now - (int64_t)b->cfg.heartbeat_ms * b->cfg.heartbeat_liveness;
		trc_worker_t *w, *wt;
		HASH_ITER(hh, b->reg.workers, w, wt) {
			if (w->last_seen < dead) {
				b->counters.instances_expired++;
				broker_drop_worker(b, w, "missed its heartbeats");
				continue;
			}
			broker_control(b, w->id, w->idlen,
				       TRACTION__V1__FRAME_KIND__FRAME_HEARTBEAT);
		}
		b->next_heartbeat = now + b->cfg.heartbeat_ms;
	}
	if (now >= b->next_expiry) {
		trc_ticket_t *t, *tt;
		HASH_ITER(hh, b->reg.tickets, t, tt) {
			if (t->deadline <= now)
				broker_fail_ticket(b, t, TRACTION__V1__CODE__DEADLINE_EXCEEDED,
					      "the service did not answer in time");
		}
		b->next_expiry = now + 100;
	}
}

/* ---- life cycle ------------------------------------------------------------------ */

static int s_know_service(const char *name, void *ud)
{
	trc_broker_t *b = ud;
	if (trc_registry_service(&b->reg, name, true) == NULL)
		trc_warn("[broker] services: cannot keep '%s' (at most %d names, or out of memory)",
			 name, TRC_SERVICES_MAX);
	return 0;
}

/* The services of [broker] services are known before they register: a
 * request to one that is down is UNAVAILABLE (clients retry), not
 * NOT_FOUND. The broker names none itself: a new daemon is known once it
 * registers, or once the config names it. */
static void s_know_services(trc_broker_t *b, const trc_broker_conf_t *conf)
{
	trc_config_names(conf->services, s_know_service, b);
}

/* Binds our entry ([broker] instance) of the endpoint list. */
static void *s_bind(trc_broker_t *b, int type, const char *list, const char *what)
{
	char endpoint[TRC_CONFIG_STR];
	if (!trc_endpoint_at(list, b->conf.instance - 1, endpoint, sizeof(endpoint))) {
		trc_err("[broker] instance = %u, but the %s endpoint list names %zu broker(s): %s",
			b->conf.instance, what, trc_endpoints_count(list), list);
		return NULL;
	}
	void *s = zmq_socket(b->zctx, type);
	if (s == NULL)
		return NULL;
	int one = 1;
	bool client = strcmp(what, "client") == 0;
	if ((client && b->cfg.curve && trc_auth_curve_server(b->auth, s, false, what) != 0) ||
	    (!client && b->cfg.service_curve &&
	     trc_auth_curve_server(b->auth, s, true, what) != 0)) {
		zmq_close(s);
		return NULL;
	}
	/* The event feed only ever receives subscriptions: a few bytes each,
	 * so a peer that sends more is cut off by libzmq before anything
	 * reaches its subscription trie (a deep trie overflows the stack). */
	int64_t submax = TRC_SUBSCRIPTION_MAX;
	if (trc_socket_setup(s, &b->cfg) != 0 ||
	    (type == ZMQ_ROUTER &&
	     zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) != 0) ||
	    (type == ZMQ_XPUB &&
	     (zmq_setsockopt(s, ZMQ_XPUB_MANUAL, &one, sizeof(one)) != 0 ||
	      zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &submax, sizeof(submax)) != 0)) ||
	    zmq_bind(s, endpoint) != 0) {
		trc_err("cannot bind the %s endpoint %s: %s", what, endpoint, zmq_strerror(errno));
		zmq_close(s);
		return NULL;
	}
	return s;
}

static void s_last_endpoint(void *s, char *buf, size_t len)
{
	size_t n = len;
	if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, buf, &n) != 0)
		buf[0] = '\0';
}

static int s_write_endpoints(trc_broker_t *b)
{
	char c[256], s[256], p[256], u[256];
	s_last_endpoint(b->client, c, sizeof(c));
	s_last_endpoint(b->service, s, sizeof(s));
	s_last_endpoint(b->xsub, p, sizeof(p));
	s_last_endpoint(b->xpub, u, sizeof(u));
	trc_info("bound client=%s service=%s event_publish=%s event_subscribe=%s", c, s, p, u);
	if (b->conf.endpoints_file[0] == '\0')
		return 0;
	/* The same syntax as the configuration file, so it can be included. */
	char text[4 * 256 + 128]; /* four endpoints and the keys: never truncated */
	snprintf(text, sizeof(text),
		 "[bus]\nclient_endpoint = %s\nservice_endpoint = %s\n"
		 "event_publish_endpoint = %s\nevent_subscribe_endpoint = %s\n",
		 c, s, p, u);
	if (trc_write_file_atomic(b->conf.endpoints_file, text) != 0) {
		trc_err("cannot write %s: %s", b->conf.endpoints_file, strerror(errno));
		return TRC_EIO;
	}
	return 0;
}

int trc_broker_new(trc_broker_t **broker_p, const trc_config_t *cfg)
{
	const trc_broker_conf_t *conf = trc_broker_conf(cfg);
	if (conf == NULL)
		return TRC_EINVAL;
	trc_broker_t *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return TRC_ENOMEM;
	b->cfg = *cfg;
	b->conf = *conf;
	/* two brokers on one host share state_dir: each its own audit log */
	if (conf->instance > 1)
		snprintf(b->name, sizeof(b->name), "broker@%u", conf->instance);
	else
		snprintf(b->name, sizeof(b->name), "broker");
	traction__v1__broker_counters__init(&b->counters);
	trc_registry_init(&b->reg);
	b->subs = trc_subs_new(conf->max_subscriptions, conf->max_subscriptions_per_peer);
	s_know_services(b, conf);
	b->started = trc_mono_ms();
	b->zctx = zmq_ctx_new();
	if (b->zctx == NULL || b->subs == NULL) {
		if (b->zctx != NULL)
			zmq_ctx_term(b->zctx);
		trc_subs_destroy(&b->subs);
		trc_registry_clear(&b->reg);
		free(b);
		return TRC_ENOMEM;
	}
	b->client = trc_auth_new(&b->auth, b->zctx, cfg) == 0 && broker_audit_open(b) == 0
			    ? s_bind(b, ZMQ_ROUTER, cfg->client_endpoint, "client")
			    : NULL;
	b->service = b->client ? s_bind(b, ZMQ_ROUTER, cfg->service_endpoint, "service") : NULL;
	b->xsub = b->service ? s_bind(b, ZMQ_XSUB, cfg->event_publish_endpoint, "event publish")
			     : NULL;
	b->xpub = b->xsub ? s_bind(b, ZMQ_XPUB, cfg->event_subscribe_endpoint, "event subscribe")
			  : NULL;
	if (b->xpub == NULL || s_write_endpoints(b) != 0) {
		trc_broker_destroy(&b);
		return TRC_ECONFIG;
	}
	broker_metrics_open(b);
	*broker_p = b;
	return 0;
}

void trc_broker_destroy(trc_broker_t **broker_p)
{
	if (broker_p == NULL || *broker_p == NULL)
		return;
	trc_broker_t *b = *broker_p;
	broker_metrics_close(b); /* before the registry whose services it names */
	if (b->client != NULL) {
		/* Answer what is still in flight rather than leave clients waiting. */
		trc_ticket_t *t, *tt;
		HASH_ITER(hh, b->reg.tickets, t, tt)
			broker_fail_ticket(b, t, TRACTION__V1__CODE__UNAVAILABLE,
				      "the broker is shutting down");
	}
	void *socks[] = { b->client, b->service, b->xsub, b->xpub };
	for (size_t i = 0; i < 4; i++)
		if (socks[i] != NULL)
			zmq_close(socks[i]);
	broker_audit_close(b);
	trc_auth_destroy(&b->auth);
	if (b->zctx != NULL)
		zmq_ctx_term(b->zctx);
	trc_registry_clear(&b->reg);
	trc_subs_destroy(&b->subs);
	free(b);
	*broker_p = NULL;
}

/* A SIGHUP's keys reload: recorded as its sender's (uid, and the command
 * if /proc lets us read it), for the reason "SIGHUP". */
static void s_reload_keys(trc_broker_t *b, const char *dir)
{
	char actor[32], pid[16], comm[64] = "", path[64], err[512];
	snprintf(actor, sizeof(actor), "uid %u", b->hup_uid);
	snprintf(pid, sizeof(pid), "%d", b->hup_pid);
	snprintf(path, sizeof(path), "/proc/%d/comm", b->hup_pid);
	FILE *f = b->hup_pid > 0 ? fopen(path, "r") : NULL;
	if (f != NULL) {
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	const char *extra[] = { "sender_pid", pid, comm[0] ? "sender_comm" : NULL, comm, NULL };
	const broker_caller_t who = { actor, NULL, 0 };
	Traction__V1__KeysReloadReply rep = TRACTION__V1__KEYS_RELOAD_REPLY__INIT;
	if (broker_keys_reload(b, dir, &who, "SIGHUP", extra, err, sizeof(err), &rep) == 0)
		trc_info("keys: reloaded on SIGHUP from %s: %u in force, %u changes", actor,
			 rep.keys, rep.changes);
}

/* What the broker takes on SIGHUP: its budgets, the subscription bounds,
 * the services it knows (a name added is known now; one removed stays
 * known: it may have registered) and the keys (added or removed take
 * effect now, recorded in the audit log; a bad keys dir keeps the keys in
 * force). */
static void s_reload(void *ud, const trc_config_t *ncfg)
{
	trc_broker_t *b = ud;
	const trc_broker_conf_t *nc = trc_broker_conf(ncfg);
	b->conf.max_in_flight_per_client = nc->max_in_flight_per_client;
	b->conf.max_mb_in_flight_per_client = nc->max_mb_in_flight_per_client;
	b->conf.max_mb_in_flight = nc->max_mb_in_flight;
	trc_subs_limits(b->subs, nc->max_subscriptions, nc->max_subscriptions_per_peer);
	s_know_services(b, nc);
	if (trc_auth_keys(b->auth) != NULL)
		s_reload_keys(b, ncfg->keys_dir);
}

int trc_broker_run(trc_broker_t *b, int sigfd, const char *config_path)
{
	trc_msg_t m;
	void *zap = trc_auth_zap_socket(b->auth);
	for (;;) {
		zmq_pollitem_t items[] = {
			{ b->client, 0, ZMQ_POLLIN, 0 },
			{ b->service, 0, ZMQ_POLLIN, 0 },
			{ b->xsub, 0, ZMQ_POLLIN, 0 },
			{ b->xpub, 0, ZMQ_POLLIN, 0 },
			{ NULL, sigfd, ZMQ_POLLIN, 0 },
			{ zap, 0, ZMQ_POLLIN, 0 },
		};
		int64_t now = trc_mono_ms();
		int64_t next = b->next_heartbeat < b->next_expiry ? b->next_heartbeat : b->next_expiry;
		int64_t wd = trc_daemon_watchdog_ms();
		if (wd > 0 && now + wd / 2 < next)
			next = now + wd / 2;
		if (zmq_poll(items, zap != NULL ? 6 : 5, (long)(next > now ? next - now : 0)) < 0 &&
		    errno != EINTR) {
			trc_err("poll failed: %s", zmq_strerror(errno));
			return TRC_EIO;
		}
		if (items[4].revents & ZMQ_POLLIN) {
			int sig = trc_daemon_signal_from(sigfd, &b->hup_uid, &b->hup_pid);
			if (sig == SIGINT || sig == SIGTERM) {
				trc_info("signal %d: stopping", sig);
				return 0;
			}
			if (sig == SIGHUP)
				trc_daemon_reload(&b->cfg, config_path, s_reload, b);
		}
		if (zap != NULL && (items[5].revents & ZMQ_POLLIN))
			trc_auth_zap_serve(b->auth);
		/* Services first: replies free capacity for new requests. */
		for (unsigned n = 0; n < 4096; n++) {
			if (trc_msg_recv(b->service, &m, ZMQ_DONTWAIT) != 0)
				break;
			broker_service_message(b, &m);
			trc_msg_close(&m);
		}
		for (unsigned n = 0; n < 4096; n++) {
			if (trc_msg_recv(b->client, &m, ZMQ_DONTWAIT) != 0)
				break;
			broker_client_message(b, &m);
			trc_msg_close(&m);
		}
		for (unsigned n = 0; n < 4096 && (items[2].revents & ZMQ_POLLIN); n++) {
			int ev;
			size_t len = sizeof(ev);
			s_relay(b, b->xsub, b->xpub);
			if (zmq_getsockopt(b->xsub, ZMQ_EVENTS, &ev, &len) != 0 || !(ev & ZMQ_POLLIN))
				break;
		}
		if (items[3].revents & ZMQ_POLLIN)
			s_subscriptions(b);
		s_timers(b);
		broker_metrics_turn(b);
		trc_daemon_watchdog();
	}
}
