/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A TCP proxy on a libuv loop for the raft transport's tests: what
 * passes through it (both ways) is recorded, and its connections can be
 * cut at once (a peer lost without a word).
 */
#ifndef TRC_TEST_RNPROXY_H
#define TRC_TEST_RNPROXY_H

#include <stddef.h>
#include <uv.h>

typedef struct {
	char *data;
	size_t len, cap;
} rn_wire_t;

typedef struct rn_proxy rn_proxy_t;

/* 127.0.0.1:port to 127.0.0.1:to_port; every byte appended to *wire
 * (NULL: not recorded). Exits the test if it cannot listen. */
rn_proxy_t *rn_proxy_start(uv_loop_t *loop, int port, int to_port, rn_wire_t *wire);
/* Connections it carried (accepted) so far. */
int rn_proxy_accepted(const rn_proxy_t *p);
/* Closes every connection it carries now (both sides see FIN). */
void rn_proxy_cut(rn_proxy_t *p);
/* Closes it all; freed once the loop has run its close callbacks. */
void rn_proxy_close(rn_proxy_t *p);

#endif
