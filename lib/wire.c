/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Multipart receive/send and the Header frame. See wire.h.
 */
#include "wire.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "util.h"

int trc_msg_recv(void *sock, trc_msg_t *m, int flags)
{
	m->n = 0;
	m->total = 0;
	m->from = 0;
	for (;;) {
		zmq_msg_t *part;
		zmq_msg_t spill;
		part = m->n < TRC_MAX_FRAMES ? &m->part[m->n] : &spill;
		zmq_msg_init(part);
		if (zmq_msg_recv(part, sock, m->total == 0 ? flags : 0) < 0) {
			int e = errno;
			zmq_msg_close(part);
			trc_msg_close(m);
			return trc_err_from_errno(e);
		}
		int more = zmq_msg_more(part);
		if (part == &spill)
			zmq_msg_close(&spill);
		else
			m->n++;
		m->total++;
		if (!more)
			return TRC_OK;
	}
}

void trc_msg_close(trc_msg_t *m)
{
	for (int i = 0; i < m->n; i++)
		zmq_msg_close(&m->part[i]);
	m->n = 0;
}

int trc_send(void *sock, const trc_frame_t *frames, int n, int flags)
{
	for (int i = 0; i < n; i++) {
		int f = flags | (i + 1 < n ? ZMQ_SNDMORE : 0);
		if (zmq_send(sock, frames[i].data, frames[i].len, f) < 0)
			return trc_err_from_errno(errno);
	}
	return TRC_OK;
}

size_t trc_varint_put(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		out[n++] = b | (v ? 0x80 : 0);
	} while (v);
	return n;
}

int trc_varint_get(const uint8_t *p, size_t n, size_t *off, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		if (*off >= n)
			return -1;
		uint8_t b = p[(*off)++];
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* A varint of one byte (most tags and lengths) without the call. */
static inline int s_varint(const uint8_t *p, size_t n, size_t *off, uint64_t *v)
{
	if (*off < n && p[*off] < 0x80) {
		*v = p[(*off)++];
		return 0;
	}
	return trc_varint_get(p, n, off, v);
}

/* One field of a packed message at *off of p[0..n): its tag, and its
 * value — a varint's in *v, a length-delimited one's bytes in *data and
 * *v (their length); fixed-size values are skipped. Advances *off; -1 if
 * the bytes are not well-formed wire data. */
static int s_field(const uint8_t *p, size_t n, size_t *off, uint64_t *tag, uint64_t *v,
		   const uint8_t **data)
{
	*data = NULL;
	*v = 0;
	if (s_varint(p, n, off, tag) != 0)
		return -1;
	switch (*tag & 7) {
	case 0: /* varint */
		return s_varint(p, n, off, v);
	case 1: /* 64-bit */
		if (n - *off < 8)
			return -1;
		*off += 8;
		return 0;
	case 5: /* 32-bit */
		if (n - *off < 4)
			return -1;
		*off += 4;
		return 0;
	case 2: /* length-delimited */
		if (s_varint(p, n, off, v) != 0 || *v > n - *off)
			return -1;
		*data = p + *off;
		*off += (size_t)*v;
		return 0;
	default:
		return -1;
	}
}

int trc_wire_fields(const uint8_t *p, size_t n, uint32_t field, trc_frame_t *out, size_t cap)
{
	size_t off = 0, k = 0;
	while (off < n) {
		uint64_t tag, len;
		const uint8_t *data;
		if (s_field(p, n, &off, &tag, &len, &data) != 0)
			return -1;
		if (data == NULL || tag >> 3 != field)
			continue;
		if (k == cap)
			return -1;
		out[k].data = data;
		out[k].len = (size_t)len;
		k++;
	}
	return (int)k;
}

size_t trc_header_pack(const Traction__V1__Header *h, uint8_t *buf, size_t cap)
{
	size_t need = traction__v1__header__get_packed_size(h);
	if (need > cap)
		return 0;
	return traction__v1__header__pack(h, buf);
}

Traction__V1__Header *trc_header_unpack(ProtobufCAllocator *al, const void *data,
					size_t len, const char **why)
{
	Traction__V1__Header *h;
	if (len > TRC_HEADER_MAX) {
		*why = "header frame too large";
		return NULL;
	}
	/* "feedback\0x" would be routed to "feedback"; protobuf-c refuses
	 * some bad strings itself but cannot say which field */
	static __thread char s_why[160];
	char field[128];
	if (trc_wire_check_strings(&traction__v1__header__descriptor, data, len, field,
				   sizeof(field)) == TRC_EINVAL) {
		snprintf(s_why, sizeof(s_why), "header.%s", field);
		*why = s_why;
		return NULL;
	}
	h = traction__v1__header__unpack(al, len, data);
	if (h == NULL) {
		*why = "header frame is not a traction.v1.Header";
		return NULL;
	}
	if (h->version < TRC_PROTOCOL_MIN || h->version > TRC_PROTOCOL_VERSION) {
		snprintf(s_why, sizeof(s_why),
			 "unsupported protocol version %u (this build speaks versions %d to %d)",
			 h->version, TRC_PROTOCOL_MIN, TRC_PROTOCOL_VERSION);
		*why = s_why;
		protobuf_c_message_free_unpacked(&h->base, al);
		return NULL;
	}
	if (h->kind <= TRACTION__V1__FRAME_KIND__FRAME_KIND_UNSPECIFIED ||
	    h->kind > TRACTION__V1__FRAME_KIND__FRAME_DISCONNECT) {
		*why = "unknown frame kind";
		protobuf_c_message_free_unpacked(&h->base, al);
		return NULL;
	}
	return h;
}

int trc_socket_setup(void *sock, const trc_config_t *cfg)
{
	int hwm = (int)cfg->queue_limit;
	int64_t maxmsg = (int64_t)cfg->max_message_kb * 1024;
	int linger = 1000; /* let replies already queued go out on close */
	int ka = 1;
	if (zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE, &ka, sizeof(ka)) != 0)
		return trc_err_from_errno(errno);
	return TRC_OK;
}

