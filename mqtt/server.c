/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-mqttd's sockets and its loop (mqttd.h says what one turn does):
 * a listener, an epoll set of non-blocking connections in a fixed table of
 * max_connections slots, the workers' eventfd. Hostile input is the
 * connection's problem, never the daemon's: a connection past the table is
 * closed as it comes, a malformed or oversize packet closes its connection
 * only, one that sends no CONNECT or goes silent past its keep alive is
 * closed by the sweep, and one that does not read its acknowledgements
 * stops being read (at receive_maximum unacknowledged) and is closed when
 * its output passes max_output_kb. Past the process's file limit, a
 * spare descriptor lets the listener take each waiting connection and
 * close it, rather than spin on a backlog it cannot accept; when there is
 * no spare (another thread took the descriptor it freed, or none is left),
 * the listeners leave the epoll set until a connection is freed or
 * PAUSE_MS passed.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "util.h"

#define ID_LISTEN UINT64_MAX
#define ID_BUS (UINT64_MAX - 1)
#define ID_LISTEN_TLS (UINT64_MAX - 2)
#define SWEEP_MS 500
#define PAUSE_MS 100

uint64_t mqd_conn_id(const mqd_server_t *srv, const conn_t *c)
{
	return (uint64_t)c->gen << 32 | (uint64_t)(c - srv->conns);
}

void mqd_conn_touch(mqd_server_t *srv, conn_t *c)
{
	if (!c->touched) {
		c->touched = true;
		srv->touched[srv->n_touched++] = (uint32_t)(c - srv->conns);
	}
}

