/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MQTT packets traction-mqttd sends (codec.h): CONNACK, the
 * acknowledgements of a publish, SUBACK/UNSUBACK, PINGRESP and 5.0's
 * DISCONNECT. A writer with a sticky overflow: every encoder writes its
 * fields and checks once that they fit.
 */
#include "codec.h"

#include <string.h>

typedef struct {
	uint8_t *p;
	size_t n, cap;
	bool over;
} wr_t;

static void s_put(wr_t *w, const void *src, size_t n)
{
	if (w->over || w->n + n > w->cap) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->n, src, n);
	w->n += n;
}

static void s_u8(wr_t *w, uint8_t v)
{
	s_put(w, &v, 1);
}

static void s_u16(wr_t *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	s_put(w, b, 2);
}

static void s_u32(wr_t *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	s_put(w, b, 4);
}

static void s_varint(wr_t *w, uint32_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		s_u8(w, (uint8_t)(b | (v > 0 ? 0x80 : 0)));
	} while (v > 0);
}

static void s_str(wr_t *w, const char *s, size_t n)
{
	s_u16(w, (uint16_t)n);
	s_put(w, s, n);
}

/* A reason string property, if it fits in room bytes (else left out). */
static void s_reason(wr_t *w, const char *rs, size_t room)
{
	if (rs == NULL)
		return;
	size_t n = strlen(rs);
	if (n > 0xffff || 3 + n > room || 3 + n > w->cap - w->n)
		return;
	s_u8(w, 0x1F);
	s_str(w, rs, n);
}

/* The packet: the fixed header before a body built in body[0..n). */
static size_t s_packet(uint8_t *buf, size_t cap, uint8_t first, const wr_t *body)
{
	if (body->over)
		return 0;
	wr_t w = { buf, 0, cap, false };
	s_u8(&w, first);
	s_varint(&w, (uint32_t)body->n);
	s_put(&w, body->p, body->n);
	return w.over ? 0 : w.n;
}

/* A property list of props[0..n) in front of it: its length, then it. */
static void s_props(wr_t *w, const wr_t *props)
{
	s_varint(w, (uint32_t)props->n);
	s_put(w, props->p, props->n);
	if (props->over)
		w->over = true;
}

#define BODY_MAX 1024 /* the largest packet sent: a CONNACK with a reason string */

size_t mq_encode_connack(uint8_t *buf, size_t cap, uint8_t version, bool session_present,
			 uint8_t code, const mq_connack_t *p)
{
	uint8_t bb[BODY_MAX], pb[BODY_MAX - 16];
	wr_t b = { bb, 0, sizeof(bb), false }, pr = { pb, 0, sizeof(pb), false };
	s_u8(&b, session_present ? 1 : 0);
	s_u8(&b, code);
	if (version == 5) {
		static const mq_connack_t none;
		if (p == NULL)
			p = &none;
		if (p->has_session_expiry) {
			s_u8(&pr, 0x11);
			s_u32(&pr, p->session_expiry);
		}
		if (p->receive_maximum != 0) {
			s_u8(&pr, 0x21);
			s_u16(&pr, p->receive_maximum);
		}
		if (code < 0x80) { /* what this server does not do, said up front */
			s_u8(&pr, 0x25); s_u8(&pr, 0);   /* retain available: no */
			s_u8(&pr, 0x29); s_u8(&pr, 0);   /* subscription ids: no */
			s_u8(&pr, 0x2A); s_u8(&pr, 0);   /* shared subscriptions: no */
		}
		if (p->maximum_packet_size != 0) {
			s_u8(&pr, 0x27);
			s_u32(&pr, p->maximum_packet_size);
		}
		if (p->server_keepalive != 0) {
			s_u8(&pr, 0x13);
			s_u16(&pr, p->server_keepalive);
		}
		if (p->assigned_client_id != NULL) {
			s_u8(&pr, 0x12);
			s_str(&pr, p->assigned_client_id, strlen(p->assigned_client_id));
		}
		s_reason(&pr, p->reason_string, pr.cap - pr.n);
		s_props(&b, &pr);
	}
	return s_packet(buf, cap, MQ_CONNACK << 4, &b);
}

size_t mq_encode_ack(uint8_t *buf, size_t cap, uint8_t version, mq_type_t type, uint16_t pid,
		     uint8_t reason, const char *reason_string)
{
	uint8_t bb[BODY_MAX], pb[BODY_MAX - 16];
	wr_t b = { bb, 0, sizeof(bb), false }, pr = { pb, 0, sizeof(pb), false };
	s_u16(&b, pid);
	if (version == 5 && (reason != 0 || reason_string != NULL)) {
		s_u8(&b, reason);
		/* a reason string only where it fits the client's limit is the
		 * caller's care: cap */
		s_reason(&pr, reason_string, cap > 16 ? cap - 16 : 0);
		if (pr.n > 0)
			s_props(&b, &pr);
	}
	return s_packet(buf, cap, (uint8_t)(type << 4 | (type == MQ_PUBREL ? 2 : 0)), &b);
}

size_t mq_encode_suback(uint8_t *buf, size_t cap, uint8_t version, mq_type_t type,
			uint16_t pid, const uint8_t *codes, size_t n)
{
	uint8_t bb[BODY_MAX];
	wr_t b = { bb, 0, sizeof(bb), false };
	s_u16(&b, pid);
	if (version == 5)
		s_u8(&b, 0); /* no properties */
	if (version == 5 || type == MQ_SUBACK)
		s_put(&b, codes, n);
	return s_packet(buf, cap, (uint8_t)(type << 4), &b);
}

size_t mq_encode_publish(uint8_t *buf, size_t cap, uint8_t version, const char *topic,
			 const uint8_t *payload, size_t plen, bool retain)
{
	size_t tn = strlen(topic), body = 2 + tn + (version == 5 ? 1 : 0) + plen;
	if (tn > 0xffff || body > MQ_LENGTH_MAX)
		return 0;
	wr_t w = { buf, 0, cap, false };
	s_u8(&w, (uint8_t)(MQ_PUBLISH << 4 | (retain ? 1 : 0))); /* QoS 0 */
	s_varint(&w, (uint32_t)body);
	s_str(&w, topic, tn);
	if (version == 5)
		s_u8(&w, 0); /* no properties */
	s_put(&w, payload, plen);
	return w.over ? 0 : w.n;
}

size_t mq_encode_pingresp(uint8_t *buf, size_t cap)
{
	if (cap < 2)
		return 0;
	buf[0] = MQ_PINGRESP << 4;
	buf[1] = 0;
	return 2;
}

size_t mq_encode_disconnect(uint8_t *buf, size_t cap, uint8_t reason, const char *reason_string)
{
	uint8_t bb[BODY_MAX], pb[BODY_MAX - 16];
	wr_t b = { bb, 0, sizeof(bb), false }, pr = { pb, 0, sizeof(pb), false };
	s_u8(&b, reason);
	s_reason(&pr, reason_string, cap > 16 ? cap - 16 : 0);
	s_props(&b, &pr);
	return s_packet(buf, cap, MQ_DISCONNECT << 4, &b);
}
