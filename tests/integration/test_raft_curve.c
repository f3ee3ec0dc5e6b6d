/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C-Raft over CurveZMQ (lib/raft_curve.h), transport-only: three real
 * C-Raft nodes (raft_uv_init with the transport, a counting FSM) on one
 * libuv loop, hosted as a service hosts it (hosted_uv.h), on loopback
 * ports picked first, with real keys in a temp keys_dir. Not cluster mode: bare nodes, so Debian's libraft 0.15 is
 * fine here (lib/cluster.h's gate is for cluster mode).
 *
 *   - a leader is elected and 50 entries of 1 KiB are applied on all three;
 *   - two more members with a wrong key, one listed as role = edge and one
 *     not listed, which bootstrap with themselves as voters and so campaign:
 *     their handshakes are refused (the ZAP handler counts them), they never
 *     get a stream, never learn a leader, their logs stay at their own
 *     bootstrap entry, and nobody applies anything of theirs;
 *   - every byte between the nodes goes through a recording TCP proxy (each
 *     node's raft address is its proxy's port; it binds another): ZMTP with
 *     CURVE on the wire, and the entries' marker never in clear;
 *   - a raw TCP peer sending what C-Raft's plain TCP transport would is
 *     disconnected, and no stream reaches raft;
 *   - the leader is closed: the two others elect one and apply 50 more.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "log.h"
#include "raft_curve.h"
#include "raftnodes.h"
#include "rnproxy.h"

#define GOOD 3
#define ALL 5
#define ENTRIES 50
#define MARKER "RAFT-CURVE-MARKER-7f3a"

static char s_base[256];
static uv_loop_t s_loop;
static rn_node_t s_nodes[ALL];

static rn_proxy_t *s_proxies[GOOD];
static rn_wire_t s_wire;   /* every byte the proxies passed */

/* ------------------------------------------------ the nodes */

static void s_cleanup(void)
{
	if (s_base[0])
		rn_rmtree(s_base);
}

/* Keys: the three members' (role = service) in keys/; node 4's listed
 * there as role = edge, node 5's not at all. Each wrong-keyed node trusts
 * the members and itself (its own keys_dir lists them as service), not
 * the other one. */
static void s_keys(char *keys, char loose[2][512])
{
	snprintf(keys, 512, "%s/keys", s_base);
	CHECK(mkdir(keys, 0700) == 0);
	for (int b = 0; b < 2; b++) {
		snprintf(loose[b], 512, "%s/loose%d", s_base, GOOD + 1 + b);
		CHECK(mkdir(loose[b], 0700) == 0);
	}
	for (int i = 0; i < ALL; i++) {
		rn_node_t *n = &s_nodes[i];
		char name[16];
		snprintf(name, sizeof(name), "n%d", i + 1);
		rn_keypair(n->pub, n->sec);
		if (i < GOOD)
			rn_key_file(keys, name, n->pub, "service");
		else if (i == GOOD)
			rn_key_file(keys, name, n->pub, "edge");
		for (int b = 0; b < 2; b++)
			if (i < GOOD || i == GOOD + b)
				rn_key_file(loose[b], name, n->pub, "service");
	}
}

static void s_setup(void)
{
	static char keys[512], loose[2][512];
	snprintf(s_base, sizeof(s_base), "/tmp/test_raft_curve.XXXXXX");
	CHECK(mkdtemp(s_base) != NULL);
	atexit(s_cleanup);
	CHECK(uv_loop_init(&s_loop) == 0);
	s_keys(keys, loose);
	int ports[2 * ALL];
	tp_free_ports(ports, 2 * ALL);
	for (int i = 0; i < ALL; i++) {
		rn_node_t *n = &s_nodes[i];
		n->id = (unsigned)i + 1;
		n->curve = true;
		n->marker = MARKER;
		n->keys_dir = i < GOOD ? keys : loose[i - GOOD];
		int port = ports[2 * i];
		snprintf(n->address, sizeof(n->address), "127.0.0.1:%d", port);
		if (i < GOOD) { /* the address is the proxy's */
			int real = ports[2 * i + 1];
			snprintf(n->bind, sizeof(n->bind), "127.0.0.1:%d", real);
			s_proxies[i] = rn_proxy_start(&s_loop, port, real, &s_wire);
		}
	}
}

/* The members start knowing each other's keys; the wrong keys are not
 * taken as a peer's. Node 4 and 5 bootstrap with all five as voters: they
 * campaign, and so knock on the members' doors. */
static void s_start_all(void)
{
	unsigned standby[] = { 4, 5 };
	for (int i = 0; i < ALL; i++) {
		rn_node_t *n = &s_nodes[i];
		bool good = i < GOOD;
		CHECK(rn_start(n, &s_loop, s_base, s_nodes, ALL, good ? standby : NULL,
			       good ? 2 : 0) == 0);
		for (int j = 0; j < ALL; j++) {
			int rc = trc_raft_curve_peer_key(&n->t, s_nodes[j].id, s_nodes[j].pub);
			CHECK_EQ_INT(rc, (j < GOOD || i == j) ? 0 : TRC_EPERM);
		}
	}
}

static bool s_has_leader(void *ud)
{
	(void)ud;
	return rn_leader(s_nodes, GOOD) != NULL;
}

static uint64_t s_want;

static bool s_all_applied(void *ud)
{
	(void)ud;
	for (int i = 0; i < GOOD; i++)
		if (s_nodes[i].started && s_nodes[i].applied < s_want)
			return false;
	return true;
}

static bool s_closed(void *ud)
{
	return ((rn_node_t *)ud)->closed;
}

static uint64_t s_refused(void)
{
	uint64_t refused = 0;
	for (int i = 0; i < GOOD; i++) {
		trc_raft_curve_stats_t st;
		trc_raft_curve_stats(&s_nodes[i].t, &st);
		refused += st.refused;
	}
	return refused;
}

/* Both wrong-keyed nodes have campaigned (their connections failed) and
 * the members' ZAP handlers refused some. */
static bool s_knocked(void *ud)
{
	(void)ud;
	for (int i = GOOD; i < ALL; i++) {
		trc_raft_curve_stats_t st;
		trc_raft_curve_stats(&s_nodes[i].t, &st);
		if (st.failed < 2)
			return false;
	}
	return s_refused() >= 2;
}

/* The wrong-keyed nodes: nothing of theirs got in, nothing reached them. */
static void s_check_outsiders(void)
{
	CHECK_MSG(rn_run_until(&s_loop, s_knocked, NULL, 15000), "no refused handshake");
	for (int i = GOOD; i < ALL; i++) {
		rn_node_t *n = &s_nodes[i];
		trc_raft_curve_stats_t st;
		trc_raft_curve_stats(&n->t, &st);
		raft_id lid;
		const char *laddr;
		raft_leader(&n->raft, &lid, &laddr);
		CHECK_MSG(st.connected == 0 && st.accepted == 0 && st.bytes_in == 0,
			  "node %u: connected %llu accepted %llu bytes in %llu", n->id,
			  (unsigned long long)st.connected, (unsigned long long)st.accepted,
			  (unsigned long long)st.bytes_in);
		CHECK_EQ_INT(lid, 0);
		CHECK_EQ_INT(raft_last_index(&n->raft), 1); /* its own bootstrap */
		CHECK_EQ_INT(n->applied, 0);
		CHECK(raft_state(&n->raft) != RAFT_LEADER);
	}
}

/* ------------------------------------------------ a plain peer */

static volatile int s_raw_done;
static int s_raw_eof;

/* What C-Raft's TCP transport sends first (protocol 1, id, address
 * length, address), then bytes with the marker: ZeroMQ hangs up. */
static void *s_raw(void *arg)
{
	int port = *(int *)arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		uint64_t hs[3] = { 1, 9, 16 };
		char msg[256] = "127.0.0.1:9\0\0\0\0\0" MARKER;
		ssize_t w = write(fd, hs, sizeof(hs));
		w += write(fd, msg, sizeof(msg));
		(void)w;
		char buf[512];
		ssize_t r;
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			;
		s_raw_eof = r == 0 || (r < 0 && (errno == ECONNRESET || errno == EPIPE));
	}
	close(fd);
	__atomic_store_n(&s_raw_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool s_raw_finished(void *ud)
{
	(void)ud;
	return __atomic_load_n(&s_raw_done, __ATOMIC_ACQUIRE) != 0;
}

static void s_check_plain_peer(void)
{
	trc_raft_curve_stats_t before, after;
	trc_raft_curve_stats(&s_nodes[0].t, &before);
	int port = atoi(strchr(s_nodes[0].bind, ':') + 1);
	pthread_t th;
	CHECK(pthread_create(&th, NULL, s_raw, &port) == 0);
	CHECK(rn_run_until(&s_loop, s_raw_finished, NULL, 10000));
	pthread_join(th, NULL);
	trc_raft_curve_stats(&s_nodes[0].t, &after);
	CHECK_MSG(s_raw_eof, "the plain peer was not disconnected");
	CHECK_EQ_INT(after.accepted, before.accepted);
}

/* ------------------------------------------------ the run */

/* What each node is at, for a failure's message. */
static void s_dump(void)
{
	for (int i = 0; i < ALL; i++) {
		rn_node_t *n = &s_nodes[i];
		trc_raft_curve_stats_t st;
		trc_raft_curve_stats(&n->t, &st);
		fprintf(stderr,
			"node %u: %s state %d term %llu last %llu applied %llu; accepted %llu "
			"connected %llu failed %llu refused %llu bytes in %llu out %llu\n",
			n->id, n->started ? "up" : "down", n->started ? raft_state(&n->raft) : -1,
			n->started ? (unsigned long long)n->raft.current_term : 0ull,
			n->started ? (unsigned long long)raft_last_index(&n->raft) : 0ull,
			(unsigned long long)n->applied, (unsigned long long)st.accepted,
			(unsigned long long)st.connected, (unsigned long long)st.failed,
			(unsigned long long)st.refused, (unsigned long long)st.bytes_in,
			(unsigned long long)st.bytes_out);
	}
}

static void s_apply_round(uint64_t want)
{
	rn_node_t *leader = NULL;
	for (int tries = 0; tries < 5 && s_want < want; tries++) {
		if (!rn_run_until(&s_loop, s_has_leader, NULL, 15000))
			s_dump();
		CHECK_MSG(rn_leader(s_nodes, GOOD) != NULL, "no leader");
		leader = rn_leader(s_nodes, GOOD);
		rn_propose(leader, ENTRIES, 8, 1024);
		s_want = want;
		if (!rn_run_until(&s_loop, s_all_applied, NULL, 20000))
			s_want = 0; /* leadership moved mid-way: again, on the new one */
	}
	CHECK_MSG(s_all_applied(NULL), "entries not applied on every member");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as a daemon does (daemon.c): raft writes to closed streams */
	if (getenv("RAFT_CURVE_DEBUG"))
		trc_log_set_level(TRC_LOG_DEBUG);
	s_setup();
	s_start_all();
	s_apply_round(ENTRIES);
	for (int i = 0; i < GOOD; i++) /* more if a leader changed mid-way */
		CHECK_MSG(s_nodes[i].marked >= ENTRIES, "node %d applied %llu marked entries", i + 1,
			  (unsigned long long)s_nodes[i].marked);
	s_check_outsiders();

	/* the wire: CurveZMQ (ZMTP greetings naming CURVE), never the marker */
	CHECK_MSG(s_wire.len > 2 * ENTRIES * 1024, "the proxies saw %zu bytes", s_wire.len);
	CHECK(memmem(s_wire.data, s_wire.len, "CURVE", 5) != NULL);
	CHECK_MSG(memmem(s_wire.data, s_wire.len, MARKER, strlen(MARKER)) == NULL,
		  "an entry's marker went over the wire in clear");
	s_check_plain_peer();

	rn_node_t *old = rn_leader(s_nodes, GOOD);
	rn_stop(old);
	CHECK(rn_run_until(&s_loop, s_closed, old, 10000));
	s_apply_round(2 * ENTRIES);
	CHECK(rn_leader(s_nodes, GOOD) != old);
	s_check_outsiders();
	printf("raft over CurveZMQ: leader %u then %u, %zu bytes on the wire, none in clear\n",
	       old->id, rn_leader(s_nodes, GOOD)->id, s_wire.len);

	CHECK(rn_stop_all(&s_loop, s_nodes, ALL, 10000));
	for (int i = 0; i < GOOD; i++)
		rn_proxy_close(s_proxies[i]);
	uv_run(&s_loop, UV_RUN_DEFAULT);
	CHECK(uv_loop_close(&s_loop) == 0);
	free(s_wire.data);
	return 0;
}
