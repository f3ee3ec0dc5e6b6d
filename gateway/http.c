/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP server: libmicrohttpd, a thread per connection (see gateway.h),
 * bodies gathered up to max_body_mb, connections past max_connections
 * answered 503, every answer JSON (or an SSE stream).
 *
 * Why libmicrohttpd: a Debian-kept C library (0.9.75 in bookworm) that does
 * HTTP/1.1 keep-alive, chunked bodies both ways, connection limits and
 * timeouts, and TLS through GnuTLS if wanted; its thread-per-connection
 * mode lets each connection make blocking bus calls on its own client,
 * which keeps the gateway simple and the connections independent. h2o
 * would buy HTTP/2 and a faster parser, neither of which is the bottleneck
 * (docs/http.md).
 */
#include "gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "keys.h"
#include "log.h"
#include "util.h"

const trc_config_t *gw_cfg;

/* The bus identity every connection's client uses. */
static traction_options_t s_opts;
static char s_server_pub[TRC_Z85_KEY + 1], s_pub[TRC_Z85_KEY + 1], s_sec[TRC_Z85_KEY + 1];

struct gw_server {
	/* One ZeroMQ context for every connection's bus client: one set of
	 * I/O threads however many connections (a context each was two
	 * threads per connection), and no context made or ended per
	 * connection (libzmq sets OpenPGM's global state up and down with
	 * each, which raced when one ended as another began: TSan saw it). */
	void *keep_zctx;
	char *tls_cert, *tls_key;  /* PEM, for libmicrohttpd's GnuTLS */
	struct MHD_Daemon *mhd;
	unsigned port;
	unsigned connections;      /* atomic */
	trc_config_t cfg;
	gw_acceptor_t *acceptor;   /* the listener (accept.c) */
};

/* One TCP connection: its bus client, made at its first request. */
struct gw_conn {
	gw_server_t *srv;
	traction_client_t *client;
	bool over;                 /* past max_connections: every answer is 503 */
};

/* One request while its body arrives. */
typedef struct {
	char *body;
	size_t len, cap;
	bool too_large;
	bool answered;             /* refused before the body (413, 503) */
} pending_t;

static void *s_zctx; /* the server's, shared by every connection's client */

int gw_client_new(traction_client_t **c, const char *user)
{
	if (traction_client_new_in(c, gw_cfg->client_endpoint, &s_opts, s_zctx) != 0)
		return -1;
	traction_client_on_behalf_of(*c, user);
	return 0;
}

/* ---- answers ------------------------------------------------------------------ */

