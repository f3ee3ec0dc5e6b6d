/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a connection's packets do (docs/mqtt.md): CONNECT (auth, the
 * session), PUBLISH (records for the bus, an acknowledgement slot in the
 * order received), PUBREL (a QoS 2 packet id released, durably), the
 * refused SUBSCRIBE, PINGREQ, DISCONNECT; and the bus's answers turned
 * into PUBACK/PUBREC in the order their PUBLISHes came [MQTT-4.6.0-2, -3].
 *
 * Keys: a record without a `key` of its own gets
 * mqtt/CLIENT/EPOCH/COUNTER (an array's: /INDEX after it). EPOCH is random
 * per session, COUNTER counts the session's PUBLISHes; a persistent
 * session keeps both in the store (counters reserved 1024 at a time, so a
 * restart skips, never reuses, one). A QoS 2 packet id keeps its counter
 * in the store from its PUBLISH to its PUBREL: a PUBLISH sent again after
 * a reconnect or a restart gets the same key, and feedbackd answers it as
 * the duplicate it is.
 */
#include "conn.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "util.h"
#include "traction/traction.h"

#define RESERVE 1024

static void s_ack_send(mqd_server_t *srv, conn_t *c, mq_type_t type, uint16_t pid,
		       uint8_t reason, const char *why)
{
	uint8_t b[300];
	size_t cap = c->max_out != 0 && c->max_out < sizeof(b) ? c->max_out : sizeof(b);
	size_t n = mq_encode_ack(b, cap, c->version, type, pid, reason,
				 why != NULL && why[0] != '\0' ? why : NULL);
	if (n == 0)
		n = mq_encode_ack(b, cap, c->version, type, pid, reason, NULL);
	mqd_conn_send(srv, c, b, n);
}

static q2_t *s_q2(conn_t *c, uint16_t pid)
{
	for (size_t i = 0; i < c->q2_n; i++)
		if (c->q2[i].pid == pid)
			return &c->q2[i];
	return NULL;
}

static void s_q2_drop(mqd_server_t *srv, conn_t *c, uint16_t pid)
{
	q2_t *q = s_q2(c, pid);
	if (q == NULL)
		return;
	*q = c->q2[--c->q2_n];
	if (c->persistent)
		mqd_qos2_del(srv->store, c->client, pid);
}

static uint64_t s_counter(mqd_server_t *srv, conn_t *c)
{
	if (c->next >= c->reserved) {
		c->reserved = c->next + RESERVE;
		if (c->persistent) {
			mqd_session_rec_t rec = { c->epoch, c->reserved, c->expiry_s, 0 };
			mqd_session_put(srv->store, c->client, &rec);
		}
	}
	return c->next++;
}

void mqd_proto_end(mqd_server_t *srv, conn_t *c)
{
	if (!c->persistent)
		return;
	mqd_session_rec_t rec = { c->epoch, c->reserved, c->expiry_s, trc_now_ms() };
	mqd_session_put(srv->store, c->client, &rec);
}

/* ---- CONNECT ------------------------------------------------------------------------ */

static void s_connack(mqd_server_t *srv, conn_t *c, uint8_t version, bool present, uint8_t code,
		      const mq_connack_t *p)
{
	uint8_t b[1100];
	size_t n = mq_encode_connack(b, sizeof(b), version, present, code, p);
	c->version = version;
	mqd_conn_send(srv, c, b, n);
}

/* A refused CONNECT: its code, then the connection closed. */
static bool s_refuse_connect(mqd_server_t *srv, conn_t *c, uint8_t version, uint8_t v4, uint8_t v5,
			     const char *why)
{
	mq_connack_t p = { .reason_string = why };
	trc_info("peer=%s client=%s: CONNECT refused: %s", c->peer, c->client, why);
	s_connack(srv, c, version, false, version == 5 ? v5 : v4, &p);
	mqd_conn_close(srv, c, 0, why);
	return false;
}

static bool s_client_id_ok(const mq_str_t *id)
{
	if (id->n > MQD_CLIENT_ID_MAX)
		return false;
	for (size_t i = 0; i < id->n; i++)
		if (id->p[i] <= 0x20 || id->p[i] >= 0x7f || id->p[i] == '/' || id->p[i] == '+' ||
		    id->p[i] == '#')
			return false;
	return true;
}

/* Room for one more QoS 2 packet id: 3.1.1 has no receive maximum, so a
 * client may hold up to all 65535 unreleased. */
static bool s_q2_room(conn_t *c)
{
	if (c->q2_n < c->q2_cap)
		return true;
	size_t cap = c->q2_cap * 2 > 0xffff ? 0xffff : c->q2_cap * 2;
	q2_t *nv = cap > c->q2_cap ? realloc(c->q2, cap * sizeof(*nv)) : NULL;
	if (nv == NULL)
		return false;
	c->q2 = nv;
	c->q2_cap = cap;
	return true;
}

static void s_q2_load(void *ud, uint16_t pid, uint64_t counter)
{
	conn_t *c = ud;
	if (s_q2(c, pid) == NULL && s_q2_room(c))
		c->q2[c->q2_n++] = (q2_t){ pid, counter, true };
}

/* The session of c->client: taken over, resumed from the store or new.
 * Whether one was there. */
static bool s_session(mqd_server_t *srv, conn_t *c, const mq_connect_t *k)
{
	conn_t *o = NULL;
	HASH_FIND_STR(srv->by_client, c->client, o);
	if (o != NULL && o != c)
		mqd_conn_close(srv, o, MQ_RC_TAKEN_OVER, "session taken over");
	uint32_t max = srv->mc->session_expiry_max_s;
	c->expiry_s = k->version == 4 ? (k->clean ? 0 : max)
				      : (k->props.session_expiry < max ? k->props.session_expiry : max);
	c->persistent = c->expiry_s > 0;
	mqd_session_rec_t rec;
	bool present = false;
	if (!k->clean && mqd_session_get(srv->store, c->client, &rec) == 0) {
		bool expired = rec.ended_ms != 0 &&
			       rec.ended_ms + (int64_t)rec.expiry_s * 1000 <= trc_now_ms();
		if (!expired) {
			present = true;
			c->epoch = rec.epoch;
			c->next = c->reserved = rec.reserved;
			mqd_qos2_each(srv->store, c->client, s_q2_load, c);
		}
	}
	if (!present) {
		mqd_session_del(srv->store, c->client);
		if (getrandom(&c->epoch, sizeof(c->epoch), 0) != (ssize_t)sizeof(c->epoch))
			c->epoch = (uint64_t)trc_now_ms() ^ (uint64_t)trc_mono_ms() << 20;
	}
	if (c->persistent) {
		mqd_session_rec_t now = { c->epoch, c->reserved, c->expiry_s, 0 };
		mqd_session_put(srv->store, c->client, &now);
	} else if (present) {
		mqd_session_del(srv->store, c->client); /* it ends with this connection */
	}
	return present;
}

static bool s_auth(mqd_server_t *srv, conn_t *c, const mq_connect_t *k)
{
	if (!srv->mc->auth)
		return true;
	if (c->cert_cn[0] != '\0') { /* a verified client certificate: its CN is the user */
		const trc_key_t *u = trc_keys_by_name(srv->keys, c->cert_cn);
		if (u == NULL || !u->user || (k->has_username && (k->username.n != strlen(u->name) ||
								 memcmp(k->username.p, u->name,
									k->username.n) != 0)))
			return false;
		snprintf(c->user, sizeof(c->user), "%s", u->name);
		return true;
	}
	if (!k->has_username || !k->has_password || k->username.n >= sizeof(c->user))
		return false;
	const trc_key_t *u = trc_keys_by_secret(srv->keys, k->password.p, k->password.n);
	if (u == NULL || !u->user || strlen(u->name) != k->username.n ||
	    memcmp(u->name, k->username.p, k->username.n) != 0)
		return false;
	snprintf(c->user, sizeof(c->user), "%s", u->name);
	return true;
}

static bool s_connect(mqd_server_t *srv, conn_t *c, const mq_connect_t *k)
{
	uint8_t v = k->version;
	mq_connack_t p = { .receive_maximum = (uint16_t)srv->mc->receive_maximum,
			   .maximum_packet_size = srv->mc->max_packet_kb << 10 };
	char assigned[40] = "";
	if (k->client_id.n == 0) {
		if (v == 4 && !k->clean)
			return s_refuse_connect(srv, c, v, MQ_V4_BAD_CLIENT_ID, MQ_RC_BAD_CLIENT_ID,
						"an empty client id needs a clean session");
		uint64_t r = 0;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = (uint64_t)trc_mono_ms();
		snprintf(assigned, sizeof(assigned), "traction-%016llx", (unsigned long long)r);
		snprintf(c->client, sizeof(c->client), "%s", assigned);
		p.assigned_client_id = assigned;
	} else if (!s_client_id_ok(&k->client_id)) {
		return s_refuse_connect(srv, c, v, MQ_V4_BAD_CLIENT_ID, MQ_RC_BAD_CLIENT_ID,
					"client id: 1 to 64 printable ASCII characters, no / + #");
	} else {
		memcpy(c->client, k->client_id.p, k->client_id.n);
		c->client[k->client_id.n] = '\0';
	}
	if (k->props.has_auth_method)
		return s_refuse_connect(srv, c, v, MQ_V4_NOT_AUTHORIZED, MQ_RC_BAD_AUTH_METHOD,
					"no enhanced authentication: username and password");
	if (!s_auth(srv, c, k))
		return s_refuse_connect(srv, c, v, MQ_V4_BAD_AUTH, MQ_RC_BAD_AUTH,
					"bad user name or password");
	if (v == 5 && k->will && k->will_retain)
		return s_refuse_connect(srv, c, v, 0, MQ_RC_RETAIN_UNSUPPORTED, "no retained messages");
	c->keepalive_s = k->keepalive == 0 || k->keepalive > srv->mc->keepalive_max_s
				 ? srv->mc->keepalive_max_s : k->keepalive;
	if (c->keepalive_s != k->keepalive)
		p.server_keepalive = (uint16_t)c->keepalive_s;
	c->max_out = k->props.maximum_packet_size;
	c->ack = calloc(srv->mc->receive_maximum, sizeof(*c->ack));
	c->q2_cap = srv->mc->receive_maximum * 2u;
	c->q2 = calloc(c->q2_cap, sizeof(*c->q2));
	if (c->ack == NULL || c->q2 == NULL)
		return s_refuse_connect(srv, c, v, MQ_V4_UNAVAILABLE, MQ_RC_UNAVAILABLE, "out of memory");
	if (mqd_pubsub_will_keep(c, k) != 0)
		return s_refuse_connect(srv, c, v, MQ_V4_UNAVAILABLE, MQ_RC_UNAVAILABLE, "out of memory");
	bool present = s_session(srv, c, k);
	if (v == 5 && k->props.session_expiry > c->expiry_s) {
		p.has_session_expiry = true;
		p.session_expiry = c->expiry_s;
	}
	c->connected = true;
	HASH_ADD_STR(srv->by_client, client, c);
	s_connack(srv, c, v, present, 0, &p);
	trc_info("client=%s user=%s peer=%s: connected mqtt=%s session=%s keepalive=%us", c->client,
		 c->user[0] ? c->user : "-", c->peer, v == 5 ? "5.0" : "3.1.1",
		 present ? "resumed" : c->persistent ? "new persistent" : "clean", c->keepalive_s);
	return true;
}

/* ---- PUBLISH ------------------------------------------------------------------------ */

static ackq_t *s_ack_push(conn_t *c, size_t cap, uint16_t pid, uint8_t qos)
{
	ackq_t *a = &c->ack[(c->ack_head + c->ack_n++) % cap];
	*a = (ackq_t){ .seq = c->seq, .pid = pid, .qos = qos };
	return a;
}

/* The connection's next job. */
static mqd_job_t *s_job(mqd_server_t *srv, conn_t *c)
{
	if (c->pending == NULL)
		c->pending = mqd_job_new(mqd_conn_id(srv, c), c->user, c->client, c->epoch);
	return c->pending;
}

/* A message refused before feedbackd saw it: logged, counted, kept. */
static void s_refusal_topic(mqd_server_t *srv, const char *client, const char *user,
			    const char *topic, size_t tlen, const char *why)
{
	srv->refused++;
	trc_info("client=%s user=%s: refused: %.*s: %s", client, user, (int)tlen, topic, why);
	json_t *o = json_pack("{s:I, s:s, s:s, s:s%, s:s, s:s}", "time_ms",
			      (json_int_t)trc_now_ms(), "client", client, "user", user, "topic",
			      topic, tlen, "code", "INVALID_ARGUMENT", "message", why);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text != NULL)
		mqd_refusal_add(srv->store, text, srv->mc->refusals_max);
	free(text);
	json_decref(o);
}

