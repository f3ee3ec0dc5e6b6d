/*
 * A client that floods: 30,000 requests without waiting. Past its
 * max_in_flight_per_client the broker answers RESOURCE_EXHAUSTED at once
 * (back-pressure it can act on), every request gets an answer, another
 * client's requests keep being answered quickly meanwhile, and the
 * broker's memory stays bounded (its RSS is measured before and after).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "harness.h"
#include "rawsock.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"

static harness_t H;

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

TEST(flood_gets_backpressure_others_do_not_wait)
{
	enum { FLOOD = 30000, LIMIT = 500 };
	pid_t broker = h_start_broker(&H, false);
	h_start(&H, "traction-supplyd", NULL);
	CHECK(h_wait_live(&H, "supply", 1, 5000));
	long rss0 = rss_kb(broker);

	raw_t flood;
	raw_open(&flood, H.client_ep);
	for (uint64_t id = 1; id <= FLOOD; id++)
		raw_request(&flood, "supply", "ping", id, NULL, 0);

	/* meanwhile, a well-behaved client */
	traction_client_t *c = h_client(&H);
	traction_client_set_timeout(c, 5000);
	double worst = 0;
	for (int i = 0; i < 50; i++) {
		Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
		ProtobufCMessage *rep = NULL;
		traction_status_t st;
		double t0 = now_ms();
		int code = traction_call(c, "supply", "ping", &e.base,
					 &traction__v1__ping_reply__descriptor, &rep, &st);
		double dt = now_ms() - t0;
		CHECK_MSG(code == 0, "the other client's ping %d: %s", i, st.message);
		traction_reply_free(rep);
		worst = dt > worst ? dt : worst;
	}
	long rss1 = rss_kb(broker);

	/* every flood request answered: OK, or RESOURCE_EXHAUSTED past the limit */
	long ok = 0, exhausted = 0;
	for (int i = 0; i < FLOOD; i++) {
		Traction__V1__Header *h = raw_reply(&flood, 10000, NULL, NULL);
		CHECK_MSG(h != NULL, "flood request %d of %d unanswered", i, FLOOD);
		int code = h->status != NULL ? h->status->code : 0;
		if (code == 0)
			ok++;
		else if (code == TRACTION__V1__CODE__RESOURCE_EXHAUSTED) {
			exhausted++;
			CHECK_CONTAINS(h->status->message, "too many requests in flight from this client");
		} else
			CHECK_MSG(false, "unexpected code %d: %s", code, h->status->message);
		protobuf_c_message_free_unpacked(&h->base, NULL);
	}
	raw_close(&flood);
	long rss2 = rss_kb(broker);
	fprintf(stderr,
		"flood: %ld answered, %ld refused with RESOURCE_EXHAUSTED; the other client's worst "
		"ping %.1f ms; broker RSS %ld -> %ld -> %ld kB\n",
		ok, exhausted, worst, rss0, rss1, rss2);
	CHECK(exhausted > 0);
	CHECK(ok >= LIMIT);
	CHECK_MSG(worst < 1000, "the other client waited %.1f ms", worst);
	CHECK_MSG(rss2 - rss0 < 64 * 1024, "broker RSS grew by %ld kB", rss2 - rss0);
	traction_client_destroy(&c);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 200\n[broker]\nmax_in_flight_per_client = 500\n");
	RUN(flood_gets_backpressure_others_do_not_wait);
	h_done(&H);
	DONE();
}
