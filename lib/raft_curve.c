/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C-Raft's connections carried over CurveZMQ, on raft's own libuv loop:
 * a ROUTER (CurveZMQ server, ZAP: role = service keys) per node, a DEALER
 * (CurveZMQ client) per outgoing connection, and a socketpair per stream
 * that raft reads or writes as it would a TCP socket. See raft_curve.h.
 */
#include "raft_curve_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include <zmq.h>

#include "error.h"
#include "log.h"
#include "wire.h"
#include "traction/v1/bus.pb-c.h"

static void s_router_pump(s_rc_t *rc);
static void s_dealer_pump(s_conn_t *c);

static int s_errmsg(s_rc_t *rc, int code, const char *what)
{
	snprintf(rc->t->errmsg, sizeof(rc->t->errmsg), "%.120s: %.120s", what, zmq_strerror(errno));
	return code;
}

/* ------------------------------------------------------------ closing */

static void s_maybe_finish(s_rc_t *rc)
{
	if (!rc->closing || rc->conns != NULL || rc->open > 0 || rc->close_cb == NULL)
		return;
	raft_uv_transport_close_cb cb = rc->close_cb;
	rc->close_cb = NULL;
	cb(rc->t);
}

static void s_conn_free(s_conn_t *c)
{
	s_rc_t *rc = c->rc;
	for (s_conn_t **p = &rc->conns; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	free(c);
	s_maybe_finish(rc);
}

static void s_conn_handle_closed(uv_handle_t *h)
{
	s_conn_t *c = h->data;
	if (--c->open == 0)
		s_conn_free(c);
}

static void s_close_handle(s_conn_t *c, void *h)
{
	((uv_handle_t *)h)->data = c;
	uv_close(h, s_conn_handle_closed);
}

static void s_zclose(s_conn_t *c, void **sock, uv_poll_t *poll)
{
	if (poll->data == c)
		s_close_handle(c, poll); /* epoll forgets the fd before ZeroMQ closes it */
	if (*sock == NULL)
		return;
	zmq_close(*sock);
	*sock = NULL;
}

/* Ends a stream: raft sees EOF or a write error on its end, as on TCP; an
 * outgoing connection raft is still waiting for fails (RAFT_CANCELED when
 * the transport closes). */
static void s_conn_close(s_conn_t *c)
{
	if (c->closing)
		return;
	c->closing = true;
	s_rc_t *rc = c->rc;
	if (!c->inbound) {
		/* the monitor first: libzmq's I/O thread sends its events blocking,
		 * and would hang (the whole context) on a monitor nobody reads.
		 * (Not trc_monitor_close: it waits for the last event, and raft's
		 * loop has heartbeats to keep.) */
		if (c->dealer != NULL)
			zmq_socket_monitor(c->dealer, NULL, 0);
		s_zclose(c, &c->dealer, &c->dealer_poll);
		s_zclose(c, &c->mon, &c->mon_poll);
		s_close_handle(c, &c->timer);
	} else if (rc->router != NULL) {
		zmq_send(rc->router, c->rid, c->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
		zmq_send(rc->router, (char[]){ S_BYE }, 1, ZMQ_DONTWAIT);
	}
	if (c->mine_open)
		s_close_handle(c, &c->mine);
	if (c->req != NULL) {
		struct raft_uv_connect *req = c->req;
		c->req = NULL;
		rc->st.failed++;
		c->cb(req, NULL, rc->closing ? RAFT_CANCELED : RAFT_NOCONNECTION);
	}
	if (c->open == 0)
		s_conn_free(c);
}

/* ------------------------------------------------------------ streams */

static void s_raft_free(uv_handle_t *h)
{
	raft_free(h);
}

/* A socketpair: ours in c->mine, raft's as a new uv_pipe_t (raft frees it
 * with raft_free once it has closed it). */
static uv_stream_t *s_pair(s_conn_t *c)
{
	int fds[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
		return NULL;
	uv_pipe_t *theirs = raft_malloc(sizeof(*theirs));
	if (theirs == NULL || uv_pipe_init(c->rc->loop, theirs, 0) != 0) {
		raft_free(theirs);
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	uv_pipe_init(c->rc->loop, &c->mine, 0);
	c->mine_open = true; /* closed with the connection: fds[0] then too */
	c->open++;
	c->mine.data = c;
	if (uv_pipe_open(&c->mine, fds[0]) != 0) {
		close(fds[0]);
		fds[0] = -1;
	}
	if (fds[0] < 0 || uv_pipe_open(theirs, fds[1]) != 0) {
		close(fds[1]);
		uv_close((uv_handle_t *)theirs, s_raft_free);
		return NULL;
	}
	return (uv_stream_t *)theirs;
}

static void s_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	s_conn_t *c = h->data;
	(void)size;
	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

/* Raft wrote on an outgoing stream: to the DEALER; when ZeroMQ's queue is
 * full, raft's end waits (no more reading) until it has room. */
static void s_out_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	s_conn_t *c = s->data;
	(void)buf;
	if (nread < 0) {
		s_conn_close(c);
		return;
	}
	if (nread == 0 || c->dealer == NULL)
		return;
	if (zmq_send(c->dealer, c->rbuf, (size_t)nread, ZMQ_DONTWAIT) < 0) {
		if (errno != EAGAIN) {
			s_conn_close(c);
			return;
		}
		c->npending = (size_t)nread;
		uv_read_stop(s);
	} else {
		c->rc->st.bytes_out += (uint64_t)nread;
	}
	s_dealer_pump(c);
}

/* Raft reads incoming streams and never writes them: a read is its end
 * closing. */
static void s_in_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	s_conn_t *c = s->data;
	(void)buf;
	if (nread >= 0)
		return;
	s_conn_close(c);
	s_router_pump(c->rc);
}

static void s_written(uv_write_t *w, int status)
{
	s_wreq_t *r = (s_wreq_t *)w;
	s_rc_t *rc = r->rc;
	(void)status;
	rc->queued -= zmq_msg_size(&r->msg);
	zmq_msg_close(&r->msg);
	free(r);
	if (rc->held && rc->queued <= S_QUEUED_MAX / 2) {
		rc->held = false;
		s_router_pump(rc);
	}
}

/* Hands msg's bytes to raft's incoming stream, without a copy. */
static void s_deliver(s_conn_t *c, zmq_msg_t *msg)
{
	s_rc_t *rc = c->rc;
	s_wreq_t *r = malloc(sizeof(*r));
	if (r == NULL) {
		zmq_msg_close(msg);
		s_conn_close(c); /* raft resends what the stream lost */
		return;
	}
	r->rc = rc;
	zmq_msg_init(&r->msg);
	zmq_msg_move(&r->msg, msg);
	size_t n = zmq_msg_size(&r->msg);
	uv_buf_t b = uv_buf_init(zmq_msg_data(&r->msg), (unsigned)n);
	if (uv_write(&r->w, (uv_stream_t *)&c->mine, &b, 1, s_written) != 0) {
		zmq_msg_close(&r->msg);
		free(r);
		s_conn_close(c);
		return;
	}
	rc->queued += n;
	rc->st.bytes_in += n;
}

/* ------------------------------------------------------------ the server */

static s_conn_t *s_by_rid(s_rc_t *rc, const zmq_msg_t *rid)
{
	for (s_conn_t *c = rc->conns; c != NULL; c = c->next)
		if (c->inbound && c->rid_len == zmq_msg_size(rid) &&
		    memcmp(c->rid, zmq_msg_data((zmq_msg_t *)rid), c->rid_len) == 0)
			return c;
	return NULL;
}

/* A hello from a peer that got through the handshake (its key is a
 * service key): raft gets a new incoming stream. An older stream of the
 * same raft id ends (its connection is gone or going, see raft_curve.h). */
static void s_accept(s_rc_t *rc, zmq_msg_t *rid, zmq_msg_t *hello)
{
	const unsigned char *h = zmq_msg_data(hello);
	size_t n = zmq_msg_size(hello);
	if (n < 10 || n > 9 + S_ADDR - 1 || h[0] != S_HELLO || rc->accept_cb == NULL ||
	    zmq_msg_size(rid) > sizeof(((s_conn_t *)0)->rid))
		return;
	raft_id id = 0;
	for (int i = 1; i <= 8; i++)
		id = id << 8 | h[i];
	char address[S_ADDR];
	memcpy(address, h + 9, n - 9);
	address[n - 9] = '\0';
	for (s_conn_t *c = rc->conns; c != NULL; c = c->next)
		if (c->inbound && c->peer == id)
			s_conn_close(c);
	s_conn_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->rc = rc;
	c->inbound = true;
	c->peer = id;
	c->rid_len = zmq_msg_size(rid);
	memcpy(c->rid, zmq_msg_data(rid), c->rid_len);
	c->next = rc->conns;
	rc->conns = c;
	uv_stream_t *theirs = s_pair(c);
	if (theirs == NULL || uv_read_start((uv_stream_t *)&c->mine, s_alloc, s_in_read) != 0) {
		s_conn_close(c);
		return;
	}
	zmq_send(rc->router, c->rid, c->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(rc->router, (char[]){ S_ACCEPT }, 1, ZMQ_DONTWAIT);
	c->handed = true;
	rc->st.accepted++;
	trc_debug("raft: stream from %llu (%s)", (unsigned long long)id, address);
	rc->accept_cb(rc->t, id, address, theirs);
}

/* One message from the ROUTER: a routing id, then one frame (more are
 * a peer's mistake, dropped). */
static void s_router_one(s_rc_t *rc)
{
	zmq_msg_t rid, body;
	zmq_msg_init(&rid);
	zmq_msg_init(&body);
	if (zmq_msg_recv(&rid, rc->router, ZMQ_DONTWAIT) < 0 || !zmq_msg_more(&rid) ||
	    zmq_msg_recv(&body, rc->router, ZMQ_DONTWAIT) < 0)
		goto done;
	while (zmq_msg_more(&body)) { /* drain a longer one */
		zmq_msg_t x;
		zmq_msg_init(&x);
		int more = zmq_msg_recv(&x, rc->router, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&x);
		zmq_msg_close(&x);
		if (!more) {
			zmq_msg_close(&rid);
			zmq_msg_close(&body);
			return;
		}
	}
	s_conn_t *c = s_by_rid(rc, &rid);
	if (c == NULL)
		s_accept(rc, &rid, &body);
	else if (!c->closing && zmq_msg_size(&body) > 0)
		s_deliver(c, &body);
done:
	zmq_msg_close(&rid);
	zmq_msg_close(&body);
}

static void s_router_pump(s_rc_t *rc)
{
	if (rc->pumping || rc->router == NULL)
		return;
	rc->pumping = true;
	while (rc->router != NULL && (s_events(rc->router) & ZMQ_POLLIN)) {
		if (rc->queued > S_QUEUED_MAX) { /* raft reads on: s_written calls again */
			rc->held = true;
			break;
		}
		s_router_one(rc);
	}
	rc->pumping = false;
}

static void s_router_poll(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	s_router_pump(h->data);
}

static void s_rc_handle_closed(uv_handle_t *h)
{
	s_rc_t *rc = h->data;
	rc->open--;
	s_maybe_finish(rc);
}

/* A socket of the transport's own polled on the loop. */
static int s_watch(s_rc_t *rc, void *sock, uv_poll_t *p, uv_poll_cb cb)
{
	int fd;
	size_t len = sizeof(fd);
	if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) != 0 || uv_poll_init(rc->loop, p, fd) != 0)
		return -1;
	p->data = rc;
	rc->open++;
	return uv_poll_start(p, UV_READABLE, cb);
}

/* Options of every socket: no linger, heartbeats, and queues of S_HWM
 * messages (1 MiB of raft's bytes a connection, not ZeroMQ's 1,000). */
static void s_heartbeats(s_rc_t *rc, void *s)
{
	int zero = 0, ivl = rc->heartbeat_ms, timeout = 3 * rc->heartbeat_ms, hwm = S_HWM;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl));
	zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof(timeout));
	zmq_setsockopt(s, ZMQ_HEARTBEAT_TTL, &timeout, sizeof(timeout));
}

