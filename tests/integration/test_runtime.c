/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service runtime over real sockets, with traction-testd (a daemon on
 * the real runtime): an acknowledged write survives SIGKILL; a request that
 * fails after writing leaves nothing behind, not even its event; events
 * reach a consumer live; a consumer that was down catches up by replay on
 * start; a consumer that loses events (PUB/SUB high-water mark while it is
 * stopped) finds the gap and replays, with periodic polling switched off
 * so that only gap detection can save it; a daemon that writes events
 * without declaring their topics does not start.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/bus.pb-c.h"

static harness_t H;
static pid_t s_producer, s_consumer;

static int put(traction_client_t *c, const char *key, const char *value, traction_status_t *st)
{
	Traction__V1__KeyValue req = TRACTION__V1__KEY_VALUE__INIT;
	ProtobufCMessage *rep = NULL;
	req.key = (char *)key;
	req.value = (char *)value;
	int code = traction_call(c, "kv", "put", &req.base, &traction__v1__key_value__descriptor,
				 &rep, st);
	traction_reply_free(rep);
	return code;
}

static int get(traction_client_t *c, const char *service, const char *key)
{
	Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	req.id = (char *)key;
	int code = traction_call(c, service, "get", &req.base, &traction__v1__key_value__descriptor,
				 &rep, &st);
	traction_reply_free(rep);
	return code;
}

static pid_t start_testd(const char *mode, const char *state)
{
	setenv("TESTD_MODE", mode, 1);
	pid_t pid = h_start(&H, "traction-testd", state);
	unsetenv("TESTD_MODE");
	return pid;
}

static void put_many(traction_client_t *c, int from, int to, size_t value_len)
{
	char key[32];
	char *value = malloc(value_len + 1);
	memset(value, 'v', value_len);
	value[value_len] = '\0';
	for (int i = from; i < to; i++) {
		traction_status_t st;
		snprintf(key, sizeof(key), "k%06d", i);
		CHECK_MSG(put(c, key, value, &st) == 0, "put %s: %s", key, st.message);
	}
	free(value);
}

TEST(acknowledged_writes_survive_sigkill)
{
	h_start_broker(&H, false);
	s_producer = start_testd("producer", "producer");
	CHECK(h_wait_live(&H, "kv", 1, 5000));
	traction_client_t *c = h_client(&H);
	put_many(c, 0, 100, 16);
	h_kill(&H, s_producer, SIGKILL);
	/* the broker notices by the missed heartbeats */
	CHECK(h_wait_live(&H, "kv", 0, 5000));
	s_producer = start_testd("producer", "producer");
	CHECK(h_wait_live(&H, "kv", 1, 5000));
	traction_client_set_timeout(c, 3000);
	CHECK_EQ_INT(h_testd_count(c, "kv"), 100);
	CHECK_EQ_INT(get(c, "kv", "k000000"), 0);
	CHECK_EQ_INT(get(c, "kv", "k000099"), 0);
	CHECK_EQ_INT(get(c, "kv", "k000100"), TRACTION__V1__CODE__NOT_FOUND);
	traction_client_destroy(&c);
}

