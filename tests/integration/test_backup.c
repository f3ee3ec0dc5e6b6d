/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Online backup and restore (docs/operations.md, "Backup and restore"),
 * on the real set: `tractionctl backup` while libtraction's publisher
 * keeps publishing; the backup restored (`tractionctl restore`) into a
 * fresh set on other ports, where every record acknowledged before the
 * backup began is there exactly once, the queries agree with the source
 * at the cut, and publishing goes on with no event sequence skipped or
 * given twice. Then what must be refused or survived: a flipped byte
 * (verify), copies of different moments whose consumer is past its source
 * (restore), a client that dies holding the writers paused (the lease),
 * and a copy nobody reads (its idle time).
 */
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "check.h"
#include "harness.h"
#include "traction/publisher.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/events.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"

extern char **environ;

static harness_t H;
enum { N = 100000 };               /* records the publisher may send, at most */
/* records a second it publishes, at most: the load, not a flood */
#define S_RATE 4000
static int64_t s_acked_at[N];      /* monotonic ms of its acknowledgement, 0: none */
static uint64_t s_record_id[N];
static long s_sent;
static char s_ep_a[128], s_ep_b[128];

static int64_t s_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double s_value(long i)
{
	return (double)(i % 97) + 0.25;
}

static void on_ack(void *ud, const traction_ack_t *ack)
{
	(void)ud;
	CHECK(ack->tag < N);
	CHECK_MSG(ack->code == 0, "record %llu: %s", (unsigned long long)ack->tag, ack->message);
	CHECK_MSG(s_acked_at[ack->tag] == 0, "record %llu acknowledged twice",
		  (unsigned long long)ack->tag);
	s_acked_at[ack->tag] = s_mono_ms();
	s_record_id[ack->tag] = ack->record_id;
}

static traction_publisher_t *s_publisher(const char *ep)
{
	traction_publisher_t *p = NULL;
	traction_publisher_options_t o = { .on_ack = on_ack, .client_name = "backup-test",
					   .batch = 16, .max_in_flight = 8 };
	CHECK(traction_publisher_new(&p, ep, &o) == 0);
	return p;
}

/* Record i: a metric of defect-vision 1.0 at weld-line-3 under key bk-i. */
static void s_publish(traction_publisher_t *p, long i)
{
	Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT;
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	char key[32];
	snprintf(key, sizeof(key), "bk-%06ld", i);
	r.scenario_id = (char *)"weld-line-3";
	r.supply_id = (char *)"defect-vision";
	r.version = (char *)"1.0";
	r.idempotency_key = key;
	m.name = (char *)"cycle_time_s";
	m.value = s_value(i);
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r.metric = &m;
	while (traction_publish(p, &r, (uint64_t)i) != 0)
		traction_publisher_poll(p, 5);
}

/* Publishes at S_RATE records a second (64 in flight at most) for ms
 * milliseconds, or while pid runs. */
static void s_keep_publishing(traction_publisher_t *p, pid_t pid, int ms, int *status)
{
	int64_t start = s_mono_ms(), until = start + ms;
	long base = s_sent;
	for (;;) {
		if (pid > 0 && waitpid(pid, status, WNOHANG) == pid)
			return;
		int64_t now = s_mono_ms();
		if (pid <= 0 && now >= until)
			return;
		long due = base + (long)((now - start) * S_RATE / 1000);
		while (traction_publisher_pending(p) < 64 && s_sent < N && s_sent < due)
			s_publish(p, s_sent++);
		traction_publisher_poll(p, 2);
	}
}

static pid_t s_ctl(const char *ep, const char *const *args)
{
	char bin[512];
	const char *argv[16] = { h_bin("tractionctl", bin, sizeof(bin)), "--endpoint", ep };
	int n = 3;
	for (; args[n - 3] != NULL && n < 15; n++)
		argv[n] = args[n - 3];
	argv[n] = NULL;
	pid_t pid;
	CHECK(posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)argv, environ) == 0);
	return pid;
}

