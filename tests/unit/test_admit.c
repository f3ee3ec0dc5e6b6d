/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's admission of a request (broker/admit.h): an unknown name,
 * a known one with no live instance, and each budget, on the edges where
 * a request goes or is refused.
 */
#include "admit.h"
#include "check.h"
#include "traction/v1/common.pb-c.h"

#define MIB (1ull << 20)

static const trc_admit_limits_t s_lim = { .max_in_flight_per_client = 4,
					  .max_mb_in_flight_per_client = 2,
					  .max_mb_in_flight = 8 };

/* A live service, an idle client, an idle broker: a request that goes. */
static trc_admit_request_t s_ok(void)
{
	trc_admit_request_t rq = { .service = "kv", .known = true, .live = true, .leader = true,
				   .bytes = 100 };
	return rq;
}

TEST(a_request_within_every_budget_goes)
{
	trc_admit_request_t rq = s_ok();
	trc_admit_t a = trc_admit(&rq, &s_lim);
	CHECK_EQ_INT(a.code, 0);
	CHECK_STR(a.message, "");
	/* up to the last request and the last byte of each budget */
	rq.client_in_flight = 3;
	rq.client_bytes = 2 * MIB - 100;
	rq.broker_in_flight = 50;
	rq.broker_bytes = 8 * MIB - 100;
	CHECK_EQ_INT(trc_admit(&rq, &s_lim).code, 0);
}

TEST(unknown_is_not_found_and_known_without_instance_is_unavailable)
{
	trc_admit_request_t rq = s_ok();
	rq.known = false;
	rq.live = false;
	rq.leader = false;
	rq.service = "nosuch";
	trc_admit_t a = trc_admit(&rq, &s_lim);
	CHECK_EQ_INT(a.code, TRACTION__V1__CODE__NOT_FOUND);
	CHECK_STR(a.message, "no service named 'nosuch'");

	rq.known = true;
	rq.service = "kv";
	a = trc_admit(&rq, &s_lim);
	CHECK_EQ_INT(a.code, TRACTION__V1__CODE__UNAVAILABLE);
	CHECK_STR(a.message, "service 'kv' has no live instance");
	CHECK(a.reason == NULL); /* down, not electing: the client may try another broker */
	/* whatever the budgets: the client retries UNAVAILABLE, not a budget */
	rq.client_in_flight = 100;
	CHECK_EQ_INT(trc_admit(&rq, &s_lim).code, TRACTION__V1__CODE__UNAVAILABLE);
}

/* Replicas alive, none of them a leader: an election. UNAVAILABLE with
 * the reason that makes a client wait and send again through the same
 * broker, before any budget is weighed. */
TEST(live_without_a_leader_is_unavailable_no_leader)
{
	trc_admit_request_t rq = s_ok();
	rq.leader = false;
	trc_admit_t a = trc_admit(&rq, &s_lim);
	CHECK_EQ_INT(a.code, TRACTION__V1__CODE__UNAVAILABLE);
	CHECK_STR(a.reason, "no_leader");
	CHECK_CONTAINS(a.message, "service 'kv' has no leader: an election is under way");
	rq.client_in_flight = 100;
	CHECK_STR(trc_admit(&rq, &s_lim).reason, "no_leader");
	rq.leader = true;
	CHECK(trc_admit(&rq, &s_lim).reason == NULL); /* a budget's refusal has none */
}

/* A request naming an instance (Header.instance) that is gone: no
 * election's reason, it says which one. */
TEST(a_named_instance_gone_is_unavailable_without_no_leader)
{
	trc_admit_request_t rq = s_ok();
	rq.leader = false;
	rq.instance = "00a1b2c3d4";
	trc_admit_t a = trc_admit(&rq, &s_lim);
	CHECK_EQ_INT(a.code, TRACTION__V1__CODE__UNAVAILABLE);
	CHECK(a.reason == NULL);
	CHECK_CONTAINS(a.message, "instance '00a1b2c3d4' of service 'kv' is gone");
	rq.leader = true;
	CHECK_EQ_INT(trc_admit(&rq, &s_lim).code, 0);
}

TEST(a_clients_count_of_requests)
{
	trc_admit_request_t rq = s_ok();
	rq.client_in_flight = 4;
	trc_admit_t a = trc_admit(&rq, &s_lim);
	CHECK_EQ_INT(a.code, TRACTION__V1__CODE__RESOURCE_EXHAUSTED);
	CHECK_STR(a.message, "too many requests in flight from this client (limit 4)");
}

/* A byte budget of mb MiB, held in *held requests of *held_bytes: a byte
 * past it is refused with msg; one request alone always goes, however
 * large. */
static void s_byte_budget(trc_admit_request_t *rq, uint32_t *held, uint64_t *held_bytes,
			  uint64_t mb, const char *msg)
{
	*held = 1;
	*held_bytes = mb * MIB - 99;
	trc_admit_t a = trc_admit(rq, &s_lim);
	CHECK_EQ_INT(a.code, TRACTION__V1__CODE__RESOURCE_EXHAUSTED);
	CHECK_STR(a.message, msg);
	*held = 0;
	*held_bytes = 0;
	rq->bytes = (mb + 1) * MIB;
	CHECK_EQ_INT(trc_admit(rq, &s_lim).code, 0);
}

TEST(a_clients_bytes)
{
	trc_admit_request_t rq = s_ok();
	s_byte_budget(&rq, &rq.client_in_flight, &rq.client_bytes, 2,
		      "too many bytes in flight from this client (limit 2 MiB)");
}

TEST(every_clients_bytes_together)
{
	trc_admit_request_t rq = s_ok();
	s_byte_budget(&rq, &rq.broker_in_flight, &rq.broker_bytes, 8,
		      "too many bytes in flight through the broker (limit 8 MiB); retry later");
}

int main(void)
{
	RUN(a_request_within_every_budget_goes);
	RUN(unknown_is_not_found_and_known_without_instance_is_unavailable);
	RUN(live_without_a_leader_is_unavailable_no_leader);
	RUN(a_named_instance_gone_is_unavailable_without_no_leader);
	RUN(a_clients_count_of_requests);
	RUN(a_clients_bytes);
	RUN(every_clients_bytes_together);
	DONE();
}