/* A Sparkplug message refused on the loop: its acknowledgement due. */
static void s_refused(mqd_server_t *srv, conn_t *c, const mq_publish_t *p, ackq_t *a,
		      const mqd_records_t *rs)
{
	s_refusal_topic(srv, c->client, c->user, (const char *)p->topic.p, p->topic.n, rs->err);
	if (a != NULL) {
		a->done = true;
		a->reason = rs->reason;
		snprintf(a->why, sizeof(a->why), "%.120s", rs->err);
	}
}

/* A Sparkplug B message: its records, and the rebirth it may ask for. */
static int s_sparkplug(mqd_server_t *srv, conn_t *c, const mq_publish_t *p, mqd_records_t *rs)
{
	mqd_spb_out_t o;
	int rc = mqd_spb_message(srv->spb, (const char *)p->topic.p, p->topic.n, p->payload,
				 p->payload_len, trc_now_ms(), rs, &o);
	if (o.event != NULL && o.event[0] != '\0')
		trc_info("client=%s user=%s: sparkplug node=%s: %s", c->client, c->user, o.node,
			 o.event);
	if (o.skipped > 0)
		trc_info("client=%s: sparkplug node=%s: %u metrics whose names are longer than a "
			 "traction metric's (64) skipped", c->client, o.node, o.skipped);
	if (o.rebirth)
		mqd_pubsub_rebirth(srv, &o);
	return rc;
}