/* tractionctl's exit status (its words go to the test's stderr). */
static int s_ctl_run(const char *ep, const char *const *args)
{
	int status;
	pid_t pid = s_ctl(ep, args);
	CHECK(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static traction_client_t *s_client(const char *ep)
{
	traction_client_t *c = NULL;
	traction_options_t o = { .timeout_ms = 10000, .client_name = "backup-test" };
	CHECK(traction_client_new(&c, ep, &o) == 0);
	return c;
}

static Traction__V1__PingReply *s_ping(traction_client_t *c, const char *service)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *p = NULL;
	traction_status_t st;
	CHECK_MSG(traction_call(c, service, "ping", &e.base, &traction__v1__ping_reply__descriptor,
				(ProtobufCMessage **)&p, &st) == 0,
		  "ping %s: %s", service, st.message);
	return p;
}

static uint64_t s_position(const Traction__V1__PingReply *p, const char *source)
{
	for (size_t i = 0; i < p->n_positions; i++)
		if (strcmp(p->positions[i]->source, source) == 0)
			return p->positions[i]->applied_seq;
	return 0;
}

/* Every record feedbackd lists for defect-vision: key index -> how many
 * times (keys bk-i only), the record id of each, and the largest id. */
static uint64_t s_list(traction_client_t *c, unsigned *count, uint64_t *ids, long *nrec)
{
	char cursor[128] = "";
	uint64_t max_id = 0;
	*nrec = 0;
	memset(count, 0, sizeof(unsigned) * N);
	for (;;) {
		Traction__V1__FeedbackListRequest q = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
		Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
		Traction__V1__FeedbackListReply *rep = NULL;
		traction_status_t st;
		page.limit = 1000;
		page.cursor = cursor;
		q.page = &page;
		q.supply_id = (char *)"defect-vision";
		CHECK_MSG(traction_call(c, "feedback", "list", &q.base,
					&traction__v1__feedback_list_reply__descriptor,
					(ProtobufCMessage **)&rep, &st) == 0,
			  "feedback.list: %s", st.message);
		for (size_t i = 0; i < rep->n_records; i++) {
			const Traction__V1__FeedbackRecord *r = rep->records[i];
			long k;
			if (r->id > max_id)
				max_id = r->id;
			(*nrec)++;
			if (sscanf(r->idempotency_key, "bk-%ld", &k) != 1 || k < 0 || k >= N)
				continue;
			count[k]++;
			ids[k] = r->id;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->next_cursor);
		traction_reply_free(&rep->base);
		if (cursor[0] == '\0')
			return max_id;
	}
}

static Traction__V1__MetricStats *s_stats(traction_client_t *c, Traction__V1__StatsReply **rep)
{
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	traction_status_t st;
	q.supply_id = (char *)"defect-vision";
	q.version = (char *)"1.0";
	q.metric = (char *)"cycle_time_s";
	CHECK_MSG(traction_call(c, "feedback", "stats", &q.base,
				&traction__v1__stats_reply__descriptor, (ProtobufCMessage **)rep,
				&st) == 0,
		  "feedback.stats: %s", st.message);
	for (size_t i = 0; i < (*rep)->n_metrics; i++)
		if ((*rep)->metrics[i]->key->scenario_id[0] == '\0' ||
		    (*rep)->n_metrics == 1)
			return (*rep)->metrics[i]->stats;
	return NULL;
}

/* The events of service's log from 1 to head, each packed, in order. */
static void s_events(traction_client_t *c, const char *service, uint64_t head,
		     ProtobufCBinaryData *out)
{
	uint64_t from = 1;
	while (from <= head) {
		Traction__V1__EventsReadRequest q = TRACTION__V1__EVENTS_READ_REQUEST__INIT;
		Traction__V1__EventsReadReply *rep = NULL;
		traction_status_t st;
		q.from_seq = from;
		CHECK_MSG(traction_call(c, service, "events.read", &q.base,
					&traction__v1__events_read_reply__descriptor,
					(ProtobufCMessage **)&rep, &st) == 0,
			  "%s events.read: %s", service, st.message);
		CHECK_MSG(rep->n_events > 0, "%s: no events from %llu (head %llu)", service,
			  (unsigned long long)from, (unsigned long long)head);
		for (size_t i = 0; i < rep->n_events && from <= head; i++, from++) {
			CHECK_MSG(rep->events[i]->seq == from,
				  "%s: event %llu where %llu was due (a gap or a duplicate)", service,
				  (unsigned long long)rep->events[i]->seq, (unsigned long long)from);
			size_t len = protobuf_c_message_get_packed_size(&rep->events[i]->base);
			out[from].data = malloc(len);
			out[from].len = protobuf_c_message_pack(&rep->events[i]->base,
								out[from].data);
		}
		traction_reply_free(&rep->base);
	}
}

static const char *const s_daemons[] = { "traction-supplyd", "traction-scenariod",
					 "traction-feedbackd", "traction-iterationd", NULL };
static const char *const s_services[] = { "supply", "scenario", "feedback", "iteration",
					  "deployment", NULL };

/* The set's daemons on the broker started last, with their state under
 * H.dir/state: its config, written once (h_start with a state name
 * writes it again at each start, while the daemon started before may be
 * reading it). */
static void s_start_daemons(const char *state)
{
	char text[4096], from[400], to[400];
	FILE *f = fopen(H.conf, "r");
	size_t n = f != NULL ? fread(text, 1, sizeof(text) - 1, f) : 0;
	CHECK(f != NULL && fclose(f) == 0);
	text[n] = '\0';
	snprintf(from, sizeof(from), "state_dir = %s/var\n", H.dir);
	snprintf(to, sizeof(to), "state_dir = %s/%s\n", H.dir, state);
	char *at = strstr(text, from);
	CHECK(at != NULL);
	f = fopen(H.conf, "w");
	CHECK(f != NULL);
	fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	CHECK(fclose(f) == 0);
	for (int i = 0; s_daemons[i] != NULL; i++)
		h_start(&H, s_daemons[i], NULL);
	for (int i = 0; s_services[i] != NULL; i++)
		CHECK_MSG(h_wait_live(&H, s_services[i], 1, 10000), "%s is not live", s_services[i]);
}

/* ---- the backup under load, restored -------------------------------------------- */

static char s_dir[400];
static unsigned s_count_a[N], s_count_b[N];
static uint64_t s_ids_a[N], s_ids_b[N];

/* The event head of source at the cut, as the manifest says. */
static uint64_t s_cut_head(const char *source)
{
	char path[500];
	snprintf(path, sizeof(path), "%s/manifest.json", s_dir);
	json_t *m = json_load_file(path, 0, NULL), *d;
	size_t i;
	uint64_t head = UINT64_MAX;
	CHECK(m != NULL);
	json_array_foreach(json_object_get(m, "daemons"), i, d)
		if (strcmp(json_string_value(json_object_get(d, "source")), source) == 0)
			head = (uint64_t)json_integer_value(json_object_get(d, "event_head"));
	json_decref(m);
	CHECK_MSG(head != UINT64_MAX, "the manifest has no source %s", source);
	return head;
}

/* The restored set's event logs: those of the source up to the cut, byte
 * for byte (what a restored daemon writes at its start, such as the
 * evidence feedbackd owed for records of the cut, comes after); its
 * consumers never past their sources' heads at the cut. */
static void s_check_logs(traction_client_t *a, traction_client_t *b,
			 Traction__V1__PingReply *const *pb)
{
	for (int i = 0; i < 4; i++) {
		uint64_t head = s_cut_head(s_services[i]);
		CHECK(pb[i]->event_head >= head);
		ProtobufCBinaryData *ea = calloc(head + 1, sizeof(*ea)),
				    *eb = calloc(head + 1, sizeof(*eb));
		s_events(a, s_services[i], head, ea);
		s_events(b, s_services[i], head, eb);
		for (uint64_t s = 1; s <= head; s++) {
			CHECK_MSG(ea[s].len == eb[s].len && memcmp(ea[s].data, eb[s].data,
								   ea[s].len) == 0,
				  "%s: event %llu differs from the source's", s_services[i],
				  (unsigned long long)s);
			free(ea[s].data);
			free(eb[s].data);
		}
		free(ea);
		free(eb);
		/* the consumer asked first: its source's head can only grow */
		for (int j = 0; j < 4; j++) {
			Traction__V1__PingReply *pc = s_ping(b, s_services[j]);
			Traction__V1__PingReply *ps = s_ping(b, s_services[i]);
			uint64_t pos = s_position(pc, s_services[i]);
			CHECK_MSG(pos <= ps->event_head, "restored %s has applied %s up to %llu, "
				  "past its head %llu", s_services[j], s_services[i],
				  (unsigned long long)pos, (unsigned long long)ps->event_head);
			traction_reply_free(&pc->base);
			traction_reply_free(&ps->base);
		}
	}
}

TEST(backup_under_load_restored)
{
	traction_client_t *a = s_client(s_ep_a);
	traction_publisher_t *p = s_publisher(s_ep_a);
	s_keep_publishing(p, 0, 1500, NULL); /* a store with something in it */
	int status = -1;
	const char *args[] = { "backup", s_dir, NULL };
	int64_t began = s_mono_ms();
	pid_t pid = s_ctl(s_ep_a, args);
	s_keep_publishing(p, pid, 0, &status);
	int64_t ended = s_mono_ms();
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "tractionctl backup failed");
	fprintf(stderr, "backup of the set under load: %lld ms\n", (long long)(ended - began));
	s_keep_publishing(p, 0, 300, NULL);
	CHECK(traction_publisher_flush(p, 30000) == 0);
	traction_publisher_destroy(&p);
	long before = 0;
	for (long i = 0; i < s_sent; i++)
		before += s_acked_at[i] != 0 && s_acked_at[i] < began;
	CHECK_MSG(before > 100, "only %ld records acknowledged before the backup", before);

	const char *verify[] = { "verify", s_dir, NULL };
	CHECK_EQ_INT(s_ctl_run(s_ep_a, verify), 0);
	char state[400];
	snprintf(state, sizeof(state), "%s/restored", H.dir);
	const char *restore[] = { "restore", s_dir, "--state-dir", state, NULL };
	CHECK_EQ_INT(s_ctl_run(s_ep_a, restore), 0);
	CHECK_MSG(s_ctl_run(s_ep_a, restore) != 0, "a restore into a state dir in use went ahead");

	/* the fresh set, on other ports, from the restored state */
	h_start_broker(&H, false);
	snprintf(s_ep_b, sizeof(s_ep_b), "%s", H.client_ep);
	s_start_daemons("restored");
	traction_client_t *b = s_client(s_ep_b);
	Traction__V1__PingReply *pb[4];
	for (int i = 0; i < 4; i++)
		pb[i] = s_ping(b, s_services[i]);

	/* every record acknowledged before the backup began, exactly once;
	 * the records are those of the source up to the cut's last one */
	long nrec_a, nrec_b, present = 0;
	s_list(a, s_count_a, s_ids_a, &nrec_a);
	uint64_t max_b = s_list(b, s_count_b, s_ids_b, &nrec_b);
	double sum = 0;
	for (long i = 0; i < s_sent; i++) {
		CHECK_MSG(s_count_b[i] <= 1, "record bk-%06ld is there %u times", i, s_count_b[i]);
		if (s_acked_at[i] != 0 && s_acked_at[i] < began)
			CHECK_MSG(s_count_b[i] == 1, "record bk-%06ld, acknowledged before the "
				  "backup, is not there", i);
		if (s_count_b[i] == 1) {
			CHECK_MSG(s_ids_b[i] == s_ids_a[i], "bk-%06ld has another id", i);
			present++;
			sum += s_value(i);
		}
		if (s_count_a[i] == 1 && s_ids_a[i] <= max_b)
			CHECK_MSG(s_count_b[i] == 1, "bk-%06ld (id %llu) of the source before the "
				  "cut's last record is missing", i, (unsigned long long)s_ids_a[i]);
	}
	fprintf(stderr, "%ld sent, %ld acknowledged before the backup began, %ld in the copy\n",
		s_sent, before, present);
	CHECK(present >= before && present < s_sent);

	/* the queries: feedbackd's aggregates are those of the records there;
	 * iterationd, once caught up, says the same */
	Traction__V1__StatsReply *srep = NULL;
	Traction__V1__MetricStats *ms = s_stats(b, &srep);
	CHECK(ms != NULL);
	CHECK_MSG(ms->count == (uint64_t)present, "stats count %llu, %ld records there",
		  (unsigned long long)ms->count, present);
	CHECK_MSG(ms->sum > sum - 1e-6 * sum && ms->sum < sum + 1e-6 * sum, "stats sum %f, %f",
		  ms->sum, sum);
	traction_reply_free(&srep->base);
	s_check_logs(a, b, pb);

	/* the restore is in each restored daemon's audit log, its newest entry */
	for (int i = 0; i < 4; i++) {
		Traction__V1__AuditListRequest aq = TRACTION__V1__AUDIT_LIST_REQUEST__INIT;
		Traction__V1__AuditListReply *ar = NULL;
		traction_status_t st;
		CHECK_EQ_INT(traction_call(b, s_services[i], "audit.list", &aq.base,
					   &traction__v1__audit_list_reply__descriptor,
					   (ProtobufCMessage **)&ar, &st),
			     0);
		CHECK_MSG(ar->n_entries >= 1 && strcmp(ar->entries[0]->action, "store.restore") == 0 &&
				  strcmp(ar->entries[0]->subject, s_dir) == 0,
			  "%s: the restore is not the newest entry of its audit log", s_services[i]);
		traction_reply_free(&ar->base);
	}

	/* publishing goes on: new records, and old keys known as such */
	long old_sent = s_sent;
	p = s_publisher(s_ep_b);
	for (long i = 0; i < 200; i++)
		s_publish(p, s_sent++);
	CHECK(traction_publisher_flush(p, 30000) == 0);
	traction_publisher_destroy(&p);
	for (long i = old_sent; i < s_sent; i++)
		CHECK(s_acked_at[i] != 0);
	uint64_t head = 0; /* feedbackd's evidence events come at its tick */
	for (int t = 0; t < 200 && head <= pb[2]->event_head; t++) {
		Traction__V1__PingReply *fb = s_ping(b, "feedback");
		head = fb->event_head;
		traction_reply_free(&fb->base);
		if (head <= pb[2]->event_head)
			h_sleep_ms(50);
	}
	CHECK_MSG(head > pb[2]->event_head, "feedbackd's log did not go on (%llu)",
		  (unsigned long long)head);
	ProtobufCBinaryData *ev = calloc(head + 1, sizeof(*ev));
	s_events(b, "feedback", head, ev); /* 1..head: no gap, no duplicate */
	for (uint64_t s = 1; s <= head; s++)
		free(ev[s].data);
	free(ev);
	/* its consumers reach the new head, with nothing skipped */
	static const char *const consumers[] = { "scenario", "iteration", NULL };
	for (int i = 0; consumers[i] != NULL; i++) {
		uint64_t pos = 0;
		for (int t = 0; t < 200 && pos < head; t++) {
			Traction__V1__PingReply *q = s_ping(b, consumers[i]);
			pos = s_position(q, "feedback");
			traction_reply_free(&q->base);
			if (pos < head)
				h_sleep_ms(50);
		}
		CHECK_MSG(pos == head, "%s applied feedback up to %llu of %llu", consumers[i],
			  (unsigned long long)pos, (unsigned long long)head);
	}
	srep = NULL;
	ms = s_stats(b, &srep);
	CHECK(ms != NULL && ms->count == (uint64_t)present + 200);
	traction_reply_free(&srep->base);
	for (int i = 0; i < 4; i++)
		traction_reply_free(&pb[i]->base);
	traction_client_destroy(&a);
	traction_client_destroy(&b);
}

