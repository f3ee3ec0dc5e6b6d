/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker routes by replica role (docs/architecture.md, "The broker"):
 * three replicas of traction-exampled (trc-replicad, told their role and
 * term through a FIFO, as the raft node of the service will tell it),
 * behind a real broker beside a real supplyd, over real sockets. With only
 * followers, a request is refused UNAVAILABLE no_leader at once, and a
 * call made then succeeds once a leader appears within its deadline;
 * STALE reads reach the followers; writes reach only the leader; the
 * higher term wins over a stale leader claim; with a second broker in
 * its list, a client retries through the same broker, not the other
 * (which would say NOT_FOUND: note never registered with it); a replica's
 * leadership_changed refusal is retried by the client; and a daemon that
 * never says a role (the real traction-exampled, a first wave's frames)
 * gets everything.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "note.pb-c.h"
#include "rawsock.h"
#include "util.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"

#define NREP 3

static harness_t H;
static char s_decoy_ep[128]; /* a second broker, which knows no note */
static pid_t s_pid[NREP];
static char s_fifo[NREP][320];

/* Tells replica i a line ("leader 2", "flap 3"). */
static void s_say(int i, const char *line)
{
	int fd = open(s_fifo[i], O_WRONLY | O_NONBLOCK);
	CHECK_MSG(fd >= 0, "%s", s_fifo[i]);
	size_t len = strlen(line);
	CHECK(write(fd, line, len) == (ssize_t)len && write(fd, "\n", 1) == 1);
	close(fd);
}

/* Waits until the broker has heard n instances of "note" say role at
 * term (status: InstanceStatus.replica_role and term). */
static void s_wait_role(traction_client_t *c, int role, uint64_t term, unsigned n)
{
	unsigned seen = 0;
	for (int i = 0; i < 250 && seen != n; i++) {
		Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
		Traction__V1__BrokerStatusReply *rep = NULL;
		seen = 0;
		CHECK_EQ_INT(traction_call(c, "broker", "status", &req.base,
					   &traction__v1__broker_status_reply__descriptor,
					   (ProtobufCMessage **)&rep, NULL),
			     0);
		for (size_t k = 0; k < rep->n_services; k++) {
			const Traction__V1__ServiceStatus *s = rep->services[k];
			for (size_t j = 0; strcmp(s->name, "note") == 0 && j < s->n_instances; j++)
				seen += (int)s->instances[j]->replica_role == role &&
					s->instances[j]->term == term;
		}
		traction_reply_free(&rep->base);
		if (seen != n)
			h_sleep_ms(20);
	}
	CHECK_MSG(seen == n, "%u instances of note with role %d at term %llu, want %u", seen, role,
		  (unsigned long long)term, n);
}

/* Tells replica i its role and term and waits until the broker has
 * heard it, which is at once (a READY), not at the next heartbeat: the
 * test's heartbeat_ms is 3000. n: how many then have that role at term. */
static void s_role(traction_client_t *c, int i, const char *line, int role, uint64_t term,
		   unsigned n)
{
	int64_t t0 = trc_mono_ms();
	s_say(i, line);
	s_wait_role(c, role, term, n);
	int64_t took = trc_mono_ms() - t0;
	/* well under the 3 s a heartbeat would take, with room for TSan */
	CHECK_MSG(took < 1500, "the broker heard '%s' after %lld ms", line, (long long)took);
	printf("ok: '%s' heard by the broker in %lld ms (heartbeats 3 s apart)\n", line,
	       (long long)took);
}

/* note's ping through c: its code, and the pid and event head of the
 * instance that answered. */
static int s_ping(traction_client_t *c, int *pid, uint64_t *head, traction_status_t *st)
{
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *rep = NULL;
	int code = traction_call(c, "note", "ping", &req.base, &traction__v1__ping_reply__descriptor,
				 (ProtobufCMessage **)&rep, st);
	if (code == 0) {
		*pid = (int)rep->pid;
		*head = rep->event_head;
		traction_reply_free(&rep->base);
	}
	return code;
}

static int s_ping_pid(traction_client_t *c)
{
	int pid = -1;
	uint64_t head;
	traction_status_t st;
	CHECK_MSG(s_ping(c, &pid, &head, &st) == 0, "%s", st.message);
	return pid;
}

/* A note added through c (retried while the supply's event is on its
 * way to a new leader): its seq. */
static uint64_t s_add(traction_client_t *c, const char *text)
{
	Traction__Example__V1__NoteAddRequest rq = TRACTION__EXAMPLE__V1__NOTE_ADD_REQUEST__INIT;
	Traction__Example__V1__Note *note = NULL;
	traction_status_t st;
	rq.supply = (char *)"defect-vision";
	rq.text = (char *)text;
	int code = -1;
	for (int i = 0; i < 200 && code != 0; i++) {
		code = traction_call(c, "note", "add", &rq.base, &traction__example__v1__note__descriptor,
				     (ProtobufCMessage **)&note, &st);
		if (code == TRACTION__V1__CODE__NOT_FOUND)
			h_sleep_ms(25);
		else
			CHECK_MSG(code == 0, "%s", st.message);
	}
	CHECK_MSG(code == 0, "%s", st.message);
	uint64_t seq = note->seq;
	traction_reply_free(&note->base);
	return seq;
}

/* Which replica a pid is (-1: none). */
static int s_which(int pid)
{
	for (int i = 0; i < NREP; i++)
		if (s_pid[i] == pid)
			return i;
	return -1;
}

/* ---- an election: refused at once, retried by the client -------------------- */

/* One request straight on the socket, no retry: the broker's own answer. */
static void s_no_leader_at_once(uint32_t version)
{
	raw_t r;
	raw_open(&r, H.client_ep);
	int64_t t0 = trc_mono_ms();
	raw_request_v(&r, version, "note", "ping", 77, "", 0);
	void *body = NULL;
	size_t blen = 0;
	Traction__V1__Header *h = raw_reply(&r, 2000, &body, &blen);
	CHECK(h != NULL);
	int64_t took = trc_mono_ms() - t0;
	CHECK(took < 1500); /* at once, not at a heartbeat (3 s) or a timeout */
	printf("ok: version %u: no_leader from the broker in %lld ms\n", version, (long long)took);
	CHECK_EQ_INT(h->request_id, 77);
	CHECK_EQ_INT(h->status->code, TRACTION__V1__CODE__UNAVAILABLE);
	CHECK_CONTAINS(h->status->message, "no leader: an election is under way");
	if (version >= 2) {
		Traction__V1__ErrorDetails *d = traction__v1__error_details__unpack(NULL, blen, body);
		CHECK(d != NULL && d->n_details == 1);
		CHECK_STR(d->details[0]->reason, "no_leader");
		CHECK_STR(d->details[0]->subject, "leader");
		traction__v1__error_details__free_unpacked(d, NULL);
	} else {
		CHECK_EQ_INT(blen, 0); /* a version 1 client gets no details */
	}
	protobuf_c_message_free_unpacked(&h->base, NULL);
	free(body);
	raw_close(&r);
}

/* tractionctl: --stale reads from a follower, without it no leader. */
static void s_ctl_stale(void)
{
	char bin[512], cmd[1024];
	h_bin("tractionctl", bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "'%s' --endpoint '%s' --timeout 300 %s ping note >/dev/null 2>&1",
		 bin, H.client_ep, "--stale");
	CHECK_EQ_INT(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "'%s' --endpoint '%s' --timeout 300 %s ping note 2>&1", bin,
		 H.client_ep, "");
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL);
	char out[1024] = "";
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	CHECK(pclose(p) != 0);
	CHECK_CONTAINS(out, "UNAVAILABLE: service 'note' has no leader");
}