static enum MHD_Result s_send_doc(struct MHD_Connection *c, unsigned status, json_t *doc,
				  const gw_answer_t *an)
{
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17) |
							   JSON_ENCODE_ANY)
				 : NULL;
	json_decref(doc);
	size_t len = text != NULL ? strlen(text) : 0;
	if (text != NULL) { /* one line, as curl users expect */
		char *nl = realloc(text, len + 2);
		if (nl != NULL) {
			text = nl;
			text[len++] = '\n';
			text[len] = '\0';
		}
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, text != NULL ? text : (char *)"", text != NULL ? MHD_RESPMEM_MUST_FREE
								   : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	if (text != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"traction\"");
	if (an != NULL && an->set_cookie != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, an->set_cookie);
	if (an != NULL && an->committed[0] != '\0')
		MHD_add_response_header(r, "Traction-Committed", an->committed);
	if (an != NULL && an->applied[0] != '\0')
		MHD_add_response_header(r, "Traction-Applied", an->applied);
	enum MHD_Result ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

typedef struct {
	gw_answer_t an;
} stream_t;

static ssize_t s_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	stream_t *s = cls;
	long n = s->an.next(s->an.ctx, buf, max);
	return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void s_stream_free(void *cls)
{
	stream_t *s = cls;
	if (s->an.free_ctx != NULL)
		s->an.free_ctx(s->an.ctx);
	free(s);
}

/* What a browser may do with the dashboard's pages: run our own scripts
 * and styles, talk to this origin, nothing else (no inline script, no
 * other origin: the plants it runs in are often offline anyway). */
#define GW_CSP                                                                                  \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "      \
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "     \
	"form-action 'self'"

static enum MHD_Result s_send_file(struct MHD_Connection *c, gw_answer_t *an)
{
	struct MHD_Response *r =
		an->fd >= 0 ? MHD_create_response_from_fd64(an->file_size, an->fd)
			    : MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		if (an->fd >= 0)
			close(an->fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, an->mime);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, an->etag);
	/* asked again each time, answered 304 while unchanged: an upgrade's
	 * new files are seen at the next load */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(r, "Content-Security-Policy", GW_CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	enum MHD_Result ok = MHD_queue_response(c, an->status, r);
	MHD_destroy_response(r);
	return ok;
}

/* ---- metrics: answers by HTTP status ------------------------------------------- */

/* Made once at start, for the statuses the gateway answers with, so that
 * the connections' threads only count (no series made while they run). */
static const unsigned s_codes[] = { 200, 201, 204, 304, 400, 401, 403, 404, 405, 406, 409,
				    412, 413, 415, 422, 429, 500, 502, 503, 504 };
#define N_CODES (sizeof(s_codes) / sizeof(s_codes[0]))
static trc_series_t *s_by_code[N_CODES + 1]; /* the last: any other */

void gw_http_metrics(trc_metrics_t *m)
{
	for (size_t i = 0; i <= N_CODES; i++) {
		char l[32];
		if (i < N_CODES)
			snprintf(l, sizeof(l), "code=\"%u\"", s_codes[i]);
		else
			snprintf(l, sizeof(l), "code=\"other\"");
		s_by_code[i] = trc_metrics_counter(m, "traction_http_responses_total",
						   "HTTP responses of the gateway, by status", l);
	}
}

static void s_count(unsigned status)
{
	size_t i = 0;
	while (i < N_CODES && s_codes[i] != status)
		i++;
	trc_metric_add(s_by_code[i], 1);
}

static enum MHD_Result s_send(struct MHD_Connection *c, gw_answer_t *an)
{
	s_count(an->status != 0 ? an->status : 200);
	if (an->file)
		return s_send_file(c, an);
	if (an->next == NULL)
		return s_send_doc(c, an->status != 0 ? an->status : 200, an->doc, an);
	stream_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		if (an->free_ctx != NULL)
			an->free_ctx(an->ctx);
		return MHD_NO;
	}
	s->an = *an;
	struct MHD_Response *r =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, s_stream_read, s,
						  s_stream_free);
	if (r == NULL) {
		s_stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	enum MHD_Result ok = MHD_queue_response(c, an->status != 0 ? an->status : 200, r);
	MHD_destroy_response(r);
	return ok;
}

/* ---- a request ------------------------------------------------------------------ */

static enum MHD_Result s_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	(void)kind;
	gw_request_t *rq = cls;
	if (rq->nquery == GW_QUERY_MAX)
		return MHD_NO;
	rq->query[rq->nquery++] = (gw_pair_t){ key, value != NULL ? value : "" };
	return MHD_YES;
}

/* A cookie's value from the Cookie header (name=value; ...). */
static const char *s_cookie(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_COOKIE_KIND, name);
}

