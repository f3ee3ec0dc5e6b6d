/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP API against the bus it fronts, in one invocation (issue 23's
 * targets are ratios to the native path, measured side by side):
 *
 *   - feedback ingest, records/s: libtraction's publisher (the native
 *     baseline), JSON Lines over HTTP (keep-alive, 1,000 records a
 *     request, `conns` connections), and `tractionctl feedback publish
 *     --file` of the same lines, and the Python package's Publisher
 *     (bench/bench_python.py, its own records);
 *   - queries, p50/p99: feedback.stats, iteration.history and
 *     scenario.match on the bus (libtraction) and over HTTP (one
 *     keep-alive connection).
 *
 *   bench_http [RECORDS] [CONNS]       (defaults: 100000, 4)
 *
 * Every record is checked stored (the tallies of the answers; a refused
 * one fails the run).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_util.h"
#include "traction/publisher.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"

static harness_t H;
static traction_client_t *C;
static int s_port;

/* ---- a minimal HTTP/1.1 client: keep-alive, Content-Length answers ------------ */

typedef struct {
	int fd;
	char *buf;
	size_t cap;
} http_t;

static void s_http_open(http_t *h)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s_port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	h->fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(h->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("connect to the gateway");
		exit(1);
	}
	h->cap = 1 << 16;
	h->buf = malloc(h->cap);
}

static void s_http_close(http_t *h)
{
	close(h->fd);
	free(h->buf);
}

static void s_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0) {
			perror("write to the gateway");
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

/* One request; returns the status, the body in h->buf (NUL-terminated). */
static int s_http(http_t *h, const char *method, const char *path, const char *ctype,
		  const char *body, size_t blen)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "%s %s HTTP/1.1\r\nHost: bench\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			 method, path, ctype, blen);
	s_write_all(h->fd, head, (size_t)n);
	if (blen > 0)
		s_write_all(h->fd, body, blen);
	size_t len = 0, hend = 0, clen = 0;
	int status = 0;
	for (;;) {
		if (len + 1 >= h->cap) {
			h->cap *= 2;
			h->buf = realloc(h->buf, h->cap);
		}
		ssize_t r = read(h->fd, h->buf + len, h->cap - len - 1);
		if (r <= 0) {
			fprintf(stderr, "bench_http: the gateway closed the connection\n");
			exit(1);
		}
		len += (size_t)r;
		h->buf[len] = '\0';
		if (hend == 0) {
			char *e = strstr(h->buf, "\r\n\r\n");
			if (e == NULL)
				continue;
			hend = (size_t)(e - h->buf) + 4;
			status = atoi(h->buf + 9);
			char *cl = strcasestr(h->buf, "Content-Length:");
			clen = cl != NULL && cl < e ? strtoul(cl + 15, NULL, 10) : 0;
		}
		if (len >= hend + clen)
			break;
	}
	memmove(h->buf, h->buf + hend, clen);
	h->buf[clen] = '\0';
	return status;
}

/* ---- ingest -------------------------------------------------------------------------- */

#define PER_REQUEST 1000

/* The JSON Lines of records [from, from + n), keys tagged by run. */
static char *s_lines(const char *run, uint64_t from, uint64_t n, size_t *len)
{
	size_t cap = n * 200 + 1;
	char *s = malloc(cap);
	size_t off = 0;
	for (uint64_t i = from; i < from + n; i++)
		off += (size_t)snprintf(s + off, cap - off,
					"{\"scenario\":\"weld-line-3\",\"supply\":\"defect-vision\","
					"\"version\":\"1.0\",\"key\":\"%s-%llu\",\"labels\":{\"line\":\"3\"},"
					"\"metric\":{\"name\":\"defect_rate\",\"value\":0.0%llu}}\n",
					run, (unsigned long long)i, (unsigned long long)(i % 9 + 1));
	*len = off;
	return s;
}

typedef struct {
	uint64_t from, n;
	long accepted;
} http_job_t;

static void *s_http_ingest(void *arg)
{
	http_job_t *j = arg;
	http_t h;
	s_http_open(&h);
	for (uint64_t at = j->from; at < j->from + j->n; at += PER_REQUEST) {
		uint64_t k = j->from + j->n - at < PER_REQUEST ? j->from + j->n - at : PER_REQUEST;
		size_t len;
		char *body = s_lines("h", at, k, &len);
		int st = s_http(&h, "POST", "/v1/feedback", "application/x-ndjson", body, len);
		free(body);
		char *acc = strstr(h.buf, "\"accepted\":");
		if (st != 200 || acc == NULL) {
			fprintf(stderr, "bench_http: POST /v1/feedback: %d %.200s\n", st, h.buf);
			exit(1);
		}
		j->accepted += atol(acc + 11);
	}
	s_http_close(&h);
	return NULL;
}

