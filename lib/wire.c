/*
 * Multipart receive/send and the Header frame. See wire.h.
 */
#include "wire.h"

#include <errno.h>
#include <string.h>

#include "error.h"

int trc_msg_recv(void *sock, trc_msg_t *m, int flags)
{
	m->n = 0;
	m->total = 0;
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

int trc_wire_fields(const uint8_t *p, size_t n, uint32_t field, trc_frame_t *out, size_t cap)
{
	size_t off = 0, k = 0;
	while (off < n) {
		uint64_t tag, len;
		if (trc_varint_get(p, n, &off, &tag) != 0)
			return -1;
		switch (tag & 7) {
		case 0: /* varint */
			if (trc_varint_get(p, n, &off, &len) != 0)
				return -1;
			break;
		case 1: /* 64-bit */
			if (n - off < 8)
				return -1;
			off += 8;
			break;
		case 5: /* 32-bit */
			if (n - off < 4)
				return -1;
			off += 4;
			break;
		case 2: /* length-delimited */
			if (trc_varint_get(p, n, &off, &len) != 0 || len > n - off)
				return -1;
			if (tag >> 3 == field) {
				if (k == cap)
					return -1;
				out[k].data = p + off;
				out[k].len = (size_t)len;
				k++;
			}
			off += (size_t)len;
			break;
		default:
			return -1;
		}
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
	h = traction__v1__header__unpack(al, len, data);
	if (h == NULL) {
		*why = "header frame is not a traction.v1.Header";
		return NULL;
	}
	if (h->version != TRC_PROTOCOL_VERSION) {
		*why = "unsupported protocol version (this broker speaks version 1)";
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