/* ---- strings, checked on the wire ------------------------------------------ */

/* protobuf-c hands a string field to C as a NUL-terminated copy: a NUL
 * inside it would silently cut the value short ("K\0a" and "K\0b" both
 * become "K"), and it accepts bytes that are not UTF-8 at all. So strings
 * are checked in the bytes, where their length is still known. */

#define WIRE_DEPTH_MAX 16 /* our messages nest four deep at most */

typedef struct {
	const ProtobufCFieldDescriptor *field[WIRE_DEPTH_MAX];
	uint32_t index[WIRE_DEPTH_MAX]; /* occurrence of a repeated field */
	int depth;
	const char *why;
	bool where; /* count occurrences, for index: only to say where it failed */
} wire_walk_t;

/* Why the string p[0..len) cannot be taken (a NUL, which would cut it
 * short, or bytes that are not UTF-8), or NULL. One pass while it is
 * ASCII, eight bytes at a time (a record's strings are, nearly always);
 * from the first byte past ASCII on, the full check. A NUL anywhere is
 * named first, as the check in two passes did. */
static const char *s_text_bad(const uint8_t *p, size_t len)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	size_t i = 0;
	for (; len - i >= 8; i += 8) {
		uint64_t x;
		memcpy(&x, p + i, 8);
		if ((((x - ones) & ~x) | x) & highs)
			break; /* a NUL or a byte past ASCII among these eight */
	}
	for (; i < len && p[i] != 0 && p[i] < 0x80; i++)
		;
	if (i == len)
		return NULL;
	if (memchr(p + i, '\0', len - i) != NULL)
		return "contains a NUL byte";
	return trc_is_utf8(p + i, len - i) ? NULL : "not valid UTF-8";
}

/* The walk runs once, without counting (every request's body goes
 * through it: clearing the 256 bytes of seen[] for each record and
 * counting its fields was half of the walk's time, 8% of feedbackd's loop
 * under bulk ingest), and again with where set only when it found a bad
 * string, to name it: the same bytes fail at the same field. */
static int s_walk(wire_walk_t *w, const ProtobufCMessageDescriptor *d, const uint8_t *p,
		  size_t n)
{
	uint32_t seen[64]; /* occurrences of each field, by index (where) */
	if (w->where)
		memset(seen, 0, sizeof(seen));
	size_t off = 0;
	while (off < n) {
		uint64_t tag, len;
		const uint8_t *v;
		if (s_field(p, n, &off, &tag, &len, &v) != 0)
			return -1;
		if (v == NULL)
			continue; /* numbers: nothing to check */
		const ProtobufCFieldDescriptor *f =
			tag >> 3 <= UINT32_MAX
				? protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3))
				: NULL;
		if (f == NULL || (f->type != PROTOBUF_C_TYPE_STRING &&
				  f->type != PROTOBUF_C_TYPE_MESSAGE))
			continue; /* unknown fields, bytes, packed numbers */
		if (w->depth == WIRE_DEPTH_MAX) {
			w->why = "nested too deeply";
			return -1;
		}
		w->field[w->depth] = f;
		if (w->where) {
			size_t fi = (size_t)(f - d->fields);
			w->index[w->depth] = fi < 64 ? seen[fi] : 0;
			if (fi < 64)
				seen[fi]++;
		}
		w->depth++;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			if ((w->why = s_text_bad(v, (size_t)len)) != NULL)
				return -1;
		} else if (s_walk(w, f->descriptor, v, (size_t)len) != 0) {
			return -1;
		}
		w->depth--;
	}
	return 0;
}

