/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wire framing: receiving and sending multipart ZeroMQ messages, and the
 * Header frame every message starts with (after the broker's Route frame,
 * between broker and services). See docs/protocol.md.
 */
#ifndef TRC_WIRE_H
#define TRC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "config.h"
#include "traction/v1/bus.pb-c.h"

/* The protocol version this build sends (2: v1.1) and the oldest it
 * still answers (1: the first wave's clients). A reply carries the version
 * of its request, so a version 1 client never sees a version 2 header. */
#define TRC_PROTOCOL_VERSION 2
#define TRC_PROTOCOL_MIN 1
/* The most frames any valid message has: routing id, Route, Header, body. */
#define TRC_MAX_FRAMES 4
/* A Header larger than this is malformed (names are short). */
#define TRC_HEADER_MAX 1024
/* The largest message a socket that only receives subscriptions (the
 * broker's XPUB, a daemon's PUB) accepts: a topic prefix and a byte. */
#define TRC_SUBSCRIPTION_MAX 1024

/* ErrorDetail reasons of an election (docs/protocol.md): the broker knows
 * the service's replicas but none is its leader now; the replica that
 * had the request lost its leadership before it was committed. A client
 * sends the request again, same id, through the same broker, within its
 * deadline: it is not the broker's fault. */
#define TRC_REASON_NO_LEADER "no_leader"
#define TRC_REASON_LEADERSHIP_CHANGED "leadership_changed"

/* A Traction__V1__ReplicaRole for logs: "single", "leader", "follower",
 * "candidate"; "unknown" for another number (a newer peer's). */
const char *trc_replica_role_name(int role);

typedef struct {
	zmq_msg_t part[TRC_MAX_FRAMES];
	int n;            /* parts kept */
	int total;        /* parts received; > n means too many frames */
	int from;         /* which of several sockets it came from: the caller's to
			   * set (a service's broker); trc_msg_recv sets 0 */
} trc_msg_t;

/* Receives every part of one message. Parts beyond TRC_MAX_FRAMES are
 * received and dropped (total tells). Returns 0, or a negative trc_err
 * (TRC_EBUSY when flags had ZMQ_DONTWAIT and nothing was there). */
int trc_msg_recv(void *sock, trc_msg_t *m, int flags);
void trc_msg_close(trc_msg_t *m);

static inline const void *trc_msg_data(trc_msg_t *m, int i)
{
	return zmq_msg_data(&m->part[i]);
}

static inline size_t trc_msg_size(trc_msg_t *m, int i)
{
	return zmq_msg_size(&m->part[i]);
}

typedef struct {
	const void *data;
	size_t len;
} trc_frame_t;

/* A socket monitor of sock for events (ZMQ_EVENT_*), read through *pair
 * (a PAIR of zctx on an inproc address of its own): 0, or a negative
 * trc_err. trc_monitor_event reads one event (its ZMQ_EVENT_* number, or
 * 0 when none waits); trc_monitor_close stops the monitor, reads what it
 * had in flight (a message left in the pipe at close is memory libzmq
 * never frees) and closes *pair. */
int trc_monitor_open(void *zctx, void *sock, int events, void **pair);
int trc_monitor_event(void *pair);
void trc_monitor_close(void *sock, void **pair);

/* Sends n frames as one message. flags: ZMQ_DONTWAIT or 0. */
int trc_send(void *sock, const trc_frame_t *frames, int n, int flags);

/* Protobuf's base-128 varint: writes v at out (room for 10 bytes) and
 * returns its length. */
size_t trc_varint_put(uint8_t *out, uint64_t v);
/* Reads a varint at *off of p[0..n) and advances *off; -1 if truncated or
 * longer than 10 bytes. */
int trc_varint_get(const uint8_t *p, size_t n, size_t *off, uint64_t *v);

/* The occurrences of length-delimited field `field` in a packed message,
 * in order, into out[0..cap) (data and len into the message's bytes): the
 * bytes of each element of a repeated message field as they came. Returns
 * how many, or -1 if the bytes are not well-formed wire data or there are
 * more than cap. */
int trc_wire_fields(const uint8_t *p, size_t n, uint32_t field, trc_frame_t *out, size_t cap);

/* Every string field of a message of type desc in data[0..len), nested
 * messages and repeated fields included, is well-formed UTF-8 without a
 * NUL byte (checked in the bytes: protobuf-c's decoded strings end at the
 * first NUL, and it refuses some bad strings without naming the field).
 * 0; TRC_EINVAL with err naming the field and why
 * ("records[2].idempotency_key: contains a NUL byte"); TRC_EPROTO if the
 * bytes are not protobuf at all. */
int trc_wire_check_strings(const ProtobufCMessageDescriptor *desc, const void *data,
			   size_t len, char *err, size_t errlen);

/* The request_id of a Header frame, read from its bytes whatever else is
 * wrong with it (too large, another version): 0 if none can be read. So
 * that even a refusal reaches the request it refuses. */
uint64_t trc_header_request_id(const void *data, size_t len);

/* The version to answer a Header frame with, read from its bytes however
 * wrong the rest is: its own if this build speaks it, else the oldest
 * (TRC_PROTOCOL_MIN), which every client of any version decodes. */
uint32_t trc_header_version(const void *data, size_t len);

/* The service and method a Header frame names, read from its bytes
 * without decoding it (a loop that must not spend memory on a request it
 * only sets aside): copied with a NUL, "" where absent or longer than the
 * room. false if the bytes are not wire data. */
bool trc_header_names(const void *data, size_t len, char *service, size_t slen, char *method,
		      size_t mlen);

/* Packs h into buf; returns its length, or 0 if it does not fit. */
size_t trc_header_pack(const Traction__V1__Header *h, uint8_t *buf, size_t cap);

/* Decodes and checks a Header frame: size, protocol version, known kind,
 * strings (trc_wire_check_strings). On error returns NULL and points *why
 * at a reason (static, or the calling thread's until its next call). The result is
 * freed with protobuf_c_message_free_unpacked(hdr, allocator). */
Traction__V1__Header *trc_header_unpack(ProtobufCAllocator *al, const void *data,
					size_t len, const char **why);

/* Sets the options every traction socket gets from the configuration:
 * high-water marks, the largest message, linger, heartbeats of TCP. */
int trc_socket_setup(void *sock, const trc_config_t *cfg);

#endif