static enum MHD_Result s_process(gw_conn_t *conn, struct MHD_Connection *c, const char *url,
				 const char *method, pending_t *p)
{
	gw_answer_t an = { 0 };
	if (p->too_large) {
		gw_error(&an, 413, "RESOURCE_EXHAUSTED",
			 "the body is larger than [gateway] max_body_mb = %u MiB; send it in parts",
			 gw_conf(gw_cfg)->max_body_mb);
		return s_send(c, &an);
	}
	gw_request_t rq = { .conn = conn, .method = method, .path = url };
	if (strncmp(url, "/v1/", 4) != 0 && strcmp(url, "/v1") != 0 &&
	    (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
		rq.if_none_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							       MHD_HTTP_HEADER_IF_NONE_MATCH);
		gw_static(&rq, &an);
		return s_send(c, &an);
	}
	bool allowed = false;
	const gw_route_t *r = gw_route_find(method, url, &rq, &allowed);
	if (r == NULL) {
		if (allowed)
			gw_error(&an, 405, "UNIMPLEMENTED", "%s is not allowed on %s", method, url);
		else
			gw_error(&an, 404, "NOT_FOUND",
				 "no route %s (GET /v1/openapi.json lists them)", url);
		return s_send(c, &an);
	}
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, s_query_arg, &rq);
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	rq.content_type = ct != NULL ? ct : "";
	rq.idempotency_key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
	rq.last_event_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
	rq.session = s_cookie(c, "traction_session");
	rq.body = p->body != NULL ? p->body : "";
	rq.body_len = p->len;

	char user[65] = "";
	if (gw_conf(gw_cfg)->auth && !(r->flags & GW_R_PUBLIC)) {
		const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
								MHD_HTTP_HEADER_AUTHORIZATION);
		if (gw_auth_user(authz, rq.session, user) != 0) {
			gw_request_done(&rq);
			gw_error(&an, 401, "UNAUTHENTICATED",
				 "a bearer token of a user in keys_dir is needed "
				 "(Authorization: Bearer TOKEN, or POST /v1/session)");
			return s_send(c, &an);
		}
		rq.user = user;
	}
	if (conn->client == NULL && gw_client_new(&conn->client, NULL) != 0) {
		gw_request_done(&rq);
		gw_error(&an, 503, "UNAVAILABLE", "cannot reach the broker");
		return s_send(c, &an);
	}
	rq.client = conn->client;
	traction_client_on_behalf_of(conn->client, rq.user);
	if (gw_after(&rq, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Traction-After")) != 0) {
		gw_request_done(&rq);
		gw_error(&an, 400, "INVALID_ARGUMENT",
			 "Traction-After: expected SOURCE:SEQ[,SOURCE:SEQ...] (a write's "
			 "Traction-Committed)");
		return s_send(c, &an);
	}
	gw_route_run(r, &rq, &an);
	gw_request_done(&rq);
	trc_debug("%s %s user=%s -> %u", method, url, rq.user != NULL ? rq.user : "-",
		  an.status != 0 ? an.status : 200);
	return s_send(c, &an);
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *c, const char *url,
				const char *method, const char *version, const char *upload,
				size_t *upload_size, void **req_cls)
{
	(void)version;
	gw_server_t *srv = cls;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	gw_conn_t *conn = ci != NULL ? ci->socket_context : NULL;
	pending_t *p = *req_cls;
	if (conn == NULL)
		return MHD_NO;
	if (p == NULL) { /* the headers: refuse now what cannot be served */
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			return MHD_NO;
		*req_cls = p;
		gw_answer_t an = { 0 };
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t max = (uint64_t)gw_conf(&srv->cfg)->max_body_mb << 20;
		if (conn->over) {
			gw_error(&an, 503, "UNAVAILABLE",
				 "too many connections ([gateway] max_connections = %u); retry later",
				 gw_conf(&srv->cfg)->max_connections);
			p->answered = true;
			return s_send(c, &an);
		}
		if (cl != NULL && strtoull(cl, NULL, 10) > max) {
			gw_error(&an, 413, "RESOURCE_EXHAUSTED",
				 "the body is larger than [gateway] max_body_mb = %u MiB; send it in "
				 "parts",
				 gw_conf(&srv->cfg)->max_body_mb);
			p->answered = true;
			return s_send(c, &an);
		}
		return MHD_YES;
	}
	if (*upload_size > 0) { /* more of the body */
		size_t n = *upload_size;
		*upload_size = 0;
		if (p->answered || p->too_large)
			return MHD_YES;
		if (p->len + n > (size_t)gw_conf(&srv->cfg)->max_body_mb << 20) {
			p->too_large = true; /* a chunked body that grew past the limit */
			free(p->body);
			p->body = NULL;
			p->len = p->cap = 0;
			return MHD_YES;
		}
		if (p->len + n + 1 > p->cap) {
			size_t ncap = p->cap ? p->cap : 4096;
			while (ncap < p->len + n + 1)
				ncap *= 2;
			char *nb = realloc(p->body, ncap);
			if (nb == NULL)
				return MHD_NO;
			p->body = nb;
			p->cap = ncap;
		}
		memcpy(p->body + p->len, upload, n);
		p->len += n;
		p->body[p->len] = '\0';
		return MHD_YES;
	}
	if (p->answered)
		return MHD_YES;
	return s_process(conn, c, url, method, p);
}