static void s_events(mqd_server_t *srv, conn_t *c)
{
	struct epoll_event ev = { .events = (c->reading ? EPOLLIN : 0) | (c->writing ? EPOLLOUT : 0),
				  .data.u64 = (uint64_t)(c - srv->conns) };
	epoll_ctl(srv->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

bool mqd_conn_send(mqd_server_t *srv, conn_t *c, const uint8_t *p, size_t n)
{
	if (c->closing || c->fd < 0)
		return false;
	if (c->out_len + n > (size_t)srv->mc->max_output_kb << 10) {
		trc_warn("client=%s peer=%s: does not read what it is sent: closed", c->client,
			 c->peer);
		mqd_conn_close(srv, c, 0, NULL);
		return false;
	}
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 1024;
		while (cap < c->out_len + n)
			cap *= 2;
		uint8_t *nb = realloc(c->out, cap);
		if (nb == NULL) {
			mqd_conn_close(srv, c, 0, NULL);
			return false;
		}
		c->out = nb;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	mqd_conn_touch(srv, c);
	return true;
}

/* A write of the head of its output, through TLS if it has it. */
static ssize_t s_send(conn_t *c)
{
	if (c->tls == NULL)
		return send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	ssize_t w = mqd_tls_send(c->tls, c->out, c->out_len);
	if (w < 0)
		errno = w == MQD_TLS_AGAIN ? EAGAIN : EPIPE;
	return w < 0 ? -1 : w;
}

/* Writes what it may now. */
static void s_flush(mqd_server_t *srv, conn_t *c)
{
	if (c->tls != NULL && !mqd_tls_ready(c->tls))
		return; /* the handshake writes its own */
	while (c->out_len > 0) {
		ssize_t w = s_send(c);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			c->out_len = 0;
			c->closing = true;
			break;
		}
		memmove(c->out, c->out + w, c->out_len - (size_t)w);
		c->out_len -= (size_t)w;
	}
	bool want = c->out_len > 0;
	if (want != c->writing) {
		c->writing = want;
		s_events(srv, c);
	}
}

static void s_free(mqd_server_t *srv, conn_t *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	free(c->out);
	free(c->ack);
	free(c->q2);
	mqd_pubsub_will_drop(c);
	mqd_tls_free(&c->tls);
	mqd_job_free(c->pending);
	uint32_t gen = c->gen + 1;
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->gen = gen;
	srv->free[srv->n_free++] = (uint32_t)(c - srv->conns);
	if (srv->paused_until != 0)
		srv->paused_until = 1; /* a descriptor is free: the listeners' turn now */
}

void mqd_conn_close(mqd_server_t *srv, conn_t *c, uint8_t reason, const char *why)
{
	if (!c->used || c->closing)
		return;
	if (c->connected && c->version == 5 && reason != 0) {
		uint8_t b[300];
		size_t n = mq_encode_disconnect(b, sizeof(b), reason, why);
		if (n > 0 && c->out_len + n <= (size_t)srv->mc->max_output_kb << 10)
			mqd_conn_send(srv, c, b, n);
	}
	if (c->connected) {
		HASH_DEL(srv->by_client, c); /* first: its will's session is its own */
		mqd_pubsub_will(srv, c);
		mqd_proto_end(srv, c);
	}
	c->closing = true; /* freed once its output is written, at the turn's end */
	mqd_conn_touch(srv, c);
	epoll_ctl(srv->ep, EPOLL_CTL_DEL, c->fd, NULL);
	srv->n_conns--;
	if (reason != 0)
		trc_info("client=%s peer=%s: closed: reason 0x%02x%s%s", c->client, c->peer,
			 (unsigned)reason, why ? ": " : "", why ? why : "");
	else
		trc_debug("client=%s peer=%s: closed%s%s", c->client, c->peer, why ? ": " : "",
			  why ? why : "");
}

/* A connection closed as it came: counted, logged at most once a second. */
static void s_refused(mqd_server_t *srv, const char *past)
{
	srv->conns_refused++;
	int64_t now = trc_mono_ms();
	if (now - srv->refused_logged_ms >= 1000) {
		srv->refused_logged_ms = now;
		trc_warn("a connection closed as it came: past %s (%llu so far)", past,
			 (unsigned long long)srv->conns_refused);
	}
}

/* The listeners in the epoll set (on) or out of it. */
static void s_listening(mqd_server_t *srv, bool on)
{
	struct epoll_event l = { .events = EPOLLIN, .data.u64 = ID_LISTEN };
	struct epoll_event t = { .events = EPOLLIN, .data.u64 = ID_LISTEN_TLS };
	epoll_ctl(srv->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, srv->lfd, &l);
	if (srv->tls_lfd >= 0)
		epoll_ctl(srv->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, srv->tls_lfd, &t);
}

/* A backlog it cannot take from: the listeners rest (a listener left in the
 * epoll set would wake every turn: a spin) until a connection is freed or
 * PAUSE_MS passed. */
static void s_pause(mqd_server_t *srv, const char *why)
{
	if (srv->paused_until != 0)
		return;
	srv->paused_until = trc_mono_ms() + PAUSE_MS;
	s_listening(srv, false);
	srv->pauses++;
	if (srv->paused_until - srv->pause_logged_ms >= 1000) {
		srv->pause_logged_ms = srv->paused_until;
		trc_warn("connections wait: %s; the listeners rest %d ms (%llu times so far)", why,
			 PAUSE_MS, (unsigned long long)srv->pauses);
	}
}

static void s_resume(mqd_server_t *srv)
{
	if (srv->spare_fd < 0)
		srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	srv->paused_until = 0;
	s_listening(srv, true);
}

/* Past the file limit: a waiting connection taken with the spare and
 * closed (trc_accept_refuse), counted. */
static int s_spare_refuse(mqd_server_t *srv, int lfd)
{
	int r = trc_accept_refuse(lfd, &srv->spare_fd);
	if (r > 0)
		s_refused(srv, "the file limit");
	return r;
}

static void s_accept(mqd_server_t *srv, int lfd, bool tls)
{
	for (;;) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			int r = s_spare_refuse(srv, lfd);
			if (r > 0)
				continue;
			if (r < 0)
				s_pause(srv, "past the file limit, no spare descriptor");
			return;
		}
		if (fd < 0 && (errno == ENOBUFS || errno == ENOMEM)) {
			s_pause(srv, strerror(errno));
			return;
		}
		if (fd < 0)
			return;
		conn_t *c = srv->n_free > 0 ? &srv->conns[srv->free[--srv->n_free]] : NULL;
		if (c == NULL) {
			close(fd); /* a flood: past max_connections */
			s_refused(srv, "max_connections");
			continue;
		}
		c->used = true;
		c->fd = fd;
		c->reading = true;
		c->accepted = c->last_rx = trc_mono_ms();
		inet_ntop(AF_INET, &sa.sin_addr, c->peer, sizeof(c->peer));
		snprintf(c->peer + strlen(c->peer), sizeof(c->peer) - strlen(c->peer), ":%u",
			 ntohs(sa.sin_port));
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)(c - srv->conns) };
		if ((tls && (c->tls = mqd_tls_accept(srv->tls, fd)) == NULL) ||
		    epoll_ctl(srv->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			s_free(srv, c);
			continue;
		}
		srv->n_conns++;
	}
}

