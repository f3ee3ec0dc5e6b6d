/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics exposition (lib/metrics.c), byte for byte where it matters:
 * families grouped under one HELP and TYPE, counters, gauges and function
 * series, cumulative histogram buckets with +Inf, _sum and _count, and
 * OpenMetrics' counter families without _total and its "# EOF". And the
 * listener: GET /metrics answered, anything else refused. promtool checks
 * the real daemons' endpoints (tests/metrics/run.sh).
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "metrics.h"

static double s_seven(void *ud)
{
	return *(double *)ud;
}

TEST(text_format)
{
	trc_metrics_t *m = trc_metrics_new("traction-test", "9.9");
	trc_series_t *a = trc_metrics_counter(m, "t_requests_total", "Requests", "code=\"OK\"");
	trc_series_t *g = trc_metrics_gauge(m, "t_queue", "Queue", "");
	trc_series_t *b = trc_metrics_counter(m, "t_requests_total", "ignored", "code=\"NOT_FOUND\"");
	static double seven = 7.5;
	trc_metrics_func(m, "t_fn", "A function", "", false, s_seven, &seven);
	static const double bounds[] = { 0.001, 0.01 };
	trc_series_t *h = trc_metrics_histogram(m, "t_seconds", "Latency", "method=\"x\"", bounds, 2);
	trc_metric_add(a, 3);
	trc_metric_add(b, 1);
	trc_metric_set(g, 42);
	trc_metric_observe(h, 0.0005);
	trc_metric_observe(h, 0.005);
	trc_metric_observe(h, 0.005);
	trc_metric_observe(h, 5);
	trc_metric_add(NULL, 1); /* a series that could not be made: nothing */
	size_t len;
	char *t = trc_metrics_render(m, false, &len);
	CHECK(t != NULL && strlen(t) == len);
	CHECK_CONTAINS(t, "traction_build_info{daemon=\"traction-test\",version=\"9.9\"} 1\n");
	CHECK_CONTAINS(t, "# HELP t_requests_total Requests\n# TYPE t_requests_total counter\n"
			  "t_requests_total{code=\"OK\"} 3\nt_requests_total{code=\"NOT_FOUND\"} 1\n");
	CHECK_CONTAINS(t, "# TYPE t_queue gauge\nt_queue 42\n");
	CHECK_CONTAINS(t, "t_fn 7.5\n");
	CHECK_CONTAINS(t, "# TYPE t_seconds histogram\n"
			  "t_seconds_bucket{method=\"x\",le=\"0.001\"} 1\n"
			  "t_seconds_bucket{method=\"x\",le=\"0.01\"} 3\n"
			  "t_seconds_bucket{method=\"x\",le=\"+Inf\"} 4\n"
			  "t_seconds_sum{method=\"x\"} 5.0105");
	CHECK_CONTAINS(t, "t_seconds_count{method=\"x\"} 4\n");
	CHECK(strstr(t, "ignored") == NULL);     /* one HELP a family */
	CHECK(strstr(t, "# EOF") == NULL);
	CHECK_CONTAINS(t, "# TYPE process_cpu_seconds_total counter\n");
	free(t);
	t = trc_metrics_render(m, true, &len);
	CHECK_CONTAINS(t, "# TYPE t_requests counter\nt_requests_total{code=\"OK\"} 3\n");
	CHECK_CONTAINS(t, "# TYPE process_cpu_seconds counter\n");
	CHECK(len > 6 && strcmp(t + len - 6, "# EOF\n") == 0);
	free(t);
	trc_metrics_destroy(&m);
	CHECK(m == NULL);
}

/* Counting from threads while rendering: every count is there. */
static void *s_count(void *arg)
{
	for (int i = 0; i < 100000; i++)
		trc_metric_add(arg, 1);
	return NULL;
}

TEST(counting_from_threads)
{
	trc_metrics_t *m = trc_metrics_new("traction-test", "9.9");
	trc_series_t *c = trc_metrics_counter(m, "t_total", "Counted", "");
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, s_count, c) == 0);
	for (int i = 0; i < 20; i++) {
		size_t len;
		free(trc_metrics_render(m, false, &len));
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	size_t len;
	char *s = trc_metrics_render(m, false, &len);
	CHECK_CONTAINS(s, "t_total 400000\n");
	free(s);
	trc_metrics_destroy(&m);
}

/* An HTTP exchange with the listener on 127.0.0.1:port; the answer. */
static char *s_http(unsigned port, const char *request)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(write(fd, request, strlen(request)) == (ssize_t)strlen(request));
	size_t cap = 1 << 16, n = 0;
	char *buf = calloc(1, cap);
	ssize_t k;
	while (n < cap - 1 && (k = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)k;
	close(fd);
	return buf;
}

TEST(listener)
{
	trc_metrics_t *m = trc_metrics_new("traction-test", "9.9");
	CHECK_EQ_INT(trc_metrics_listen(m, "127.0.0.1", 0), 0);
	unsigned port = trc_metrics_port(m);
	CHECK(port != 0);
	char *r = s_http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	CHECK_CONTAINS(r, " 200 OK");
	CHECK_CONTAINS(r, "text/plain; version=0.0.4");
	CHECK_CONTAINS(r, "traction_metrics_scrapes_total 1\n");
	free(r);
	r = s_http(port, "GET /metrics HTTP/1.0\r\nAccept: application/openmetrics-text; "
			 "version=1.0.0\r\n\r\n");
	CHECK_CONTAINS(r, "application/openmetrics-text");
	CHECK_CONTAINS(r, "# EOF\n");
	free(r);
	r = s_http(port, "GET /other HTTP/1.0\r\n\r\n");
	CHECK_CONTAINS(r, "404");
	free(r);
	r = s_http(port, "DELETE /metrics HTTP/1.0\r\n\r\n");
	CHECK_CONTAINS(r, "405");
	free(r);
	CHECK(trc_metrics_listen(m, "not-an-address", 0) != 0);
	trc_metrics_destroy(&m);
}

int main(void)
{
	RUN(text_format);
	RUN(counting_from_threads);
	RUN(listener);
	DONE();
}