int trc_wire_check_strings(const ProtobufCMessageDescriptor *desc, const void *data,
			   size_t len, char *err, size_t errlen)
{
	wire_walk_t w = { .depth = 0, .why = NULL, .where = false };
	if (s_walk(&w, desc, data, len) == 0)
		return TRC_OK;
	if (w.why == NULL) { /* not well-formed: the decoder says so */
		snprintf(err, errlen, "not a valid %s", desc->name);
		return TRC_EPROTO;
	}
	w = (wire_walk_t){ .depth = 0, .why = NULL, .where = true };
	(void)s_walk(&w, desc, data, len); /* again, to say where */
	/* "records[2].labels[0].value: contains a NUL byte" */
	size_t o = 0;
	err[0] = '\0';
	for (int i = 0; i < w.depth && o < errlen; i++) {
		const ProtobufCFieldDescriptor *f = w.field[i];
		int k = f->label == PROTOBUF_C_LABEL_REPEATED
				? snprintf(err + o, errlen - o, "%s%s[%u]", i ? "." : "", f->name,
					   w.index[i])
				: snprintf(err + o, errlen - o, "%s%s", i ? "." : "", f->name);
		if (k < 0)
			break;
		o += (size_t)k;
	}
	if (o < errlen)
		snprintf(err + o, errlen - o, ": %s", w.why);
	return TRC_EINVAL;
}

/* A varint field of a Header, read from its bytes (the last one wins, as
 * in decoding); dflt if absent or unreadable. */
static uint64_t s_header_varint(const void *data, size_t len, unsigned id, uint64_t dflt)
{
	const uint8_t *p = data;
	size_t off = 0;
	uint64_t out = dflt;
	while (off < len) {
		uint64_t tag, v;
		const uint8_t *bytes;
		if (s_field(p, len, &off, &tag, &v, &bytes) != 0)
			return out;
		if (bytes == NULL && (tag & 7) == 0 && tag >> 3 == id)
			out = v;
	}
	return out;
}

static unsigned s_header_field(const char *name)
{
	return protobuf_c_message_descriptor_get_field_by_name(&traction__v1__header__descriptor,
								 name)
		->id;
}

uint64_t trc_header_request_id(const void *data, size_t len)
{
	return s_header_varint(data, len, s_header_field("request_id"), 0);
}

/* String field `name` of a Header's bytes into out ("" if absent, or
 * if it does not fit); false if the bytes are not wire data. */
static bool s_header_string(const void *data, size_t len, const char *name, char *out,
			    size_t cap)
{
	trc_frame_t f[4];
	int n = trc_wire_fields(data, len, s_header_field(name), f, 4);
	out[0] = '\0';
	if (n < 0)
		return false;
	if (n > 0 && f[n - 1].len < cap) { /* the last one wins */
		memcpy(out, f[n - 1].data, f[n - 1].len);
		out[f[n - 1].len] = '\0';
	}
	return true;
}

bool trc_header_names(const void *data, size_t len, char *service, size_t slen, char *method,
		      size_t mlen)
{
	return s_header_string(data, len, "service", service, slen) &&
	       s_header_string(data, len, "method", method, mlen);
}

uint32_t trc_header_version(const void *data, size_t len)
{
	uint64_t v = s_header_varint(data, len, s_header_field("version"), TRC_PROTOCOL_MIN);
	return v >= TRC_PROTOCOL_MIN && v <= TRC_PROTOCOL_VERSION ? (uint32_t)v : TRC_PROTOCOL_MIN;
}

int trc_monitor_open(void *zctx, void *sock, int events, void **pair)
{
	/* a new address each time: a closed monitor's may still be bound
	 * (libzmq releases it asynchronously) */
	static atomic_uint serial;
	char addr[64];
	int linger = 0;
	snprintf(addr, sizeof(addr), "inproc://trc-monitor-%p-%u", sock,
		 atomic_fetch_add(&serial, 1));
	*pair = NULL;
	if (zmq_socket_monitor(sock, addr, events) != 0 ||
	    (*pair = zmq_socket(zctx, ZMQ_PAIR)) == NULL ||
	    zmq_setsockopt(*pair, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_connect(*pair, addr) != 0)
		return trc_err_from_errno(errno);
	return TRC_OK;
}

int trc_monitor_event(void *pair)
{
	zmq_msg_t m;
	uint16_t event = 0;
	zmq_msg_init(&m);
	if (pair == NULL || zmq_msg_recv(&m, pair, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);
		return 0;
	}
	if (zmq_msg_size(&m) >= 2)
		memcpy(&event, zmq_msg_data(&m), 2);
	while (zmq_msg_more(&m)) { /* the endpoint */
		zmq_msg_close(&m);
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, pair, 0) < 0)
			break;
	}
	zmq_msg_close(&m);
	return event;
}

void trc_monitor_close(void *sock, void **pair)
{
	if (*pair == NULL)
		return;
	zmq_socket_monitor(sock, NULL, 0);
	/* the monitor says MONITOR_STOPPED last: read up to it (a bounded wait) */
	int64_t until = trc_mono_ms() + 200;
	for (;;) {
		int e = trc_monitor_event(*pair);
		if (e == ZMQ_EVENT_MONITOR_STOPPED || trc_mono_ms() >= until)
			break;
		if (e == 0) {
			zmq_pollitem_t it = { *pair, 0, ZMQ_POLLIN, 0 };
			zmq_poll(&it, 1, 10);
		}
	}
	zmq_close(*pair);
	*pair = NULL;
}

const char *trc_replica_role_name(int role)
{
	static const char *const names[] = { "single", "leader", "follower", "candidate" };
	return role >= 0 && role < 4 ? names[role] : "unknown";
}
