/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's authentication: who may connect (CurveZMQ, the ZAP handler
 * of ZeroMQ RFC 27 with the keys of keys_dir), who a request comes from
 * (the key the handler named), and whose rights it has (the key's own, or
 * with Header.on_behalf_of the user an edge acts for). See docs/security.md.
 */
#ifndef TRC_BROKER_AUTH_H
#define TRC_BROKER_AUTH_H

#include <stdbool.h>
#include <zmq.h>

#include "config.h"
#include "keys.h"
#include "traction/v1/bus.pb-c.h"

typedef struct trc_auth trc_auth_t;

/* With curve or service_curve: the broker's key pair, the keys that may
 * connect and the ZAP handler, bound in zctx before any socket binds.
 * Without either, only the users an edge may act for (if keys_dir exists). */
int trc_auth_new(trc_auth_t **auth_p, void *zctx, const trc_config_t *cfg);
/* Connections the ZAP handler has refused. */
uint64_t trc_auth_refused(const trc_auth_t *a);
/* Closes the ZAP handler's socket: before the ZeroMQ context terminates. */
void trc_auth_destroy(trc_auth_t **auth_p);

/* The keys and users in force (NULL: none were loaded at start, and none
 * are reloaded), and the directory they came from. */
const trc_keys_t *trc_auth_keys(const trc_auth_t *auth);
const char *trc_auth_keys_dir(const trc_auth_t *auth);
/* Puts keys, loaded from dir, in force in place of those before (it takes
 * keys): a reload (keyaudit.c) once the difference is recorded. */
void trc_auth_keys_set(trc_auth_t *auth, trc_keys_t *keys, const char *dir);

/* Makes s a CurveZMQ server: for services (the service and event
 * endpoints, role = service keys only) or for clients. `what` names the
 * endpoint in the log. */
int trc_auth_curve_server(trc_auth_t *auth, void *s, bool services, const char *what);

/* The ZAP handler's socket, to poll (NULL without CurveZMQ), and the
 * handler: answers every ZAP request waiting on it. */
void *trc_auth_zap_socket(const trc_auth_t *auth);
void trc_auth_zap_serve(trc_auth_t *auth);

/* The key a client's message came with, from its "User-Id" (the key's
 * name the ZAP handler gave); NULL if the key was removed since. */
const trc_key_t *trc_auth_identify(const trc_auth_t *auth, zmq_msg_t *part);

/* Who a request acts as: with Header.on_behalf_of, the user an edge names
 * (*as, and the edge's name in *edge); else the key itself. Returns why it
 * is refused, or NULL. */
const char *trc_auth_acting_for(const trc_auth_t *auth, const trc_key_t *key,
				const Traction__V1__Header *h, const trc_key_t **as,
				const char **edge);

#endif
