/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP client thread of traction-notifyd. See sender.h.
 */
#include "sender.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "error.h"
#include "log.h"

struct nt_sender {
	CURLM *multi;
	int wake_fd;           /* written when jobs finished */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	bool stop;             /* under mu */
	nt_job_t *incoming;    /* under mu: submitted, newest first */
	nt_job_t *done;        /* under mu: finished, for nt_sender_take */
	nt_job_t *active;      /* the thread's own: in libcurl's hands */
};

/* What a job's easy handle needs beside it. */
typedef struct {
	CURL *easy;
	struct curl_slist *headers;
	int64_t start_ns;
	char errbuf[CURL_ERROR_SIZE];
} job_priv_t;

static int64_t s_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A receiver's answer body is not ours to read: dropped as it comes. */
static size_t s_discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static nt_net_t s_net(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return NT_NET_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return NT_NET_TIMEOUT;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return NT_NET_BAD;
	default:
		/* refused, reset, no name, TLS that failed, nothing answered:
		 * the receiver or the way to it is down, maybe for now */
		return NT_NET_CONNECT;
	}
}

static void s_push_done(nt_sender_t *s, nt_job_t *job)
{
	pthread_mutex_lock(&s->mu);
	job->next = s->done;
	s->done = job;
	pthread_mutex_unlock(&s->mu);
}

/* The daemon's loop told that results wait (once for all of a turn's). */
static void s_wake(const nt_sender_t *s)
{
	uint64_t one = 1;
	if (s->wake_fd >= 0 && write(s->wake_fd, &one, sizeof(one)) != sizeof(one))
		trc_debug("sender: wake-up: %s", strerror(errno));
}

static void s_priv_free(nt_job_t *job)
{
	job_priv_t *p = job->priv;
	if (p == NULL)
		return;
	if (p->easy != NULL)
		curl_easy_cleanup(p->easy);
	curl_slist_free_all(p->headers);
	free(p);
	job->priv = NULL;
}

static void s_fail(nt_job_t *job, nt_net_t net, const char *why)
{
	job->result.net = net;
	job->result.status = 0;
	snprintf(job->result.error, sizeof(job->result.error), "%s", why);
}

/* The easy handle of a job, added to the multi handle. */
static int s_start(nt_sender_t *s, nt_job_t *job)
{
	job_priv_t *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return TRC_ENOMEM;
	job->priv = p;
	p->start_ns = s_now_ns();
	p->easy = curl_easy_init();
	if (p->easy == NULL)
		return TRC_ENOMEM;
	for (int i = 0; i < NT_JOB_HEADERS && job->headers[i] != NULL; i++) {
		struct curl_slist *n = curl_slist_append(p->headers, job->headers[i]);
		if (n == NULL)
			return TRC_ENOMEM;
		p->headers = n;
	}
	CURL *e = p->easy;
	CURLcode c = CURLE_OK;
	/* webhooks are http(s) only, and a redirect is not followed: a
	 * receiver that moved says so with a 3xx, which is not retried */
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_URL, job->url);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_POST, 1L);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_POSTFIELDS, job->body);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)job->body_len);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)job->timeout_ms);
	if (c == CURLE_OK) /* signals are the daemon's (lib/daemon: a signalfd) */
		c = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_discard);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_PRIVATE, job);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_USERAGENT, "traction-notifyd/" TRACTION_VERSION);
	if (c != CURLE_OK) {
		s_fail(job, s_net(c), curl_easy_strerror(c));
		return TRC_EINVAL;
	}
	if (curl_multi_add_handle(s->multi, e) != CURLM_OK)
		return TRC_ENOMEM;
	job->next = s->active;
	s->active = job;
	return 0;
}

static void s_unlink_active(nt_sender_t *s, nt_job_t *job)
{
	for (nt_job_t **pp = &s->active; *pp != NULL; pp = &(*pp)->next)
		if (*pp == job) {
			*pp = job->next;
			return;
		}
}

