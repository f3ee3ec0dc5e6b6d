/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime's two threads under load (lib/service.c): with 64 requests
 * of ~1 KiB in flight a daemon's loop hands batches to its writer thread
 * and reads the next meanwhile (a batch of 16 KiB or more always goes to
 * the writer). Through the real broker, on traction-testd (producer and
 * consumer), this checks what the runtime promises all the same:
 * - every write is answered once, after its commit; a write that fails
 *   after writing (keys "fail:...") leaves nothing;
 * - a read sent after an acknowledgement sees that write (reads wait while
 *   the writer works, and then see its commit);
 * - the events of the writes reach the consumer in order, all of them;
 * - a batch is bounded by memory ([store] batch_max_mb) as well as by
 *   requests.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"
#include "rawsock.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"

#define TOTAL 4000
#define WINDOW 64
#define VALUE_LEN 1024

#define BASE "[log]\nlevel = info\n" /* every daemon's config ends with it */

static harness_t H;
static pid_t s_producer, s_consumer;

typedef enum { OP_PUT, OP_FAIL, OP_GET, OP_COUNT } op_t;

typedef struct {
	op_t op;
	int key;           /* put, fail, get: the key's number */
	long acked;        /* count: puts acknowledged when it was sent */
} sent_t;

static sent_t s_sent[TOTAL + 1];

static void s_value(char *buf, int key)
{
	int n = snprintf(buf, VALUE_LEN + 1, "k%06d:", key);
	memset(buf + n, 'a' + key % 26, (size_t)(VALUE_LEN - n));
	buf[VALUE_LEN] = '\0';
}

static void s_send(raw_t *r, uint64_t id, const sent_t *s)
{
	char key[32], value[VALUE_LEN + 1];
	uint8_t buf[2048];
	size_t len;
	snprintf(key, sizeof(key), s->op == OP_FAIL ? "fail:%06d" : "k%06d", s->key);
	if (s->op == OP_PUT || s->op == OP_FAIL) {
		Traction__V1__KeyValue kv = TRACTION__V1__KEY_VALUE__INIT;
		s_value(value, s->key);
		kv.key = key;
		kv.value = value;
		len = protobuf_c_message_pack(&kv.base, buf);
		raw_request(r, "kv", "put", id, buf, len);
	} else if (s->op == OP_GET) {
		Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
		req.id = key;
		len = protobuf_c_message_pack(&req.base, buf);
		raw_request(r, "kv", "get", id, buf, len);
	} else {
		raw_request(r, "kv", "count", id, NULL, 0);
	}
}

/* The next reply on r (answered of total so far), or NULL after 10 s. */
static Traction__V1__Header *s_reply(raw_t *r, uint64_t answered, int total, void **body,
				     size_t *blen)
{
	Traction__V1__Header *h = raw_reply(r, 10000, body, blen);
	CHECK_MSG(h != NULL, "no reply within 10 s (%llu of %d answered)",
		  (unsigned long long)answered, total);
	return h;
}

static uint64_t s_ping(traction_client_t *c, const char *service, bool applied)
{
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *p = NULL;
	traction_status_t st;
	if (traction_call(c, service, "ping", &req.base, &traction__v1__ping_reply__descriptor,
			  (ProtobufCMessage **)&p, &st) != 0)
		return 0;
	uint64_t v = applied ? (p->n_positions > 0 ? p->positions[0]->applied_seq : 0)
			     : p->event_head;
	traction_reply_free(&p->base);
	return v;
}

