/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C-Raft's traffic between hosts over CurveZMQ: a struct raft_uv_transport
 * (raft/uv.h) to give raft_uv_init in place of raft_uv_tcp_init's, so that
 * what replicas send each other is authenticated and encrypted (C-Raft's
 * own TCP transport is plain: issue #30, docs/scale-out.md).
 *
 * Raft gets one end of a socketpair(AF_UNIX, SOCK_STREAM) per connection
 * (a uv_pipe_t); the transport pumps the other end through ZeroMQ on the
 * same libuv loop (uv_poll on ZMQ_FD), with no thread of its own beyond
 * the ZeroMQ context's I/O thread:
 *
 *   - each node binds one ROUTER, a CurveZMQ server with the node's key
 *     pair; its ZAP handler (ZeroMQ RFC 27, on the loop too) lets in only
 *     the keys of keys_dir with role = service: an unknown key, a key of
 *     another role or a plain peer fails the handshake, and raft never
 *     sees a byte of it;
 *   - each connection raft asks for is one DEALER, a CurveZMQ client that
 *     knows the peer's public key (trc_raft_curve_peer_key, or by the
 *     member's name, trc_raft_curve_peer_name; by default the node's own,
 *     for a set whose hosts share the daemons' key pair). Its
 *     first message names the raft id and address; the server answers 'A'
 *     and only then does raft get its stream. The raft id a hello names
 *     is taken as said: any role = service key may speak as any member
 *     (keys_dir is the boundary, as on the bus);
 *   - a connection is never resumed: the DEALER does not reconnect, and
 *     a disconnection (the peer gone, its heartbeats missed, a handshake
 *     refused) closes the socketpair, so raft sees a stream end as on TCP
 *     (a write error on its sending side, which then reconnects; EOF on
 *     its receiving side). A server's raft that closes its end sends the
 *     client 'B' (bye), which ends the client's stream the same way. A new
 *     connection from the same raft id ends the older one (raft keeps one
 *     outgoing connection per peer, and ZeroMQ does not tell a ROUTER that
 *     a peer left without the draft ZMQ_ROUTER_NOTIFY): a peer that dies
 *     leaves its incoming stream open until it connects again, as a TCP
 *     peer that vanishes without a FIN does with C-Raft's own transport.
 *
 * Raft addresses stay "host:port" (tcp://host:port to ZeroMQ; a name is
 * resolved by ZeroMQ). Everything runs on the loop's thread: give it the
 * loop the service runtime hosts (hosted.h). As with any libuv stream, the
 * process must ignore SIGPIPE (daemon.c does): raft writes to a stream
 * whose far end is gone and must see EPIPE, not die.
 */
#ifndef TRC_RAFT_CURVE_H
#define TRC_RAFT_CURVE_H

#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>

#include "keys.h"

typedef struct {
	const char *keys_dir;    /* who may connect: its role = service keys */
	const char *public_key;  /* this node's pair, Z85 (the service key) */
	const char *secret_key;
	/* Where the ROUTER binds, "host:port" (e.g. "0.0.0.0:7501"); NULL:
	 * the node's raft address. The port must be the address's. */
	const char *bind_address;
	unsigned connect_ms;     /* a connection not accepted by then fails; 0: 2000 */
	unsigned heartbeat_ms;   /* ZMTP heartbeats; 3 missed end a connection; 0: 1000 */
} trc_raft_curve_options_t;

/* Counters, for the metrics and the tests. */
typedef struct {
	uint64_t refused;        /* handshakes the ZAP handler refused */
	uint64_t accepted;       /* incoming streams handed to raft */
	uint64_t connected;      /* outgoing streams handed to raft */
	uint64_t failed;         /* outgoing connections that were not accepted */
	uint64_t bytes_in;       /* raft bytes handed to raft's incoming streams */
	uint64_t bytes_out;      /* raft bytes sent from its outgoing streams */
} trc_raft_curve_stats_t;

/* Fills t (then give it to raft_uv_init). Loads keys_dir; a bad option or
 * key file is TRC_ECONFIG with the reason in err. */
int trc_raft_curve_init(struct raft_uv_transport *t, struct uv_loop_s *loop,
			const trc_raft_curve_options_t *o, char *err, size_t errlen);

/* The public key (Z85) the node with this raft id serves with. Only a key
 * of keys_dir with role = service is taken (TRC_EPERM otherwise, and that
 * peer keeps the default: the node's own key). */
int trc_raft_curve_peer_key(struct raft_uv_transport *t, raft_id id, const char *z85);

/* The node with this raft id serves with the role = service key of
 * keys_dir named name (the file name.key): a key per host, named after
 * the member. Looked up at each connection, so a reload's new key counts;
 * while keys_dir has no such key, the default (the node's own). A key set
 * with trc_raft_curve_peer_key comes first. TRC_EINVAL: name too long. */
int trc_raft_curve_peer_name(struct raft_uv_transport *t, raft_id id, const char *name);

/* Puts the keys of keys_dir in force anew (a reload); connections already
 * made stay. TRC_ECONFIG (the old keys stay) if it does not load. */
int trc_raft_curve_reload(struct raft_uv_transport *t, char *err, size_t errlen);

/* (Zeros once trc_raft_curve_close freed it.) */
void trc_raft_curve_stats(const struct raft_uv_transport *t, trc_raft_curve_stats_t *s);

/* Frees what init made: after raft's close callback (raft_uv_close closed
 * the transport first), or when raft never started with it. */
void trc_raft_curve_close(struct raft_uv_transport *t);

#endif
