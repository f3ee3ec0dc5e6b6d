/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MQTT packet decoder (strict, see codec.h); the encoders are in
 * codec_out.c. A reader over the packet's bytes keeps its first error
 * (sticky, as the store's transactions do), so a decoder reads field after
 * field and checks once.
 */
#include "codec.h"

#include <string.h>

#include "util.h"

typedef struct {
	const uint8_t *p, *end;
	int err;              /* the first reason code, or 0 */
} rd_t;

static int s_fail(rd_t *r, int rc)
{
	if (r->err == 0)
		r->err = rc;
	return r->err;
}

static uint8_t s_u8(rd_t *r)
{
	if (r->err != 0 || r->p + 1 > r->end)
		return (uint8_t)(s_fail(r, MQ_RC_MALFORMED) & 0);
	return *r->p++;
}

static uint16_t s_u16(rd_t *r)
{
	if (r->err != 0 || r->p + 2 > r->end)
		return (uint16_t)(s_fail(r, MQ_RC_MALFORMED) & 0);
	uint16_t v = (uint16_t)(r->p[0] << 8 | r->p[1]);
	r->p += 2;
	return v;
}

static uint32_t s_u32(rd_t *r)
{
	if (r->err != 0 || r->p + 4 > r->end)
		return (uint32_t)(s_fail(r, MQ_RC_MALFORMED) & 0);
	uint32_t v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 |
		     r->p[3];
	r->p += 4;
	return v;
}

/* A variable byte integer, in as few bytes as it takes. */
static uint32_t s_varint(rd_t *r)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t b = s_u8(r);
		if (r->err != 0)
			return 0;
		v |= (uint32_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0) {
			if (i > 0 && b == 0)
				s_fail(r, MQ_RC_MALFORMED); /* not minimal */
			return v;
		}
	}
	s_fail(r, MQ_RC_MALFORMED);
	return 0;
}

static mq_str_t s_bin(rd_t *r)
{
	mq_str_t s = { NULL, 0 };
	uint16_t n = s_u16(r);
	if (r->err != 0)
		return s;
	if ((size_t)(r->end - r->p) < n) {
		s_fail(r, MQ_RC_MALFORMED);
		return s;
	}
	s.p = r->p;
	s.n = n;
	r->p += n;
	return s;
}

/* A UTF-8 string: well-formed, no U+0000 [MQTT-1.5.3-1, -2]. */
static mq_str_t s_str(rd_t *r)
{
	mq_str_t s = s_bin(r);
	if (r->err == 0 && (!trc_is_utf8(s.p, s.n) || memchr(s.p, 0, s.n) != NULL))
		s_fail(r, MQ_RC_MALFORMED);
	return s;
}

/* ---- 5.0 properties ------------------------------------------------------------ */

enum { P_BYTE, P_U16, P_U32, P_VARINT, P_STR, P_BIN, P_PAIR };

#define B(t) (1u << (t))
#define WILL 0 /* bit 0 (no packet type 0): the will properties of a CONNECT */

static const struct {
	uint8_t id, type;
	bool repeat;
	uint32_t packets;
} s_props[] = {
	{ 0x01, P_BYTE, false, B(MQ_PUBLISH) | B(WILL) },       /* payload format */
	{ 0x02, P_U32, false, B(MQ_PUBLISH) | B(WILL) },        /* message expiry */
	{ 0x03, P_STR, false, B(MQ_PUBLISH) | B(WILL) },        /* content type */
	{ 0x08, P_STR, false, B(MQ_PUBLISH) | B(WILL) },        /* response topic */
	{ 0x09, P_BIN, false, B(MQ_PUBLISH) | B(WILL) },        /* correlation data */
	{ 0x0B, P_VARINT, false, B(MQ_SUBSCRIBE) },             /* subscription id */
	{ 0x11, P_U32, false, B(MQ_CONNECT) | B(MQ_DISCONNECT) }, /* session expiry */
	{ 0x15, P_STR, false, B(MQ_CONNECT) | B(MQ_AUTH) },     /* authentication method */
	{ 0x16, P_BIN, false, B(MQ_CONNECT) | B(MQ_AUTH) },     /* authentication data */
	{ 0x17, P_BYTE, false, B(MQ_CONNECT) },                 /* request problem info */
	{ 0x18, P_U32, false, B(WILL) },                        /* will delay */
	{ 0x19, P_BYTE, false, B(MQ_CONNECT) },                 /* request response info */
	{ 0x1C, P_STR, false, B(MQ_DISCONNECT) },               /* server reference */
	{ 0x1F, P_STR, false, B(MQ_PUBACK) | B(MQ_PUBREC) | B(MQ_PUBREL) | B(MQ_PUBCOMP) |
				      B(MQ_DISCONNECT) | B(MQ_AUTH) }, /* reason string */
	{ 0x21, P_U16, false, B(MQ_CONNECT) },                  /* receive maximum */
	{ 0x22, P_U16, false, B(MQ_CONNECT) },                  /* topic alias maximum */
	{ 0x23, P_U16, false, B(MQ_PUBLISH) },                  /* topic alias */
	{ 0x26, P_PAIR, true, 0xffffu },                        /* user property */
	{ 0x27, P_U32, false, B(MQ_CONNECT) },                  /* maximum packet size */
};

