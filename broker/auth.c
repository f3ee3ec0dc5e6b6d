/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's authentication: the ZAP handler (ZeroMQ RFC 27) that lets in
 * the CURVE keys of keys_dir, the broker's own key pair, and whose rights a
 * request has. See auth.h.
 */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"

/* ZAP domains: which endpoint a connection came to. */
#define ZAP_CLIENTS "traction"
#define ZAP_SERVICES "traction-service"

struct trc_auth {
	char keys_dir[TRC_CONFIG_PATH]; /* the one in force, for the log */
	trc_keys_t *keys; /* who may connect, with curve; the users an edge acts for */
	void *zap;        /* REP: the ZeroMQ authentication handler, with curve */
	uint64_t refused; /* connections refused */
	char server_pub[TRC_Z85_KEY + 1];
	char server_sec[TRC_Z85_KEY + 1];
};

static int s_load_keys(trc_auth_t *a, const trc_config_t *cfg)
{
	char err[512];
	trc_keys_t *keys = NULL;
	if (trc_keys_load(&keys, cfg->keys_dir, err, sizeof(err)) != 0) {
		trc_err("%s", err);
		return TRC_ECONFIG;
	}
	trc_auth_keys_set(a, keys, cfg->keys_dir);
	return 0;
}

void trc_auth_keys_set(trc_auth_t *a, trc_keys_t *keys, const char *dir)
{
	trc_keys_destroy(&a->keys);
	a->keys = keys;
	if (dir != a->keys_dir) /* a reload of the same one names it (no overlap) */
		snprintf(a->keys_dir, sizeof(a->keys_dir), "%s", dir);
	trc_info("%zu client keys from %s", trc_keys_count(keys), dir);
}

const trc_keys_t *trc_auth_keys(const trc_auth_t *a)
{
	return a->keys;
}

const char *trc_auth_keys_dir(const trc_auth_t *a)
{
	return a->keys_dir;
}

static int s_security(trc_auth_t *a, void *zctx, const trc_config_t *cfg)
{
	char err[512];
	if (!cfg->curve && !cfg->service_curve) {
		/* no keys to check, but the users an edge may act for */
		if (access(cfg->keys_dir, F_OK) == 0 && s_load_keys(a, cfg) != 0)
			return TRC_ECONFIG;
		return 0;
	}
	if (trc_keypair_load(cfg->server_key_file, a->server_pub, a->server_sec, err,
			     sizeof(err)) != 0) {
		trc_err("%s", err);
		return TRC_ECONFIG;
	}
	if (s_load_keys(a, cfg) != 0)
		return TRC_ECONFIG;
	a->zap = zmq_socket(zctx, ZMQ_REP);
	if (a->zap == NULL || zmq_bind(a->zap, "inproc://zeromq.zap.01") != 0) {
		trc_err("cannot set up the ZAP handler: %s", zmq_strerror(errno));
		return TRC_ECONFIG;
	}
	return 0;
}

int trc_auth_new(trc_auth_t **auth_p, void *zctx, const trc_config_t *cfg)
{
	trc_auth_t *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return TRC_ENOMEM;
	int rc = s_security(a, zctx, cfg);
	if (rc != 0) {
		trc_auth_destroy(&a);
		return rc;
	}
	*auth_p = a;
	return 0;
}

void trc_auth_destroy(trc_auth_t **auth_p)
{
	if (auth_p == NULL || *auth_p == NULL)
		return;
	trc_auth_t *a = *auth_p;
	if (a->zap != NULL)
		zmq_close(a->zap);
	trc_keys_destroy(&a->keys);
	free(a);
	*auth_p = NULL;
}

/* The ZAP domain tells the handler which endpoint a connection came to. */
int trc_auth_curve_server(trc_auth_t *a, void *s, bool services, const char *what)
{
	int one = 1;
	const char *domain = services ? ZAP_SERVICES : ZAP_CLIENTS;
	if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, a->server_sec, TRC_Z85_KEY) != 0 ||
	    zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0) {
		trc_err("cannot set up CurveZMQ: %s", zmq_strerror(errno));
		return TRC_ECONFIG;
	}
	trc_info("%s endpoint requires CurveZMQ; server public key %s", what, a->server_pub);
	return 0;
}

void *trc_auth_zap_socket(const trc_auth_t *a)
{
	return a->zap;
}

/* Reads one ZAP request into f (at most 7 frames; the rest of a longer
 * one is drained). Returns how many frames it read. */
