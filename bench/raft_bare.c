/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bare C-Raft node (see raft_bare.h): modelled on canonical/raft's
 * example/server.c -- raft_uv_init + raft_uv_tcp_init on its own data
 * directory, raft_bootstrap of the members' configuration (ignoring
 * RAFT_CANTBOOTSTRAP on a restart), a trivial FSM -- with a control
 * socket instead of a timer, so that a driver decides what is proposed.
 *
 * The FSM counts the entries applied and keeps a digest of their bytes in
 * order, so that replicas can be compared; its snapshot is those two
 * numbers. Control (DIR/ctl.sock, one line each way):
 *   status               id, state, leader, term, applied index, count, digest
 *   apply SIZE MS        one entry of SIZE bytes, answered once applied
 *                        here ("applied ...") or not within MS ("timeout"),
 *                        or "failed ..." / "notleader ..."
 *   load K SIZE MS       K entries of SIZE bytes kept in flight for MS ms;
 *                        answers entries/s, MB/s and the p50/p99 of an entry
 *                        (raft_apply to its apply callback on this leader)
 * SIZE is a multiple of 8 (s_size_ok).
 *
 * Not cluster mode, and on Debian 12's libraft 0.15 not safe for data
 * that matters (lib/cluster.h): a baseline and a test harness's node.
 */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "raft_bare.h"

/* ---- the FSM: a count and a digest of every byte applied, in order -------- */

typedef struct {
	uint64_t count;
	uint64_t digest;
} bare_fsm_t;

/* A 64-bit mix a word at a time: cheap next to raft's own copying, and any
 * difference in an entry's bytes or order changes it. */
static uint64_t s_digest(uint64_t h, const unsigned char *p, size_t n)
{
	const uint64_t k = 0x100000001b3ULL;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * k;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * k;
	return (h ^ n) * k;
}

static int s_fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	bare_fsm_t *f = fsm->data;
	f->count++;
	f->digest = s_digest(f->digest, buf->base, buf->len);
	*result = NULL;
	return 0;
}

static int s_fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
	bare_fsm_t *f = fsm->data;
	*bufs = raft_malloc(sizeof(**bufs));
	if (*bufs == NULL)
		return RAFT_NOMEM;
	(*bufs)[0].len = sizeof(*f);
	(*bufs)[0].base = raft_malloc(sizeof(*f));
	if ((*bufs)[0].base == NULL) {
		raft_free(*bufs);
		return RAFT_NOMEM;
	}
	memcpy((*bufs)[0].base, f, sizeof(*f));
	*n_bufs = 1;
	return 0;
}

static int s_fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	bare_fsm_t *f = fsm->data;
	if (buf->len != sizeof(*f))
		return RAFT_MALFORMED;
	memcpy(f, buf->base, sizeof(*f));
	raft_free(buf->base); /* after restore the buffer is the FSM's (raft.h) */
	return 0;
}

/* ---- the node ------------------------------------------------------------- */

typedef struct conn conn_t;
typedef struct prop prop_t;

typedef struct {
	conn_t *conn;      /* who asked; NULL once gone or answered */
	int in_flight, size;
	uint64_t end_ns, t0_ns;
	uint64_t sent, done, failed, bytes;
	uint64_t *lat; /* ns of each applied entry */
	size_t nlat, caplat;
	bool on;
} bare_load_t;

typedef struct {
	uv_loop_t loop;
	struct raft_uv_transport transport;
	struct raft_io io;
	struct raft_fsm fsm;
	bare_fsm_t state;
	struct raft raft;
	unsigned id;
	char addr[64];
	char dir[256];
	uv_pipe_t ctl;
	uv_timer_t tick;
	uv_signal_t sig[2];
	conn_t *conns;
	prop_t *props; /* proposals raft has not called back yet */
	bare_load_t load;
	uint64_t seq; /* of the entries this node proposed, in their first bytes */
	int last_state;
	bool stopping;
} node_t;

struct conn {
	uv_pipe_t pipe;
	node_t *node;
	char buf[BARE_LINE];
	size_t len;
	conn_t *next;
};

struct prop {
	struct raft_apply req;
	node_t *node;
	conn_t *conn; /* an "apply" waiting for its answer; NULL for load's */
	bool load; /* one of a load's entries */
	uint64_t t0_ns, deadline_ns;
	prop_t *prev, *next;
};

static const char *s_state(int s)
{
	static const char *names[] = {"unavailable", "follower", "candidate", "leader"};
	return s >= 0 && s < 4 ? names[s] : "unknown";
}

typedef struct {
	uv_write_t req;
	char text[BARE_LINE + 1];
} reply_t;