void mqd_conn_input(mqd_server_t *srv, conn_t *c)
{
	size_t at = 0;
	size_t max = (size_t)srv->mc->max_packet_kb << 10;
	while (c->used && !c->closing && at < c->in_len) {
		if (c->ack_n >= srv->mc->receive_maximum)
			break; /* read on once acknowledgements went out */
		size_t total = 0;
		int rc = mq_frame(c->in + at, c->in_len - at, c->version, max, &total);
		if (rc == 1 || (rc == 0 && total > c->in_len - at))
			break;
		if (rc != 0) {
			trc_info("client=%s peer=%s: %s: closed", c->client, c->peer,
				 rc == MQ_RC_TOO_LARGE ? "packet too large" : "malformed packet");
			mqd_conn_close(srv, c, (uint8_t)rc, NULL);
			return;
		}
		if (!mqd_proto_packet(srv, c, c->in + at, total))
			return;
		at += total;
	}
	if (c->used && at > 0) {
		memmove(c->in, c->in + at, c->in_len - at);
		c->in_len -= at;
	}
	bool want = c->ack_n < srv->mc->receive_maximum;
	if (c->used && !c->closing && want != c->reading) {
		c->reading = want;
		s_events(srv, c);
	}
}

static ssize_t s_recv(conn_t *c)
{
	if (c->tls == NULL)
		return recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	ssize_t r = mqd_tls_recv(c->tls, c->in + c->in_len, c->in_cap - c->in_len);
	if (r < 0)
		errno = r == MQD_TLS_AGAIN ? EAGAIN : EPROTO;
	return r < 0 ? -1 : r;
}

/* What the socket has, into the input buffer; false if it closed. */
static bool s_fill(mqd_server_t *srv, conn_t *c)
{
	size_t max = ((size_t)srv->mc->max_packet_kb << 10) + MQ_HEADER_MAX;
	for (;;) {
		if (c->in_cap - c->in_len < 4096 && c->in_cap < max) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 4096;
			cap = cap > max ? max : cap;
			uint8_t *nb = realloc(c->in, cap);
			if (nb == NULL) {
				mqd_conn_close(srv, c, 0, NULL);
				return false;
			}
			c->in = nb;
			c->in_cap = cap;
		}
		if (c->in_len == c->in_cap)
			break;
		ssize_t r = s_recv(c);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			mqd_conn_close(srv, c, 0, r == 0 ? "end of stream" : strerror(errno));
			return false;
		}
		if (r < 0)
			break;
		c->in_len += (size_t)r;
		c->last_rx = trc_mono_ms();
		if (c->tls == NULL && (size_t)r < 4096)
			break; /* (a TLS session may hold more than epoll can see) */
	}
	return true;
}

static void s_read(mqd_server_t *srv, conn_t *c)
{
	do {
		if (!s_fill(srv, c))
			return;
		mqd_conn_input(srv, c);
	} while (c->tls != NULL && c->used && !c->closing && c->reading &&
		 mqd_tls_pending(c->tls));
}

