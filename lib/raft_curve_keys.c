/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keys of the CurveZMQ raft transport (raft_curve.h): this node's pair
 * and the options, the peers' public keys, and the ZAP handler that lets
 * in only role = service keys of keys_dir.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "raft_curve_int.h"
#include "traction/v1/bus.pb-c.h"

/* ZAP (ZeroMQ RFC 27): version, request id, domain, address, identity,
 * mechanism, credentials. Only a CURVE key of keys_dir with role =
 * service gets in; a plain (NULL) peer fails before asking. */
static void s_zap_one(s_rc_t *rc)
{
	enum { N = 7 };
	zmq_msg_t f[N + 1];
	int n = 0;
	for (bool more = true; more; n += n < N) {
		zmq_msg_init(&f[n]);
		if (zmq_msg_recv(&f[n], rc->zap, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&f[n]);
			break;
		}
		more = zmq_msg_more(&f[n]);
		if (n == N)
			zmq_msg_close(&f[n]);
	}
	if (n < 2) {
		for (int i = 0; i < n; i++)
			zmq_msg_close(&f[i]);
		return;
	}
	const trc_key_t *k = NULL;
	char z85[TRC_Z85_KEY + 1] = "";
	if (n == N && zmq_msg_size(&f[2]) == strlen(S_DOMAIN) &&
	    memcmp(zmq_msg_data(&f[2]), S_DOMAIN, strlen(S_DOMAIN)) == 0 &&
	    zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
	    zmq_msg_size(&f[6]) == 32) {
		zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
		k = trc_keys_by_public(rc->keys, z85);
	}
	bool ok = k != NULL && k->role == TRACTION__V1__ROLE__ROLE_SERVICE;
	if (!ok) {
		rc->st.refused++;
		trc_notice("raft: refused a connection: key %s %s", z85[0] ? z85 : "(none)",
			   k == NULL ? "is not in keys_dir" : "is not role = service");
	}
	zmq_send(rc->zap, "1.0", 3, ZMQ_SNDMORE);
	zmq_msg_send(&f[1], rc->zap, ZMQ_SNDMORE);
	zmq_send(rc->zap, ok ? "200" : "400", 3, ZMQ_SNDMORE);
	zmq_send(rc->zap, ok ? "OK" : "refused", ok ? 2 : 7, ZMQ_SNDMORE);
	zmq_send(rc->zap, ok ? k->name : "", ok ? strlen(k->name) : 0, ZMQ_SNDMORE);
	zmq_send(rc->zap, "", 0, 0);
	for (int i = 0; i < n; i++)
		if (i != 1)
			zmq_msg_close(&f[i]);
}

void trc_raft_curve__zap_poll(uv_poll_t *h, int status, int events)
{
	s_rc_t *rc = h->data;
	(void)status;
	(void)events;
	while (rc->zap != NULL && (s_events(rc->zap) & ZMQ_POLLIN))
		s_zap_one(rc);
}

static int s_load(s_rc_t *rc, char *err, size_t errlen)
{
	trc_keys_t *keys = NULL;
	if (trc_keys_load(&keys, rc->keys_dir, err, errlen) != 0)
		return TRC_ECONFIG;
	trc_keys_destroy(&rc->keys);
	rc->keys = keys;
	return 0;
}

static bool s_z85_ok(const char *z85)
{
	unsigned char raw[32];
	return z85 != NULL && strlen(z85) == TRC_Z85_KEY && zmq_z85_decode(raw, z85) != NULL;
}

static int s_options(s_rc_t *rc, const trc_raft_curve_options_t *o, char *err, size_t errlen)
{
	if (o->keys_dir == NULL || !s_z85_ok(o->public_key) || !s_z85_ok(o->secret_key)) {
		snprintf(err, errlen, "raft transport: keys_dir and a Z85 key pair are needed");
		return TRC_ECONFIG;
	}
	if (strlen(o->keys_dir) >= sizeof(rc->keys_dir) ||
	    (o->bind_address != NULL && strlen(o->bind_address) >= sizeof(rc->bind))) {
		snprintf(err, errlen, "raft transport: a path or address too long");
		return TRC_ECONFIG;
	}
	snprintf(rc->keys_dir, sizeof(rc->keys_dir), "%s", o->keys_dir);
	snprintf(rc->pub, sizeof(rc->pub), "%s", o->public_key);
	snprintf(rc->sec, sizeof(rc->sec), "%s", o->secret_key);
	snprintf(rc->bind, sizeof(rc->bind), "%s", o->bind_address ? o->bind_address : "");
	rc->connect_ms = o->connect_ms > 0 && o->connect_ms < 600000 ? (int)o->connect_ms : 2000;
	rc->heartbeat_ms = o->heartbeat_ms > 0 && o->heartbeat_ms < 60000 ? (int)o->heartbeat_ms : 1000;
	return s_load(rc, err, errlen);
}