static void s_finish(nt_sender_t *s, CURL *e, CURLcode c)
{
	nt_job_t *job = NULL;
	if (curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&job) != CURLE_OK || job == NULL)
		return;
	job_priv_t *p = job->priv;
	job->result.net = s_net(c);
	job->result.seconds = (double)(s_now_ns() - p->start_ns) / 1e9;
	if (c == CURLE_OK) {
		long status = 0;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
		job->result.status = status;
	} else {
		snprintf(job->result.error, sizeof(job->result.error), "%s",
			 p->errbuf[0] != '\0' ? p->errbuf : curl_easy_strerror(c));
	}
	curl_multi_remove_handle(s->multi, e);
	s_unlink_active(s, job);
	s_priv_free(job);
	s_push_done(s, job);
}

static void *s_thread(void *ud)
{
	nt_sender_t *s = ud;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		bool stop = s->stop;
		nt_job_t *in = s->incoming;
		s->incoming = NULL;
		pthread_mutex_unlock(&s->mu);
		if (stop) {
			while (in != NULL) { /* back to the list the destructor frees */
				nt_job_t *n = in->next;
				in->next = s->active;
				s->active = in;
				in = n;
			}
			break;
		}
		unsigned finished = 0;
		nt_job_t *fifo = NULL; /* submitted oldest first */
		while (in != NULL) {
			nt_job_t *n = in->next;
			in->next = fifo;
			fifo = in;
			in = n;
		}
		while (fifo != NULL) {
			nt_job_t *job = fifo;
			fifo = job->next;
			if (s_start(s, job) != 0) {
				if (job->result.error[0] == '\0')
					s_fail(job, NT_NET_CONNECT, "out of memory");
				s_priv_free(job);
				s_push_done(s, job);
				finished++;
			}
		}
		int running = 0;
		curl_multi_perform(s->multi, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(s->multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE) {
				s_finish(s, msg->easy_handle, msg->data.result);
				finished++;
			}
		if (finished > 0)
			s_wake(s);
		/* until a transfer has work, a job comes (curl_multi_wakeup), or
		 * a second passes (libcurl's own timers are within it) */
		curl_multi_poll(s->multi, NULL, 0, 1000, NULL);
	}
	return NULL;
}

int nt_sender_new(nt_sender_t **s_p, int wake_fd)
{
	nt_sender_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return TRC_ENOMEM;
	s->wake_fd = wake_fd;
	pthread_mutex_init(&s->mu, NULL);
	s->multi = curl_multi_init();
	if (s->multi == NULL || pthread_create(&s->thread, NULL, s_thread, s) != 0) {
		nt_sender_destroy(&s);
		return TRC_ENOMEM;
	}
	s->started = true;
	*s_p = s;
	return 0;
}

static void s_free_list(nt_job_t *j)
{
	while (j != NULL) {
		nt_job_t *n = j->next;
		nt_job_free(j);
		j = n;
	}
}

void nt_sender_destroy(nt_sender_t **s_p)
{
	if (s_p == NULL || *s_p == NULL)
		return;
	nt_sender_t *s = *s_p;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_mutex_unlock(&s->mu);
		curl_multi_wakeup(s->multi);
		pthread_join(s->thread, NULL);
	}
	for (nt_job_t *j = s->active; j != NULL; j = j->next) {
		job_priv_t *p = j->priv;
		if (p != NULL && p->easy != NULL)
			curl_multi_remove_handle(s->multi, p->easy);
	}
	s_free_list(s->active);
	s_free_list(s->incoming);
	s_free_list(s->done);
	if (s->multi != NULL)
		curl_multi_cleanup(s->multi);
	pthread_mutex_destroy(&s->mu);
	free(s);
	*s_p = NULL;
}

void nt_sender_submit(nt_sender_t *s, nt_job_t *job)
{
	pthread_mutex_lock(&s->mu);
	job->next = s->incoming;
	s->incoming = job;
	pthread_mutex_unlock(&s->mu);
	curl_multi_wakeup(s->multi);
}

nt_job_t *nt_sender_take(nt_sender_t *s)
{
	pthread_mutex_lock(&s->mu);
	nt_job_t *done = s->done;
	s->done = NULL;
	pthread_mutex_unlock(&s->mu);
	return done;
}

void nt_job_free(nt_job_t *job)
{
	if (job == NULL)
		return;
	s_priv_free(job);
	free(job->url);
	free(job->body);
	for (int i = 0; i < NT_JOB_HEADERS; i++)
		free(job->headers[i]);
	free(job);
}