/* A step of a TLS connection's handshake; once done, what came after it. */
static void s_handshake(mqd_server_t *srv, conn_t *c)
{
	char why[200];
	int rc = mqd_tls_handshake(c->tls, why, sizeof(why));
	if (rc < 0) {
		trc_info("peer=%s: %s: closed", c->peer, why);
		mqd_conn_close(srv, c, 0, why);
		return;
	}
	c->reading = rc != 2;
	c->writing = rc == 2;
	s_events(srv, c);
	if (rc > 0)
		return;
	if (mqd_tls_peer_cn(c->tls, c->cert_cn, sizeof(c->cert_cn)) == 0)
		trc_debug("peer=%s: TLS, client certificate CN=%s", c->peer, c->cert_cn);
	s_read(srv, c);
}

static void s_answers(mqd_server_t *srv)
{
	mqd_job_t *list = mqd_bus_answers(srv->bus);
	while (list != NULL) {
		mqd_job_t *job = list;
		list = job->next;
		uint32_t slot = (uint32_t)job->conn;
		conn_t *c = slot < srv->mc->max_connections ? &srv->conns[slot] : NULL;
		if (c != NULL && (!c->used || c->closing || c->gen != (uint32_t)(job->conn >> 32)))
			c = NULL;
		mqd_proto_refusals(srv, job);
		if (c != NULL) {
			c->on_bus--;
			mqd_proto_answer(srv, c, job);
			mqd_conn_touch(srv, c);
		}
		mqd_job_free(job);
	}
}

static void s_sweep(mqd_server_t *srv, int64_t now)
{
	for (unsigned i = 0; i < srv->mc->max_connections; i++) {
		conn_t *c = &srv->conns[i];
		if (!c->used || c->closing)
			continue;
		if (!c->connected && now - c->accepted > (int64_t)srv->mc->connect_timeout_s * 1000)
			mqd_conn_close(srv, c, 0, "no CONNECT");
		else if (c->connected && now - c->last_rx > (int64_t)c->keepalive_s * 1500)
			mqd_conn_close(srv, c, MQ_RC_KEEPALIVE_TIMEOUT, "keep alive timeout");
	}
}

void mqd_server_turn(mqd_server_t *srv)
{
	struct epoll_event ev[64];
	int n = epoll_wait(srv->ep, ev, 64, 0);
	for (int i = 0; i < n; i++) {
		uint64_t id = ev[i].data.u64;
		if (id == ID_LISTEN || id == ID_LISTEN_TLS)
			s_accept(srv, id == ID_LISTEN ? srv->lfd : srv->tls_lfd, id == ID_LISTEN_TLS);
		else if (id == ID_BUS)
			s_answers(srv);
		else if (id < srv->mc->max_connections) {
			conn_t *c = &srv->conns[id];
			if (!c->used || c->closing)
				continue;
			if (c->tls != NULL && !mqd_tls_ready(c->tls)) {
				s_handshake(srv, c);
				continue;
			}
			if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				s_read(srv, c);
			if (c->used && !c->closing && (ev[i].events & EPOLLOUT))
				mqd_conn_touch(srv, c);
		}
	}
	int64_t now = trc_mono_ms();
	if (srv->paused_until != 0 && now >= srv->paused_until)
		s_resume(srv);
	if (now >= srv->next_sweep) {
		s_sweep(srv, now);
		srv->next_sweep = now + SWEEP_MS;
	}
	/* TLS records read and left in their sessions while reading waited */
	for (size_t i = 0; i < srv->n_touched; i++) {
		conn_t *c = &srv->conns[srv->touched[i]];
		if (c->used && !c->closing && c->tls != NULL && c->reading && mqd_tls_pending(c->tls))
			s_read(srv, c);
	}
	/* the turn's writes on disk before anything they allow goes out */
	int rc = mqd_store_commit(srv->store);
	for (size_t i = 0; i < srv->n_touched; i++) {
		conn_t *c = &srv->conns[srv->touched[i]];
		c->touched = false;
		if (!c->used)
			continue;
		if (rc != 0 && !c->closing) {
			trc_err("client=%s: the sessions' store: %s: closed unacknowledged", c->client,
				trc_strerror(rc));
			c->out_len = 0;
			mqd_conn_close(srv, c, 0, NULL);
		}
		if (rc != 0)
			c->out_len = 0;
		s_flush(srv, c);
		if (c->closing) {
			if (rc == 0 && c->pending != NULL) /* QoS 0 of a client gone: still sent */
				mqd_bus_submit(srv->bus, c->pending);
			c->pending = NULL;
			s_free(srv, c);
			continue;
		}
		if (c->on_bus < srv->mc->bus_threads && c->pending != NULL) {
			c->on_bus++;
			mqd_bus_submit(srv->bus, c->pending);
			c->pending = NULL;
		}
	}
	srv->n_touched = 0;
}

