/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bare C-Raft nodes for the raft transport's test and bench: see
 * raftnodes.h.
 */
#include "raftnodes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "hosted_uv.h"
#include "raft_curve.h"
#include "util.h"

void rn_keypair(char pub[TRC_Z85_KEY + 1], char sec[TRC_Z85_KEY + 1])
{
	if (zmq_curve_keypair(pub, sec) != 0) {
		fprintf(stderr, "zmq_curve_keypair: %s\n", zmq_strerror(errno));
		exit(1);
	}
}

void rn_key_file(const char *dir, const char *name, const char *pub, const char *role)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fprintf(f, "public = %s\nrole = %s\n", pub, role);
	fclose(f);
}

static int s_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	rn_node_t *n = fsm->data;
	n->applied++;
	if (n->marker != NULL && memmem(buf->base, buf->len, n->marker, strlen(n->marker)) != NULL)
		n->marked++;
	*result = NULL;
	return 0;
}

/* The count is the state: 8 bytes (snapshots are rare here). */
static int s_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
	rn_node_t *n = fsm->data;
	*bufs = raft_malloc(sizeof(**bufs));
	if (*bufs == NULL)
		return RAFT_NOMEM;
	(*bufs)[0].len = sizeof(uint64_t);
	(*bufs)[0].base = raft_malloc(sizeof(uint64_t));
	if ((*bufs)[0].base == NULL)
		return RAFT_NOMEM;
	memcpy((*bufs)[0].base, &n->applied, sizeof(uint64_t));
	*n_bufs = 1;
	return 0;
}

static int s_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	rn_node_t *n = fsm->data;
	if (buf->len != sizeof(uint64_t))
		return RAFT_MALFORMED;
	memcpy(&n->applied, buf->base, sizeof(uint64_t));
	raft_free(buf->base);
	return 0;
}

static int s_transport(rn_node_t *n, uv_loop_t *loop)
{
	if (!n->curve) {
		int rv = raft_uv_tcp_init(&n->t, loop);
		if (rv == 0 && n->bind[0])
			rv = raft_uv_tcp_set_bind_address(&n->t, n->bind);
		return rv;
	}
	char err[512];
	trc_raft_curve_options_t o = {
		.keys_dir = n->keys_dir,
		.public_key = n->pub,
		.secret_key = n->sec,
		.bind_address = n->bind[0] ? n->bind : NULL,
	};
	if (trc_raft_curve_init(&n->t, loop, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "node %u: %s\n", n->id, err);
		return -1;
	}
	return 0;
}

static int s_bootstrap(rn_node_t *n, const rn_node_t *conf, size_t n_conf,
		       const unsigned *standby, size_t n_standby)
{
	struct raft_configuration c;
	raft_configuration_init(&c);
	int rv = 0;
	for (size_t i = 0; i < n_conf && rv == 0; i++) {
		int role = RAFT_VOTER;
		for (size_t j = 0; j < n_standby; j++)
			if (standby[j] == conf[i].id)
				role = RAFT_STANDBY;
		rv = raft_configuration_add(&c, conf[i].id, conf[i].address, role);
	}
	if (rv == 0)
		rv = raft_bootstrap(&n->raft, &c);
	raft_configuration_close(&c);
	return rv;
}

int rn_start(rn_node_t *n, uv_loop_t *loop, const char *base, const rn_node_t *conf,
	     size_t n_conf, const unsigned *standby, size_t n_standby)
{
	snprintf(n->dir, sizeof(n->dir), "%s/n%u", base, n->id);
	mkdir(n->dir, 0700);
	n->fsm = (struct raft_fsm){ .version = 1, .data = n, .apply = s_apply,
				    .snapshot = s_snapshot, .restore = s_restore };
	int rv = s_transport(n, loop);
	if (rv != 0)
		return rv;
	rv = raft_uv_init(&n->io, loop, n->dir, &n->t);
	if (rv == 0)
		rv = raft_init(&n->raft, &n->io, &n->fsm, n->id, n->address);
	if (rv != 0) {
		fprintf(stderr, "node %u: raft init: %d %s\n", n->id, rv, n->io.errmsg);
		return rv;
	}
	n->raft.data = n;
	n->started = true; /* raft_close from now on, started or not */
	if (conf != NULL && (rv = s_bootstrap(n, conf, n_conf, standby, n_standby)) != 0) {
		fprintf(stderr, "node %u: bootstrap: %s\n", n->id, raft_errmsg(&n->raft));
		return rv;
	}
	raft_set_snapshot_threshold(&n->raft, 1u << 20);
	rv = raft_start(&n->raft);
	if (rv != 0)
		fprintf(stderr, "node %u: start: %s\n", n->id, raft_errmsg(&n->raft));
	return rv;
}

