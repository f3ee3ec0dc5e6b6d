/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One MQTT connection of traction-mqttd and the server that holds them:
 * the private header of server.c (sockets, the loop) and proto.c (what a
 * connection's packets do).
 */
#ifndef MQD_CONN_H
#define MQD_CONN_H

#include <uthash.h>

#include "keys.h"
#include "mqttd.h"
#include "tls.h"

/* A QoS 1 or 2 PUBLISH not yet acknowledged, in the order received. */
typedef struct {
	uint64_t seq;
	uint16_t pid;
	uint8_t qos;
	bool done;          /* answered: its PUBACK or PUBREC may go */
	uint8_t reason;     /* 5.0: the first refusal's */
	char why[128];
} ackq_t;

/* A QoS 2 packet id received and not yet released (PUBREL). */
typedef struct {
	uint16_t pid;
	uint64_t counter;   /* its key's */
	bool recd;          /* PUBREC sent (or, from the store, maybe) */
} q2_t;

typedef struct conn {
	int fd;
	uint32_t gen;       /* with the slot: the id jobs carry */
	bool used, connected, closing, touched;
	uint8_t version;
	char client[MQD_CLIENT_ID_MAX + 1];
	char user[65];
	char peer[48];
	bool persistent;
	uint32_t expiry_s;
	uint64_t epoch, next, reserved;
	uint32_t keepalive_s;
	uint32_t max_out;   /* the client's maximum packet size */
	int64_t last_rx, accepted;
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_len, out_cap;
	ackq_t *ack;        /* a ring of receive_maximum */
	size_t ack_head, ack_n;
	q2_t *q2;
	size_t q2_n, q2_cap;
	mqd_job_t *pending; /* records for the next job */
	unsigned on_bus;    /* its jobs on the bus: at most one per worker, so that
			     * while one waits for feedbackd's commit the next is
			     * made and sent (docs/mqtt.md, "Speed") */
	bool reading;       /* EPOLLIN asked for */
	bool writing;       /* EPOLLOUT asked for */
	uint64_t seq;
	char *will_topic;   /* its will, published if it ends without DISCONNECT */
	uint8_t *will_payload;
	size_t will_len;
	uint8_t will_qos;
	char spb_node[MQD_SPB_ID_MAX * 2 + 2]; /* GROUP/EDGE of its NDEATH will, or "" */
	bool sub_state, sub_ncmd;             /* what it subscribed to (pubsub.c) */
	mqd_tls_conn_t *tls;                  /* on the TLS listener's connections */
	char cert_cn[65];                     /* its client certificate's CN, verified */
	UT_hash_handle hh;                    /* in by_client while connected */
} conn_t;

struct mqd_server {
	trc_config_t cfg;
	const mqd_conf_t *mc;
	int ep, lfd, bfd, tls_lfd;
	int spare_fd;        /* held for the moment the file limit is reached */
	int64_t paused_until; /* the listeners out of the epoll set until then; 0: in */
	int64_t pause_logged_ms;
	uint64_t pauses;
	uint64_t conns_refused;
	int64_t refused_logged_ms;
	unsigned port, tls_port;
	mqd_tls_t *tls;
	conn_t *conns;
	unsigned n_conns;
	conn_t *by_client;   /* the connected ones by client id (uthash) */
	uint32_t *free;      /* the slots not in use, a stack */
	unsigned n_free;
	uint32_t *touched;
	size_t n_touched;
	mqd_store_t *store;
	mqd_bus_t *bus;
	trc_keys_t *keys;
	int64_t next_sweep;
	uint64_t refused, accepted_msgs;
	mqd_spb_t *spb;
	int64_t started_ms;  /* the host's STATE timestamp */
};

/* server.c */
uint64_t mqd_conn_id(const mqd_server_t *srv, const conn_t *c);
void mqd_conn_touch(mqd_server_t *srv, conn_t *c);
/* Appends a packet to the connection's output (written after the turn's
 * commit); false (and the connection closing) when it is past its bound. */
bool mqd_conn_send(mqd_server_t *srv, conn_t *c, const uint8_t *p, size_t n);
/* Closes now (the session saved if persistent); 5.0 connections past their
 * CONNECT get a DISCONNECT with reason first, if reason is not 0. */
void mqd_conn_close(mqd_server_t *srv, conn_t *c, uint8_t reason, const char *why);
/* Its input buffer's packets, as far as its acknowledgements allow. */
void mqd_conn_input(mqd_server_t *srv, conn_t *c);

/* proto.c */
/* One packet of c; false when the connection was closed. */
bool mqd_proto_packet(mqd_server_t *srv, conn_t *c, const uint8_t *pkt, size_t len);
/* A job's answers into its connection's acknowledgements. */
void mqd_proto_answer(mqd_server_t *srv, conn_t *c, mqd_job_t *job);
/* A job's refusals into the log and the store (c NULL if it is gone). */
void mqd_proto_refusals(mqd_server_t *srv, mqd_job_t *job);
/* The acknowledgements now due, in order. */
void mqd_proto_acks(mqd_server_t *srv, conn_t *c);
/* The session when the connection ends. */
void mqd_proto_end(mqd_server_t *srv, conn_t *c);
/* A PUBLISH of c (a will too): records for the bus, or a refusal; false
 * when the connection was closed. */
bool mqd_proto_publish(mqd_server_t *srv, conn_t *c, const mq_publish_t *p);

/* pubsub.c */
/* A QoS 0 PUBLISH to c (dropped if past the client's maximum packet size). */
void mqd_pubsub_send(mqd_server_t *srv, conn_t *c, const char *topic, const uint8_t *payload,
		     size_t plen, bool retain);
/* SUBSCRIBE or UNSUBSCRIBE: granted for the host's STATE and the edge
 * node's own NCMD, refused per filter otherwise. */
void mqd_pubsub_subscribe(mqd_server_t *srv, conn_t *c, const mq_subscribe_t *s, mq_type_t type);
/* NCMD Node Control/Rebirth to the connections subscribed to o->node's. */
void mqd_pubsub_rebirth(mqd_server_t *srv, const mqd_spb_out_t *o);
/* The will of a CONNECT kept (0), or -1 (out of memory). */
int mqd_pubsub_will_keep(conn_t *c, const mq_connect_t *k);
void mqd_pubsub_will_drop(conn_t *c);
/* The will published (once), if there is one. */
void mqd_pubsub_will(mqd_server_t *srv, conn_t *c);

#endif
