/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Raw DEALER helpers for integration tests. See rawsock.h.
 */
#include "rawsock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "util.h"
#include "wire.h"

void raw_open(raw_t *r, const char *endpoint)
{
	int linger = 0, hwm = 0;
	r->ctx = zmq_ctx_new();
	r->sock = zmq_socket(r->ctx, ZMQ_DEALER);
	zmq_setsockopt(r->sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(r->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(r->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	if (zmq_connect(r->sock, endpoint) != 0) {
		fprintf(stderr, "raw: cannot connect to %s\n", endpoint);
		exit(1);
	}
}

void raw_close(raw_t *r)
{
	zmq_close(r->sock);
	zmq_ctx_term(r->ctx);
}

void raw_request(raw_t *r, const char *service, const char *method, uint64_t id,
		 const void *body, size_t blen)
{
	raw_request_v(r, TRC_PROTOCOL_VERSION, service, method, id, body, blen);
}

void raw_request_v(raw_t *r, uint32_t version, const char *service, const char *method,
		   uint64_t id, const void *body, size_t blen)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	uint8_t hbuf[TRC_HEADER_MAX];
	h.version = version;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)service;
	h.method = (char *)method;
	h.request_id = id;
	size_t hlen = trc_header_pack(&h, hbuf, sizeof(hbuf));
	trc_frame_t f[2] = { { hbuf, hlen }, { body != NULL ? body : "", blen } };
	trc_send(r->sock, f, 2, 0);
}

Traction__V1__Header *raw_reply(raw_t *r, int timeout_ms, void **body, size_t *blen)
{
	zmq_pollitem_t it = { r->sock, 0, ZMQ_POLLIN, 0 };
	if (body != NULL)
		*body = NULL;
	if (zmq_poll(&it, 1, timeout_ms) <= 0)
		return NULL;
	trc_msg_t m;
	if (trc_msg_recv(r->sock, &m, 0) != 0)
		return NULL;
	const char *why;
	Traction__V1__Header *h = trc_header_unpack(NULL, trc_msg_data(&m, 0),
						    trc_msg_size(&m, 0), &why);
	if (h != NULL && body != NULL && m.n > 1) {
		*blen = trc_msg_size(&m, 1);
		*body = malloc(*blen + 1);
		memcpy(*body, trc_msg_data(&m, 1), *blen);
	}
	trc_msg_close(&m);
	return h;
}

/* ---- a subscriber in raw ZMTP 3.0 (RFC 23), NULL mechanism ----------------- */

static int s_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One ZMTP frame: flags (command, long) and size before the body. */
static int s_zmtp_frame(int fd, bool command, const void *body, size_t len)
{
	uint8_t head[9];
	size_t hl;
	if (len > 255) {
		head[0] = (uint8_t)(0x02 | (command ? 0x04 : 0));
		for (int i = 0; i < 8; i++)
			head[1 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		hl = 9;
	} else {
		head[0] = (uint8_t)(command ? 0x04 : 0);
		head[1] = (uint8_t)len;
		hl = 2;
	}
	return s_write_all(fd, head, hl) == 0 && s_write_all(fd, body, len) == 0 ? 0 : -1;
}

int raw_zmtp_subscribe(const char *endpoint, const void *prefix, size_t len, int wait_ms)
{
	unsigned port = 0;
	if (sscanf(endpoint, "tcp://127.0.0.1:%u", &port) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* greeting: signature (its padding a ZMTP 1.0 length of 1, as libzmq
	 * wants), version 3.0, mechanism NULL, as-server 0 */
	uint8_t greet[64] = { 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0 };
	memcpy(greet + 12, "NULL", 4);
	static const uint8_t ready[] = { 5, 'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o', 'c', 'k', 'e',
					 't', '-', 'T', 'y', 'p', 'e', 0, 0, 0, 3, 'S', 'U', 'B' };
	uint8_t *sub = malloc(len + 1);
	sub[0] = 1; /* subscribe */
	memcpy(sub + 1, prefix, len);
	/* libzmq drops a peer whose READY comes before its own greeting went
	 * out whole: read the 64 bytes of it first */
	int rc = s_write_all(fd, greet, sizeof(greet)) == 0 ? 0 : 1;
	uint8_t theirs[64];
	size_t got = 0;
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (rc == 0 && got < sizeof(theirs)) {
		ssize_t k = recv(fd, theirs + got, sizeof(theirs) - got, 0);
		if (k <= 0)
			rc = 1;
		else
			got += (size_t)k;
	}
	if (rc == 0 && (s_zmtp_frame(fd, true, ready, sizeof(ready)) != 0 ||
			s_zmtp_frame(fd, false, sub, len + 1) != 0))
		rc = 1; /* cut off while we were still writing */
	free(sub);
	/* read what the broker sends (its greeting and READY) until it closes
	 * the connection or the wait is over */
	int64_t end = trc_mono_ms() + wait_ms;
	while (rc == 0 && trc_mono_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)(end - trc_mono_ms())) <= 0)
			break;
		uint8_t buf[4096];
		ssize_t k = recv(fd, buf, sizeof(buf), 0);
		if (k <= 0)
			rc = 1;
	}
	close(fd);
	return rc;
}