static void s_written(uv_write_t *w, int status)
{
	free(w->data);
}

/* One line to the connection (a newline added). */
static void s_reply(conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_reply(conn_t *c, const char *fmt, ...)
{
	reply_t *r = malloc(sizeof(*r));
	if (r == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->text, BARE_LINE, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= BARE_LINE)
		n = BARE_LINE - 1;
	r->text[n++] = '\n';
	uv_buf_t b = uv_buf_init(r->text, (unsigned)n);
	r->req.data = r;
	if (uv_write(&r->req, (uv_stream_t *)&c->pipe, &b, 1, s_written) != 0)
		free(r);
}

static void s_notleader(node_t *n, conn_t *c)
{
	raft_id id;
	const char *addr;
	raft_leader(&n->raft, &id, &addr);
	s_reply(c, "notleader leader=%llu", (unsigned long long)id);
}

/* ---- proposals ------------------------------------------------------------ */

static void s_unlink(node_t *n, prop_t *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		n->props = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
}

static void s_load_cb(node_t *n, prop_t *p, int status);

static void s_applied(struct raft_apply *req, int status, void *result)
{
	prop_t *p = req->data;
	node_t *n = p->node;
	s_unlink(n, p);
	if (p->conn != NULL) {
		if (status == 0)
			s_reply(p->conn, "applied index=%llu us=%llu", (unsigned long long)req->index,
				(unsigned long long)((uv_hrtime() - p->t0_ns) / 1000));
		else
			s_reply(p->conn, "failed %s", raft_strerror(status));
	} else if (p->load) {
		s_load_cb(n, p, status);
	}
	free(p);
}

/* Proposes one entry of size bytes (size >= 8: this node's sequence
 * number first, the rest a pattern of it). 0, or raft's error. */
static int s_propose(node_t *n, int size, conn_t *c, uint64_t timeout_ms)
{
	prop_t *p = calloc(1, sizeof(*p));
	struct raft_buffer buf = {.len = (size_t)size, .base = raft_malloc((size_t)size)};
	if (p == NULL || buf.base == NULL) {
		free(p);
		raft_free(buf.base);
		return RAFT_NOMEM;
	}
	uint64_t seq = ++n->seq;
	memset(buf.base, (int)(seq & 0xff), buf.len);
	memcpy(buf.base, &seq, sizeof(seq));
	p->node = n;
	p->conn = c;
	p->load = c == NULL;
	p->t0_ns = uv_hrtime();
	p->deadline_ns = c != NULL ? p->t0_ns + timeout_ms * 1000000ULL : 0;
	p->req.data = p;
	int rv = raft_apply(&n->raft, &p->req, &buf, 1, s_applied);
	if (rv != 0) {
		raft_free(buf.base);
		free(p);
		return rv;
	}
	p->next = n->props;
	if (n->props != NULL)
		n->props->prev = p;
	n->props = p;
	return 0;
}

/* ---- load: K in flight for a duration ------------------------------------- */

static int s_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void s_load_done(node_t *n)
{
	bare_load_t *l = &n->load;
	double secs = (double)(uv_hrtime() - l->t0_ns) / 1e9;
	qsort(l->lat, l->nlat, sizeof(*l->lat), s_cmp);
	double p50 = l->nlat ? (double)l->lat[l->nlat / 2] / 1e3 : 0;
	double p99 = l->nlat ? (double)l->lat[(l->nlat * 99) / 100] / 1e3 : 0;
	if (l->conn != NULL)
		s_reply(l->conn, "load entries=%llu failed=%llu secs=%.3f rate=%.1f mbps=%.3f "
			"p50_us=%.1f p99_us=%.1f", (unsigned long long)l->done,
			(unsigned long long)l->failed, secs, (double)l->done / secs,
			(double)l->bytes / secs / 1e6, p50, p99);
	free(l->lat);
	memset(l, 0, sizeof(*l));
}

static void s_load_cb(node_t *n, prop_t *p, int status)
{
	bare_load_t *l = &n->load;
	uint64_t now = uv_hrtime();
	if (status == 0) {
		l->done++;
		l->bytes += (uint64_t)l->size;
		if (l->nlat == l->caplat) {
			size_t cap = l->caplat ? l->caplat * 2 : 4096;
			uint64_t *lat = realloc(l->lat, cap * sizeof(*lat));
			if (lat != NULL) {
				l->lat = lat;
				l->caplat = cap;
			}
		}
		if (l->nlat < l->caplat)
			l->lat[l->nlat++] = now - p->t0_ns;
	} else {
		l->failed++;
	}
	/* the next one, unless time is up or leadership was lost */
	if (status == 0 && now < l->end_ns && !n->stopping &&
	    s_propose(n, l->size, NULL, 0) == 0) {
		l->sent++;
		return;
	}
	if (l->done + l->failed == l->sent)
		s_load_done(n);
}

static void s_load_start(node_t *n, conn_t *c, int k, int size, uint64_t ms)
{
	bare_load_t *l = &n->load;
	if (l->on) {
		s_reply(c, "busy a load runs");
		return;
	}
	if (raft_state(&n->raft) != RAFT_LEADER) {
		s_notleader(n, c);
		return;
	}
	*l = (bare_load_t){.conn = c, .in_flight = k, .size = size, .on = true};
	l->t0_ns = uv_hrtime();
	l->end_ns = l->t0_ns + ms * 1000000ULL;
	for (int i = 0; i < k; i++) {
		if (s_propose(n, size, NULL, 0) != 0)
			break;
		l->sent++;
	}
	if (l->sent == 0) {
		s_reply(c, "failed %s", raft_errmsg(&n->raft));
		memset(l, 0, sizeof(*l));
	}
}

/* ---- the control socket ----------------------------------------------------- */

static void s_status(node_t *n, conn_t *c)
{
	raft_id leader;
	const char *addr;
	raft_leader(&n->raft, &leader, &addr);
	s_reply(c, "status id=%u state=%s leader=%llu term=%llu applied=%llu last=%llu count=%llu "
		"digest=%016llx pid=%ld", n->id, s_state(raft_state(&n->raft)),
		(unsigned long long)leader, (unsigned long long)n->raft.current_term,
		(unsigned long long)raft_last_applied(&n->raft),
		(unsigned long long)raft_last_index(&n->raft), (unsigned long long)n->state.count,
		(unsigned long long)n->state.digest, (long)getpid());
}

/* An entry's size: 8 bytes at least (the sequence number), and a multiple
 * of 8, as cluster mode frames its entries: libraft 0.15 misreads a
 * segment after a restart otherwise (canonical/raft#304). */
static bool s_size_ok(int size)
{
	return size >= 8 && size <= (64 << 20) && size % 8 == 0;
}

static void s_command(conn_t *c, char *line)
{
	node_t *n = c->node;
	int k, size;
	unsigned long long ms;
	if (strcmp(line, "status") == 0) {
		s_status(n, c);
	} else if (sscanf(line, "apply %d %llu", &size, &ms) == 2 && s_size_ok(size)) {
		if (raft_state(&n->raft) != RAFT_LEADER) {
			s_notleader(n, c);
			return;
		}
		int rv = s_propose(n, size, c, ms);
		if (rv != 0)
			s_reply(c, "failed %s", raft_strerror(rv));
	} else if (sscanf(line, "load %d %d %llu", &k, &size, &ms) == 3 && k > 0 && k <= 100000 &&
		   s_size_ok(size)) {
		s_load_start(n, c, k, size, ms);
	} else {
		s_reply(c, "error unknown command (status | apply SIZE MS | load K SIZE MS; "
			"SIZE a multiple of 8)");
	}
}

static void s_conn_closed(uv_handle_t *h)
{
	free(h->data);
}

static void s_conn_close(conn_t *c)
{
	node_t *n = c->node;
	for (conn_t **pp = &n->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	for (prop_t *p = n->props; p != NULL; p = p->next)
		if (p->conn == c)
			p->conn = NULL;
	if (n->load.conn == c)
		n->load.conn = NULL;
	uv_close((uv_handle_t *)&c->pipe, s_conn_closed);
}

static void s_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	conn_t *c = h->data;
	*b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - 1 - c->len));
}