static int s_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
	s_rc_t *rc = t->impl;
	char ep[S_ADDR + 8];
	int one = 1;
	int64_t max = S_CHUNK + 64;
	snprintf(ep, sizeof(ep), "tcp://%s", rc->bind[0] ? rc->bind : rc->address);
	rc->router = zmq_socket(rc->zctx, ZMQ_ROUTER);
	if (rc->router == NULL)
		return s_errmsg(rc, RAFT_IOERR, "raft transport: ROUTER");
	s_heartbeats(rc, rc->router);
	if (zmq_setsockopt(rc->router, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(rc->router, ZMQ_CURVE_SECRETKEY, rc->sec, TRC_Z85_KEY) != 0 ||
	    zmq_setsockopt(rc->router, ZMQ_ZAP_DOMAIN, S_DOMAIN, strlen(S_DOMAIN)) != 0 ||
	    zmq_setsockopt(rc->router, ZMQ_MAXMSGSIZE, &max, sizeof(max)) != 0)
		return s_errmsg(rc, RAFT_IOERR, "raft transport: CurveZMQ");
	if (zmq_bind(rc->router, ep) != 0)
		return s_errmsg(rc, RAFT_IOERR, ep);
	rc->accept_cb = cb;
	if (s_watch(rc, rc->zap, &rc->zap_poll, trc_raft_curve__zap_poll) != 0 ||
	    s_watch(rc, rc->router, &rc->router_poll, s_router_poll) != 0)
		return s_errmsg(rc, RAFT_IOERR, "raft transport: uv_poll");
	/* the edge rule (s_conn_timer): look once before the fds say anything */
	trc_raft_curve__zap_poll(&rc->zap_poll, 0, 0);
	s_router_pump(rc);
	trc_info("raft: listening on %s with CurveZMQ (server key %s)", ep, rc->pub);
	return 0;
}

