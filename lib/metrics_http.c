/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics listener: GET /metrics on a libmicrohttpd thread of its own
 * (the library the gateway already uses; one thread, a few connections:
 * a scraper or two). Text format 0.0.4, or OpenMetrics 1.0 when the
 * request's Accept names application/openmetrics-text, as Prometheus asks.
 */
#include "metrics_int.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"

static enum MHD_Result s_reply(struct MHD_Connection *c, unsigned code, const char *type,
			       char *body, size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result ok = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result s_text(struct MHD_Connection *c, unsigned code, const char *text)
{
	char *body = strdup(text);
	return body != NULL ? s_reply(c, code, "text/plain; charset=utf-8", body, strlen(body))
			    : MHD_NO;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *c, const char *url,
				const char *method, const char *version, const char *upload,
				size_t *upload_len, void **ctx)
{
	(void)version;
	(void)upload;
	(void)ctx;
	trc_metrics_t *m = cls;
	if (*upload_len != 0)
		return MHD_NO; /* a scrape has no body */
	if (strcmp(url, "/metrics") != 0)
		return s_text(c, MHD_HTTP_NOT_FOUND, "not found: metrics are at /metrics\n");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return s_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics\n");
	const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	bool om = accept != NULL && strstr(accept, "application/openmetrics-text") != NULL;
	trc_metric_add(m->scrapes, 1);
	size_t len = 0;
	char *body = trc_metrics_render(m, om, &len);
	if (body == NULL)
		return s_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	return s_reply(c, MHD_HTTP_OK,
		       om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
			  : "text/plain; version=0.0.4; charset=utf-8",
		       body, len);
}

/* libmicrohttpd's messages, into our log (fmt is its own: a printf format
 * with ap, as the attribute tells the compiler) */
__attribute__((format(printf, 2, 0))) static void s_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[256];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	trc_warn("metrics listener: %s", msg);
}

int trc_metrics_listen(trc_metrics_t *m, const char *address, unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
		trc_err("metrics: '%s' is not an IPv4 address", address);
		return TRC_ECONFIG;
	}
	m->scrapes = trc_metrics_counter(m, "traction_metrics_scrapes_total",
					 "Scrapes of this endpoint", "");
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_POLL,
				  (uint16_t)port, NULL, NULL, s_access, m, MHD_OPTION_EXTERNAL_LOGGER,
				  s_log, m, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_LIMIT, 16u,
				  MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (m->mhd == NULL) {
		trc_err("metrics: cannot listen on %s:%u", address, port);
		return TRC_EIO;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
	m->port = di != NULL ? di->port : port;
	trc_info("metrics at http://%s:%u/metrics", address, m->port);
	return 0;
}

unsigned trc_metrics_port(const trc_metrics_t *m)
{
	return m != NULL ? m->port : 0;
}

void trc_metrics_http_stop(trc_metrics_t *m)
{
	if (m->mhd != NULL)
		MHD_stop_daemon(m->mhd);
	m->mhd = NULL;
	m->port = 0;
}