static void s_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	conn_t *c = s->data;
	if (nread < 0) {
		s_conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	c->buf[c->len] = '\0';
	char *nl;
	while ((nl = strchr(c->buf, '\n')) != NULL) {
		*nl = '\0';
		s_command(c, c->buf);
		size_t rest = c->len - (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, rest + 1);
		c->len = rest;
	}
	if (c->len == sizeof(c->buf) - 1) /* a line longer than any command */
		s_conn_close(c);
}

static void s_accept(uv_stream_t *srv, int status)
{
	node_t *n = srv->data;
	conn_t *c = calloc(1, sizeof(*c));
	if (status != 0 || c == NULL || uv_pipe_init(&n->loop, &c->pipe, 0) != 0) {
		free(c);
		return;
	}
	c->node = n;
	c->pipe.data = c;
	if (uv_accept(srv, (uv_stream_t *)&c->pipe) != 0 ||
	    uv_read_start((uv_stream_t *)&c->pipe, s_alloc, s_read) != 0) {
		uv_close((uv_handle_t *)&c->pipe, s_conn_closed);
		return;
	}
	c->next = n->conns;
	n->conns = c;
}

/* ---- the tick: apply timeouts, state changes in the log ------------------- */

static void s_tick(uv_timer_t *t)
{
	node_t *n = t->data;
	uint64_t now = uv_hrtime();
	for (prop_t *p = n->props; p != NULL; p = p->next) {
		if (p->conn != NULL && p->deadline_ns != 0 && now > p->deadline_ns) {
			s_reply(p->conn, "timeout");
			p->conn = NULL;
		}
	}
	int st = raft_state(&n->raft);
	if (st != n->last_state) {
		fprintf(stderr, "raft-bare %u: %s, term %llu, applied %llu\n", n->id, s_state(st),
			(unsigned long long)n->raft.current_term,
			(unsigned long long)raft_last_applied(&n->raft));
		n->last_state = st;
	}
}

