/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What traction-mqttd publishes, and to whom (docs/mqtt.md): it is no
 * general broker. A connection may subscribe to two topics only: the
 * primary host's STATE (spBv1.0/STATE/HOST_ID, a retained message that
 * says traction-mqttd is online, sent at once on SUBSCRIBE) and, if it is
 * a Sparkplug edge node (its will is its NDEATH), its own NCMD topic,
 * where a rebirth request goes when its seq has a gap. Anything else is
 * refused per filter. And the will: a connection that ends without a
 * DISCONNECT (or with 5.0's 0x04) has its will published, as if it had
 * sent it: a Sparkplug NDEATH kills its node, a will on a traction topic
 * becomes a record.
 */
#include "conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define STATE_PREFIX "spBv1.0/STATE/"

void mqd_pubsub_send(mqd_server_t *srv, conn_t *c, const char *topic, const uint8_t *payload,
		     size_t plen, bool retain)
{
	size_t cap = 2 * MQ_HEADER_MAX + strlen(topic) + plen;
	uint8_t *b = malloc(cap);
	size_t n = b != NULL ? mq_encode_publish(b, cap, c->version, topic, payload, plen, retain) : 0;
	if (n > 0 && (c->max_out == 0 || n <= c->max_out)) /* else dropped [MQTT-3.1.2-25] */
		mqd_conn_send(srv, c, b, n);
	free(b);
}

static void s_state(mqd_server_t *srv, conn_t *c)
{
	char topic[sizeof(STATE_PREFIX) + TRC_CONFIG_STR], payload[80];
	snprintf(topic, sizeof(topic), STATE_PREFIX "%s", srv->mc->sparkplug_host_id);
	int n = snprintf(payload, sizeof(payload), "{\"online\":true,\"timestamp\":%lld}",
			 (long long)srv->started_ms);
	mqd_pubsub_send(srv, c, topic, (const uint8_t *)payload, (size_t)n, true);
}

/* Which of this connection's topics a filter names: 1 STATE, 2 its NCMD. */
static int s_which(mqd_server_t *srv, const conn_t *c, const mq_str_t *f)
{
	char t[sizeof(STATE_PREFIX) + TRC_CONFIG_STR + 2 * MQD_SPB_ID_MAX + 16];
	snprintf(t, sizeof(t), STATE_PREFIX "%s", srv->mc->sparkplug_host_id);
	if (f->n == strlen(t) && memcmp(f->p, t, f->n) == 0)
		return 1;
	if (c->spb_node[0] == '\0')
		return 0;
	const char *sl = strchr(c->spb_node, '/');
	int n = snprintf(t, sizeof(t), "spBv1.0/%.*s/NCMD/%s", (int)(sl - c->spb_node), c->spb_node,
			 sl + 1);
	/* the topic itself, or it and what is under it (a Tahu edge node's) */
	if ((f->n == (size_t)n || (f->n == (size_t)n + 2 && memcmp(f->p + n, "/#", 2) == 0)) &&
	    memcmp(f->p, t, (size_t)n) == 0)
		return 2;
	return 0;
}

void mqd_pubsub_subscribe(mqd_server_t *srv, conn_t *c, const mq_subscribe_t *s, mq_type_t type)
{
	uint8_t *codes = malloc(s->n + 1), *b = malloc(s->n + 16);
	if (codes == NULL || b == NULL) {
		free(codes);
		free(b);
		mqd_conn_close(srv, c, MQ_RC_UNSPECIFIED, "out of memory");
		return;
	}
	bool state = false;
	for (size_t i = 0; i < s->n; i++) {
		int w = i < MQ_SUB_MAX ? s_which(srv, c, &s->filters[i]) : 0;
		bool *sub = w == 1 ? &c->sub_state : w == 2 ? &c->sub_ncmd : NULL;
		if (type == MQ_UNSUBSCRIBE) {
			codes[i] = sub != NULL && *sub ? 0 : MQ_RC_NO_SUBSCRIPTION;
			if (sub != NULL)
				*sub = false;
			continue;
		}
		codes[i] = sub != NULL ? 0 /* QoS 0 granted */
			 : c->version == 5 ? MQ_RC_NOT_AUTHORIZED : 0x80;
		unsigned rh = (s->options[i] >> 4) & 3; /* 5.0 retain handling */
		if (w == 1 && (rh == 0 || (rh == 1 && !c->sub_state)))
			state = true;
		if (sub != NULL)
			*sub = true;
		else
			trc_info("client=%s user=%s: SUBSCRIBE %.*s refused (not this server's to give)",
				 c->client, c->user, i < MQ_SUB_MAX ? (int)s->filters[i].n : 0,
				 i < MQ_SUB_MAX ? (const char *)s->filters[i].p : "");
	}
	size_t len = mq_encode_suback(b, s->n + 16, c->version,
				      type == MQ_SUBSCRIBE ? MQ_SUBACK : MQ_UNSUBACK, s->pid, codes,
				      s->n);
	if (len > 0)
		mqd_conn_send(srv, c, b, len);
	free(codes);
	free(b);
	if (state) /* after its SUBACK [MQTT-3.3.1-6] */
		s_state(srv, c);
}

void mqd_pubsub_rebirth(mqd_server_t *srv, const mqd_spb_out_t *o)
{
	uint8_t payload[128];
	size_t n = mqd_spb_rebirth(payload, sizeof(payload), trc_now_ms());
	const char *sl = strchr(o->node, '/');
	char topic[2 * MQD_SPB_ID_MAX + 32];
	snprintf(topic, sizeof(topic), "spBv1.0/%.*s/NCMD/%s", (int)(sl - o->node), o->node, sl + 1);
	unsigned sent = 0;
	for (unsigned i = 0; i < srv->mc->max_connections; i++) {
		conn_t *c = &srv->conns[i];
		if (c->used && c->connected && !c->closing && c->sub_ncmd &&
		    strcmp(c->spb_node, o->node) == 0) {
			mqd_pubsub_send(srv, c, topic, payload, n, false);
			sent++;
		}
	}
	trc_info("sparkplug node=%s: %s%s%s: rebirth asked (%s, NCMD to %u connection%s)", o->node,
		 o->why, o->gap[0] ? ": " : "", o->gap, topic, sent, sent == 1 ? "" : "s");
}

int mqd_pubsub_will_keep(conn_t *c, const mq_connect_t *k)
{
	if (!k->will)
		return 0;
	c->will_topic = malloc(k->will_topic.n + 1);
	c->will_payload = malloc(k->will_payload.n + 1);
	if (c->will_topic == NULL || c->will_payload == NULL)
		return -1;
	memcpy(c->will_topic, k->will_topic.p, k->will_topic.n);
	c->will_topic[k->will_topic.n] = '\0';
	memcpy(c->will_payload, k->will_payload.p, k->will_payload.n);
	c->will_len = k->will_payload.n;
	c->will_qos = k->will_qos;
	mqd_spb_node_of(c->will_topic, k->will_topic.n, "NDEATH", c->spb_node,
			sizeof(c->spb_node));
	return 0;
}

void mqd_pubsub_will_drop(conn_t *c)
{
	free(c->will_topic);
	free(c->will_payload);
	c->will_topic = NULL;
	c->will_payload = NULL;
}

void mqd_pubsub_will(mqd_server_t *srv, conn_t *c)
{
	char *topic = c->will_topic;
	uint8_t *payload = c->will_payload;
	if (topic == NULL)
		return;
	c->will_topic = NULL; /* once, even if publishing it closes the connection */
	c->will_payload = NULL;
	trc_info("client=%s user=%s: its will on %s published (no DISCONNECT)", c->client, c->user,
		 topic);
	/* QoS 0 whatever its QoS: nobody is there to acknowledge it to */
	mq_publish_t p = { .qos = 0,
			   .topic = { (const uint8_t *)topic, strlen(topic) },
			   .payload = payload,
			   .payload_len = c->will_len };
	mqd_proto_publish(srv, c, &p);
	free(topic);
	free(payload);
}