/* ------------------------------------------------------------ the client */

/* The server took our hello: raft gets the stream it asked for. */
static void s_connected(s_conn_t *c)
{
	uv_stream_t *theirs = s_pair(c);
	if (theirs == NULL || uv_read_start((uv_stream_t *)&c->mine, s_alloc, s_out_read) != 0) {
		s_conn_close(c);
		return;
	}
	uv_timer_stop(&c->timer);
	struct raft_uv_connect *req = c->req;
	c->req = NULL;
	c->handed = true;
	c->rc->st.connected++;
	trc_debug("raft %llu: stream to %llu", (unsigned long long)c->rc->id, (unsigned long long)c->peer);
	c->cb(req, theirs, 0);
}

static void s_dealer_pump(s_conn_t *c)
{
	int ev;
	while (c->dealer != NULL && (ev = s_events(c->dealer)) != 0) {
		if ((ev & ZMQ_POLLOUT) && c->npending > 0 &&
		    zmq_send(c->dealer, c->rbuf, c->npending, ZMQ_DONTWAIT) >= 0) {
			c->rc->st.bytes_out += c->npending;
			c->npending = 0;
			uv_read_start((uv_stream_t *)&c->mine, s_alloc, s_out_read);
			continue;
		}
		if (!(ev & ZMQ_POLLIN))
			break;
		char m[2];
		int n = zmq_recv(c->dealer, m, sizeof(m), ZMQ_DONTWAIT);
		if (n == 1 && m[0] == S_ACCEPT && !c->handed && !c->closing)
			s_connected(c);
		else if (n == 1 && m[0] == S_BYE)
			s_conn_close(c);
	}
}