/* ---- start and stop -------------------------------------------------------- */

static void s_raft_closed(struct raft *r)
{
	node_t *n = r->data;
	raft_uv_close(&n->io);
	raft_uv_tcp_close(&n->transport);
}

static void s_stop(uv_signal_t *s, int signum)
{
	node_t *n = s->data;
	if (n->stopping)
		return;
	n->stopping = true;
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&n->sig[i], NULL);
	uv_close((uv_handle_t *)&n->tick, NULL);
	uv_close((uv_handle_t *)&n->ctl, NULL);
	while (n->conns != NULL)
		s_conn_close(n->conns);
	raft_close(&n->raft, s_raft_closed);
}

/* The configuration of every member, bootstrapped as example/server.c does:
 * on a restart the data directory has it and RAFT_CANTBOOTSTRAP is fine. */
static int s_bootstrap(node_t *n, char addr[][64], int members)
{
	struct raft_configuration conf;
	raft_configuration_init(&conf);
	int rv = 0;
	for (int i = 0; i < members && rv == 0; i++)
		rv = raft_configuration_add(&conf, (raft_id)(i + 1), addr[i], RAFT_VOTER);
	if (rv == 0)
		rv = raft_bootstrap(&n->raft, &conf);
	raft_configuration_close(&conf);
	if (rv == RAFT_CANTBOOTSTRAP)
		rv = 0;
	if (rv != 0)
		fprintf(stderr, "raft-bare %u: bootstrap: %s\n", n->id, raft_strerror(rv));
	return rv;
}

typedef struct {
	unsigned id;
	const char *dir, *members;
	unsigned election_ms, heartbeat_ms, snapshot_threshold;
} node_opts_t;

/* raft on the uv I/O backend and TCP transport, as example/server.c; the
 * tuning of docs/raft-plan.md's [cluster] defaults (pre-vote on). */
static int s_raft_init(node_t *n, const node_opts_t *o)
{
	char addr[BARE_NODES_MAX][64];
	int members = bare_members(o->members, addr, BARE_NODES_MAX);
	if (members < 1 || o->id < 1 || (int)o->id > members) {
		fprintf(stderr, "raft-bare: --id %u is not one of --members\n", o->id);
		return -1;
	}
	snprintf(n->addr, sizeof(n->addr), "%s", addr[o->id - 1]);
	n->id = o->id;
	n->fsm = (struct raft_fsm){.version = 1, .data = &n->state, .apply = s_fsm_apply,
				   .snapshot = s_fsm_snapshot, .restore = s_fsm_restore};
	int rv = raft_uv_tcp_init(&n->transport, &n->loop);
	if (rv == 0 && (rv = raft_uv_init(&n->io, &n->loop, n->dir, &n->transport)) != 0) {
		fprintf(stderr, "raft-bare %u: raft_uv_init: %s\n", n->id, n->io.errmsg);
		raft_uv_tcp_close(&n->transport);
	}
	if (rv == 0 && (rv = raft_init(&n->raft, &n->io, &n->fsm, n->id, n->addr)) != 0) {
		fprintf(stderr, "raft-bare %u: raft_init: %s\n", n->id, raft_errmsg(&n->raft));
		raft_uv_close(&n->io);
		raft_uv_tcp_close(&n->transport);
	}
	if (rv != 0)
		return -1;
	n->raft.data = n;
	raft_set_election_timeout(&n->raft, o->election_ms);
	raft_set_heartbeat_timeout(&n->raft, o->heartbeat_ms);
	raft_set_snapshot_threshold(&n->raft, o->snapshot_threshold);
	raft_set_snapshot_trailing(&n->raft, o->snapshot_threshold / 2);
	raft_set_pre_vote(&n->raft, true);
	/* as the service tunes its node (lib/svc_raft.c s_tune): a snapshot
	 * sent and not answered is sent again after an election timeout, not
	 * libraft's 30 s, in which a node behind the log stands still */
	raft_set_install_snapshot_timeout(&n->raft, o->election_ms);
	if (s_bootstrap(n, addr, members) != 0 || (rv = raft_start(&n->raft)) != 0) {
		if (rv != 0)
			fprintf(stderr, "raft-bare %u: raft_start: %s\n", n->id, raft_errmsg(&n->raft));
		raft_close(&n->raft, s_raft_closed);
		return -1;
	}
	return 0;
}

