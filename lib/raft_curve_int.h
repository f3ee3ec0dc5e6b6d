/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the CurveZMQ raft transport (raft_curve.h): its state, shared by
 * raft_curve.c (the streams, the server and the client) and
 * raft_curve_keys.c (the keys: options, the ZAP handler).
 */
#ifndef TRC_RAFT_CURVE_INT_H
#define TRC_RAFT_CURVE_INT_H

#include <stdbool.h>
#include <uv.h>
#include <zmq.h>

#include "raft_curve.h"

#define S_DOMAIN "traction-raft"  /* the ZAP domain of the raft endpoint */
#define S_CHUNK 65536             /* raft bytes per ZeroMQ message at most */
#define S_HWM 16                  /* messages queued a connection, each way */
#define S_QUEUED_MAX (8u << 20)   /* bytes raft has not read yet before the ROUTER waits */
#define S_ADDR 256
#define S_HELLO 'H'               /* client: 'H', raft id (8 bytes, big-endian), address */
#define S_ACCEPT 'A'              /* server: raft has the stream */
#define S_BYE 'B'                 /* server: raft closed the stream */
#define S_MON_EVENTS (ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED | \
		      ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | \
		      ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

typedef struct s_rc s_rc_t;
typedef struct s_conn s_conn_t;

/* What a peer serves with: z85 if set, else the role = service key of
 * keys_dir named name (looked up at each connection), else our own. */
typedef struct {
	raft_id id;
	char z85[TRC_Z85_KEY + 1];
	char name[65];
} s_peer_t;

/* One raft stream: incoming (a ROUTER peer) or outgoing (a DEALER). */
struct s_conn {
	s_rc_t *rc;
	s_conn_t *next;
	bool inbound, closing, handed, kicked;
	int open;                     /* our uv handles not closed yet */
	uv_pipe_t mine;               /* our end of the socketpair */
	bool mine_open;
	raft_id peer;
	/* outgoing */
	void *dealer, *mon;
	uv_poll_t dealer_poll, mon_poll;
	uv_timer_t timer;
	struct raft_uv_connect *req;
	raft_uv_connect_cb cb;
	size_t npending;              /* of rbuf, not taken by ZeroMQ yet */
	char rbuf[S_CHUNK];
	/* incoming */
	unsigned char rid[256];       /* the ROUTER's routing id of the peer */
	size_t rid_len;
};

struct s_rc {
	struct raft_uv_transport *t;
	uv_loop_t *loop;
	void *zctx, *router, *zap;
	uv_poll_t router_poll, zap_poll;
	int open;                     /* the two polls, while open */
	bool closing, pumping, held;
	raft_uv_transport_close_cb close_cb;
	raft_uv_accept_cb accept_cb;
	trc_keys_t *keys;
	char keys_dir[4096];
	char pub[TRC_Z85_KEY + 1], sec[TRC_Z85_KEY + 1];
	char bind[S_ADDR];
	raft_id id;
	char address[S_ADDR];
	int connect_ms, heartbeat_ms;
	s_peer_t *peers;
	size_t n_peers;
	size_t queued;                /* written to incoming streams, not read by raft yet */
	s_conn_t *conns;
	trc_raft_curve_stats_t st;
};

typedef struct {
	uv_write_t w;
	zmq_msg_t msg;
	s_rc_t *rc;
} s_wreq_t;

/* ZMQ_FD only says "look" (edge-triggered): the truth is ZMQ_EVENTS. */
static inline int s_events(void *s)
{
	int ev = 0;
	size_t len = sizeof(ev);
	return zmq_getsockopt(s, ZMQ_EVENTS, &ev, &len) == 0 ? ev : 0;
}

/* raft_curve_keys.c: the ZAP handler's turn (a uv_poll callback). */
void trc_raft_curve__zap_poll(uv_poll_t *h, int status, int events);
/* raft_curve.c: the raft_uv_transport methods, into t. */
void trc_raft_curve__methods(struct raft_uv_transport *t);
/* raft_curve_keys.c: the public key the peer with this raft id serves with. */
const char *trc_raft_curve__peer_key(const s_rc_t *rc, raft_id id);

#endif
