/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's bookkeeping: balancing by least in flight, tickets and
 * per-client counts, removal of an instance.
 */
#include "check.h"
#include "registry.h"
#include "traction/v1/bus.pb-c.h"

#define SINGLE TRACTION__V1__REPLICA_ROLE__REPLICA_SINGLE
#define LEADER TRACTION__V1__REPLICA_ROLE__REPLICA_LEADER
#define FOLLOWER TRACTION__V1__REPLICA_ROLE__REPLICA_FOLLOWER
#define CANDIDATE TRACTION__V1__REPLICA_ROLE__REPLICA_CANDIDATE

TEST(balance_and_tickets)
{
	trc_registry_t r;
	trc_registry_init(&r);
	trc_bservice_t *s = trc_registry_service(&r, "feedback", true);
	CHECK(s != NULL);
	CHECK(trc_registry_service(&r, "bad name", true) == NULL);
	CHECK(trc_registry_pick(s, false, NULL) == NULL);
	trc_worker_t *a = trc_registry_attach(&r, "AAAA", 4, s, 0);
	trc_worker_t *b = trc_registry_attach(&r, "BBBB", 4, s, 0);
	CHECK(a != NULL && b != NULL && a != b);
	CHECK(trc_registry_attach(&r, "AAAA", 4, s, 5) == a); /* idempotent */
	CHECK_EQ_INT(s->nworkers, 2);

	/* least in flight wins, so two requests land on two instances */
	trc_worker_t *w1 = trc_registry_pick(s, false, NULL);
	trc_ticket_t *t1 = trc_registry_ticket_new(&r, "C1", 2, 2, false, 7, s, w1, 1000, 300);
	trc_worker_t *w2 = trc_registry_pick(s, false, NULL);
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
	CHECK(trc_registry_pick(s, false, NULL) == w1);
	trc_registry_ticket_done(&r, t2);
	CHECK_EQ_INT(trc_registry_client_in_flight(&r, "C1", 2, &bytes), 0);
	CHECK_EQ_INT(bytes, 0);
	CHECK_EQ_INT(r.in_flight, 0);
	CHECK_EQ_INT(r.bytes, 0);
	trc_registry_clear(&r);
}

/* Three replicas of one daemon's group, as their READY and HEARTBEAT
 * say: what a request of each consistency may be handed to. */
TEST(pick_by_role)
{
	trc_registry_t r;
	trc_registry_init(&r);
	trc_bservice_t *s = trc_registry_service(&r, "note", true);
	trc_worker_t *a = trc_registry_attach(&r, "AAAA", 4, s, 0);
	trc_worker_t *b = trc_registry_attach(&r, "BBBB", 4, s, 0);
	trc_worker_t *c = trc_registry_attach(&r, "CCCC", 4, s, 0);
	CHECK(a != NULL && b != NULL && c != NULL);
	CHECK_EQ_INT(a->role, SINGLE); /* what a READY without a role says */

	/* an election: nobody leads; a STALE read still goes, to anyone */
	trc_registry_role(a, FOLLOWER, 1);
	trc_registry_role(b, CANDIDATE, 2);
	trc_registry_role(c, FOLLOWER, 1);
	CHECK(trc_registry_pick(s, false, NULL) == NULL);
	CHECK(trc_registry_pick(s, true, NULL) != NULL);

	/* a leader: every request that is not STALE goes to it, however
	 * loaded it is against the others */
	trc_registry_role(b, LEADER, 2);
	trc_ticket_t *t[3];
	for (int i = 0; i < 3; i++) {
		CHECK(trc_registry_pick(s, false, NULL) == b);
		t[i] = trc_registry_ticket_new(&r, "C1", 2, 2, false, (uint64_t)i, s, b, 1000, 1);
	}
	/* STALE: the least loaded of any role, the followers taking turns */
	trc_worker_t *s1 = trc_registry_pick(s, true, NULL);
	CHECK(s1 == a || s1 == c);
	trc_ticket_t *t4 = trc_registry_ticket_new(&r, "C1", 2, 2, false, 9, s, s1, 1000, 1);
	trc_worker_t *s2 = trc_registry_pick(s, true, NULL);
	CHECK(s2 != s1 && s2 != b);
	trc_registry_ticket_done(&r, t4);

	/* two claims: the higher term wins, whichever came first */
	trc_registry_role(a, LEADER, 1);
	CHECK(trc_registry_pick(s, false, NULL) == b);
	trc_registry_role(c, LEADER, 3);
	CHECK(trc_registry_pick(s, false, NULL) == c);
	CHECK(trc_registry_pick(s, false, NULL) == c);

	/* a SINGLE is a leader of term 0: alone (today's daemons) it gets
	 * everything, beside a LEADER of a real term nothing */
	trc_registry_role(a, SINGLE, 0);
	CHECK(trc_registry_pick(s, false, NULL) == c);
	trc_registry_role(b, FOLLOWER, 3);
	trc_registry_role(c, FOLLOWER, 3);
	CHECK(trc_registry_pick(s, false, NULL) == a);
	trc_registry_role(a, SINGLE, 7); /* a term beside SINGLE means nothing */
	trc_registry_role(b, LEADER, 1);
	CHECK(trc_registry_pick(s, false, NULL) == b);

	for (int i = 0; i < 3; i++)
		trc_registry_ticket_done(&r, t[i]);
	trc_registry_clear(&r);
}

/* Header.instance: one instance only, by the hex of its routing id (a
 * replica copying another's store meets that one from begin to end). */
TEST(pick_named)
{
	trc_registry_t r;
	trc_registry_init(&r);
	trc_bservice_t *s = trc_registry_service(&r, "note", true);
	trc_worker_t *a = trc_registry_attach(&r, "AAAA", 4, s, 0);
	trc_worker_t *b = trc_registry_attach(&r, "BBBB", 4, s, 0);
	trc_registry_role(a, CANDIDATE, 2);
	trc_registry_role(b, FOLLOWER, 2);
	/* however loaded, the one named: "BBBB" is 42424242 */
	trc_ticket_t *t = trc_registry_ticket_new(&r, "C1", 2, 2, false, 1, s, b, 1000, 1);
	for (int i = 0; i < 3; i++)
		CHECK(trc_registry_pick(s, true, "42424242") == b);
	trc_registry_ticket_done(&r, t);
	CHECK(trc_registry_pick(s, true, "41414141") == a);
	CHECK(trc_registry_pick(s, true, "") != NULL); /* none named: any */
	/* one that is gone, or not hex of an id: nobody */
	CHECK(trc_registry_pick(s, true, "43434343") == NULL);
	CHECK(trc_registry_pick(s, true, "4242424") == NULL);
	/* not STALE: the named one only if it leads */
	CHECK(trc_registry_pick(s, false, "42424242") == NULL);
	trc_registry_role(b, LEADER, 3);
	CHECK(trc_registry_pick(s, false, "42424242") == b);
	CHECK(trc_registry_pick(s, false, "41414141") == NULL);
	trc_registry_clear(&r);
}

int main(void)
{
	RUN(balance_and_tickets);
	RUN(pick_by_role);
	RUN(pick_named);
	DONE();
}
