/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The build's verdict on cluster mode (lib/cluster.h): a libraft older
 * than 0.17.1 (RAFT_VERSION_NUMBER below 1701, or none at all: Debian 12's
 * 0.15) is refused, saying which fixes it lacks, unless the build took it
 * on purpose (-DTRC_RAFT_UNSAFE_015=ON); a build without libraft or libuv
 * has no cluster mode. What this build says is checked against the raft.h
 * it was compiled with.
 */
#include <string.h>

#include "check.h"
#include "cluster.h"

#ifdef TRC_RAFT
#include <raft.h>
#endif

TEST(the_version_gate)
{
	CHECK(!TRC_RAFT_VERSION_OK(0));    /* 0.15: no RAFT_VERSION_NUMBER */
	CHECK(!TRC_RAFT_VERSION_OK(1600)); /* 0.16.0: PR #321, not #336 */
	CHECK(!TRC_RAFT_VERSION_OK(1700));
	CHECK(TRC_RAFT_VERSION_OK(1701));  /* 0.17.1: both */
	CHECK(TRC_RAFT_VERSION_OK(1801));  /* 0.18.1, canonical/raft's last */
	CHECK(TRC_RAFT_VERSION_OK(2201));  /* cowsql/raft 0.22.1 */
}

TEST(this_build)
{
	const char *why = trc_cluster_refused();
	const char *v = trc_cluster_raft_version();
	printf("libraft: %s; cluster mode: %s\n", v, why != NULL ? why : "may run");
#if !defined(TRC_RAFT) || !defined(TRC_UV)
	CHECK(why != NULL);
	CHECK_CONTAINS(why, "without libraft or libuv");
#elif !defined(RAFT_VERSION_NUMBER)
	CHECK_CONTAINS(v, "0.15");
	if (trc_cluster_unsafe()) {
		CHECK(why == NULL); /* taken on purpose, for development */
	} else {
		CHECK(why != NULL);
		CHECK_CONTAINS(why, "older than 0.17.1");
		CHECK_CONTAINS(why, "PR #321");
		CHECK_CONTAINS(why, "PR #336");
		CHECK_CONTAINS(why, "TRC_RAFT_UNSAFE_015");
	}
#else
	if (TRC_RAFT_VERSION_OK(RAFT_VERSION_NUMBER))
		CHECK(why == NULL);
	else
		CHECK(why != NULL || trc_cluster_unsafe());
#endif
}

int main(void)
{
	RUN(the_version_gate);
	RUN(this_build);
	DONE();
}