bool mqd_proto_publish(mqd_server_t *srv, conn_t *c, const mq_publish_t *p)
{
	if (p->props.topic_alias != 0) {
		mqd_conn_close(srv, c, MQ_RC_TOPIC_ALIAS_INVALID, "no topic aliases");
		return false;
	}
	if (c->version == 5 && p->retain) {
		mqd_conn_close(srv, c, MQ_RC_RETAIN_UNSUPPORTED, "no retained messages");
		return false;
	}
	c->seq++;
	uint64_t counter;
	q2_t *q = p->qos == 2 ? s_q2(c, p->pid) : NULL;
	if (q != NULL) {
		counter = q->counter; /* sent again: the same key */
	} else {
		counter = s_counter(srv, c);
		if (p->qos == 2) {
			if (!s_q2_room(c)) {
				mqd_conn_close(srv, c, MQ_RC_RECEIVE_MAX, "too many QoS 2 messages unreleased");
				return false;
			}
			c->q2[c->q2_n++] = (q2_t){ p->pid, counter, false };
			if (c->persistent)
				mqd_qos2_put(srv->store, c->client, p->pid, counter);
		}
	}
	ackq_t *a = p->qos > 0 ? s_ack_push(c, srv->mc->receive_maximum, p->pid, p->qos) : NULL;
	mqd_job_t *j;
	int rc;
	if (!mqd_spb_is_topic((const char *)p->topic.p, p->topic.n)) {
		j = s_job(srv, c); /* its records made by the worker */
		rc = j != NULL ? mqd_job_add_raw(j, c->seq, counter, p->topic.p, p->topic.n,
						 p->payload, p->payload_len)
			       : -1;
	} else {
		mqd_records_t rs;
		rc = s_sparkplug(srv, c, p, &rs);
		if (rc != 0 || rs.n == 0) {
			if (rc != 0)
				s_refused(srv, c, p, a, &rs);
			else if (a != NULL)
				a->done = true; /* nothing for the bus (a death, a birth of no numbers) */
			mqd_records_free(&rs);
			mqd_proto_acks(srv, c);
			return !c->closing;
		}
		j = s_job(srv, c);
		rc = j != NULL ? mqd_job_add_made(j, c->seq, &rs) : -1;
		mqd_records_free(&rs);
	}
	if (rc != 0) {
		mqd_conn_close(srv, c, MQ_RC_UNSPECIFIED, "out of memory");
		return false;
	}
	srv->accepted_msgs++;
	mqd_conn_touch(srv, c);
	return true;
}