static void s_done(void *cls, struct MHD_Connection *c, void **req_cls,
		   enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	pending_t *p = *req_cls;
	if (p != NULL) {
		free(p->body);
		free(p);
	}
	*req_cls = NULL;
}

static void s_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		     enum MHD_ConnectionNotificationCode toe)
{
	(void)c;
	gw_server_t *srv = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		gw_conn_t *conn = calloc(1, sizeof(*conn));
		if (conn == NULL)
			return;
		conn->srv = srv;
		unsigned n = __atomic_add_fetch(&srv->connections, 1, __ATOMIC_RELAXED);
		conn->over = n > gw_conf(&srv->cfg)->max_connections;
		*socket_context = conn;
		return;
	}
	gw_conn_t *conn = *socket_context;
	if (conn == NULL)
		return;
	__atomic_sub_fetch(&srv->connections, 1, __ATOMIC_RELAXED);
	gw_accept_freed(srv->acceptor);
	traction_client_destroy(&conn->client);
	free(conn);
	*socket_context = NULL;
}

__attribute__((format(printf, 2, 0))) static void s_mhd_log(void *cls, const char *fmt,
								va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	trc_notice("http: %s", msg);
}

/* libmicrohttpd's %HH decoding, but %00 stays as it is: a NUL would end
 * the path early in every C string after ("/index.html%00.js" served as
 * "/index.html", a query value cut short), where "%00" is refused by what
 * checks the name (a slug, a file name). */