TEST(pipelined_writes_reads_and_events)
{
	h_start_broker(&H, false);
	setenv("TESTD_MODE", "producer", 1);
	pid_t producer = s_producer = h_start(&H, "traction-testd", "producer");
	setenv("TESTD_MODE", "consumer", 1);
	s_consumer = h_start(&H, "traction-testd", "consumer");
	unsetenv("TESTD_MODE");
	CHECK(producer > 0 && s_consumer > 0);
	CHECK(h_wait_live(&H, "kv", 1, 5000));
	CHECK(h_wait_live(&H, "mirror", 1, 5000));

	raw_t r;
	raw_open(&r, H.client_ep);
	static bool acked[TOTAL];
	long n_acked = 0, n_failed = 0, n_reads = 0, bad = 0;
	int last_acked = -1, next_key = 0;
	uint64_t sent = 0, answered = 0;
	while (answered < TOTAL) {
		while (sent < TOTAL && sent - answered < WINDOW) {
			sent_t *s = &s_sent[++sent];
			/* every 8th a read of the last acknowledged key, every
			 * 13th a count, every 50th a write that fails */
			if (sent % 8 == 0 && last_acked >= 0)
				*s = (sent_t){ OP_GET, last_acked, 0 };
			else if (sent % 13 == 0)
				*s = (sent_t){ OP_COUNT, 0, n_acked };
			else if (sent % 50 == 0)
				*s = (sent_t){ OP_FAIL, next_key++, 0 };
			else
				*s = (sent_t){ OP_PUT, next_key++, 0 };
			s_send(&r, sent, s);
		}
		void *body = NULL;
		size_t blen = 0;
		Traction__V1__Header *h = s_reply(&r, answered, TOTAL, &body, &blen);
		if (h == NULL)
			break;
		answered++;
		int code = h->status != NULL ? h->status->code : 0;
		CHECK_MSG(h->request_id >= 1 && h->request_id <= sent, "reply to an unknown request %llu",
			  (unsigned long long)h->request_id);
		const sent_t *s = &s_sent[h->request_id <= sent ? h->request_id : 0];
		Traction__V1__KeyValue *kv =
			code == 0 && s->op != OP_FAIL
				? traction__v1__key_value__unpack(NULL, blen, body)
				: NULL;
		char want[VALUE_LEN + 1];
		switch (s->op) {
		case OP_PUT:
			CHECK_MSG(code == 0 && !acked[s->key], "put k%06d: code %d, acked before: %d",
				  s->key, code, acked[s->key]);
			if (code == 0 && !acked[s->key]) {
				acked[s->key] = true;
				n_acked++;
				if (s->key > last_acked)
					last_acked = s->key;
			}
			break;
		case OP_FAIL:
			n_failed++;
			CHECK_EQ_INT(code, TRACTION__V1__CODE__FAILED_PRECONDITION);
			break;
		case OP_GET:
			n_reads++;
			s_value(want, s->key);
			CHECK_MSG(kv != NULL && strcmp(kv->value, want) == 0,
				  "get k%06d after its ack: code %d", s->key, code);
			bad += kv == NULL;
			break;
		case OP_COUNT:
			n_reads++;
			/* the fail: keys never count; every acked put must */
			CHECK_MSG(kv != NULL && atol(kv->value) >= s->acked,
				  "count %s sent after %ld acks", kv != NULL ? kv->value : "-",
				  s->acked);
			break;
		}
		if (kv != NULL)
			traction__v1__key_value__free_unpacked(kv, NULL);
		free(body);
		protobuf_c_message_free_unpacked(&h->base, NULL);
	}
	raw_close(&r);
	printf("pipeline: %ld puts acknowledged, %ld refused after writing, %ld reads\n", n_acked,
	       n_failed, n_reads);
	CHECK(n_failed > 0 && n_reads > 0 && bad == 0);

	traction_client_t *c = h_client(&H);
	CHECK_EQ_INT(h_testd_count(c, "kv"), n_acked);
	uint64_t head = s_ping(c, "kv", false);
	CHECK_EQ_INT(head, (uint64_t)n_acked); /* one event per stored put, none of a failed one */
	CHECK(h_testd_wait_count(c, "mirror", n_acked, 10000));
	CHECK_EQ_INT(s_ping(c, "mirror", true), head);
	traction_client_destroy(&c);
}

/* A consumer whose store fills up while it replays the producer's events
 * (each ~1 KiB, into a 2 MiB map): what it applied is a prefix of the
 * source, in order, its position saying exactly how far (no event
 * skipped behind one that failed), and it keeps answering; restarted with
 * room, it catches up on all of them. */
