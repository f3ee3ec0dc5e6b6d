/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A job of traction-mqttd: the messages of one connection that go to the
 * bus in one feedback.publish. The loop adds them as they come (mqttd.h);
 * the worker that takes the job makes the records of those that came raw
 * (their topic and payload copied as they were) and lays out the request,
 * in the order the messages came, so that their answers meet the
 * connection's acknowledgements in one pass (proto.c). Making a record
 * from its JSON was three quarters of the loop's time in a profile at
 * 1,000 messages in flight (docs/mqtt.md, "Speed"); here it runs on the
 * workers, beside the loop. Pure: no bus, no sockets.
 */
#include "mqttd.h"

#include <stdlib.h>
#include <string.h>

mqd_job_t *mqd_job_new(uint64_t conn, const char *user, const char *client, uint64_t epoch)
{
	mqd_job_t *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->conn = conn;
	j->epoch = epoch;
	snprintf(j->user, sizeof(j->user), "%s", user);
	snprintf(j->client, sizeof(j->client), "%s", client);
	return j;
}

static mqd_msg_t *s_msg(mqd_job_t *j, uint64_t seq)
{
	if (j->n_msgs == j->cap_msgs) {
		size_t cap = j->cap_msgs ? j->cap_msgs * 2 : 64;
		mqd_msg_t *nv = realloc(j->msgs, cap * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		j->msgs = nv;
		j->cap_msgs = cap;
	}
	mqd_msg_t *m = &j->msgs[j->n_msgs++];
	memset(m, 0, sizeof(*m));
	m->seq = seq;
	return m;
}

int mqd_job_add_made(mqd_job_t *job, uint64_t seq, mqd_records_t *rs)
{
	mqd_msg_t *m = s_msg(job, seq);
	if (m == NULL)
		return -1;
	m->v = rs->v; /* moved: its strings go with it */
	m->nv = rs->n;
	m->block = rs->block;
	rs->v = NULL;
	rs->n = 0;
	rs->block = NULL;
	return 0;
}

int mqd_job_add_raw(mqd_job_t *job, uint64_t seq, uint64_t counter, const uint8_t *topic,
		    size_t tlen, const uint8_t *payload, size_t plen)
{
	char *raw = malloc(tlen + 1 + plen + 1);
	mqd_msg_t *m = raw != NULL ? s_msg(job, seq) : NULL;
	if (m == NULL) {
		free(raw);
		return -1;
	}
	memcpy(raw, topic, tlen);
	raw[tlen] = '\0';
	if (plen > 0)
		memcpy(raw + tlen + 1, payload, plen);
	raw[tlen + 1 + plen] = '\0';
	m->raw = raw;
	m->tlen = tlen;
	m->plen = plen;
	m->counter = counter;
	return 0;
}

/* "mqtt/CLIENT/EPOCH/" (EPOCH in 16 hex digits), once a job: the start of
 * each of its keys. */
static size_t s_key_prefix(const mqd_job_t *job, char *key, size_t cap)
{
	int n = snprintf(key, cap, "mqtt/%s/%016llx/", job->client, (unsigned long long)job->epoch);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* A raw message's records, or its refusal; its key made from the job's
 * prefix (cap bytes in key, plen of them the prefix) and its counter, in
 * decimal, by hand: snprintf for each message was a few per cent of the
 * worker's time. */
static void s_make_one(mqd_msg_t *m, char *key, size_t cap, size_t plen)
{
	char digits[24];
	size_t nd = 0;
	uint64_t c = m->counter;
	do {
		digits[nd++] = (char)('0' + c % 10);
		c /= 10;
	} while (c > 0);
	if (plen + nd >= cap)
		nd = 0; /* cannot be: the prefix is at most 5 + 64 + 18 bytes */
	for (size_t i = 0; i < nd; i++)
		key[plen + i] = digits[nd - 1 - i];
	key[plen + nd] = '\0';
	mqd_records_t rs;
	if (mqd_records(m->raw, m->tlen, (const uint8_t *)m->raw + m->tlen + 1, m->plen, key,
			&rs) != 0) {
		m->reason = rs.reason != 0 ? rs.reason : MQ_RC_UNSPECIFIED;
		m->why = strdup(rs.err);
		return;
	}
	m->v = rs.v;
	m->nv = rs.n;
	m->block = rs.block;
}

int mqd_job_make(mqd_job_t *job)
{
	size_t n = 0;
	char key[MQD_KEY_MAX];
	size_t plen = s_key_prefix(job, key, sizeof(key));
	for (size_t i = 0; i < job->n_msgs; i++) {
		mqd_msg_t *m = &job->msgs[i];
		if (m->raw != NULL && m->v == NULL && m->reason == 0)
			s_make_one(m, key, sizeof(key), plen);
		m->first = n;
		n += m->nv;
	}
	if (job->recs == NULL && n > 0) {
		job->recs = malloc(n * sizeof(*job->recs));
		job->code = calloc(n, sizeof(*job->code));
		job->why = calloc(n, sizeof(*job->why));
		if (job->recs == NULL || job->code == NULL || job->why == NULL) {
			free(job->recs);
			free(job->code);
			free(job->why);
			job->recs = NULL;
			job->code = NULL;
			job->why = NULL;
			return -1;
		}
	}
	job->n = n;
	for (size_t i = 0; i < job->n_msgs; i++)
		for (size_t k = 0; k < job->msgs[i].nv; k++)
			job->recs[job->msgs[i].first + k] = &job->msgs[i].v[k];
	return 0;
}

void mqd_job_free(mqd_job_t *job)
{
	if (job == NULL)
		return;
	for (size_t i = 0; i < job->n_msgs; i++) {
		mqd_msg_t *m = &job->msgs[i];
		mqd_records_t rs = { .v = m->v, .n = m->nv, .block = m->block };
		mqd_records_free(&rs);
		free(m->raw);
		free(m->why);
	}
	for (size_t i = 0; job->why != NULL && i < job->n; i++)
		free(job->why[i]);
	free(job->msgs);
	free(job->recs);
	free(job->code);
	free(job->why);
	free(job);
}

void mqd_job_free_list(mqd_job_t *job)
{
	while (job != NULL) {
		mqd_job_t *next = job->next;
		mqd_job_free(job);
		job = next;
	}
}