static void s_closed(struct raft *r)
{
	rn_node_t *n = r->data;
	raft_uv_close(&n->io);
	if (n->curve)
		trc_raft_curve_close(&n->t);
	else
		raft_uv_tcp_close(&n->t);
	n->closed = true;
}

void rn_stop(rn_node_t *n)
{
	if (!n->started)
		return;
	n->started = false;
	raft_close(&n->raft, s_closed);
}

typedef struct {
	rn_node_t *nodes;
	size_t n;
} s_set_t;

static bool s_all_closed(void *ud)
{
	s_set_t *set = ud;
	for (size_t i = 0; i < set->n; i++)
		if (!set->nodes[i].closed)
			return false;
	return true;
}

bool rn_stop_all(uv_loop_t *loop, rn_node_t *nodes, size_t n, int ms)
{
	for (size_t i = 0; i < n; i++) {
		if (!nodes[i].started)
			nodes[i].closed = true; /* no raft to close */
		rn_stop(&nodes[i]);
	}
	s_set_t set = { nodes, n };
	return rn_run_until(loop, s_all_closed, &set, ms);
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void rn_rmtree(const char *dir)
{
	nftw(dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* The loop hosted as a service hosts it (hosted_uv.h): a poll on its
 * backend fd, its timeout, a non-blocking turn; so the transport is
 * tested the way a daemon runs it. */
bool rn_run_until(uv_loop_t *loop, bool (*cond)(void *), void *ud, int ms)
{
	trc_hosted_t h;
	trc_hosted_uv(&h, loop);
	int64_t end = trc_mono_ms() + ms;
	while (!cond(ud)) {
		int64_t left = end - trc_mono_ms();
		if (left < 0)
			return false;
		int t = h.timeout(h.ud);
		if (t < 0 || t > left)
			t = (int)left;
		struct pollfd p = { .fd = h.fd, .events = h.events };
		if (poll(&p, 1, t) < 0 && errno != EINTR)
			return false;
		h.run(h.ud, p.revents);
	}
	return true;
}

rn_node_t *rn_leader(rn_node_t *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (nodes[i].started && raft_state(&nodes[i].raft) == RAFT_LEADER)
			return &nodes[i];
	return NULL;
}

static void s_fill(rn_node_t *n);

static void s_applied(struct raft_apply *req, int status, void *result)
{
	rn_node_t *n = req->data;
	(void)result;
	raft_free(req);
	n->inflight--;
	if (status == 0)
		n->acked++;
	if (n->started && status == 0)
		s_fill(n);
}

static void s_fill(rn_node_t *n)
{
	while (n->inflight < n->window && n->proposed < n->total) {
		struct raft_buffer buf = { .len = n->size, .base = raft_malloc(n->size) };
		struct raft_apply *req = raft_malloc(sizeof(*req));
		if (buf.base == NULL || req == NULL)
			exit(1);
		memset(buf.base, 'x', n->size);
		if (n->marker != NULL && strlen(n->marker) < n->size)
			memcpy(buf.base, n->marker, strlen(n->marker));
		req->data = n;
		if (raft_apply(&n->raft, req, &buf, 1, s_applied) != 0) {
			raft_free(buf.base);
			raft_free(req);
			return; /* not leader any more: the caller asks another */
		}
		n->inflight++;
		n->proposed++;
	}
}

void rn_propose(rn_node_t *leader, uint64_t count, unsigned window, size_t size)
{
	leader->total = leader->proposed + count;
	leader->window = window;
	leader->size = size;
	s_fill(leader);
}