static void s_dealer_poll(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	s_dealer_pump(h->data);
}

/* The DEALER's connection went (or never came): the stream ends. */
static void s_mon_poll(uv_poll_t *h, int status, int events)
{
	s_conn_t *c = h->data;
	(void)status;
	(void)events;
	while (c->mon != NULL && (s_events(c->mon) & ZMQ_POLLIN)) {
		int what = trc_monitor_event(c->mon);
		if (what != 0 && (what != ZMQ_EVENT_CLOSED || !c->handed)) {
			trc_debug("raft %llu: connection to %llu ended (event 0x%x)",
				  (unsigned long long)c->rc->id, (unsigned long long)c->peer, what);
			s_conn_close(c);
		}
	}
}

/* First at once, to read what the new sockets have: ZMQ_FD signals only
 * once ZMQ_EVENTS has been asked and found nothing (the edge rule), so a
 * socket must be looked at before its fd says anything. Then, at
 * connect_ms, the end of a connection not accepted by then. */
static void s_conn_timer(uv_timer_t *tm)
{
	s_conn_t *c = tm->data;
	if (c->handed || c->kicked) {
		trc_debug("raft %llu: connection to %llu not accepted in %d ms",
			  (unsigned long long)c->rc->id, (unsigned long long)c->peer, c->rc->connect_ms);
		s_conn_close(c);
		return;
	}
	c->kicked = true;
	uv_timer_start(tm, s_conn_timer, (uint64_t)c->rc->connect_ms, 0);
	s_mon_poll(&c->mon_poll, 0, 0);
	s_dealer_pump(c);
}