/* The control socket, the tick, SIGTERM and SIGINT to stop. */
static int s_handles(node_t *n)
{
	char path[300];
	bare_ctl_path(n->dir, path, sizeof(path));
	unlink(path);
	uv_pipe_init(&n->loop, &n->ctl, 0);
	n->ctl.data = n;
	int rv = uv_pipe_bind(&n->ctl, path);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&n->ctl, 16, s_accept);
	if (rv != 0)
		fprintf(stderr, "raft-bare %u: control socket %s: %s\n", n->id, path, uv_strerror(rv));
	uv_timer_init(&n->loop, &n->tick);
	n->tick.data = n;
	uv_timer_start(&n->tick, s_tick, 10, 10);
	int sigs[2] = {SIGTERM, SIGINT};
	for (int i = 0; i < 2; i++) {
		uv_signal_init(&n->loop, &n->sig[i]);
		n->sig[i].data = n;
		uv_signal_start(&n->sig[i], s_stop, sigs[i]);
	}
	return rv;
}

static int s_node_args(int argc, char **argv, node_opts_t *o)
{
	*o = (node_opts_t){.election_ms = 1000, .heartbeat_ms = 100, .snapshot_threshold = 1024};
	for (int i = 0; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (strcmp(k, "--id") == 0)
			o->id = (unsigned)atoi(v);
		else if (strcmp(k, "--dir") == 0)
			o->dir = v;
		else if (strcmp(k, "--members") == 0)
			o->members = v;
		else if (strcmp(k, "--election-ms") == 0)
			o->election_ms = (unsigned)atoi(v);
		else if (strcmp(k, "--heartbeat-ms") == 0)
			o->heartbeat_ms = (unsigned)atoi(v);
		else if (strcmp(k, "--snapshot-threshold") == 0)
			o->snapshot_threshold = (unsigned)atoi(v);
		else
			return -1;
	}
	if (argc % 2 != 0 || o->dir == NULL || o->members == NULL || o->id == 0 ||
	    o->heartbeat_ms == 0 || o->election_ms <= o->heartbeat_ms || o->snapshot_threshold < 2)
		return -1;
	return 0;
}

static int s_node_main(int argc, char **argv)
{
	node_opts_t o;
	if (s_node_args(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: trc-raft-bare node --id I --dir DIR --members 1=HOST:PORT,... "
			"[--election-ms 1000] [--heartbeat-ms 100] [--snapshot-threshold 1024]\n");
		return 2;
	}
	static node_t n; /* large (struct raft), and the callbacks' for the whole run */
	snprintf(n.dir, sizeof(n.dir), "%s", o.dir);
	if (mkdir(n.dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "raft-bare: %s: %s\n", n.dir, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	n.last_state = -1;
	if (uv_loop_init(&n.loop) != 0)
		return 1;
	int rv = s_raft_init(&n, &o);
	if (rv == 0 && s_handles(&n) != 0) {
		s_stop(&n.sig[0], SIGTERM);
		rv = -1;
	}
	uv_run(&n.loop, UV_RUN_DEFAULT);
	/* what raft_close did not call back (it fails a leader's requests) */
	while (n.props != NULL) {
		prop_t *p = n.props;
		n.props = p->next;
		free(p);
	}
	free(n.load.lat);
	uv_loop_close(&n.loop);
	return rv == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "node") == 0)
		return s_node_main(argc - 2, argv + 2);
	if (strcmp(mode, "ctl") == 0)
		return bare_ctl_main(argc - 2, argv + 2);
	if (strcmp(mode, "bench") == 0)
		return bare_bench_main(argc - 2, argv + 2, argv[0]);
	fprintf(stderr, "usage: trc-raft-bare node|ctl|bench ... (bench/raft_bare.h)\n");
	return 2;
}
