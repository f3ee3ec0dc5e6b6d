/*
 * The event log's bound (issue #28; docs/protocol.md "Compaction"), on
 * real daemons of the real runtime (traction-testd): a producer whose
 * events are keyed by their key, with [events] keep_max small; a consumer
 * stopped while the producer writes far past the trim, then restarted,
 * converges to the state of a consumer that never stopped (every key's
 * value the same, and the last one written), with no event applied twice
 * by either; and at steady writes over a bounded set of keys, the
 * producer's events database stays under a bound while its head grows.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"

static harness_t H;

static int64_t s_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define KEEP_MAX 50

static void s_put(traction_client_t *c, const char *key, const char *value)
{
	Traction__V1__KeyValue req = TRACTION__V1__KEY_VALUE__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	req.key = (char *)key;
	req.value = (char *)value;
	int code = traction_call(c, "kv", "put", &req.base, &traction__v1__key_value__descriptor,
				 &rep, &st);
	CHECK_MSG(code == 0, "put %s: %d %s", key, code, st.message);
	traction_reply_free(rep);
}

/* The producer's event log: its entries, floor and head. */
static void s_log(traction_client_t *c, unsigned long *entries, unsigned long long *floor,
		  unsigned long long *head)
{
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__KeyValue *rep = NULL;
	CHECK_EQ_INT(traction_call(c, "kv", "log", &req.base, &traction__v1__key_value__descriptor,
				   (ProtobufCMessage **)&rep, NULL),
		     0);
	CHECK(sscanf(rep->value, "%lu %llu %llu", entries, floor, head) == 3);
	traction_reply_free(&rep->base);
}

/* What a consumer has applied of the producer (source "supply"). */
static uint64_t s_applied(traction_client_t *c, const char *service)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *p = NULL;
	if (traction_call(c, service, "ping", &e.base, &traction__v1__ping_reply__descriptor,
			  (ProtobufCMessage **)&p, NULL) != 0)
		return 0;
	uint64_t seq = 0;
	for (size_t i = 0; i < p->n_positions; i++)
		if (strcmp(p->positions[i]->source, "supply") == 0)
			seq = p->positions[i]->applied_seq;
	traction_reply_free(&p->base);
	return seq;
}

static bool s_wait_applied(traction_client_t *c, const char *service, uint64_t head)
{
	uint64_t at = 0;
	for (int waited = 0; waited < 20000; waited += 20) {
		if ((at = s_applied(c, service)) == head)
			return true;
		h_sleep_ms(20);
	}
	fprintf(stderr, "%s has applied up to %llu, the head is %llu\n", service,
		(unsigned long long)at, (unsigned long long)head);
	return false;
}

/* The value of key at a consumer ("" if it has none). */
static void s_get(traction_client_t *c, const char *service, const char *key, char *out,
		  size_t len)
{
	Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
	Traction__V1__KeyValue *rep = NULL;
	req.id = (char *)key;
	out[0] = '\0';
	if (traction_call(c, service, "get", &req.base, &traction__v1__key_value__descriptor,
			  (ProtobufCMessage **)&rep, NULL) == 0) {
		snprintf(out, len, "%s", rep->value);
		traction_reply_free(&rep->base);
	}
}

static pid_t s_consumer(const char *service)
{
	setenv("TESTD_MODE", "consumer", 1);
	setenv("TESTD_SERVICE", service, 1);
	pid_t pid = h_start(&H, "traction-testd", service);
	unsetenv("TESTD_MODE");
	unsetenv("TESTD_SERVICE");
	CHECK_MSG(h_wait_live(&H, service, 1, 10000), "%s is not live", service);
	return pid;
}

/* Keys k00..k39 and u00..u59 written over and over (every tenth write
 * a u): the last value of each, as the test wrote it. */
#define NK 40
#define NU 60
static char s_last_k[NK][32], s_last_u[NU][32];

static void s_write(traction_client_t *c, long from, long to)
{
	char key[32], val[32];
	for (long i = from; i < to; i++) {
		snprintf(val, sizeof(val), "v%ld", i);
		if (i % 10 == 9) {
			long u = (i / 10) % NU;
			snprintf(key, sizeof(key), "u%03ld", u);
			snprintf(s_last_u[u], sizeof(s_last_u[u]), "%s", val);
		} else {
			snprintf(key, sizeof(key), "k%02ld", i % NK);
			snprintf(s_last_k[i % NK], sizeof(s_last_k[i % NK]), "%s", val);
		}
		s_put(c, key, val);
	}
}

static void s_same(traction_client_t *c, const char *prefix, long n, char (*last)[32])
{
	char key[32], a[64], b[64];
	for (long i = 0; i < n; i++) {
		if (last[i][0] == '\0')
			continue;
		snprintf(key, sizeof(key), prefix[0] == 'k' ? "%s%02ld" : "%s%03ld", prefix, i);
		s_get(c, "mirror", key, a, sizeof(a));
		s_get(c, "mirror2", key, b, sizeof(b));
		CHECK_MSG(strcmp(a, b) == 0 && strcmp(a, last[i]) == 0,
			  "%s: the restarted consumer has '%s', the other '%s', written '%s'", key,
			  a, b, last[i]);
	}
}