/* ---- answers and acknowledgements ----------------------------------------------------- */

void mqd_proto_acks(mqd_server_t *srv, conn_t *c)
{
	size_t cap = srv->mc->receive_maximum;
	while (c->ack_n > 0 && c->ack[c->ack_head].done && !c->closing) {
		ackq_t *a = &c->ack[c->ack_head];
		uint8_t reason = c->version == 5 ? a->reason : 0;
		if (a->qos == 1) {
			s_ack_send(srv, c, MQ_PUBACK, a->pid, reason, reason ? a->why : NULL);
		} else {
			s_ack_send(srv, c, MQ_PUBREC, a->pid, reason, reason ? a->why : NULL);
			q2_t *q = s_q2(c, a->pid);
			if (reason >= 0x80) /* the exchange ends here [MQTT-4.3.3] */
				s_q2_drop(srv, c, a->pid);
			else if (q != NULL)
				q->recd = true;
		}
		c->ack_head = (c->ack_head + 1) % cap;
		c->ack_n--;
	}
}

/* The first slot of c's acknowledgements whose message is seq or later
 * (their seqs ascend from the head). */
static size_t s_ack_find(const conn_t *c, size_t cap, uint64_t seq)
{
	size_t lo = 0, hi = c->ack_n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->ack[(c->ack_head + mid) % cap].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A message's answer into its acknowledgement: the first refusal's reason,
 * its own (made by the worker) or one of its records'. */
static void s_answer_msg(ackq_t *a, const mqd_job_t *job, const mqd_msg_t *m)
{
	a->done = true;
	if (a->reason != 0)
		return;
	if (m->reason != 0) {
		a->reason = m->reason;
		snprintf(a->why, sizeof(a->why), "%.120s", m->why != NULL ? m->why : "");
		return;
	}
	for (size_t i = m->first; i < m->first + m->nv; i++)
		if (job->code[i] != 0) {
			a->reason = mqd_reason_of(job->code[i]);
			snprintf(a->why, sizeof(a->why), "%.24s: %.96s",
				 traction_code_name(job->code[i]), job->why[i] != NULL ? job->why[i] : "");
			return;
		}
}

void mqd_proto_answer(mqd_server_t *srv, conn_t *c, mqd_job_t *job)
{
	size_t cap = srv->mc->receive_maximum;
	/* the job's messages come in their order, as the slots */
	size_t k = job->n_msgs > 0 ? s_ack_find(c, cap, job->msgs[0].seq) : 0;
	for (size_t i = 0; i < job->n_msgs; i++) {
		const mqd_msg_t *m = &job->msgs[i];
		while (k < c->ack_n && c->ack[(c->ack_head + k) % cap].seq < m->seq)
			k++;
		if (k == c->ack_n)
			break;
		if (c->ack[(c->ack_head + k) % cap].seq == m->seq) /* else QoS 0 */
			s_answer_msg(&c->ack[(c->ack_head + k) % cap], job, m);
	}
	mqd_proto_acks(srv, c);
	mqd_conn_input(srv, c); /* what waited for room */
}

void mqd_proto_refusals(mqd_server_t *srv, mqd_job_t *job)
{
	for (size_t i = 0; i < job->n_msgs; i++) {
		const mqd_msg_t *m = &job->msgs[i];
		if (m->reason != 0)
			s_refusal_topic(srv, job->client, job->user, m->raw, m->tlen,
					m->why != NULL ? m->why : "out of memory");
	}
	for (size_t i = 0; i < job->n; i++) {
		if (job->code[i] == 0)
			continue;
		const Traction__V1__FeedbackRecord *r = job->recs[i];
		srv->refused++;
		trc_info("client=%s user=%s scenario=%s supply=%s key=%s: refused: %s: %s (refused: %llu)",
			 job->client, job->user, r->scenario_id, r->supply_id, r->idempotency_key,
			 traction_code_name(job->code[i]), job->why[i] ? job->why[i] : "",
			 (unsigned long long)srv->refused);
		json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "time_ms",
				      (json_int_t)trc_now_ms(), "client", job->client, "user",
				      job->user, "scenario", r->scenario_id, "supply", r->supply_id,
				      "version", r->version, "key", r->idempotency_key, "code",
				      traction_code_name(job->code[i]), "message",
				      job->why[i] ? job->why[i] : "");
		char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
		if (text != NULL)
			mqd_refusal_add(srv->store, text, srv->mc->refusals_max);
		free(text);
		json_decref(o);
	}
}