int trc_raft_curve_init(struct raft_uv_transport *t, struct uv_loop_s *loop,
			const trc_raft_curve_options_t *o, char *err, size_t errlen)
{
	s_rc_t *rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
		return TRC_ENOMEM;
	memset(t, 0, sizeof(*t));
	t->impl = rc;
	rc->t = t;
	rc->loop = loop;
	int rv = s_options(rc, o, err, errlen);
	/* a context of its own: its ZAP handler is the only one in it, so no
	 * other handler of the process answers for the raft endpoint */
	if (rv == 0 && ((rc->zctx = zmq_ctx_new()) == NULL ||
			(rc->zap = zmq_socket(rc->zctx, ZMQ_REP)) == NULL ||
			zmq_bind(rc->zap, "inproc://zeromq.zap.01") != 0)) {
		snprintf(err, errlen, "raft transport: ZAP handler: %s", zmq_strerror(errno));
		rv = TRC_ECONFIG;
	}
	if (rv != 0) {
		trc_raft_curve_close(t);
		return rv;
	}
	trc_raft_curve__methods(t);
	return 0;
}

/* The peer entry of id, a new empty one if there is none; NULL: no memory. */
static s_peer_t *s_peer(s_rc_t *rc, raft_id id)
{
	size_t i = 0;
	while (i < rc->n_peers && rc->peers[i].id != id)
		i++;
	if (i == rc->n_peers) {
		void *p = realloc(rc->peers, (rc->n_peers + 1) * sizeof(*rc->peers));
		if (p == NULL)
			return NULL;
		rc->peers = p;
		rc->n_peers++;
		memset(&rc->peers[i], 0, sizeof(rc->peers[i]));
		rc->peers[i].id = id;
	}
	return &rc->peers[i];
}

/* The peer of id serves with key z85, or with the key named name. */
static int s_peer_set(s_rc_t *rc, raft_id id, const char *z85, const char *name)
{
	s_peer_t *p = s_peer(rc, id);
	if (p == NULL)
		return TRC_ENOMEM;
	if (z85 != NULL)
		snprintf(p->z85, sizeof(p->z85), "%s", z85);
	else
		snprintf(p->name, sizeof(p->name), "%s", name);
	return 0;
}

int trc_raft_curve_peer_key(struct raft_uv_transport *t, raft_id id, const char *z85)
{
	s_rc_t *rc = t->impl;
	const trc_key_t *k = s_z85_ok(z85) ? trc_keys_by_public(rc->keys, z85) : NULL;
	if (k == NULL || k->role != TRACTION__V1__ROLE__ROLE_SERVICE)
		return TRC_EPERM;
	return s_peer_set(rc, id, z85, NULL);
}

int trc_raft_curve_peer_name(struct raft_uv_transport *t, raft_id id, const char *name)
{
	s_rc_t *rc = t->impl;
	if (strlen(name) >= sizeof(rc->peers[0].name))
		return TRC_EINVAL;
	return s_peer_set(rc, id, NULL, name);
}

const char *trc_raft_curve__peer_key(const s_rc_t *rc, raft_id id)
{
	for (size_t i = 0; i < rc->n_peers; i++) {
		if (rc->peers[i].id != id)
			continue;
		if (rc->peers[i].z85[0] != '\0')
			return rc->peers[i].z85;
		/* looked up at each connection: a reload's new key counts */
		const trc_key_t *k = trc_keys_by_name(rc->keys, rc->peers[i].name);
		if (k != NULL && k->role == TRACTION__V1__ROLE__ROLE_SERVICE)
			return k->public_key;
	}
	return rc->pub;
}

int trc_raft_curve_reload(struct raft_uv_transport *t, char *err, size_t errlen)
{
	return s_load(t->impl, err, errlen);
}

void trc_raft_curve_stats(const struct raft_uv_transport *t, trc_raft_curve_stats_t *s)
{
	const s_rc_t *rc = t->impl;
	if (rc != NULL)
		*s = rc->st;
	else
		memset(s, 0, sizeof(*s));
}

void trc_raft_curve_close(struct raft_uv_transport *t)
{
	s_rc_t *rc = t->impl;
	if (rc == NULL)
		return;
	if (rc->zap != NULL)
		zmq_close(rc->zap);
	if (rc->zctx != NULL)
		zmq_ctx_term(rc->zctx);
	trc_keys_destroy(&rc->keys);
	free(rc->peers);
	memset(rc->sec, 0, sizeof(rc->sec));
	free(rc);
	t->impl = NULL;
}
