/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bus side of traction-mqttd: bus_threads workers, each with a
 * libtraction client of its own (one ZeroMQ context for all), taking jobs
 * from one queue. A job is one feedback.publish acting for its
 * connection's user (traction_client_on_behalf_of: the broker applies that
 * user's role and scope), its records made here from the messages' JSON
 * (job.c). A job whose call, or one of whose records, fails
 * in a way that may pass (the broker or feedbackd away, a timeout, a full
 * queue) is sent again, whole, under the same keys, with a back-off of
 * 50 ms to 2 s, until it is answered for good: feedbackd's idempotency
 * keys make the retries store each record once. Answers go back to the
 * main thread through a list and an eventfd. The workers' clients (and so
 * ZeroMQ's own threads and descriptors) are made before the listeners
 * open: a flood past the file limit at start cannot take them.
 */
#include "mqttd.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "keys.h"
#include "log.h"
#include "traction/traction.h"

#define WORKERS_MAX 64

typedef struct {
	mqd_bus_t *bus;
	traction_client_t *client;
} worker_t;

struct mqd_bus {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	mqd_job_t *todo, **todo_tail;
	mqd_job_t *done;
	bool stopping;
	int efd;
	void *zctx;
	traction_options_t opts;
	char server_pub[TRC_Z85_KEY + 1], pub[TRC_Z85_KEY + 1], sec[TRC_Z85_KEY + 1];
	char endpoint[TRC_CONFIG_STR];
	pthread_t threads[WORKERS_MAX];
	worker_t workers[WORKERS_MAX];
	unsigned n_threads;
};

uint8_t mqd_reason_of(int code)
{
	switch (code) {
	case TRACTION__V1__CODE__INVALID_ARGUMENT:
	case TRACTION__V1__CODE__FAILED_PRECONDITION:
	case TRACTION__V1__CODE__OUT_OF_RANGE: return MQ_RC_PAYLOAD_INVALID;
	case TRACTION__V1__CODE__NOT_FOUND: return MQ_RC_TOPIC_INVALID;
	case TRACTION__V1__CODE__PERMISSION_DENIED:
	case TRACTION__V1__CODE__UNAUTHENTICATED: return MQ_RC_NOT_AUTHORIZED;
	default: return MQ_RC_UNSPECIFIED;
	}
}

bool mqd_retryable(int code)
{
	return code == TRACTION__V1__CODE__UNAVAILABLE ||
	       code == TRACTION__V1__CODE__DEADLINE_EXCEEDED ||
	       code == TRACTION__V1__CODE__RESOURCE_EXHAUSTED ||
	       code == TRACTION__V1__CODE__ABORTED || code == TRACTION__V1__CODE__INTERNAL;
}

/* One call: 0 when every record is answered for good (job->code filled),
 * else the retryable code. */
static int s_call(traction_client_t *c, mqd_job_t *job)
{
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	Traction__V1__PublishReply *rep = NULL;
	traction_status_t st;
	req.records = job->recs;
	req.n_records = job->n;
	traction_client_on_behalf_of(c, job->user[0] != '\0' ? job->user : NULL);
	int code = traction_call(c, "feedback", "publish", &req.base,
				 &traction__v1__publish_reply__descriptor,
				 (ProtobufCMessage **)&rep, &st);
	if (code != 0 && mqd_retryable(code))
		return code;
	int again = 0;
	for (size_t i = 0; i < job->n; i++) {
		const Traction__V1__RecordResult *r =
			code == 0 && i < rep->n_results ? rep->results[i] : NULL;
		int rc = code != 0 ? code : TRACTION__V1__CODE__INTERNAL;
		const char *why = code != 0 ? st.message : "no result for the record";
		if (r != NULL) {
			rc = r->status != NULL ? (int)r->status->code : 0;
			why = r->status != NULL ? r->status->message : "";
		}
		if (mqd_retryable(rc))
			again = rc;
		job->code[i] = rc;
		free(job->why[i]);
		job->why[i] = rc != 0 ? strdup(why) : NULL;
	}
	traction_reply_free(rep != NULL ? &rep->base : NULL);
	return again;
}

static void s_sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Each job: its records made (mqd_job_make), then sent until answered for
 * good. */