static int s_zap_recv(trc_auth_t *a, zmq_msg_t f[7])
{
	int n = 0, more = 1;
	while (more && n < 7) {
		zmq_msg_init(&f[n]);
		if (zmq_msg_recv(&f[n], a->zap, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&f[n]);
			break;
		}
		more = zmq_msg_more(&f[n]);
		n++;
	}
	while (more) { /* a malformed request: drain it */
		zmq_msg_t x;
		zmq_msg_init(&x);
		if (zmq_msg_recv(&x, a->zap, 0) < 0)
			more = 0;
		else
			more = zmq_msg_more(&x);
		zmq_msg_close(&x);
	}
	return n;
}

/* Answers one ZAP request: a CURVE key listed in keys_dir gets in, with its
 * file name as the user id; on the service and event endpoints only a key
 * with role = service. Anything else is refused, and the peer never gets a
 * reply to anything it sends. */
static void s_zap(trc_auth_t *a)
{
	zmq_msg_t f[7];
	int n = s_zap_recv(a, f);
	if (n < 6) {
		for (int i = 0; i < n; i++)
			zmq_msg_close(&f[i]);
		return;
	}
	const char *status = "400", *text = "unknown key";
	char user[80] = "";
	const trc_key_t *k = NULL;
	if (zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 && n == 7 &&
	    zmq_msg_size(&f[6]) == 32) {
		char z85[TRC_Z85_KEY + 1];
		zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
		k = trc_keys_by_public(a->keys, z85);
		bool services = zmq_msg_size(&f[2]) == strlen(ZAP_SERVICES) &&
				memcmp(zmq_msg_data(&f[2]), ZAP_SERVICES, strlen(ZAP_SERVICES)) == 0;
		if (k != NULL && services && k->role != TRACTION__V1__ROLE__ROLE_SERVICE) {
			trc_notice("refused a connection to a service endpoint: key %s (%s) is not "
				   "role = service",
				   k->name, z85);
			text = "not a service key";
		} else if (k != NULL) {
			status = "200";
			text = "OK";
			snprintf(user, sizeof(user), "%s", k->name);
		} else {
			trc_notice("refused a connection: key %s is not in %s", z85, a->keys_dir);
		}
	} else {
		text = "CURVE required";
	}
	if (status[0] != '2')
		a->refused++;
	/* version, request id (echoed), status code, status text, user id, metadata */
	zmq_send(a->zap, "1.0", 3, ZMQ_SNDMORE);
	zmq_msg_send(&f[1], a->zap, ZMQ_SNDMORE);
	zmq_send(a->zap, status, 3, ZMQ_SNDMORE);
	zmq_send(a->zap, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(a->zap, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(a->zap, "", 0, 0);
	for (int i = 0; i < n; i++)
		zmq_msg_close(&f[i]);
}

void trc_auth_zap_serve(trc_auth_t *a)
{
	for (int n = 0; a->zap != NULL && n < 64; n++) {
		int ev = 0;
		size_t len = sizeof(ev);
		if (zmq_getsockopt(a->zap, ZMQ_EVENTS, &ev, &len) != 0 || !(ev & ZMQ_POLLIN))
			break;
		s_zap(a);
	}
}

/* A key removed since the connection was made names no key any more. */
const trc_key_t *trc_auth_identify(const trc_auth_t *a, zmq_msg_t *part)
{
	const char *user = zmq_msg_gets(part, "User-Id");
	return user != NULL ? trc_keys_by_name(a->keys, user) : NULL;
}

/* Without CurveZMQ every client is an admin, so naming a user there only
 * ever narrows its rights: it is allowed, so that a localhost gateway needs
 * no keys. */
const char *trc_auth_acting_for(const trc_auth_t *a, const trc_key_t *key,
				const Traction__V1__Header *h, const trc_key_t **as,
				const char **edge)
{
	bool names = h->on_behalf_of != NULL && h->on_behalf_of[0] != '\0';
	bool is_edge = key != NULL && key->role == TRACTION__V1__ROLE__ROLE_EDGE;
	*as = key;
	*edge = NULL;
	if (!names) {
		/* an edge's own rights: the broker's ping and status, no more */
		if (is_edge && strcmp(h->service, "broker") != 0)
			return "an edge acts only for a user: name it in Header.on_behalf_of";
		return NULL;
	}
	if (key != NULL && !is_edge)
		return "on_behalf_of: only an edge key may act for a user";
	const trc_key_t *u = trc_keys_by_name(a->keys, h->on_behalf_of);
	if (u == NULL || !u->user)
		return "on_behalf_of: no such user in keys_dir";
	*as = u;
	*edge = key != NULL ? key->name : "anonymous";
	return NULL;
}

uint64_t trc_auth_refused(const trc_auth_t *a)
{
	return a != NULL ? a->refused : 0;
}