int mqd_server_timeout(const mqd_server_t *srv)
{
	int64_t at = srv->next_sweep;
	if (srv->paused_until != 0 && srv->paused_until < at)
		at = srv->paused_until;
	int64_t left = at - trc_mono_ms();
	return left < 0 ? 0 : (int)left;
}

int mqd_server_fd(const mqd_server_t *srv)
{
	return srv->ep;
}

unsigned mqd_server_port(const mqd_server_t *srv, bool tls)
{
	return tls ? srv->tls_port : srv->port;
}

static int s_listen(const char *address, unsigned port, int *fd_p, unsigned *bound)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
		trc_err("[mqtt] '%s' is not an IPv4 address", address);
		return -1;
	}
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	*fd_p = fd;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0) {
		trc_err("[mqtt] cannot listen on %s:%u: %s", address, port, strerror(errno));
		return -1;
	}
	socklen_t sl = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	*bound = ntohs(sa.sin_port);
	return 0;
}

/* The plain listener and, with a certificate, the TLS one. */
static int s_listeners(mqd_server_t *srv)
{
	const mqd_conf_t *mc = srv->mc;
	if (s_listen(mc->address, mc->port, &srv->lfd, &srv->port) != 0)
		return -1;
	if (mc->tls_cert_file[0] == '\0' && mc->tls_key_file[0] == '\0')
		return 0;
	if (mc->tls_cert_file[0] == '\0' || mc->tls_key_file[0] == '\0') {
		trc_err("[mqtt] tls_cert_file and tls_key_file: both or neither");
		return -1;
	}
	if (mqd_tls_new(&srv->tls, mc) != 0)
		return -1;
	return s_listen(mc->tls_address, mc->tls_port, &srv->tls_lfd, &srv->tls_port);
}

/* The bindings of Sparkplug edge nodes: 0, or -1 (those before stay). */
static int s_bindings(mqd_server_t *srv)
{
	char err[1200];
	size_t n = 0;
	if (mqd_spb_load(srv->spb, srv->mc->sparkplug_bindings, &n, err, sizeof(err)) != 0) {
		trc_err("[mqtt] sparkplug_bindings: %s (the bindings before stay)", err);
		return -1;
	}
	if (srv->mc->sparkplug_bindings[0] != '\0')
		trc_info("sparkplug bindings from %s: %zu", srv->mc->sparkplug_bindings, n);
	return 0;
}

void mqd_server_reload(mqd_server_t *srv)
{
	char err[512];
	trc_keys_t *keys = NULL;
	s_bindings(srv);
	if (!srv->mc->auth)
		return;
	if (trc_keys_load(&keys, srv->cfg.keys_dir, err, sizeof(err)) != 0) {
		trc_err("%s (the users loaded before stay)", err);
		return;
	}
	trc_keys_destroy(&srv->keys);
	srv->keys = keys;
	trc_info("users and keys from %s: %zu", srv->cfg.keys_dir, trc_keys_count(keys));
}