static int s_conn_watch(s_conn_t *c, void *sock, uv_poll_t *p, uv_poll_cb cb)
{
	int fd;
	size_t len = sizeof(fd);
	if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) != 0 || uv_poll_init(c->rc->loop, p, fd) != 0)
		return -1;
	p->data = c;
	c->open++;
	return uv_poll_start(p, UV_READABLE, cb);
}

/* A DEALER that does not reconnect, a CurveZMQ client of the peer's key,
 * and its monitor. */
static int s_dealer(s_conn_t *c, const char *address)
{
	s_rc_t *rc = c->rc;
	char ep[S_ADDR + 8];
	int none = -1;
	c->dealer = zmq_socket(rc->zctx, ZMQ_DEALER);
	if (c->dealer == NULL)
		return -1;
	s_heartbeats(rc, c->dealer);
	snprintf(ep, sizeof(ep), "tcp://%s", address);
	if (zmq_setsockopt(c->dealer, ZMQ_RECONNECT_IVL, &none, sizeof(none)) != 0 ||
	    zmq_setsockopt(c->dealer, ZMQ_CURVE_SERVERKEY, trc_raft_curve__peer_key(rc, c->peer), TRC_Z85_KEY) != 0 ||
	    zmq_setsockopt(c->dealer, ZMQ_CURVE_PUBLICKEY, rc->pub, TRC_Z85_KEY) != 0 ||
	    zmq_setsockopt(c->dealer, ZMQ_CURVE_SECRETKEY, rc->sec, TRC_Z85_KEY) != 0 ||
	    trc_monitor_open(rc->zctx, c->dealer, S_MON_EVENTS, &c->mon) != 0 ||
	    zmq_connect(c->dealer, ep) != 0)
		return -1;
	unsigned char hello[9 + S_ADDR];
	size_t n = strlen(rc->address);
	hello[0] = S_HELLO;
	for (int i = 0; i < 8; i++)
		hello[1 + i] = (unsigned char)(rc->id >> (56 - 8 * i));
	memcpy(hello + 9, rc->address, n);
	if (zmq_send(c->dealer, hello, 9 + n, ZMQ_DONTWAIT) < 0)
		return -1;
	if (s_conn_watch(c, c->dealer, &c->dealer_poll, s_dealer_poll) != 0 ||
	    s_conn_watch(c, c->mon, &c->mon_poll, s_mon_poll) != 0)
		return -1;
	return 0;
}

static int s_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
		     const char *address, raft_uv_connect_cb cb)
{
	s_rc_t *rc = t->impl;
	if (rc->closing || strlen(address) >= S_ADDR)
		return RAFT_NOCONNECTION;
	s_conn_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return RAFT_NOMEM;
	c->rc = rc;
	c->peer = id;
	c->next = rc->conns;
	rc->conns = c;
	uv_timer_init(rc->loop, &c->timer);
	c->timer.data = c;
	c->open++;
	if (s_dealer(c, address) != 0 ||
	    uv_timer_start(&c->timer, s_conn_timer, 0, 0) != 0) {
		s_errmsg(rc, 0, address);
		s_conn_close(c); /* c->req is not set: raft hears it from the return */
		return RAFT_NOCONNECTION;
	}
	c->req = req;
	c->cb = cb;
	return 0;
}

/* ------------------------------------------------------------ the transport */

static int s_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
	s_rc_t *rc = t->impl;
	if (strlen(address) >= S_ADDR) {
		snprintf(t->errmsg, sizeof(t->errmsg), "raft transport: address too long");
		return RAFT_INVALID;
	}
	rc->id = id;
	snprintf(rc->address, sizeof(rc->address), "%s", address);
	return 0;
}

static void s_close_poll(s_rc_t *rc, void **sock, uv_poll_t *p)
{
	if (p->data == rc)
		uv_close((uv_handle_t *)p, s_rc_handle_closed);
	if (*sock != NULL)
		zmq_close(*sock);
	*sock = NULL;
}

static void s_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
	s_rc_t *rc = t->impl;
	rc->closing = true;
	rc->close_cb = cb;
	for (s_conn_t *c = rc->conns, *next; c != NULL; c = next) {
		next = c->next;
		s_conn_close(c);
	}
	s_close_poll(rc, &rc->router, &rc->router_poll);
	s_close_poll(rc, &rc->zap, &rc->zap_poll);
	s_maybe_finish(rc);
}


void trc_raft_curve__methods(struct raft_uv_transport *t)
{
	t->init = s_init;
	t->listen = s_listen;
	t->connect = s_connect;
	t->close = s_close;
}