/* One property's value into pr (what the server reads of it), checked. */
static void s_prop_value(rd_t *r, uint8_t id, int type, mq_props_t *pr)
{
	uint32_t v = 0;
	mq_str_t s = { NULL, 0 };
	switch (type) {
	case P_BYTE: v = s_u8(r); break;
	case P_U16: v = s_u16(r); break;
	case P_U32: v = s_u32(r); break;
	case P_VARINT: v = s_varint(r); break;
	case P_STR: s = s_str(r); break;
	case P_BIN: s = s_bin(r); break;
	default: s_str(r); s_str(r); pr->n_user_properties++; break;
	}
	if (r->err != 0)
		return;
	switch (id) {
	case 0x01: pr->payload_format = (uint8_t)v; /* fall through */
	case 0x17: case 0x19:
		if (v > 1)
			s_fail(r, MQ_RC_PROTOCOL);
		if (id == 0x17)
			pr->request_problem_info = (uint8_t)v;
		break;
	case 0x0B: if (v == 0) s_fail(r, MQ_RC_PROTOCOL); break;
	case 0x11: pr->session_expiry = v; pr->has_session_expiry = true; break;
	case 0x15: pr->has_auth_method = true; break;
	case 0x1F: pr->reason_string = s; break;
	case 0x21:
		if (v == 0)
			s_fail(r, MQ_RC_PROTOCOL);
		pr->receive_maximum = (uint16_t)v;
		break;
	case 0x22: pr->topic_alias_maximum = (uint16_t)v; break;
	case 0x23:
		if (v == 0)
			s_fail(r, MQ_RC_TOPIC_ALIAS_INVALID);
		pr->topic_alias = (uint16_t)v;
		break;
	case 0x27:
		if (v == 0)
			s_fail(r, MQ_RC_PROTOCOL);
		pr->maximum_packet_size = v;
		break;
	default: break;
	}
}

/* The property list of a packet of type (WILL for a will's). */
static void s_props_read(rd_t *r, unsigned type, mq_props_t *pr)
{
	memset(pr, 0, sizeof(*pr));
	pr->request_problem_info = 1;
	uint32_t len = s_varint(r);
	if (r->err != 0)
		return;
	if ((size_t)(r->end - r->p) < len) {
		s_fail(r, MQ_RC_MALFORMED);
		return;
	}
	rd_t in = { r->p, r->p + len, 0 };
	uint64_t seen = 0; /* ids are below 64 */
	while (in.err == 0 && in.p < in.end) {
		uint32_t id = s_varint(&in);
		size_t k = 0;
		while (k < sizeof(s_props) / sizeof(s_props[0]) && s_props[k].id != id)
			k++;
		if (in.err != 0)
			break;
		if (k == sizeof(s_props) / sizeof(s_props[0]) || !(s_props[k].packets & B(type))) {
			s_fail(&in, MQ_RC_PROTOCOL);
			break;
		}
		if (!s_props[k].repeat && (seen & (1ull << id)) != 0) {
			s_fail(&in, MQ_RC_PROTOCOL);
			break;
		}
		seen |= 1ull << id;
		s_prop_value(&in, (uint8_t)id, s_props[k].type, pr);
	}
	if (in.err != 0)
		s_fail(r, in.err);
	r->p += len;
}

/* ---- packets ------------------------------------------------------------------- */

