/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-mqttd: MQTT 3.1.1 and 5.0 ingest of feedback (docs/mqtt.md).
 *
 * A client daemon (lib/clientd.h). Its main thread runs one epoll loop,
 * hosted in lib's: every socket, the session store and the acknowledgements
 * are the main thread's alone. Records go to the bus through a few worker
 * threads, each with a libtraction client of its own that acts for the
 * connection's MQTT user (traction_client_on_behalf_of, the gateway's edge
 * pattern); their answers come back through an eventfd.
 *
 * One turn of the loop: read what the sockets have (packets decoded and
 * handled, records made), take the bus's answers (acknowledgements become
 * due, in the order their PUBLISHes came), commit the session store's one
 * write transaction of the turn, and only then write the sockets and hand
 * the new records to the bus: nothing is acknowledged, and no record is
 * sent under a key, before what it depends on is on disk (Redis's "write
 * before entering the event loop again").
 *
 * Files: main.c (life cycle, `refusals`), conf.c ([mqtt]), codec*.c (the
 * packets), ingest.c (topics and payloads into records), server.c
 * (sockets and the loop), proto.c (the MQTT state machine of a
 * connection), session.c (the LMDB store: sessions, QoS 2 packet ids,
 * refusals), job.c (a job: the messages of one feedback.publish, made into
 * records by the worker), bus.c (the workers).
 */
#ifndef MQD_H
#define MQD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "codec.h"
#include "config.h"
#include "metrics.h"
#include "traction/v1/feedback.pb-c.h"

/* ---- conf.c: [mqtt] ------------------------------------------------------------- */

typedef struct {
	char address[TRC_CONFIG_STR];
	unsigned port;
	char tls_cert_file[TRC_CONFIG_PATH];
	char tls_key_file[TRC_CONFIG_PATH];
	char tls_address[TRC_CONFIG_STR];
	unsigned tls_port;
	char tls_ca_file[TRC_CONFIG_PATH];
	unsigned tls_client_cert;
	char tls_priority[TRC_CONFIG_STR];
	unsigned max_connections;
	unsigned max_packet_kb;
	unsigned max_output_kb;
	unsigned receive_maximum;
	unsigned keepalive_max_s;
	unsigned connect_timeout_s;
	unsigned session_expiry_max_s;
	unsigned auth;
	char key_file[TRC_CONFIG_PATH];
	char address_file[TRC_CONFIG_PATH];
	char state_subdir[TRC_CONFIG_STR];
	unsigned map_size_mb;
	unsigned bus_threads;
	unsigned refusals_max;
	char sparkplug_bindings[TRC_CONFIG_PATH];
	char sparkplug_host_id[TRC_CONFIG_STR];
} mqd_conf_t;

extern const trc_conf_section_t *const mqd_config[];
const mqd_conf_t *mqd_conf(const trc_config_t *cfg);

/* ---- ingest.c ------------------------------------------------------------------- */

#define MQD_RECORDS_MAX 1000 /* records in one PUBLISH */
#define MQD_KEY_MAX 160      /* a derived idempotency key */
#define MQD_CLIENT_ID_MAX 64

typedef struct {
	Traction__V1__FeedbackRecord *v; /* n records, strings malloc'd, */
	size_t n;
	void *block;                     /* or all of it in here (mqd_scan) */
	bool array;
	uint8_t reason;                  /* when refused: a 5.0 reason code */
	char err[256];
} mqd_records_t;

/* The records of a PUBLISH on topic with payload; those without a key of
 * their own get key_base (an array's: key_base/INDEX). 0, or -1 with
 * rs->reason and rs->err (nothing to free then). */
int mqd_records(const char *topic, size_t tlen, const uint8_t *payload, size_t plen,
		const char *key_base, mqd_records_t *rs);
void mqd_records_free(mqd_records_t *rs);
/* mqd_records through jansson alone, without the direct scan: the answer
 * the scan must agree with (the differential tests). */
int mqd_records_json(const char *topic, size_t tlen, const uint8_t *payload, size_t plen,
		     const char *key_base, mqd_records_t *rs);

/* scan.c: a JSON payload in the common form (metric records, no escapes;
 * the header of scan.c) read directly into rs, the records and their
 * strings in rs->block, the topic's fields (parts: scenario, supply,
 * version) and the keys made from key_base in, as mqd_records makes them:
 * 0; 1 if it is not in that form, when only jansson's path can answer. */
int mqd_scan(const uint8_t *payload, size_t plen, const char *const parts[3],
	     const char *key_base, mqd_records_t *rs);

/* The 5.0 reason code of a bus status code that refuses a record. */
uint8_t mqd_reason_of(int code);
/* Whether a bus status code may pass if the record is sent again
 * (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ...). */
bool mqd_retryable(int code);

/* ---- spb.c: Sparkplug B ---------------------------------------------------------- */

#define MQD_SPB_ID_MAX 64   /* a group, edge node or device id, bytes */
#define MQD_SPB_KEY_MAX 128 /* a readable key; a longer one becomes spb/h/SHA256 */

/* The edge nodes seen (born or dead, their bdSeq, seq and aliases) and the
 * bindings of nodes and devices to deployments. */
typedef struct mqd_spb mqd_spb_t;

/* What a Sparkplug message asks of the daemon besides its records. */
typedef struct {
	char node[MQD_SPB_ID_MAX * 2 + 2]; /* GROUP/EDGE */
	bool rebirth;                      /* publish NCMD Node Control/Rebirth to it */
	char why[64];                      /* why the rebirth */
	char gap[48];                      /* "seq 3 after 1", if a gap */
	const char *event;                 /* "born", "dead", ..., or "" */
	unsigned skipped;                  /* metrics whose names do not fit a traction name */
} mqd_spb_out_t;

int mqd_spb_new(mqd_spb_t **spb_p);
void mqd_spb_destroy(mqd_spb_t **spb_p);
/* The bindings file (path "": none), in place of those before; 0, or -1
 * with err naming the file and line (the bindings before stay). */
int mqd_spb_load(mqd_spb_t *spb, const char *path, size_t *count, char *err, size_t errlen);
/* Whether topic is in the Sparkplug B namespace (spBv1.0/...). */
bool mqd_spb_is_topic(const char *topic, size_t n);
/* GROUP/EDGE into node if topic is spBv1.0/GROUP/type/EDGE: 0, else -1. */
int mqd_spb_node_of(const char *topic, size_t n, const char *type, char *node, size_t cap);
/* A PUBLISH on a spBv1.0/ topic: the node's state updated, its metrics as
 * records in rs, and what else to do in out. 0, or -1 with rs->reason and
 * rs->err (nothing to free then). now_ms: the time of receipt. */
int mqd_spb_message(mqd_spb_t *spb, const char *topic, size_t tlen, const uint8_t *payload,
		    size_t plen, int64_t now_ms, mqd_records_t *rs, mqd_spb_out_t *out);
/* The payload of NCMD Node Control/Rebirth = true: its length in buf, or 0. */
size_t mqd_spb_rebirth(uint8_t *buf, size_t cap, int64_t now_ms);

/* ---- session.c: the LMDB store -------------------------------------------------- */

typedef struct mqd_store mqd_store_t;

typedef struct {
	uint64_t epoch;       /* random, made with the session: in every key */
	uint64_t reserved;    /* counters below this may have been used */
	uint32_t expiry_s;    /* session expiry interval */
	int64_t ended_ms;     /* wall clock of its last disconnect; 0: connected */
} mqd_session_rec_t;

int mqd_store_open(mqd_store_t **st_p, const char *dir, size_t map_size);
void mqd_store_destroy(mqd_store_t **st_p);
/* The turn's write transaction: opened by the first write or read of the
 * turn, committed by mqd_store_commit (0, or the error: nothing of the
 * turn is durable then). */
int mqd_store_commit(mqd_store_t *st);
bool mqd_store_dirty(const mqd_store_t *st);
int mqd_session_get(mqd_store_t *st, const char *client, mqd_session_rec_t *rec);
int mqd_session_put(mqd_store_t *st, const char *client, const mqd_session_rec_t *rec);
/* The session and its packet ids. */
int mqd_session_del(mqd_store_t *st, const char *client);
/* QoS 2: packet id -> the counter its key was made with. */
int mqd_qos2_put(mqd_store_t *st, const char *client, uint16_t pid, uint64_t counter);
int mqd_qos2_del(mqd_store_t *st, const char *client, uint16_t pid);
/* Calls each for every packet id of client. */
int mqd_qos2_each(mqd_store_t *st, const char *client,
		  void (*each)(void *ud, uint16_t pid, uint64_t counter), void *ud);
/* Removes the sessions whose expiry has passed at now_ms: how many. */
int mqd_sessions_expire(mqd_store_t *st, int64_t now_ms);
/* A refused record, as a JSON text, kept among the newest max. */
int mqd_refusal_add(mqd_store_t *st, const char *json, unsigned max);
/* Prints the refusals, oldest first, one JSON object a line. */
int mqd_refusals_print(mqd_store_t *st, FILE *out);

/* ---- job.c: what a worker sends ------------------------------------------------------ */

/* A message of a job: its records made on the loop (Sparkplug, whose
 * state is the loop's), or its topic and payload as they came, made into
 * records by the worker (mqd_records: the JSON parse is most of a
 * record's cost, and off the loop it runs beside it). */
typedef struct {
	uint64_t seq;                      /* its message's number on its connection */
	uint64_t counter;                  /* the counter of its key (raw ones) */
	char *raw;                         /* topic \0 payload, one allocation; NULL: made */
	size_t tlen, plen;
	Traction__V1__FeedbackRecord *v;   /* its records */
	size_t nv;
	void *block;                       /* v and its strings, if made by mqd_scan */
	size_t first;                      /* the first of them in the job's recs */
	uint8_t reason;                    /* refused before the bus: its 5.0 reason, else 0 */
	char *why;                         /* and why (malloc'd; NULL if out of memory) */
} mqd_msg_t;

/* One feedback.publish for a connection: its messages that came since its
 * previous job went to the bus, in the order they came. */
typedef struct mqd_job {
	uint64_t conn;                  /* the connection's id (server.c) */
	char user[65];                  /* "" without auth: the daemon's own key */
	char client[MQD_CLIENT_ID_MAX + 1]; /* the MQTT client id, for keys, logs and refusals */
	uint64_t epoch;                 /* its session's, for keys */
	mqd_msg_t *msgs;
	size_t n_msgs, cap_msgs;
	/* made by mqd_job_make: the records of the messages, in their order */
	Traction__V1__FeedbackRecord **recs;
	size_t n;
	int *code;                      /* per record, filled by the worker */
	char **why;                     /* per record refused: the message (malloc'd) */
	struct mqd_job *next;
} mqd_job_t;

mqd_job_t *mqd_job_new(uint64_t conn, const char *user, const char *client, uint64_t epoch);
/* A message whose records were made: moved out of rs. 0, or -1 (out of memory). */
int mqd_job_add_made(mqd_job_t *job, uint64_t seq, mqd_records_t *rs);
/* A message for the worker to make, copied. 0, or -1 (out of memory). */
int mqd_job_add_raw(mqd_job_t *job, uint64_t seq, uint64_t counter, const uint8_t *topic,
		    size_t tlen, const uint8_t *payload, size_t plen);
/* The worker's part: the raw messages into records (or refusals), and the
 * request's records in the messages' order. 0, or -1 (out of memory: try
 * again). Pure: no bus. */
int mqd_job_make(mqd_job_t *job);
void mqd_job_free(mqd_job_t *job);
void mqd_job_free_list(mqd_job_t *job);

/* ---- bus.c: the workers ----------------------------------------------------------- */

typedef struct mqd_bus mqd_bus_t;


/* Starts the workers; *fd becomes readable when answers are ready. */
int mqd_bus_start(mqd_bus_t **bus_p, const trc_config_t *cfg, int *fd);
void mqd_bus_stop(mqd_bus_t **bus_p);
void mqd_bus_submit(mqd_bus_t *bus, mqd_job_t *job);
/* The answered jobs (a list through next), NULL if none. */
mqd_job_t *mqd_bus_answers(mqd_bus_t *bus);

/* ---- server.c and proto.c ---------------------------------------------------------- */

typedef struct mqd_server mqd_server_t;

int mqd_server_start(mqd_server_t **srv_p, const trc_config_t *cfg);
void mqd_server_stop(mqd_server_t **srv_p);
/* The plain listener's port, or the TLS one's (0: none). */
unsigned mqd_server_port(const mqd_server_t *srv, bool tls);
int mqd_server_fd(const mqd_server_t *srv);
/* One turn of the loop (see above); timeout: ms until the next timer. */
void mqd_server_turn(mqd_server_t *srv);

/* metrics.c: its series in m (NULL: none), and their values after a turn */
void mqd_metrics_open(trc_metrics_t *m);
void mqd_metrics_turn(const mqd_server_t *srv);
int mqd_server_timeout(const mqd_server_t *srv);
/* SIGHUP: the users again. */
void mqd_server_reload(mqd_server_t *srv);

#endif