static size_t s_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	static const char hex[] = "0123456789abcdef";
	char *w = s;
	for (const char *r = s; *r != '\0'; r++) {
		const char *hi = r[0] == '%' && r[1] ? strchr(hex, r[1] | 0x20) : NULL;
		const char *lo = hi != NULL && r[2] ? strchr(hex, r[2] | 0x20) : NULL;
		int v = lo != NULL ? (int)((hi - hex) << 4 | (lo - hex)) : -1;
		if (v > 0) {
			*w++ = (char)v;
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* ---- life cycle -------------------------------------------------------------------- */

/* A whole PEM file, NUL-terminated (malloc'd), or NULL with errno. */
static char *s_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, 4096, f);
		len += n;
		if (n < 4096)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static void s_free_srv(gw_server_t *srv)
{
	gw_accept_stop(&srv->acceptor); /* first: no connection handed on after */
	if (srv->mhd != NULL)
		MHD_stop_daemon(srv->mhd);
	if (srv->keep_zctx != NULL)
		zmq_ctx_term(srv->keep_zctx);
	free(srv->tls_cert);
	if (srv->tls_key != NULL) /* a private key: wiped before it goes */
		explicit_bzero(srv->tls_key, strlen(srv->tls_key));
	free(srv->tls_key);
	free(srv);
}

int gw_server_start(gw_server_t **srv_p, const trc_config_t *cfg)
{
	const gw_conf_t *gc = gw_conf(cfg);
	gw_server_t *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -ENOMEM;
	srv->cfg = *cfg;
	gw_cfg = &srv->cfg;
	srv->keep_zctx = zmq_ctx_new();
	s_zctx = srv->keep_zctx;
	s_opts = (traction_options_t){ .timeout_ms = (int)cfg->request_timeout_ms,
				       .client_name = "traction-gatewayd" };
	if (cfg->curve) {
		char err[512];
		if (trc_keypair_load(gc->key_file, s_pub, s_sec, err, sizeof(err)) != 0 ||
		    trc_keypair_load(cfg->server_public_key_file, s_server_pub, NULL, err,
				     sizeof(err)) != 0) {
			trc_err("%s", err);
			s_free_srv(srv);
			return -EINVAL;
		}
		s_opts.server_public_key = s_server_pub;
		s_opts.public_key = s_pub;
		s_opts.secret_key = s_sec;
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)gc->port) };
	if (inet_pton(AF_INET, gc->address, &sa.sin_addr) != 1) {
		trc_err("[gateway] address: '%s' is not an IPv4 address", gc->address);
		s_free_srv(srv);
		return -EINVAL;
	}
	/* HTTPS: both files, or neither */
	bool tls = gc->tls_cert_file[0] != '\0' || gc->tls_key_file[0] != '\0';
	if (tls) {
		srv->tls_cert = s_slurp(gc->tls_cert_file);
		srv->tls_key = s_slurp(gc->tls_key_file);
		if (srv->tls_cert == NULL || srv->tls_key == NULL) {
			trc_err("[gateway] tls_cert_file and tls_key_file: both are needed, readable "
				"PEM files (%s, %s)",
				gc->tls_cert_file, gc->tls_key_file);
			s_free_srv(srv);
			return -EINVAL;
		}
	}
	/* a few past the limit get in, to be told 503; beyond those, the
	 * kernel's backlog and then refusal */
	unsigned hard = gc->max_connections + 16;
	if (gw_accept_listen(&srv->acceptor, &sa, &srv->port) != 0) {
		trc_err("cannot listen on %s:%u: %s", gc->address, gc->port, strerror(errno));
		s_free_srv(srv);
		return -EADDRINUSE;
	}
	srv->mhd = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			MHD_USE_ERROR_LOG | MHD_USE_POLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC |
			(tls ? MHD_USE_TLS : 0),
		0, NULL, NULL, s_access, srv, MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, srv,
		MHD_OPTION_CONNECTION_LIMIT, hard, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)gc->timeout_s, MHD_OPTION_NOTIFY_COMPLETED, s_done, srv,
		MHD_OPTION_NOTIFY_CONNECTION, s_notify, srv, MHD_OPTION_UNESCAPE_CALLBACK,
		s_unescape, NULL,
		/* with tls false these are NULL, which ends the list of options
		 * early: they come last */
		tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, srv->tls_key,
		MHD_OPTION_HTTPS_MEM_CERT, srv->tls_cert, MHD_OPTION_END);
	if (srv->mhd == NULL || gw_accept_start(srv->acceptor, srv->mhd) != 0) {
		trc_err("cannot start the HTTP server on %s:%u: %s", gc->address, gc->port,
			strerror(errno));
		s_free_srv(srv);
		return -EADDRINUSE;
	}
	*srv_p = srv;
	return 0;
}

void gw_server_stop(gw_server_t **srv_p)
{
	if (srv_p == NULL || *srv_p == NULL)
		return;
	s_free_srv(*srv_p);
	*srv_p = NULL;
}

unsigned gw_server_port(const gw_server_t *srv)
{
	return srv->port;
}

unsigned gw_server_connections(const gw_server_t *srv)
{
	return __atomic_load_n(&srv->connections, __ATOMIC_RELAXED);
}
