/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-mqttd's TLS (tls.c): the credentials of the listener on
 * tls_port, and a connection's TLS session, non-blocking. Only server.c
 * and proto.c use it; GnuTLS stays behind it.
 */
#ifndef MQD_TLS_H
#define MQD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mqttd.h"

#define MQD_TLS_AGAIN (-2) /* nothing now: wait for the socket */
#define MQD_TLS_ERROR (-1) /* the connection is over */

typedef struct mqd_tls mqd_tls_t;
typedef struct mqd_tls_conn mqd_tls_conn_t;

/* The certificate, key and client CAs of [mqtt] tls_*: 0, or -1 (logged). */
int mqd_tls_new(mqd_tls_t **tls_p, const mqd_conf_t *mc);
void mqd_tls_destroy(mqd_tls_t **tls_p);

/* A server session on an accepted socket, NULL if none can be made. */
mqd_tls_conn_t *mqd_tls_accept(mqd_tls_t *tls, int fd);
void mqd_tls_free(mqd_tls_conn_t **c_p);
bool mqd_tls_ready(const mqd_tls_conn_t *c);
/* A step of the handshake: 0 done, 1 wants to read, 2 wants to write, -1
 * failed (why says how). */
int mqd_tls_handshake(mqd_tls_conn_t *c, char *why, size_t cap);
/* Bytes read (0: the peer closed), MQD_TLS_AGAIN or MQD_TLS_ERROR. */
ssize_t mqd_tls_recv(mqd_tls_conn_t *c, void *buf, size_t n);
/* Bytes written from the head of buf (at most a record's), MQD_TLS_AGAIN
 * (call again with the same head) or MQD_TLS_ERROR. */
ssize_t mqd_tls_send(mqd_tls_conn_t *c, const void *buf, size_t n);
/* Whether read records wait inside the session (epoll cannot see them). */
bool mqd_tls_pending(const mqd_tls_conn_t *c);
/* The common name of the client's (verified) certificate: 0, or -1 if it
 * sent none (or it has none that fits cap). */
int mqd_tls_peer_cn(mqd_tls_conn_t *c, char *cn, size_t cap);

#endif