TEST(a_consumer_behind_the_floor_converges)
{
	traction_client_t *c = h_client(&H);
	pid_t a = s_consumer("mirror");
	s_consumer("mirror2");

	s_write(c, 0, 100);
	unsigned long entries;
	unsigned long long floor, head;
	s_log(c, &entries, &floor, &head);
	CHECK(s_wait_applied(c, "mirror", head));
	uint64_t stopped_at = head;
	h_kill(&H, a, SIGTERM);

	/* far past the trim: the stopped consumer's position is below the floor */
	s_write(c, 100, 1500);
	for (int waited = 0; waited < 10000; waited += 50) {
		s_log(c, &entries, &floor, &head);
		if (head - floor < KEEP_MAX)
			break;
		h_sleep_ms(50);
	}
	fprintf(stderr, "log: %lu entries, floor %llu, head %llu; the stopped consumer at %llu\n",
		entries, floor, head, (unsigned long long)stopped_at);
	CHECK_MSG(head - floor < KEEP_MAX, "the log was not trimmed to keep_max");
	CHECK(floor > stopped_at + 1);
	/* below the floor, at most the newest event of each key */
	CHECK_MSG(entries <= (head - floor + 1) + NK + NU, "%lu entries", entries);

	a = s_consumer("mirror");
	CHECK(s_wait_applied(c, "mirror", head));
	CHECK(s_wait_applied(c, "mirror2", head));
	CHECK_EQ_INT(h_testd_count(c, "mirror"), h_testd_count(c, "mirror2"));
	long written = 0;
	for (long i = 0; i < NK; i++)
		written += s_last_k[i][0] != '\0';
	for (long i = 0; i < NU; i++)
		written += s_last_u[i][0] != '\0';
	CHECK_EQ_INT(h_testd_count(c, "mirror"), written);
	s_same(c, "k", NK, s_last_k);
	s_same(c, "u", NU, s_last_u);
	CHECK_EQ_INT(h_testd_number(c, "mirror", "dups"), 0);
	CHECK_EQ_INT(h_testd_number(c, "mirror2", "dups"), 0);

	/* and it goes on from there, live */
	s_write(c, 1500, 1510);
	s_log(c, &entries, &floor, &head);
	CHECK(s_wait_applied(c, "mirror", head));
	s_same(c, "k", NK, s_last_k);
	traction_client_destroy(&c);
}

TEST(the_log_stops_growing_at_steady_writes)
{
	traction_client_t *c = h_client(&H);
	unsigned long entries, most = 0;
	unsigned long long floor, head, first = 0;
	/* k00..k39 only now: every event but the newest of each key goes */
	char key[32], val[32];
	int64_t t0 = 0;
	for (long i = 0; i < 4000; i++) {
		snprintf(key, sizeof(key), "k%02ld", i % NK);
		snprintf(val, sizeof(val), "w%ld", i);
		snprintf(s_last_k[i % NK], sizeof(s_last_k[i % NK]), "%s", val);
		s_put(c, key, val);
		if (i % 100 == 99) {
			s_log(c, &entries, &floor, &head);
			if (first == 0) {
				first = head;
				t0 = s_mono_ms();
			}
			if (i >= 1000 && entries > most)
				most = entries;
		}
	}
	double rate = (double)(head - first) * 1000.0 / (double)(s_mono_ms() - t0 + 1);
	/* keep_max whole, the newest of each of the 100 keys below the floor,
	 * and what comes in between two trims (250 ms; twice that for the
	 * turn the tick waits for) */
	unsigned long bound = KEEP_MAX + NK + NU + (unsigned long)(rate * 0.5) + 100;
	fprintf(stderr, "steady: head %llu -> %llu at %.0f/s, the log at most %lu entries "
		"(bound %lu)\n", first, head, rate, most, bound);
	CHECK_MSG(most <= bound, "the log grew to %lu entries", most);
	CHECK(head - first > 3000);
	CHECK(s_wait_applied(c, "mirror", head));
	CHECK(s_wait_applied(c, "mirror2", head));
	s_same(c, "k", NK, s_last_k);
	traction_client_destroy(&c);
}

int main(void)
{
	char extra[256];
	snprintf(extra, sizeof(extra),
		 "[events]\nreplay_interval_ms = 200\nkeep_max = %d\ntrim_per_tick = 100\n",
		 KEEP_MAX);
	h_init(&H, extra);
	h_start_broker(&H, false);
	setenv("TESTD_MODE", "producer", 1);
	h_start(&H, "traction-testd", "producer");
	unsetenv("TESTD_MODE");
	CHECK(h_wait_live(&H, "kv", 1, 10000));
	RUN(a_consumer_behind_the_floor_converges);
	RUN(the_log_stops_growing_at_steady_writes);
	h_done(&H);
	DONE();
}