static void *s_worker(void *arg)
{
	worker_t *w = arg;
	mqd_bus_t *bus = w->bus;
	traction_client_t *c = w->client;
	pthread_mutex_lock(&bus->lock);
	for (;;) {
		while (bus->todo == NULL && !bus->stopping)
			pthread_cond_wait(&bus->cond, &bus->lock);
		if (bus->stopping)
			break;
		mqd_job_t *job = bus->todo;
		bus->todo = job->next;
		if (bus->todo == NULL)
			bus->todo_tail = &bus->todo;
		pthread_mutex_unlock(&bus->lock);
		unsigned backoff = 50;
		int code;
		while ((code = mqd_job_make(job) != 0 ? TRACTION__V1__CODE__RESOURCE_EXHAUSTED
			       : job->n > 0 ? s_call(c, job) : 0) != 0 &&
		       !__atomic_load_n(&bus->stopping, __ATOMIC_RELAXED)) {
			trc_warn("bus: feedback.publish user=%s records=%zu: %s, again in %u ms",
				 job->user, job->n, traction_code_name(code), backoff);
			s_sleep_ms(backoff);
			backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
		}
		pthread_mutex_lock(&bus->lock);
		if (code != 0) { /* stopping: never answered, so never acknowledged */
			mqd_job_free(job);
			continue;
		}
		job->next = bus->done;
		bus->done = job;
		uint64_t one = 1;
		if (write(bus->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			trc_warn("bus: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&bus->lock);
	return NULL;
}

static int s_keys(mqd_bus_t *bus, const trc_config_t *cfg)
{
	bus->opts = (traction_options_t){ .timeout_ms = (int)cfg->request_timeout_ms,
					  .client_name = "traction-mqttd" };
	if (!cfg->curve)
		return 0;
	char err[512];
	if (trc_keypair_load(mqd_conf(cfg)->key_file, bus->pub, bus->sec, err, sizeof(err)) != 0 ||
	    trc_keypair_load(cfg->server_public_key_file, bus->server_pub, NULL, err,
			     sizeof(err)) != 0) {
		trc_err("%s", err);
		return -1;
	}
	bus->opts.server_public_key = bus->server_pub;
	bus->opts.public_key = bus->pub;
	bus->opts.secret_key = bus->sec;
	return 0;
}

int mqd_bus_start(mqd_bus_t **bus_p, const trc_config_t *cfg, int *fd)
{
	mqd_bus_t *bus = calloc(1, sizeof(*bus));
	if (bus == NULL)
		return -1;
	pthread_mutex_init(&bus->lock, NULL);
	pthread_cond_init(&bus->cond, NULL);
	bus->todo_tail = &bus->todo;
	snprintf(bus->endpoint, sizeof(bus->endpoint), "%s", cfg->client_endpoint);
	bus->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	bus->zctx = zmq_ctx_new();
	if (bus->efd < 0 || bus->zctx == NULL || s_keys(bus, cfg) != 0) {
		*bus_p = bus;
		mqd_bus_stop(bus_p);
		return -1;
	}
	unsigned n = mqd_conf(cfg)->bus_threads;
	for (unsigned i = 0; i < n && i < WORKERS_MAX; i++) {
		worker_t *w = &bus->workers[bus->n_threads];
		w->bus = bus;
		int rc = traction_client_new_in(&w->client, bus->endpoint, &bus->opts, bus->zctx);
		if (rc != 0) {
			trc_err("bus: cannot make a client for %s: %s", bus->endpoint, strerror(-rc));
			break;
		}
		if (pthread_create(&bus->threads[bus->n_threads], NULL, s_worker, w) != 0) {
			traction_client_destroy(&w->client);
			break;
		}
		bus->n_threads++;
	}
	*fd = bus->efd;
	*bus_p = bus;
	if (bus->n_threads < n) {
		mqd_bus_stop(bus_p);
		return -1;
	}
	return 0;
}

void mqd_bus_stop(mqd_bus_t **bus_p)
{
	mqd_bus_t *bus = *bus_p;
	if (bus == NULL)
		return;
	pthread_mutex_lock(&bus->lock);
	__atomic_store_n(&bus->stopping, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&bus->cond);
	pthread_mutex_unlock(&bus->lock);
	for (unsigned i = 0; i < bus->n_threads; i++) {
		pthread_join(bus->threads[i], NULL);
		traction_client_destroy(&bus->workers[i].client);
	}
	while (bus->todo != NULL) {
		mqd_job_t *j = bus->todo;
		bus->todo = j->next;
		mqd_job_free(j);
	}
	mqd_job_free_list(bus->done);
	if (bus->zctx != NULL)
		zmq_ctx_term(bus->zctx);
	if (bus->efd >= 0)
		close(bus->efd);
	pthread_mutex_destroy(&bus->lock);
	pthread_cond_destroy(&bus->cond);
	free(bus);
	*bus_p = NULL;
}

void mqd_bus_submit(mqd_bus_t *bus, mqd_job_t *job)
{
	job->next = NULL;
	pthread_mutex_lock(&bus->lock);
	*bus->todo_tail = job;
	bus->todo_tail = &job->next;
	pthread_cond_signal(&bus->cond);
	pthread_mutex_unlock(&bus->lock);
}

mqd_job_t *mqd_bus_answers(mqd_bus_t *bus)
{
	uint64_t n;
	if (read(bus->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		trc_warn("bus: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&bus->lock);
	mqd_job_t *rev = bus->done, *list = NULL;
	bus->done = NULL;
	pthread_mutex_unlock(&bus->lock);
	while (rev != NULL) { /* in the order they were answered */
		mqd_job_t *j = rev;
		rev = j->next;
		j->next = list;
		list = j;
	}
	return list;
}
