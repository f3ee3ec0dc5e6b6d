/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's bookkeeping: balancing by least in flight, tickets and
 * per-client counts, removal of an instance.
 */
#include "check.h"
#include "registry.h"

TEST(balance_and_tickets)
{
	trc_registry_t r;
	trc_registry_init(&r);
	trc_bservice_t *s = trc_registry_service(&r, "feedback", true);
	CHECK(s != NULL);
	CHECK(trc_registry_service(&r, "bad name", true) == NULL);
	CHECK(trc_registry_pick(s) == NULL);
	trc_worker_t *a = trc_registry_attach(&r, "AAAA", 4, s, 0);
	trc_worker_t *b = trc_registry_attach(&r, "BBBB", 4, s, 0);
	CHECK(a != NULL && b != NULL && a != b);
	CHECK(trc_registry_attach(&r, "AAAA", 4, s, 5) == a); /* idempotent */
	CHECK_EQ_INT(s->nworkers, 2);

	/* least in flight wins, so two requests land on two instances */
	trc_worker_t *w1 = trc_registry_pick(s);
	trc_ticket_t *t1 = trc_registry_ticket_new(&r, "C1", 2, 2, false, 7, s, w1, 1000, 300);
	trc_worker_t *w2 = trc_registry_pick(s);
	trc_ticket_t *t2 = trc_registry_ticket_new(&r, "C1", 2, 2, false, 8, s, w2, 1000, 20);
	CHECK(w1 != w2);
	uint64_t bytes = 0;
	CHECK_EQ_INT(trc_registry_client_in_flight(&r, "C1", 2, &bytes), 2);
	CHECK_EQ_INT(bytes, 320); /* the client's bytes in flight, for its byte budget */
	trc_ticket_t *t3 = trc_registry_ticket_new(&r, "C2", 2, 2, false, 1, s, w1, 1000, 5);
	CHECK_EQ_INT(r.bytes, 325); /* every client's, for the broker's budget */
	trc_registry_ticket_done(&r, t3);
	CHECK_EQ_INT(r.bytes, 320);
	CHECK_EQ_INT(s->in_flight, 2);
	CHECK(trc_registry_ticket(&r, t1->ticket) == t1);
	CHECK(t1->ticket != t2->ticket);

	trc_registry_ticket_done(&r, t1);
	CHECK(trc_registry_ticket(&r, t2->ticket) == t2);
	CHECK_EQ_INT(trc_registry_client_in_flight(&r, "C1", 2, &bytes), 1);
	CHECK_EQ_INT(bytes, 20);

	/* removing an instance detaches it; its tickets lose their worker */
	trc_registry_worker_remove(&r, w2);
	CHECK_EQ_INT(s->nworkers, 1);
	CHECK(t2->worker == NULL);
	CHECK(trc_registry_pick(s) == w1);
	trc_registry_ticket_done(&r, t2);
	CHECK_EQ_INT(trc_registry_client_in_flight(&r, "C1", 2, &bytes), 0);
	CHECK_EQ_INT(bytes, 0);
	CHECK_EQ_INT(r.in_flight, 0);
	CHECK_EQ_INT(r.bytes, 0);
	trc_registry_clear(&r);
}

int main(void)
{
	RUN(balance_and_tickets);
	DONE();
}