/* ---- what must be refused, or survived ------------------------------------------- */

/* cp -r (r: true) or cp from to. */
static int s_cp(bool r, const char *from, const char *to)
{
	char cmd[1400];
	int n = snprintf(cmd, sizeof(cmd), "cp %s '%s' '%s'", r ? "-r" : "", from, to);
	return n < 0 || (size_t)n >= sizeof(cmd) ? -1 : system(cmd);
}

/* A byte flipped in the middle of a copy: verify says so, restore refuses. */
TEST(verify_detects_a_flipped_byte)
{
	char bad[500], state[500];
	snprintf(bad, sizeof(bad), "%s/flipped", H.dir);
	snprintf(state, sizeof(state), "%s/state-flipped", H.dir);
	CHECK(s_cp(true, s_dir, bad) == 0);
	char f[600];
	snprintf(f, sizeof(f), "%s/feedbackd/data.mdb", bad);
	struct stat fs;
	CHECK(stat(f, &fs) == 0);
	FILE *fp = fopen(f, "r+b");
	CHECK(fp != NULL && fseek(fp, fs.st_size / 2 + 17, SEEK_SET) == 0);
	int byte = fgetc(fp);
	CHECK(byte != EOF && fseek(fp, fs.st_size / 2 + 17, SEEK_SET) == 0);
	CHECK(fputc(byte ^ 0x5a, fp) != EOF && fclose(fp) == 0);
	const char *verify[] = { "verify", bad, NULL };
	CHECK_MSG(s_ctl_run(s_ep_a, verify) != 0, "verify took a copy with a flipped byte");
	const char *restore[] = { "restore", bad, "--state-dir", state, NULL };
	CHECK_MSG(s_ctl_run(s_ep_a, restore) != 0, "restore took a copy with a flipped byte");
	struct stat sb;
	CHECK_MSG(stat(state, &sb) != 0, "a refused restore wrote %s", state);
}