static int s_open_store(mqd_server_t *srv)
{
	char dir[TRC_CONFIG_PATH + TRC_CONFIG_STR + 2];
	snprintf(dir, sizeof(dir), "%s/%s", srv->cfg.state_dir, srv->mc->state_subdir);
	int rc = mqd_store_open(&srv->store, dir, (size_t)srv->mc->map_size_mb << 20);
	if (rc != 0) {
		trc_err("the sessions' store %s: %s", dir, trc_strerror(rc));
		return -1;
	}
	int gone = mqd_sessions_expire(srv->store, trc_now_ms());
	if (mqd_store_commit(srv->store) != 0)
		return -1;
	if (gone > 0)
		trc_info("sessions expired: %d", gone);
	return 0;
}

int mqd_server_start(mqd_server_t **srv_p, const trc_config_t *cfg)
{
	mqd_server_t *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -1;
	*srv_p = srv;
	srv->cfg = *cfg;
	srv->mc = mqd_conf(&srv->cfg);
	srv->lfd = srv->ep = srv->bfd = srv->tls_lfd = -1;
	srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	srv->conns = calloc(srv->mc->max_connections, sizeof(*srv->conns));
	srv->touched = calloc(srv->mc->max_connections, sizeof(*srv->touched));
	srv->free = calloc(srv->mc->max_connections, sizeof(*srv->free));
	if (srv->conns == NULL || srv->touched == NULL || srv->free == NULL)
		return -1;
	for (unsigned i = 0; i < srv->mc->max_connections; i++) {
		srv->conns[i].fd = -1;
		srv->free[srv->n_free++] = srv->mc->max_connections - 1 - i; /* slot 0 first */
	}
	srv->started_ms = trc_now_ms();
	if (mqd_spb_new(&srv->spb) != 0 || s_bindings(srv) != 0)
		return -1;
	if (srv->mc->auth) {
		mqd_server_reload(srv);
		if (srv->keys == NULL)
			return -1;
	}
	if (s_open_store(srv) != 0 || mqd_bus_start(&srv->bus, &srv->cfg, &srv->bfd) != 0 ||
	    s_listeners(srv) != 0)
		return -1;
	srv->ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event l = { .events = EPOLLIN, .data.u64 = ID_LISTEN };
	struct epoll_event b = { .events = EPOLLIN, .data.u64 = ID_BUS };
	if (srv->ep < 0 || epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->lfd, &l) != 0 ||
	    epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->bfd, &b) != 0)
		return -1;
	struct epoll_event t = { .events = EPOLLIN, .data.u64 = ID_LISTEN_TLS };
	if (srv->tls_lfd >= 0 && epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->tls_lfd, &t) != 0)
		return -1;
	return 0;
}

void mqd_server_stop(mqd_server_t **srv_p)
{
	mqd_server_t *srv = *srv_p;
	if (srv == NULL)
		return;
	for (unsigned i = 0; srv->conns != NULL && i < srv->mc->max_connections; i++)
		if (srv->conns[i].used) {
			mqd_conn_close(srv, &srv->conns[i], 0, NULL);
			s_free(srv, &srv->conns[i]);
		}
	if (srv->store != NULL)
		mqd_store_commit(srv->store);
	mqd_bus_stop(&srv->bus);
	mqd_store_destroy(&srv->store);
	trc_keys_destroy(&srv->keys);
	mqd_spb_destroy(&srv->spb);
	mqd_tls_destroy(&srv->tls);
	if (srv->lfd >= 0)
		close(srv->lfd);
	if (srv->tls_lfd >= 0)
		close(srv->tls_lfd);
	if (srv->spare_fd >= 0)
		close(srv->spare_fd);
	if (srv->ep >= 0)
		close(srv->ep);
	free(srv->conns);
	free(srv->touched);
	free(srv->free);
	free(srv);
	*srv_p = NULL;
}