static void *s_elect_later(void *arg)
{
	(void)arg;
	h_sleep_ms(400);
	s_say(0, "leader 2");
	return NULL;
}

static void s_election(traction_client_t *c)
{
	traction_status_t st;
	int pid;
	uint64_t head;
	s_no_leader_at_once(2);
	s_no_leader_at_once(1);
	s_ctl_stale();
	/* the client waits and sends again within its deadline: short, it
	 * ends UNAVAILABLE with the broker's reason */
	traction_client_set_timeout(c, 300);
	CHECK_EQ_INT(s_ping(c, &pid, &head, &st), TRACTION__V1__CODE__UNAVAILABLE);
	CHECK_CONTAINS(st.message, "election");
	const Traction__V1__ErrorDetails *d = traction_last_details(c);
	CHECK(d != NULL && d->n_details == 1);
	CHECK_STR(d->details[0]->reason, "no_leader");
	/* long enough, it succeeds on the leader that appears meanwhile,
	 * through the same broker: an election is not the broker's fault */
	char eps[300];
	snprintf(eps, sizeof(eps), "%s,%s", H.client_ep, s_decoy_ep);
	traction_client_t *two = NULL;
	traction_options_t o = { .timeout_ms = 5000, .client_name = "test-two-brokers" };
	CHECK_EQ_INT(traction_client_new(&two, eps, &o), 0);
	h_sleep_ms(300); /* connected to both: the first in its list takes the call */
	pthread_t t;
	int64_t t0 = trc_mono_ms();
	CHECK(pthread_create(&t, NULL, s_elect_later, NULL) == 0);
	CHECK_MSG(s_ping(two, &pid, &head, &st) == 0, "%s", st.message);
	int64_t took = trc_mono_ms() - t0;
	pthread_join(t, NULL);
	traction_client_destroy(&two);
	traction_client_set_timeout(c, 5000);
	CHECK_EQ_INT(pid, s_pid[0]);
	/* the leader at 400 ms, heard at once (heartbeats are 3 s apart) */
	CHECK_MSG(took >= 350 && took < 2500, "the call took %lld ms", (long long)took);
	printf("ok: a call made during an election served by the new leader after %lld ms\n",
	       (long long)took);
}