/* Copies of different moments: feedbackd's from the first backup, the
 * others from one taken after its consumers applied newer feedback
 * events. The manifest is right about each copy; the cut is not one. */
TEST(restore_refuses_a_consumer_ahead)
{
	traction_client_t *a = s_client(s_ep_a);
	traction_publisher_t *p = s_publisher(s_ep_a);
	uint64_t first = s_cut_head("feedback"), pos = 0;
	for (int t = 0; t < 100 && pos <= first; t++) {
		s_keep_publishing(p, 0, 100, NULL);
		Traction__V1__PingReply *q = s_ping(a, "iteration");
		pos = s_position(q, "feedback");
		traction_reply_free(&q->base);
	}
	CHECK_MSG(pos > first, "iterationd did not get past feedback %llu",
		  (unsigned long long)first);
	CHECK(traction_publisher_flush(p, 30000) == 0);
	traction_publisher_destroy(&p);
	char later[500], mixed[500], state[500];
	snprintf(later, sizeof(later), "%s/later", H.dir);
	snprintf(mixed, sizeof(mixed), "%s/mixed", H.dir);
	snprintf(state, sizeof(state), "%s/state-mixed", H.dir);
	const char *backup[] = { "backup", later, NULL };
	CHECK_EQ_INT(s_ctl_run(s_ep_a, backup), 0);
	char from[600], to[600];
	snprintf(from, sizeof(from), "%s/feedbackd/data.mdb", s_dir);
	snprintf(to, sizeof(to), "%s/feedbackd/data.mdb", mixed);
	CHECK(s_cp(true, later, mixed) == 0 && s_cp(false, from, to) == 0);
	/* the manifest's entry of feedbackd from the first backup */
	char path[600];
	snprintf(path, sizeof(path), "%s/manifest.json", s_dir);
	json_t *m1 = json_load_file(path, 0, NULL), *d, *fb = NULL;
	snprintf(path, sizeof(path), "%s/manifest.json", mixed);
	json_t *m2 = json_load_file(path, 0, NULL);
	size_t i;
	CHECK(m1 != NULL && m2 != NULL);
	json_array_foreach(json_object_get(m1, "daemons"), i, d)
		if (strcmp(json_string_value(json_object_get(d, "daemon")), "feedbackd") == 0)
			fb = d;
	json_array_foreach(json_object_get(m2, "daemons"), i, d)
		if (strcmp(json_string_value(json_object_get(d, "daemon")), "feedbackd") == 0)
			json_array_set(json_object_get(m2, "daemons"), i, fb);
	CHECK(json_dump_file(m2, path, JSON_INDENT(2)) == 0);
	json_decref(m1);
	json_decref(m2);
	const char *restore[] = { "restore", mixed, "--state-dir", state, NULL };
	CHECK_MSG(s_ctl_run(s_ep_a, restore) != 0,
		  "restore took copies whose consumer is past its source");
	struct stat sb;
	CHECK_MSG(stat(state, &sb) != 0 || rmdir(state) == 0, "a refused restore wrote into %s",
		  state);
	traction_client_destroy(&a);
}