static double s_ingest_http(uint64_t records, int conns)
{
	pthread_t t[64];
	http_job_t j[64];
	uint64_t per = records / (uint64_t)conns;
	double t0 = bench_now_us();
	for (int i = 0; i < conns; i++) {
		j[i] = (http_job_t){ .from = (uint64_t)i * per, .n = per };
		pthread_create(&t[i], NULL, s_http_ingest, &j[i]);
	}
	long accepted = 0;
	for (int i = 0; i < conns; i++) {
		pthread_join(t[i], NULL);
		accepted += j[i].accepted;
	}
	double secs = (bench_now_us() - t0) / 1e6;
	if ((uint64_t)accepted != per * (uint64_t)conns) {
		fprintf(stderr, "bench_http: %ld of %llu accepted over HTTP\n", accepted,
			(unsigned long long)(per * (uint64_t)conns));
		exit(1);
	}
	return (double)accepted / secs;
}

static long s_acked;

static void s_on_ack(void *ud, const traction_ack_t *ack)
{
	(void)ud;
	if (ack->code != 0 || ack->duplicate) {
		fprintf(stderr, "bench_http: a record refused: %s\n", ack->message);
		exit(1);
	}
	s_acked++;
}

static double s_ingest_native(uint64_t records)
{
	traction_publisher_t *p = NULL;
	traction_publisher_options_t o = { .timeout_ms = 30000, .on_ack = s_on_ack };
	if (traction_publisher_new(&p, H.client_ep, &o) != 0)
		exit(1);
	s_acked = 0;
	char key[32];
	double t0 = bench_now_us();
	for (uint64_t i = 0; i < records; i++) {
		Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT;
		Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
		Traction__V1__KeyValue kv = TRACTION__V1__KEY_VALUE__INIT, *kvp = &kv;
		snprintf(key, sizeof(key), "n-%llu", (unsigned long long)i);
		m.name = (char *)"defect_rate";
		m.value = 0.01 * (double)(i % 9 + 1);
		kv.key = (char *)"line";
		kv.value = (char *)"3";
		r.scenario_id = (char *)"weld-line-3";
		r.supply_id = (char *)"defect-vision";
		r.version = (char *)"1.0";
		r.idempotency_key = key;
		r.labels = &kvp;
		r.n_labels = 1;
		r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
		r.metric = &m;
		while (traction_publish(p, &r, i) == TRACTION__V1__CODE__RESOURCE_EXHAUSTED)
			traction_publisher_poll(p, 100);
		traction_publisher_poll(p, 0);
	}
	traction_publisher_flush(p, 60000);
	double secs = (bench_now_us() - t0) / 1e6;
	traction_publisher_destroy(&p);
	if ((uint64_t)s_acked != records) {
		fprintf(stderr, "bench_http: %ld of %llu acknowledged\n", s_acked,
			(unsigned long long)records);
		exit(1);
	}
	return (double)records / secs;
}

static double s_ingest_ctl(uint64_t records)
{
	char path[400], bin[512];
	snprintf(path, sizeof(path), "%s/lines.jsonl", H.dir);
	size_t len;
	char *s = s_lines("c", 0, records, &len);
	FILE *f = fopen(path, "w");
	fwrite(s, 1, len, f);
	fclose(f);
	free(s);
	fflush(stdout); /* the child's freopen would write our buffer twice */
	pid_t pid = fork();
	double t0 = bench_now_us();
	if (pid == 0) {
		freopen("/dev/null", "w", stdout);
		execl(h_bin("tractionctl", bin, sizeof(bin)), "tractionctl", "--endpoint", H.client_ep,
		      "feedback", "publish", "--file", path, (char *)NULL);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	double secs = (bench_now_us() - t0) / 1e6;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_http: tractionctl feedback publish --file failed\n");
		exit(1);
	}
	return (double)records / secs;
}

/* The Python package's publisher (bench/bench_python.py), as a process of
 * its own: its records/s, or -1 if it could not run (no build/python). */
