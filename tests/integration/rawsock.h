/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A raw DEALER on a broker endpoint, for tests that must send what no
 * well-behaved client sends, or many requests without waiting.
 */
#ifndef TRC_RAWSOCK_H
#define TRC_RAWSOCK_H

#include <stdint.h>
#include <zmq.h>

#include "traction/v1/bus.pb-c.h"

typedef struct {
	void *ctx;
	void *sock;
} raw_t;

void raw_open(raw_t *r, const char *endpoint);
void raw_close(raw_t *r);
/* Sends a request [Header][body] for service.method with request id. */
void raw_request(raw_t *r, const char *service, const char *method, uint64_t id,
		 const void *body, size_t blen);
/* The same with a header of the given protocol version. */
void raw_request_v(raw_t *r, uint32_t version, const char *service, const char *method,
		   uint64_t id, const void *body, size_t blen);
/* Receives a reply within timeout_ms: its header (free with
 * protobuf_c_message_free_unpacked(h, NULL)) and the body into *body (malloc'd). */
Traction__V1__Header *raw_reply(raw_t *r, int timeout_ms, void **body, size_t *blen);

/* A subscriber that speaks ZMTP 3.0 itself over TCP (endpoint
 * "tcp://127.0.0.1:PORT") and subscribes to prefix[0..len): what a hostile
 * peer sends without a libzmq of its own (libzmq's SUB keeps its own trie
 * of what it subscribes to, and a long enough prefix crashes the sender
 * first). Returns 1 if the peer closed the connection within wait_ms, 0 if
 * it kept it open, -1 if no connection could be made. */
int raw_zmtp_subscribe(const char *endpoint, const void *prefix, size_t len, int wait_ms);

#endif