/* How many backup copies the daemons of set A hold in their state dirs. */
static int s_copies_left(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "ls '%s'/var/*/ | grep -c '^backup-' >/dev/null", H.dir);
	return system(cmd) == 0;
}

/* The latest acknowledgement, in ms after since (0: now), of the records
 * from `from` on, published for ms milliseconds; *first (may be NULL): the
 * earliest. */
static int64_t s_publish_measure(int ms, long *from, int64_t since, int64_t *first)
{
	traction_publisher_t *p = s_publisher(s_ep_a);
	*from = s_sent;
	int64_t t0 = since != 0 ? since : s_mono_ms();
	s_keep_publishing(p, 0, ms, NULL);
	CHECK(traction_publisher_flush(p, 30000) == 0);
	traction_publisher_destroy(&p);
	int64_t worst = 0, earliest = INT64_MAX;
	for (long i = *from; i < s_sent; i++) {
		int64_t at = s_acked_at[i] - t0;
		worst = at > worst ? at : worst;
		earliest = at < earliest ? at : earliest;
	}
	if (first != NULL)
		*first = earliest;
	return worst;
}

/* A client that begins a backup and dies: the writer goes on at the
 * lease's end, and the copy nobody reads is dropped after its idle time. */
TEST(the_lease_ends_when_the_client_dies)
{
	traction_client_t *a = s_client(s_ep_a);
	Traction__V1__BackupBeginRequest req = TRACTION__V1__BACKUP_BEGIN_REQUEST__INIT;
	Traction__V1__BackupBeginReply *rep = NULL;
	traction_status_t st;
	req.lease_ms = 1000;
	req.idle_ms = 6000; /* past the bound below: the lease alone must end the pause */
	/* measured from before the call: the lease begins after it, so
	 * nothing published while paused is acknowledged before t0 + 1000,
	 * whatever time the client and publisher below take to set up */
	int64_t t0 = s_mono_ms();
	CHECK_MSG(traction_call(a, "feedback", "backup.begin", &req.base,
				&traction__v1__backup_begin_reply__descriptor,
				(ProtobufCMessage **)&rep, &st) == 0,
		  "backup.begin: %s", st.message);
	traction_reply_free(&rep->base);
	traction_client_destroy(&a); /* and never a resume, nor an end */
	long from;
	int64_t started = s_mono_ms() - t0;
	int64_t first;
	int64_t worst = s_publish_measure(300, &from, t0, &first);
	fprintf(stderr, "records published from %lld ms after backup.begin, with its lease of "
		"1000 ms: acknowledged from %lld to %lld ms\n", (long long)started,
		(long long)first, (long long)worst);
	CHECK_MSG(started < 800, "the publishing began %lld ms after backup.begin: too late to "
		  "tell a pause", (long long)started);
	/* paused, not one is acknowledged before the lease ends (950: the
	 * rounding of two millisecond clocks); not paused, the first would
	 * be within a few ms of its publish */
	CHECK_MSG(first >= 950, "writes went on while paused (one acknowledged %lld ms after "
		  "backup.begin)", (long long)first);
	CHECK_MSG(worst < 1000 + 2500, "writes stayed paused past the lease (%lld ms)",
		  (long long)worst);
	for (int t = 0; t < 200 && s_copies_left(); t++)
		h_sleep_ms(50);
	CHECK_MSG(!s_copies_left(), "a copy nobody reads is still there");

	/* tractionctl itself killed mid-backup: the set keeps taking writes */
	char dir[500];
	snprintf(dir, sizeof(dir), "%s/killed", H.dir);
	const char *args[] = { "backup", dir, "--lease-ms", "2000", "--idle-ms", "1000", NULL };
	traction_publisher_t *p = s_publisher(s_ep_a);
	pid_t pid = s_ctl(s_ep_a, args);
	s_keep_publishing(p, 0, 20, NULL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK(traction_publisher_flush(p, 30000) == 0);
	traction_publisher_destroy(&p);
	worst = s_publish_measure(300, &from, 0, NULL);
	CHECK_MSG(worst < 2000 + 2500, "writes paused %lld ms after tractionctl died",
		  (long long)worst);
	for (int t = 0; t < 100 && s_copies_left(); t++)
		h_sleep_ms(50);
	CHECK_MSG(!s_copies_left(), "the killed backup's copies are still there");
	/* and a backup goes again */
	snprintf(dir, sizeof(dir), "%s/again", H.dir);
	const char *again[] = { "backup", dir, NULL };
	CHECK_EQ_INT(s_ctl_run(s_ep_a, again), 0);
}

int main(void)
{
	h_init(&H, "[events]\nreplay_interval_ms = 200\n");
	h_start_broker(&H, false);
	snprintf(s_ep_a, sizeof(s_ep_a), "%s", H.client_ep);
	s_start_daemons("var");
	traction_client_t *c = h_client(&H);
	h_catalogue(c, NULL);
	h_wait_feedback_ready(c, "weld-line-3");
	traction_client_destroy(&c);
	snprintf(s_dir, sizeof(s_dir), "%s/backup", H.dir);
	RUN(backup_under_load_restored);
	RUN(verify_detects_a_flipped_byte);
	RUN(restore_refuses_a_consumer_ahead);
	RUN(the_lease_ends_when_the_client_dies);
	h_done(&H);
	DONE();
}