static double s_ingest_python(uint64_t records)
{
	char script[512], n[32], pypath[512];
	snprintf(script, sizeof(script), "%s/bench/bench_python.py", TRACTION_SOURCE_DIR);
	snprintf(n, sizeof(n), "%llu", (unsigned long long)records);
	snprintf(pypath, sizeof(pypath), "%s/python", TRACTION_BUILD_DIR);
	int fd[2];
	if (pipe(fd) != 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		setenv("PYTHONPATH", pypath, 1);
		execl("/usr/bin/python3", "python3", script, H.client_ep, n, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	char out[64] = "";
	ssize_t got = read(fd[0], out, sizeof(out) - 1);
	close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	if (got <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_http: the Python publisher failed\n");
		return -1;
	}
	return strtod(out, NULL);
}

/* ---- queries ------------------------------------------------------------------------- */

static http_t s_q;

static void op_stats_bus(void)
{
	Traction__V1__StatsRequest req = TRACTION__V1__STATS_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	req.supply_id = (char *)"defect-vision";
	req.scenario_id = (char *)"weld-line-3";
	if (traction_call(C, "feedback", "stats", &req.base, &traction__v1__stats_reply__descriptor,
			  &rep, &st) != 0)
		exit(1);
	traction_reply_free(rep);
}

static void op_history_bus(void)
{
	Traction__V1__SupplyHistoryRequest req = TRACTION__V1__SUPPLY_HISTORY_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	req.supply_id = (char *)"defect-vision";
	if (traction_call(C, "iteration", "history", &req.base,
			  &traction__v1__supply_history_reply__descriptor, &rep, &st) != 0)
		exit(1);
	traction_reply_free(rep);
}

static void op_match_bus(void)
{
	Traction__V1__MatchRequest req = TRACTION__V1__MATCH_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	req.scenario_id = (char *)"weld-line-3";
	if (traction_call(C, "scenario", "match", &req.base, &traction__v1__match_reply__descriptor,
			  &rep, &st) != 0)
		exit(1);
	traction_reply_free(rep);
}

static void s_get(const char *path)
{
	if (s_http(&s_q, "GET", path, "application/json", NULL, 0) != 200) {
		fprintf(stderr, "bench_http: GET %s: %.200s\n", path, s_q.buf);
		exit(1);
	}
}

static void op_stats_http(void)
{
	s_get("/v1/stats?supply_id=defect-vision&scenario_id=weld-line-3");
}

static void op_history_http(void)
{
	s_get("/v1/supplies/defect-vision/history");
}

static void op_match_http(void)
{
	s_get("/v1/scenarios/weld-line-3/match");
}

int main(int argc, char **argv)
{
	uint64_t records = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
	int conns = argc > 2 ? atoi(argv[2]) : 4;
	if (conns < 1 || conns > 64)
		conns = 4;
	records -= records % ((uint64_t)conns * PER_REQUEST);
	bench_section = "http";
	h_init(&H, "[bus]\nheartbeat_ms = 1000\n[log]\nlevel = warning\n[store]\nmap_size_mb = 16384\n");
	snprintf(H.extra + strlen(H.extra), sizeof(H.extra) - strlen(H.extra),
		 "[gateway]\nport = 0\nauth = 0\naddress_file = %s/gateway.url\n", H.dir);
	h_start_broker(&H, false);
	const char *d[] = { "traction-supplyd", "traction-scenariod", "traction-feedbackd",
			    "traction-iterationd", "traction-gatewayd" };
	for (int i = 0; i < 5; i++)
		h_start(&H, d[i], NULL);
	h_wait_live(&H, "feedback", 1, 10000);
	h_wait_live(&H, "iteration", 1, 10000);
	h_wait_live(&H, "scenario", 1, 10000);
	C = h_client(&H);
	bench_catalogue(C, true);
	char url[256] = "", path[400];
	snprintf(path, sizeof(path), "%s/gateway.url", H.dir);
	for (int i = 0; i < 200 && url[0] == '\0'; i++) {
		FILE *f = fopen(path, "r");
		if (f == NULL || fgets(url, sizeof(url), f) == NULL)
			url[0] = '\0';
		if (f != NULL)
			fclose(f);
		if (url[0] == '\0')
			h_sleep_ms(20);
	}
	char *colon = strrchr(url, ':');
	s_port = colon != NULL ? atoi(colon + 1) : 0;
	if (s_port == 0) {
		fprintf(stderr, "bench_http: the gateway wrote no address\n");
		return 1;
	}

	printf("ingest: %llu records each way, HTTP over %d connections of %d-record requests\n",
	       (unsigned long long)records, conns, PER_REQUEST);
	double native = s_ingest_native(records);
	double http = s_ingest_http(records, conns);
	double ctl = s_ingest_ctl(records);
	double py = s_ingest_python(records);
	printf("%-40s %10.0f records/s\n", "libtraction publisher (native)", native);
	printf("%-40s %10.0f records/s   %.2fx native\n", "JSON Lines over HTTP", http, http / native);
	printf("%-40s %10.0f records/s   %.2fx native\n", "tractionctl feedback publish --file", ctl,
	       ctl / native);
	bench_row("publish: libtraction publisher (native)", native, -1, -1);
	bench_row("publish: JSON Lines over HTTP", http, -1, -1);
	bench_row("publish: tractionctl --file (JSON Lines)", ctl, -1, -1);
	if (py > 0) {
		printf("%-40s %10.0f records/s   %.2fx native\n", "Python package's Publisher", py,
		       py / native);
		bench_row("publish: Python package's Publisher", py, -1, -1);
	}

	s_http_open(&s_q);
	const struct {
		const char *name;
		bench_op_fn bus, http;
	} q[] = {
		{ "stats", op_stats_bus, op_stats_http },
		{ "history", op_history_bus, op_history_http },
		{ "match", op_match_bus, op_match_http },
	};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		double b50, b99, h50, h99;
		char name[64];
		snprintf(name, sizeof(name), "%s on the bus", q[i].name);
		bench_measure(name, q[i].bus, 2000, &b50, &b99);
		snprintf(name, sizeof(name), "%s over HTTP", q[i].name);
		bench_measure(name, q[i].http, 2000, &h50, &h99);
		printf("%-40s p99 %+.1f us over the bus\n", q[i].name, h99 - b99);
	}
	s_http_close(&s_q);
	traction_client_destroy(&C);
	h_done(&H);
	return 0;
}