/* ---- the rest ------------------------------------------------------------------------- */

static bool s_pubrel(mqd_server_t *srv, conn_t *c, uint16_t pid)
{
	q2_t *q = s_q2(c, pid);
	if (q != NULL && !q->recd) {
		mqd_conn_close(srv, c, MQ_RC_PROTOCOL, "PUBREL before PUBREC");
		return false;
	}
	if (q != NULL)
		s_q2_drop(srv, c, pid); /* durable with the turn, before the PUBCOMP goes */
	s_ack_send(srv, c, MQ_PUBCOMP, pid, q == NULL && c->version == 5 ? MQ_RC_PID_NOT_FOUND : 0,
		   NULL);
	return true;
}

bool mqd_proto_packet(mqd_server_t *srv, conn_t *c, const uint8_t *pkt, size_t len)
{
	mq_packet_t pk;
	int rc = mq_decode(pkt, len, c->connected ? c->version : 0, &pk);
	if (rc != 0) {
		trc_info("client=%s peer=%s: %s: reason 0x%02x: closed", c->client, c->peer,
			 mq_type_name(pk.type), (unsigned)rc);
		if (!c->connected && rc == MQ_RC_BAD_VERSION) {
			uint8_t v = pk.u.connect.version == 5 ? 5 : 4;
			return s_refuse_connect(srv, c, v, MQ_V4_BAD_VERSION, MQ_RC_BAD_VERSION,
						"MQTT 3.1.1 or 5.0 only");
		}
		mqd_conn_close(srv, c, (uint8_t)rc, NULL);
		return false;
	}
	switch (pk.type) {
	case MQ_CONNECT: return s_connect(srv, c, &pk.u.connect);
	case MQ_PUBLISH: return mqd_proto_publish(srv, c, &pk.u.publish);
	case MQ_PUBREL: return s_pubrel(srv, c, pk.u.ack.pid);
	case MQ_SUBSCRIBE:
	case MQ_UNSUBSCRIBE: mqd_pubsub_subscribe(srv, c, &pk.u.subscribe, pk.type); return !c->closing;
	case MQ_PINGREQ: {
		uint8_t b[2];
		mqd_conn_send(srv, c, b, mq_encode_pingresp(b, sizeof(b)));
		return true;
	}
	case MQ_DISCONNECT:
		if (pk.u.disconnect.props.has_session_expiry) {
			if (c->expiry_s == 0 && pk.u.disconnect.props.session_expiry > 0) {
				mqd_conn_close(srv, c, MQ_RC_PROTOCOL, "session expiry after 0");
				return false;
			}
			uint32_t e = pk.u.disconnect.props.session_expiry;
			c->expiry_s = e < srv->mc->session_expiry_max_s ? e : srv->mc->session_expiry_max_s;
		}
		if (c->persistent && c->expiry_s == 0) {
			mqd_session_del(srv->store, c->client);
			c->persistent = false;
		}
		if (pk.u.disconnect.reason != 0x04) /* 5.0: with will message */
			mqd_pubsub_will_drop(c);
		mqd_conn_close(srv, c, 0, "DISCONNECT");
		return false;
	default: /* PUBACK, PUBREC, PUBCOMP: this server publishes nothing */
		mqd_conn_close(srv, c, MQ_RC_PROTOCOL, "unexpected packet");
		return false;
	}
}
