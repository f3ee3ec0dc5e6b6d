/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Another library's event loop, hosted in one of ours: the client daemon
 * runtime's poll loop (clientd.h) and the service runtime's (service.h)
 * both take them. A hosted loop shows itself as an fd to poll, a timeout
 * asked before every wait and a non-blocking turn; for libuv that is
 * uv_backend_fd, uv_backend_timeout and uv_run(loop, UV_RUN_NOWAIT)
 * (hosted_uv.h has the adapter). It gets a turn when its fd is ready or
 * its timeout is due, never otherwise, so an idle host does not spin.
 * Everything of it runs on the host's thread.
 */
#ifndef TRC_HOSTED_H
#define TRC_HOSTED_H

#include <stddef.h>
#include <stdint.h>

#define TRC_HOSTED_MAX 8   /* hosted loops a runtime takes at most */

/* Another library's event loop, in ours. */
typedef struct {
	int fd;             /* polled for events (e.g. uv_backend_fd); -1: none */
	short events;       /* POLLIN, POLLOUT (ZMQ_POLLIN, ZMQ_POLLOUT: the same bits) */
	/* Asked before every wait: ms until it needs a turn whether or not
	 * its fd is ready, -1 for only when it is (uv_backend_timeout). May
	 * be NULL: -1. */
	int (*timeout)(void *ud);
	/* Its turn (uv_run(loop, UV_RUN_NOWAIT)): revents of its fd, 0 when
	 * its timeout came. */
	void (*run)(void *ud, short revents);
	void *ud;
} trc_hosted_t;

/* The loops a runtime hosts, and when each wants its next turn. */
typedef struct {
	trc_hosted_t h[TRC_HOSTED_MAX];
	int64_t due[TRC_HOSTED_MAX];   /* monotonic ms; -1: only when its fd is ready */
	size_t n;
} trc_hosts_t;

/* Hosts h: TRC_EINVAL without a run or past TRC_HOSTED_MAX. */
int trc_hosts_add(trc_hosts_t *hs, const trc_hosted_t *h);

/* Asks each its timeout (now: monotonic ms) and returns the earliest time
 * one wants a turn, or -1: none but by its fd. */
int64_t trc_hosts_next(trc_hosts_t *hs, int64_t now);

/* A turn for each whose fd is ready (revents[i], of the poll items made
 * from hs->h[i]) or whose time asked in trc_hosts_next has come. */
void trc_hosts_run(trc_hosts_t *hs, const short *revents, int64_t now);

#endif