TEST(failed_request_leaves_nothing)
{
	traction_client_t *c = h_client(&H);
	traction_status_t st;
	CHECK_EQ_INT(put(c, "fail:x", "1", &st), TRACTION__V1__CODE__FAILED_PRECONDITION);
	CHECK_CONTAINS(st.message, "key: asked to fail");
	CHECK_EQ_INT(put(c, "", "1", &st), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_CONTAINS(st.message, "key: must not be empty");
	CHECK_EQ_INT(get(c, "kv", "fail:x"), TRACTION__V1__CODE__NOT_FOUND);
	CHECK_EQ_INT(h_testd_count(c, "kv"), 100);

	/* and its event was not written either: the head is still 100 */
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *p = NULL;
	CHECK_EQ_INT(traction_call(c, "kv", "ping", &req.base, &traction__v1__ping_reply__descriptor,
				   (ProtobufCMessage **)&p, &st),
		     0);
	CHECK_EQ_INT(p->event_head, 100);
	traction_reply_free(&p->base);
	traction_client_destroy(&c);
}

TEST(consumer_catches_up_on_start_and_live)
{
	/* 100 events were written before the consumer existed. */
	s_consumer = start_testd("consumer", "consumer");
	CHECK(h_wait_live(&H, "mirror", 1, 5000));
	traction_client_t *c = h_client(&H);
	CHECK(h_testd_wait_count(c, "mirror", 100, 5000));
	put_many(c, 100, 150, 16);
	CHECK(h_testd_wait_count(c, "mirror", 150, 5000));

	/* down while writes go on; back up, it replays from its position */
	CHECK_EQ_INT(WEXITSTATUS(h_kill(&H, s_consumer, SIGTERM)), 0);
	put_many(c, 150, 400, 16);
	s_consumer = start_testd("consumer", "consumer");
	CHECK(h_testd_wait_count(c, "mirror", 400, 5000));
	CHECK_EQ_INT(get(c, "mirror", "k000399"), 0);

	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *p = NULL;
	traction_status_t st;
	CHECK_EQ_INT(traction_call(c, "mirror", "ping", &req.base,
				   &traction__v1__ping_reply__descriptor, (ProtobufCMessage **)&p, &st),
		     0);
	CHECK_EQ_INT(p->n_positions, 1);
	CHECK_STR(p->positions[0]->source, "supply");
	CHECK_EQ_INT(p->positions[0]->applied_seq, 400);
	traction_reply_free(&p->base);
	traction_client_destroy(&c);
}

TEST(consumer_detects_a_gap_and_replays)
{
	traction_client_t *c = h_client(&H);
	/* Frozen, it cannot read; with queue_limit 16 the broker's XPUB drops
	 * most of 1500 events of 8 KiB meant for it. */
	kill(s_consumer, SIGSTOP);
	put_many(c, 400, 1900, 8192);
	kill(s_consumer, SIGCONT);
	/* One more after the thaw, so that even a lost tail shows as a gap;
	 * and another each 2 s while the mirror falls short: a consumer still
	 * draining its queue (TSan) lets the broker drop the first one too,
	 * and with replays an hour apart only a later event shows the gap. */
	h_sleep_ms(300);
	int last = 1900;
	bool whole = false;
	while (!whole && last < 1920) {
		put_many(c, last, last + 1, 16);
		last++;
		whole = h_testd_wait_count(c, "mirror", last, 2000);
	}
	CHECK_MSG(whole, "the mirror never caught up with %d keys", last);
	CHECK_EQ_INT(get(c, "mirror", "k001234"), 0);
	traction_client_destroy(&c);
}

/* SIGHUP with a broken configuration: refused, the running one kept, the
 * daemon serving on; a good one then takes effect. */
TEST(reload_refuses_a_bad_config)
{
	char path[400], log[400];
	snprintf(path, sizeof(path), "%s/producer.conf", H.dir);
	FILE *f = fopen(path, "a");
	CHECK(f != NULL);
	fputs("[store]\nmap_size_mb = lots\n", f);
	fclose(f);
	kill(s_producer, SIGHUP);
	h_sleep_ms(300);
	traction_client_t *c = h_client(&H);
	CHECK_EQ_INT(h_testd_count(c, "kv") >= 0, 1); /* still serving */
	snprintf(log, sizeof(log),
		 "grep -q 'reload refused, keeping the running configuration: .*producer.conf:[0-9]*: "
		 "\\[store\\] map_size_mb' %s/traction-testd.*.log",
		 H.dir);
	CHECK_MSG(system(log) == 0, "no 'reload refused' line naming the file, line and key");
	traction_client_destroy(&c);
}

/* Its consumers would have no topics to subscribe to: it must not serve. */
TEST(events_without_topics_refuse_to_start)
{
	pid_t pid = start_testd("untopical", "untopical");
	int status = 0;
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	for (int i = 0; i < H.n; i++)
		if (H.pids[i] == pid)
			H.pids[i] = 0;
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status 0x%x", status);
	char cmd[400];
	snprintf(cmd, sizeof(cmd),
		 "grep -q 'kv: event_topics: no topics declared' %s/traction-testd.*.log", H.dir);
	CHECK_MSG(system(cmd) == 0, "no line saying the topics are missing");
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\nqueue_limit = 16\n"
		   "[events]\nreplay_interval_ms = 3600000\n[log]\nlevel = debug\n");
	RUN(acknowledged_writes_survive_sigkill);
	RUN(failed_request_leaves_nothing);
	RUN(consumer_catches_up_on_start_and_live);
	RUN(consumer_detects_a_gap_and_replays);
	RUN(reload_refuses_a_bad_config);
	RUN(events_without_topics_refuse_to_start);
	h_done(&H);
	DONE();
}