TEST(consumer_with_a_full_store_keeps_the_order)
{
	traction_client_t *c = h_client(&H);
	uint64_t head = s_ping(c, "kv", false);
	CHECK(head > 1000);
	snprintf(H.extra, sizeof(H.extra), "%s", BASE "[store]\nmap_size_mb = 2\n"
						      "[events]\nreplay_interval_ms = 200\n");
	setenv("TESTD_MODE", "consumer", 1);
	pid_t small = h_start(&H, "traction-testd", "small");
	CHECK(h_wait_live(&H, "mirror", 2, 5000)); /* beside the first consumer */
	kill(s_consumer, SIGTERM);
	CHECK(h_wait_live(&H, "mirror", 1, 5000));
	/* until it has applied some and then nothing more for 1.5 s (three
	 * looks): a first look of 0 is a consumer still starting (under TSan
	 * on a loaded machine a replay batch takes longer than a look) */
	long n = -1, before = -2;
	for (int waited = 0, still = 0; waited < 30000 && still < 3; waited += 500) {
		before = n;
		h_sleep_ms(500);
		n = h_testd_count(c, "mirror");
		still = n > 0 && n == before ? still + 1 : 0;
	}
	uint64_t at = s_ping(c, "mirror", true);
	printf("full store: %ld of %llu events applied, position %llu\n", n,
	       (unsigned long long)head, (unsigned long long)at);
	CHECK(n > 0 && (uint64_t)n < head);
	CHECK_EQ_INT(at, (uint64_t)n);
	h_kill(&H, small, SIGTERM);
	snprintf(H.extra, sizeof(H.extra), "%s", BASE "[store]\nmap_size_mb = 64\n");
	small = h_start(&H, "traction-testd", "small");
	unsetenv("TESTD_MODE");
	CHECK(h_testd_wait_count(c, "mirror", (long)head, 10000));
	CHECK_EQ_INT(s_ping(c, "mirror", true), head);
	snprintf(H.extra, sizeof(H.extra), "%s", BASE);
	traction_client_destroy(&c);
}

/* A batch is bounded by memory as well as by requests: with batch_max_mb
 * = 1 and 256 KiB requests, 64 in flight, each group commit holds a few
 * puts (the loop stops reading once its batch's arena holds 1 MiB; each
 * such request takes ~0.5 MiB there, as it came and decoded), not the
 * dozens that arrive while the writer commits. All are answered. */
#define BIG_VALUE (256 << 10)
#define BIG_TOTAL 192

TEST(batches_are_bounded_in_memory)
{
	h_kill(&H, s_producer, SIGTERM);
	snprintf(H.extra, sizeof(H.extra), "%s", BASE "[store]\nbatch_max_mb = 1\nmap_size_mb = 256\n");
	setenv("TESTD_MODE", "producer", 1);
	pid_t bounded = h_start(&H, "traction-testd", "bounded");
	unsetenv("TESTD_MODE");
	snprintf(H.extra, sizeof(H.extra), "%s", BASE);
	CHECK(bounded > 0);
	CHECK(h_wait_live(&H, "kv", 1, 5000));

	char *value = malloc(BIG_VALUE + 1);
	uint8_t *buf = malloc(BIG_VALUE + 1024);
	CHECK(value != NULL && buf != NULL);
	memset(value, 'v', BIG_VALUE);
	value[BIG_VALUE] = '\0';
	raw_t r;
	raw_open(&r, H.client_ep);
	uint64_t sent = 0, answered = 0;
	long ok = 0;
	while (answered < BIG_TOTAL) {
		while (sent < BIG_TOTAL && sent - answered < WINDOW) {
			char key[32];
			Traction__V1__KeyValue kv = TRACTION__V1__KEY_VALUE__INIT;
			snprintf(key, sizeof(key), "big%04llu", (unsigned long long)++sent);
			kv.key = key;
			kv.value = value;
			raw_request(&r, "kv", "put", sent, buf, protobuf_c_message_pack(&kv.base, buf));
		}
		Traction__V1__Header *h = s_reply(&r, answered, BIG_TOTAL, NULL, NULL);
		if (h == NULL)
			break;
		answered++;
		ok += h->status == NULL || h->status->code == 0;
		protobuf_c_message_free_unpacked(&h->base, NULL);
	}
	raw_close(&r);
	free(value);
	free(buf);
	CHECK_EQ_INT(ok, BIG_TOTAL);

	traction_client_t *c = h_client(&H);
	long largest = h_testd_number(c, "kv", "batches");
	printf("bounded batches: at most %ld puts of 256 KiB in one group commit\n", largest);
	CHECK(largest >= 1 && largest <= 3);
	CHECK_EQ_INT(h_testd_count(c, "kv"), BIG_TOTAL);
	traction_client_destroy(&c);
}

int main(void)
{
	h_init(&H, BASE);
	RUN(pipelined_writes_reads_and_events);
	RUN(consumer_with_a_full_store_keeps_the_order);
	RUN(batches_are_bounded_in_memory);
	h_done(&H);
	DONE();
}