int mq_frame(const uint8_t *buf, size_t n, uint8_t version, size_t max, size_t *total)
{
	uint32_t len = 0;
	for (size_t i = 1; i <= 4; i++) {
		if (i >= n)
			return 1;
		uint8_t b = buf[i];
		len |= (uint32_t)(b & 0x7f) << (7 * (i - 1));
		if ((b & 0x80) == 0) {
			if (version == 5 && i > 1 && b == 0)
				return MQ_RC_MALFORMED;
			if (1 + i + (size_t)len > max)
				return MQ_RC_TOO_LARGE;
			*total = 1 + i + len;
			return 0;
		}
	}
	return MQ_RC_MALFORMED;
}

static int s_connect(rd_t *r, mq_connect_t *c)
{
	mq_str_t name = s_str(r);
	c->version = s_u8(r);
	if (r->err != 0)
		return r->err;
	if (name.n != 4 || memcmp(name.p, "MQTT", 4) != 0)
		return c->version == 3 ? MQ_RC_BAD_VERSION : MQ_RC_PROTOCOL; /* 3.1's MQIsdp */
	if (c->version != 4 && c->version != 5)
		return MQ_RC_BAD_VERSION;
	uint8_t fl = s_u8(r);
	c->keepalive = s_u16(r);
	if (r->err != 0)
		return r->err;
	if (fl & 0x01)
		return MQ_RC_MALFORMED; /* reserved [MQTT-3.1.2-3] */
	c->clean = (fl & 0x02) != 0;
	c->will = (fl & 0x04) != 0;
	c->will_qos = (fl >> 3) & 3;
	c->will_retain = (fl & 0x20) != 0;
	c->has_password = (fl & 0x40) != 0;
	c->has_username = (fl & 0x80) != 0;
	if (c->will_qos == 3 || (!c->will && (c->will_qos != 0 || c->will_retain)))
		return MQ_RC_MALFORMED;
	if (c->version == 4 && c->has_password && !c->has_username)
		return MQ_RC_MALFORMED; /* [MQTT-3.1.2-22] */
	if (c->version == 5)
		s_props_read(r, MQ_CONNECT, &c->props);
	else
		c->props.request_problem_info = 1;
	c->client_id = s_str(r);
	if (c->will) {
		if (c->version == 5)
			s_props_read(r, WILL, &c->will_props);
		c->will_topic = s_str(r);
		c->will_payload = s_bin(r);
		if (r->err == 0 && (c->will_topic.n == 0 ||
				    memchr(c->will_topic.p, '+', c->will_topic.n) != NULL ||
				    memchr(c->will_topic.p, '#', c->will_topic.n) != NULL))
			s_fail(r, MQ_RC_TOPIC_INVALID);
	}
	if (c->has_username)
		c->username = s_str(r);
	if (c->has_password)
		c->password = s_bin(r);
	return r->err;
}

static int s_publish(rd_t *r, uint8_t flags, uint8_t version, mq_publish_t *p)
{
	p->qos = (flags >> 1) & 3;
	p->dup = (flags & 0x08) != 0;
	p->retain = (flags & 0x01) != 0;
	if (p->qos == 3)
		return MQ_RC_MALFORMED; /* [MQTT-3.3.1-4] */
	if (p->qos == 0 && p->dup)
		return MQ_RC_PROTOCOL;  /* [MQTT-3.3.1-2] */
	p->topic = s_str(r);
	if (p->qos > 0) {
		p->pid = s_u16(r);
		if (r->err == 0 && p->pid == 0)
			return MQ_RC_PROTOCOL;
	}
	if (version == 5)
		s_props_read(r, MQ_PUBLISH, &p->props);
	if (r->err != 0)
		return r->err;
	if (memchr(p->topic.p, '+', p->topic.n) != NULL || memchr(p->topic.p, '#', p->topic.n) != NULL)
		return MQ_RC_TOPIC_INVALID; /* [MQTT-3.3.2-2] */
	if (p->topic.n == 0 && p->props.topic_alias == 0)
		return MQ_RC_PROTOCOL;
	p->payload = r->p;
	p->payload_len = (size_t)(r->end - r->p);
	r->p = r->end;
	return 0;
}

static int s_ack(rd_t *r, unsigned type, uint8_t version, mq_ack_t *a)
{
	a->pid = s_u16(r);
	if (r->err == 0 && a->pid == 0)
		return MQ_RC_PROTOCOL;
	if (version == 5 && r->p < r->end) {
		a->reason = s_u8(r);
		if (r->p < r->end)
			s_props_read(r, type, &a->props);
	}
	return r->err;
}