/* ---- routing by role -------------------------------------------------------- */

/* STALE: every replica answers in turn (least loaded, ties round-robin);
 * heads[i]: what replica i had in its event log. */
static void s_stale_reads(traction_client_t *c, uint64_t heads[NREP])
{
	bool seen[NREP] = { false };
	traction_client_stale(c, true);
	for (int k = 0; k < 3 * NREP; k++) {
		int pid;
		uint64_t head;
		traction_status_t st;
		CHECK_MSG(s_ping(c, &pid, &head, &st) == 0, "%s", st.message);
		int i = s_which(pid);
		CHECK(i >= 0);
		seen[i] = true;
		heads[i] = head;
	}
	traction_client_stale(c, false);
	for (int i = 0; i < NREP; i++)
		CHECK_MSG(seen[i], "replica %d never answered a STALE read", i);
}

static void s_writes_to_the_leader(traction_client_t *c)
{
	/* replica 0 leads at term 2: writes all land in its store */
	for (uint64_t k = 1; k <= 4; k++)
		CHECK_EQ_INT(s_add(c, "a note for the leader"), k);
	for (int k = 0; k < 5; k++)
		CHECK_EQ_INT(s_ping_pid(c), s_pid[0]);
	uint64_t heads[NREP];
	s_stale_reads(c, heads);
	CHECK_EQ_INT(heads[0], 4);
	CHECK_EQ_INT(heads[1], 0);
	CHECK_EQ_INT(heads[2], 0);

	/* a second claim: replica 1 at term 3 wins over replica 0, which has
	 * not heard yet; a later claim of a lower term changes nothing */
	s_role(c, 1, "leader 3", TRACTION__V1__REPLICA_ROLE__REPLICA_LEADER, 3, 1);
	CHECK_EQ_INT(s_ping_pid(c), s_pid[1]);
	CHECK_EQ_INT(s_add(c, "a note for the new leader"), 1);
	s_role(c, 2, "leader 1", TRACTION__V1__REPLICA_ROLE__REPLICA_LEADER, 1, 1);
	s_role(c, 2, "candidate 4", TRACTION__V1__REPLICA_ROLE__REPLICA_CANDIDATE, 4, 1);
	s_role(c, 2, "follower 3", TRACTION__V1__REPLICA_ROLE__REPLICA_FOLLOWER, 3, 1);
	for (int k = 0; k < 5; k++)
		CHECK_EQ_INT(s_ping_pid(c), s_pid[1]);
	CHECK_EQ_INT(s_add(c, "and another"), 2);
	s_stale_reads(c, heads);
	CHECK_EQ_INT(heads[0], 4);
	CHECK_EQ_INT(heads[1], 2);
	CHECK_EQ_INT(heads[2], 0);
	printf("ok: writes reached the leader of the highest term only\n");
}

/* A replica that lost its leadership before committing says so; the
 * client sends the request again, same id, through the same broker. */
