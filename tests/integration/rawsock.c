/*
 * Raw DEALER helpers for integration tests. See rawsock.h.
 */
#include "rawsock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	uint8_t hbuf[TRC_HEADER_MAX];
	h.version = TRC_PROTOCOL_VERSION;
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
