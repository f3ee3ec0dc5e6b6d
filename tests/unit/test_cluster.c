/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The build's verdict on cluster mode (lib/cluster.h): a libraft older
 * than 0.17.1 (RAFT_VERSION_NUMBER below 1701, or none at all: Debian 12's
 * 0.15) is refused, saying which fixes it lacks, unless the build took it
 * on purpose (-DTRC_RAFT_UNSAFE_015=ON); a build without libraft or libuv
 * has no cluster mode. What this build says is checked against the raft.h
 * it was compiled with. And [cluster] members read as raft's configuration:
 * ids by position, ports by the daemon's offset where a member names none,
 * and every malformed list refused with why.
 */
#include <string.h>

#include "check.h"
#include "cluster.h"
#include "error.h"

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

/* [cluster] of text (on the defaults); members read for offset 3. */
static int s_members(const char *text, trc_members_t *ms, char *err, size_t len)
{
	trc_config_t cfg;
	trc_config_defaults(&cfg);
	CHECK_EQ_INT(trc_config_parse(&cfg, "t", text, strlen(text), err, len), 0);
	return trc_cluster_members(&cfg, 3, ms, err, len);
}

TEST(members)
{
	trc_members_t ms;
	char err[512];
	CHECK_EQ_INT(s_members("[cluster]\nnode = b\nmembers = a=127.0.0.1, b = 127.0.0.2:9001,"
			       "c=localhost\n",
			       &ms, err, sizeof(err)),
		     0);
	CHECK_EQ_INT((int)ms.n, 3);
	CHECK_EQ_INT((int)ms.self, 1);
	CHECK_EQ_INT((int)ms.m[0].id, 1);
	CHECK_EQ_INT((int)ms.m[2].id, 3);
	CHECK_STR(ms.m[0].address, "127.0.0.1:7503"); /* base_port 7500 + offset 3 */
	CHECK_STR(ms.m[1].name, "b");
	CHECK_STR(ms.m[1].address, "127.0.0.2:9001");
	CHECK_STR(ms.m[2].address, "localhost:7503");
	/* off loopback: raft's plain TCP, only when the file says so */
	const char *far = "[cluster]\nnode = a\nmembers = a=10.0.0.1, b=10.0.0.2\n";
	CHECK_EQ_INT(s_members(far, &ms, err, sizeof(err)), TRC_ECONFIG);
	CHECK_CONTAINS(err, "plain_ok");
	char ok[256];
	snprintf(ok, sizeof(ok), "%splain_ok = 1\n", far);
	CHECK_EQ_INT(s_members(ok, &ms, err, sizeof(err)), 0);
	CHECK_STR(ms.m[1].address, "10.0.0.2:7503");
	/* or raft over CurveZMQ, with the daemons' service keys */
	snprintf(ok, sizeof(ok), "%s[security]\nservice_curve = 1\n", far);
	CHECK_EQ_INT(s_members(ok, &ms, err, sizeof(err)), 0);
	struct {
		const char *text, *why;
	} bad[] = {
		{ "[cluster]\nnode = x\nmembers = a=127.0.0.1\n", "not one of members" },
		{ "[cluster]\nnode = a\nmembers = a=127.0.0.1, a=127.0.0.2\n", "the same name" },
		{ "[cluster]\nnode = a\nmembers = a=127.0.0.1:7, b=127.0.0.1:7\n", "the same" },
		{ "[cluster]\nnode = a\nmembers = a127.0.0.1\n", "not name=host" },
		{ "[cluster]\nnode = a\nmembers = a=127.0.0.1:99999\n", "not a port" },
		{ "[cluster]\nnode = a\nmembers = a=\n", "not name=host" },
		{ "[cluster]\nnode = a\nmembers = a=127.0.0.1\nheartbeat_ms = 1000\n",
		  "below election_timeout_ms" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_EQ_INT(s_members(bad[i].text, &ms, err, sizeof(err)), TRC_ECONFIG);
		CHECK_CONTAINS(err, bad[i].why);
	}
}

int main(void)
{
	RUN(the_version_gate);
	RUN(this_build);
	RUN(members);
	DONE();
}