static void s_leadership_changed(traction_client_t *c)
{
	Traction__V1__KeyValue rq = TRACTION__V1__KEY_VALUE__INIT;
	Traction__V1__KeyValue *rep = NULL;
	traction_status_t st;
	s_say(1, "flap 3");
	h_sleep_ms(200); /* its loop reads the FIFO at once; this is ample */
	CHECK_MSG(traction_call(c, "replica", "flap", &rq.base, &traction__v1__key_value__descriptor,
				(ProtobufCMessage **)&rep, &st) == 0,
		  "%s", st.message);
	CHECK_EQ_INT(atoi(rep->value), s_pid[1]);
	traction_reply_free(&rep->base);
	s_say(1, "flap 1000");
	h_sleep_ms(200);
	traction_client_set_timeout(c, 300);
	CHECK_EQ_INT(traction_call(c, "replica", "flap", &rq.base,
				   &traction__v1__key_value__descriptor, (ProtobufCMessage **)&rep,
				   &st),
		     TRACTION__V1__CODE__UNAVAILABLE);
	CHECK_CONTAINS(st.message, "leadership changed");
	const Traction__V1__ErrorDetails *d = traction_last_details(c);
	CHECK(d != NULL && d->n_details == 1);
	CHECK_STR(d->details[0]->reason, "leadership_changed");
	traction_client_set_timeout(c, 5000);
	s_say(1, "flap 0");
	printf("ok: leadership_changed retried by the client\n");
}

/* The real traction-exampled, which never says a role: today's daemon,
 * and a first wave's frames. Alone, it gets everything. */
static void s_single(traction_client_t *c)
{
	for (int i = 0; i < NREP; i++) {
		int st = h_kill(&H, s_pid[i], SIGTERM);
		CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "replica %d ended with %#x", i, st);
	}
	CHECK(h_wait_live(&H, "note", 0, 5000));
	pid_t plain = h_start(&H, "traction-exampled", "plain");
	CHECK(h_wait_live(&H, "note", 1, 5000));
	s_wait_role(c, TRACTION__V1__REPLICA_ROLE__REPLICA_SINGLE, 0, 1);
	CHECK_EQ_INT(s_add(c, "a note for a daemon without replicas"), 1);
	CHECK_EQ_INT(s_ping_pid(c), plain);
	traction_client_stale(c, true);
	CHECK_EQ_INT(s_ping_pid(c), plain);
	traction_client_stale(c, false);
	printf("ok: a daemon that says no role gets everything\n");
}

int main(void)
{
	/* heartbeats far apart: a role is heard at once or the test says so */
	h_init(&H, "[bus]\nheartbeat_ms = 3000\n[events]\nreplay_interval_ms = 200\n");
	h_start_broker(&H, false); /* the decoy, then the set's own */
	snprintf(s_decoy_ep, sizeof(s_decoy_ep), "%s", H.client_ep);
	h_start_broker(&H, false);
	h_start(&H, "traction-supplyd", NULL);
	for (int i = 0; i < NREP; i++) {
		char name[32];
		snprintf(name, sizeof(name), "replica-%d", i);
		snprintf(s_fifo[i], sizeof(s_fifo[i]), "%s/%s.fifo", H.dir, name);
		setenv("TRC_REPLICA_FIFO", s_fifo[i], 1);
		setenv("TRC_REPLICA_ROLE", "follower 1", 1);
		s_pid[i] = h_start(&H, "trc-replicad", name);
	}
	unsetenv("TRC_REPLICA_FIFO");
	unsetenv("TRC_REPLICA_ROLE");
	CHECK(h_wait_live(&H, "note", NREP, 5000));
	CHECK(h_wait_live(&H, "supply", 1, 5000));
	traction_client_t *c = h_client(&H);
	s_wait_role(c, TRACTION__V1__REPLICA_ROLE__REPLICA_FOLLOWER, 1, NREP);
	uint64_t heads[NREP];
	s_stale_reads(c, heads); /* followers answer STALE reads during an election */
	s_election(c);
	static const char *const none[] = { NULL };
	h_catalogue(c, none); /* supply defect-vision, which a note needs */
	s_writes_to_the_leader(c);
	s_leadership_changed(c);
	s_single(c);
	traction_client_destroy(&c);
	h_done(&H);
	printf("ok: %d checks\n", check_count_);
	return 0;
}
