/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's table of event-feed subscriptions (broker/subs.c): what is a
 * topic prefix, the feed's bound and the per-peer bound, and that a prefix
 * nobody holds any more frees its room.
 */
#include "check.h"
#include "subs.h"

TEST(topic_prefixes)
{
	CHECK(trc_topic_prefix_ok("", 0));
	CHECK(trc_topic_prefix_ok("feedback.evidence", 17));
	CHECK(trc_topic_prefix_ok("a-b_c.9", 7));
	CHECK(!trc_topic_prefix_ok("feed\nback", 9));
	CHECK(!trc_topic_prefix_ok("feed\0back", 9));
	CHECK(!trc_topic_prefix_ok("caf\xc3\xa9", 5));
	char longp[TRC_TOPIC_MAX + 1];
	memset(longp, 'a', sizeof(longp));
	CHECK(trc_topic_prefix_ok(longp, TRC_TOPIC_MAX));
	CHECK(!trc_topic_prefix_ok(longp, TRC_TOPIC_MAX + 1));
}

TEST(bounds)
{
	trc_subs_t *s = trc_subs_new(4, 3);
	CHECK(s != NULL);
	/* the empty prefix (everything) is a prefix like any other */
	CHECK_EQ_INT(trc_subs_offer(s, "anonymous", "", 0), TRC_SUB_NEW);
	CHECK_EQ_INT(trc_subs_offer(s, "anonymous", "", 0), TRC_SUB_KNOWN);
	CHECK_EQ_INT(trc_subs_offer(s, "anonymous", "supply.", 7), TRC_SUB_NEW);
	CHECK_EQ_INT(trc_subs_offer(s, "anonymous", "x\n", 2), TRC_SUB_BAD);
	CHECK_EQ_INT(trc_subs_offer(s, "anonymous", "feedback.", 9), TRC_SUB_NEW);
	/* the peer holds 3: a fourth is refused, one it holds is not */
	CHECK_EQ_INT(trc_subs_offer(s, "anonymous", "scenario.", 9), TRC_SUB_PEER_FULL);
	CHECK_EQ_INT(trc_subs_offer(s, "anonymous", "supply.", 7), TRC_SUB_KNOWN);
	/* another peer: a prefix held already takes no room of the feed */
	CHECK_EQ_INT(trc_subs_offer(s, "site-7", "supply.", 7), TRC_SUB_KNOWN);
	CHECK_EQ_INT(trc_subs_offer(s, "site-7", "scenario.", 9), TRC_SUB_NEW);
	CHECK_EQ_INT(trc_subs_count(s), 4);
	/* the feed holds 4 distinct prefixes: a fifth is refused */
	CHECK_EQ_INT(trc_subs_offer(s, "site-7", "iteration.", 10), TRC_SUB_FULL);
	/* the last holder of "feedback." left: its room is free again, and
	 * the peer that held it holds one less */
	CHECK(trc_subs_gone(s, "feedback.", 9));
	CHECK(!trc_subs_gone(s, "feedback.", 9));
	CHECK_EQ_INT(trc_subs_count(s), 3);
	CHECK_EQ_INT(trc_subs_offer(s, "anonymous", "iteration.", 10), TRC_SUB_NEW);
	CHECK_EQ_INT(trc_subs_offer(s, "anonymous", "deployment.", 11), TRC_SUB_PEER_FULL);
	/* a reload that lowers a bound keeps what is held */
	trc_subs_limits(s, 2, 3);
	CHECK_EQ_INT(trc_subs_offer(s, "site-7", "supply.", 7), TRC_SUB_KNOWN);
	CHECK_EQ_INT(trc_subs_offer(s, "site-8", "deployment.", 11), TRC_SUB_FULL);
	trc_subs_destroy(&s);
	CHECK(s == NULL);
}

int main(void)
{
	RUN(topic_prefixes);
	RUN(bounds);
	DONE();
}