static int s_subscribe(rd_t *r, unsigned type, uint8_t version, mq_subscribe_t *s)
{
	s->pid = s_u16(r);
	if (r->err == 0 && s->pid == 0)
		return MQ_RC_PROTOCOL;
	if (version == 5)
		s_props_read(r, type, &s->props);
	while (r->err == 0 && r->p < r->end) {
		mq_str_t f = s_str(r);
		uint8_t opt = type == MQ_SUBSCRIBE ? s_u8(r) : 0;
		if (r->err != 0)
			break;
		if (f.n == 0)
			return MQ_RC_PROTOCOL; /* [MQTT-4.7.3-1] */
		/* reserved bits; QoS 3; 5.0's retain handling 3 [MQTT-3.8.3-4/5] */
		if ((opt & 3) == 3 || (version == 4 && (opt & 0xfc) != 0) ||
		    (version == 5 && ((opt & 0xc0) != 0 || ((opt >> 4) & 3) == 3)))
			return MQ_RC_MALFORMED;
		if (s->n < MQ_SUB_MAX) {
			s->filters[s->n] = f;
			s->options[s->n] = opt;
		}
		s->n++;
	}
	if (r->err == 0 && s->n == 0)
		return MQ_RC_PROTOCOL; /* [MQTT-3.8.3-3] */
	return r->err;
}

/* The fixed header's low nibble as the spec fixes it [MQTT-2.2.2-1, -2]. */
static bool s_flags_ok(unsigned type, uint8_t flags)
{
	if (type == MQ_PUBLISH)
		return true;
	if (type == MQ_PUBREL || type == MQ_SUBSCRIBE || type == MQ_UNSUBSCRIBE)
		return flags == 2;
	return flags == 0;
}

int mq_decode(const uint8_t *pkt, size_t len, uint8_t version, mq_packet_t *out)
{
	memset(out, 0, sizeof(*out));
	size_t total = 0;
	int rc = mq_frame(pkt, len, version == 0 ? 4 : version, len, &total);
	if (rc != 0 || total != len)
		return MQ_RC_MALFORMED;
	unsigned type = pkt[0] >> 4;
	uint8_t flags = pkt[0] & 0x0f;
	size_t hdr = 2;
	while (pkt[hdr - 1] & 0x80)
		hdr++;
	rd_t r = { pkt + hdr, pkt + len, 0 };
	out->type = (mq_type_t)type;
	out->flags = flags;
	if (type == 0 || type > MQ_AUTH || (version == 4 && type == MQ_AUTH))
		return MQ_RC_MALFORMED;
	if (!s_flags_ok(type, flags))
		return MQ_RC_MALFORMED;
	if ((version == 0) != (type == MQ_CONNECT))
		return MQ_RC_PROTOCOL; /* CONNECT first, and only once [MQTT-3.1.0-1, -2] */
	switch (type) {
	case MQ_CONNECT: rc = s_connect(&r, &out->u.connect); break;
	case MQ_PUBLISH: rc = s_publish(&r, flags, version, &out->u.publish); break;
	case MQ_PUBACK: case MQ_PUBREC: case MQ_PUBREL: case MQ_PUBCOMP:
		rc = s_ack(&r, type, version, &out->u.ack);
		break;
	case MQ_SUBSCRIBE: case MQ_UNSUBSCRIBE:
		rc = s_subscribe(&r, type, version, &out->u.subscribe);
		break;
	case MQ_PINGREQ: break;
	case MQ_DISCONNECT:
		if (version == 5 && r.p < r.end) {
			out->u.disconnect.reason = s_u8(&r);
			if (r.p < r.end)
				s_props_read(&r, MQ_DISCONNECT, &out->u.disconnect.props);
		}
		rc = r.err;
		break;
	default: /* the server's own packets, and AUTH: not from a client here */
		return MQ_RC_PROTOCOL;
	}
	if (rc != 0)
		return rc;
	if (r.err != 0)
		return r.err;
	return r.p == r.end ? 0 : MQ_RC_MALFORMED; /* nothing left over */
}

const char *mq_type_name(unsigned type)
{
	static const char *const names[] = { "?", "CONNECT", "CONNACK", "PUBLISH", "PUBACK",
					     "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK",
					     "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP",
					     "DISCONNECT", "AUTH" };
	return type < 16 ? names[type] : "?";
}
