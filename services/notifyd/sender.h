/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP client of traction-notifyd: a thread of its own that runs
 * libcurl's multi interface, so that many POSTs are in flight at once
 * without a thread each, and sleeps in curl_multi_poll until a transfer
 * has work or a job is submitted (curl_multi_wakeup): no busy wait, and
 * the daemon's loop and writer never wait on a receiver.
 *
 * The daemon submits jobs (a prepared request each) and its tick takes
 * the finished ones back, woken by the eventfd the sender writes when one
 * finishes; the daemon alone decides what is due and how many per
 * webhook, so the sender holds no policy: it sends what it is given, once.
 */
#ifndef NT_SENDER_H
#define NT_SENDER_H

#include <stddef.h>
#include <stdint.h>

/* How an attempt ended below HTTP (the sender's reading of libcurl). */
typedef enum {
	NT_NET_OK,          /* an HTTP answer came: its status says */
	NT_NET_TIMEOUT,     /* no answer within the job's timeout */
	NT_NET_CONNECT,     /* no connection, or it broke: the receiver is down */
	NT_NET_BAD,         /* a request that cannot succeed as it is (a bad URL) */
} nt_net_t;

typedef struct {
	nt_net_t net;
	long status;         /* the HTTP status, with NT_NET_OK */
	double seconds;      /* from submission to the end */
	char error[256];     /* libcurl's words, when net is not NT_NET_OK */
} nt_result_t;

#define NT_JOB_HEADERS 8

typedef struct nt_job {
	struct nt_job *next;
	char webhook[72];    /* the delivery it is an attempt of */
	uint64_t seq;
	char *url;
	char *body;
	size_t body_len;
	char *headers[NT_JOB_HEADERS];   /* "Name: value", NULL-terminated */
	unsigned timeout_ms;
	nt_result_t result;  /* filled by the sender */
	void *priv;          /* the sender's own */
} nt_job_t;

typedef struct nt_sender nt_sender_t;

/* Starts the thread (libcurl's global init must have been done); it
 * writes 1 to wake_fd (an eventfd; -1: none) whenever jobs finished. */
int nt_sender_new(nt_sender_t **s_p, int wake_fd);
/* Stops the thread; jobs not finished are dropped (their deliveries
 * stay pending on disk and are sent again by the next start). */
void nt_sender_destroy(nt_sender_t **s_p);

/* Hands job over (the sender owns it until nt_sender_take gives it back). */
void nt_sender_submit(nt_sender_t *s, nt_job_t *job);
/* The jobs finished since the last call, as a list by ->next; NULL if none. */
nt_job_t *nt_sender_take(nt_sender_t *s);

void nt_job_free(nt_job_t *job);

#endif
