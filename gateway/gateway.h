/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-gatewayd: the HTTP/JSON API of the bus (docs/http.md).
 *
 * libmicrohttpd serves HTTP/1.1 with a thread per connection: each
 * connection has a libtraction client of its own (so a connection's
 * requests, an SSE stream's long polls included, are plain blocking calls
 * on its thread, and connections never wait for each other). Every request
 * acts, with the gateway's edge key, for the end user its bearer token (or
 * session cookie) names; the broker applies that user's role and scope.
 *
 * Files: main.c (life cycle), http.c (the server, connections, bodies,
 * answers), auth.c (tokens and sessions), routes.c (the REST table and the
 * generic call), feedback.c (POST /v1/feedback), events.c (SSE of
 * events.read), openapi.c (the document, from the table and proto/),
 * static.c (the dashboard's files).
 */
#ifndef TRC_GATEWAY_H
#define TRC_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "metrics.h"
#include "traction/traction.h"

/* ---- conf.c: [gateway] --------------------------------------------------------- */

typedef struct {
	char address[TRC_CONFIG_STR];
	unsigned port;
	unsigned max_connections;
	unsigned max_body_mb;
	unsigned timeout_s;        /* idle connection, and a slow client */
	unsigned session_ttl_s;
	unsigned auth;             /* 0: every request acts as the gateway itself */
	char key_file[TRC_CONFIG_PATH];
	char address_file[TRC_CONFIG_PATH];
	char tls_cert_file[TRC_CONFIG_PATH];
	char tls_key_file[TRC_CONFIG_PATH];
	char web_dir[TRC_CONFIG_PATH];        /* the dashboard, at / */
	char web_vendor_dir[TRC_CONFIG_PATH]; /* /vendor/: Debian's libjs-* */
} gw_conf_t;

/* Our sections of the config file, NULL-terminated: [gateway]. */
extern const trc_conf_section_t *const gw_config[];
/* Their values in cfg (made for gw_config). */
const gw_conf_t *gw_conf(const trc_config_t *cfg);

/* ---- one HTTP request, as the handlers see it ------------------------------- */

#define GW_PARAMS_MAX 4
#define GW_QUERY_MAX 64

typedef struct {
	const char *key;
	const char *value;
} gw_pair_t;

typedef struct gw_conn gw_conn_t;

typedef struct {
	gw_conn_t *conn;
	const char *method;            /* "GET" */
	const char *path;              /* "/v1/scenarios/weld-line-3" */
	const char *params[GW_PARAMS_MAX]; /* the route's {placeholders}, decoded (owned) */
	gw_pair_t query[GW_QUERY_MAX];
	size_t nquery;
	const char *content_type;      /* "" if none */
	const char *idempotency_key;   /* the header, or NULL */
	const char *last_event_id;     /* the header, or NULL */
	const char *if_none_match;     /* the header, or NULL */
	const char *session;           /* the session cookie, or NULL */
	const char *body;
	size_t body_len;
	const char *user;              /* whom it acts for (NULL: the gateway) */
	traction_client_t *client;     /* the connection's */
} gw_request_t;

/* What a handler answers: a status and a JSON document, or (SSE) a stream
 * the server pulls from with a callback. */
typedef struct {
	unsigned status;
	json_t *doc;                   /* owned; NULL: no body */
	const char *set_cookie;        /* a Set-Cookie header value, or NULL */
	char committed[96];            /* Traction-Committed: a write's position */
	char applied[256];             /* Traction-Applied: what the daemon had applied */
	/* a file (the dashboard's): fd (-1 for a 304) of file_size bytes */
	bool file;
	int fd;
	uint64_t file_size;
	const char *mime;
	char etag[64];
	/* a stream: the server calls next(ctx, buf, max) until it returns <0 */
	long (*next)(void *ctx, char *buf, size_t max);
	void (*free_ctx)(void *ctx);
	void *ctx;
} gw_answer_t;

typedef void (*gw_handler_fn)(gw_request_t *rq, gw_answer_t *an);

/* ---- routes.c ---------------------------------------------------------------- */

#define GW_R_CREATED 0x1u  /* 201 on success */
#define GW_R_MASK 0x2u     /* update_mask: the body's top-level keys */
#define GW_R_PUBLIC 0x4u   /* no token needed (the document, health, session) */

typedef struct {
	const char *http;              /* "GET" */
	const char *path;              /* "/v1/providers/{id}" */
	/* a bus method, or a handler of the gateway's own */
	const char *service, *method;
	gw_handler_fn handler;
	/* where the JSON body goes: NULL no body; "" the request itself; else
	 * the request's field that takes it ("provider") */
	const char *body;
	/* where each {placeholder} goes: a field path of the request */
	const char *params[GW_PARAMS_MAX];
	unsigned flags;
	const char *summary;
} gw_route_t;

extern const gw_route_t gw_routes[];
extern const size_t gw_n_routes;

/* The route of method and path (params filled, decoded), or NULL; *allowed
 * tells whether the path exists with another method (405 rather than 404). */
const gw_route_t *gw_route_find(const char *method, const char *path, gw_request_t *rq,
				bool *allowed);

/* Frees what gw_route_find gave the request (its placeholders). */
void gw_request_done(gw_request_t *rq);

/* Runs a route: a handler of its own, or the bus call it names. */
void gw_route_run(const gw_route_t *r, gw_request_t *rq, gw_answer_t *an);

/* A bus call with req (of the method's type); the answer is its reply's
 * JSON, or the error. */
void gw_call(gw_request_t *rq, const char *service, const char *method,
	     const ProtobufCMessage *req, unsigned ok_status, gw_answer_t *an);

/* The last reply's positions into the answer's Traction-Committed and
 * Traction-Applied headers. */
void gw_positions(gw_request_t *rq, gw_answer_t *an);

/* Calls each for every SOURCE:SEQ of a list ("scenario:41,supply:12": a
 * Traction-After header, an event stream's id). 0, or -1 if the text is
 * not such a list or each refused one. */
int gw_positions_each(const char *text, int (*each)(void *ud, const char *source, uint64_t seq),
		      void *ud);

/* A Traction-After header ("scenario:41,supply:12") into the client's
 * positions to wait for (none: cleared). 0, or -1 if it is not that. */
int gw_after(gw_request_t *rq, const char *header);

/* The HTTP status of a bus code (400, 403, 404, 409, 412, 429, 503, ...). */
unsigned gw_http_status(int code);

/* An error answer: {"error": {code, message, details}}. */
void gw_error(gw_answer_t *an, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The error of the last call on rq's client, with its details. */
void gw_bus_error(gw_request_t *rq, gw_answer_t *an, int code, const char *message);

/* ---- handlers of the gateway's own ------------------------------------------ */

void gw_feedback_post(gw_request_t *rq, gw_answer_t *an);  /* feedback.c */
void gw_events(gw_request_t *rq, gw_answer_t *an);         /* events.c */
void gw_openapi(gw_request_t *rq, gw_answer_t *an);        /* openapi.c */
/* GET of a path outside /v1/: a file of web_dir (or web_vendor_dir for
 * /vendor/), or 404. */
void gw_static(gw_request_t *rq, gw_answer_t *an);         /* static.c */
/* Whether a path under a served directory is one to serve: components of
 * [A-Za-z0-9_-] with single dots inside them only. */
bool gw_static_path_ok(const char *rel);
void gw_health(gw_request_t *rq, gw_answer_t *an);         /* routes.c */
void gw_session_new(gw_request_t *rq, gw_answer_t *an);    /* auth.c */
void gw_session_end(gw_request_t *rq, gw_answer_t *an);
void gw_session_get(gw_request_t *rq, gw_answer_t *an);

/* ---- auth.c ------------------------------------------------------------------- */

/* Loads the users' token hashes from keys_dir (again on SIGHUP; a bad
 * directory keeps what was loaded). 0, or -1 with the reason logged. */
int gw_auth_load(const trc_config_t *cfg);
void gw_auth_free(void);
/* The user of an "Authorization: Bearer T" value or a session cookie
 * value (either may be NULL): 0 and the name in user[65], or -1. */
int gw_auth_user(const char *authorization, const char *cookie, char user[65]);

/* ---- http.c ------------------------------------------------------------------- */

typedef struct gw_server gw_server_t;

/* ---- accept.c: the listener, and its thread that hands connections to
 * libmicrohttpd (no spin past the file limit) ---- */
typedef struct gw_acceptor gw_acceptor_t;
struct MHD_Daemon;
struct sockaddr_in;
/* The listener bound to sa (*port: the port it got): 0, or -1 (errno);
 * *a_p is set either way, for gw_accept_stop. */
int gw_accept_listen(gw_acceptor_t **a_p, const struct sockaddr_in *sa, unsigned *port);
/* Its thread, handing each connection to mhd: 0, or -1. */
int gw_accept_start(gw_acceptor_t *a, struct MHD_Daemon *mhd);
/* A connection ended: if the listener rests, its turn now. */
void gw_accept_freed(gw_acceptor_t *a);
/* The thread stopped, the listener closed; *a_p NULL. */
void gw_accept_stop(gw_acceptor_t **a_p);

int gw_server_start(gw_server_t **srv_p, const trc_config_t *cfg);
/* The series of the responses by status, in m (NULL: none): before start. */
void gw_http_metrics(trc_metrics_t *m);
void gw_server_stop(gw_server_t **srv_p);
/* The port it listens on (the one the kernel picked for port = 0). */
unsigned gw_server_port(const gw_server_t *srv);
/* Connections open now. */
unsigned gw_server_connections(const gw_server_t *srv);

/* The configuration the server runs with (read-only after start). */
extern const trc_config_t *gw_cfg;
/* Set when the gateway stops: streams end. */
extern int gw_stopping; /* atomic */
/* A bus client with the gateway's identity, acting for user (may be NULL). */
int gw_client_new(traction_client_t **c, const char *user);

#endif
