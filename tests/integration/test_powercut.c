/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An acknowledgement means the record is on disk, proven by cutting the
 * power. feedbackd keeps its store on trc-cutfs (tests/powercut/cutfs.c),
 * a FUSE pass-through that remembers what was written but not synced.
 * Each cycle a publisher writes records; at a random moment feedbackd is
 * SIGKILLed and the power cut: its files are rebuilt from what was synced
 * plus a random subset of the unsynced writes, torn at 512-byte sectors.
 * feedbackd restarts on that image and must hold every record it
 * acknowledged before the cut exactly once, no record that was never sent,
 * and aggregates that agree with the records; then every record of the
 * cycle is sent again with its key and each must be stored exactly once.
 *
 * It fails (seen) with MDB_NOSYNC added to the store's environment flags,
 * and with the replies of a batch sent before its commit returns.
 *
 *   TRACTION_POWERCUT_CYCLES (default 40, ~15 s), TRACTION_POWERCUT_SEED (default:
 *   the clock; printed, so a failure can be replayed).
 * Needs root and /dev/fuse: exits 77 (skipped) without them, which
 * tests/run.sh reports, and counts as a failure where it should run.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/feedback.pb-c.h"

#define BATCH 8
#define MAX_KEYS 200000

static harness_t H;
static char s_backing[400], s_mnt[400];
static pid_t s_fs, s_fbd;

/* ---- the file system ---------------------------------------------------------- */

static void fs_start(uint64_t seed)
{
	s_fs = h_cutfs_start(&H, s_backing, s_mnt, seed);
}

static void fs_stop(void)
{
	h_cutfs_stop(&H, &s_fs, s_mnt);
}

/* ---- the publisher -------------------------------------------------------------- */

typedef struct {
	traction_client_t *c;
	int cycle;
	atomic_bool stop;
	atomic_uint sent;          /* keys 0..sent-1 have been sent at least once */
	unsigned char *acked;      /* per key: acknowledged stored (or a duplicate) */
	atomic_uint nacked;
} pub_t;

static void s_record(Traction__V1__FeedbackRecord *r, Traction__V1__Metric *m,
		     Traction__V1__KeyValue *kv, Traction__V1__KeyValue **kvp, char *key,
		     char *metric, char *label, int cycle, unsigned n)
{
	traction__v1__feedback_record__init(r);
	traction__v1__metric__init(m);
	traction__v1__key_value__init(kv);
	snprintf(key, 32, "c%d-%u", cycle, n);
	snprintf(metric, 32, "cut%d", cycle);
	snprintf(label, 16, "%d", cycle);
	/* the same bytes every time it is sent: a retry, not a new record */
	r->scenario_id = (char *)"weld-line-3";
	r->supply_id = (char *)"defect-vision";
	r->version = (char *)"1.0";
	r->idempotency_key = key;
	r->observed_at_ms = 1700000000000LL + n;
	kv->key = (char *)"cycle";
	kv->value = label;
	*kvp = kv;
	r->labels = kvp;
	r->n_labels = 1;
	m->name = metric;
	m->value = (double)n;
	r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r->metric = m;
}

/* Sends keys [from, from+n): returns how many were acknowledged. */
static unsigned s_publish(traction_client_t *c, int cycle, unsigned from, unsigned n,
			  unsigned char *acked)
{
	Traction__V1__FeedbackRecord r[BATCH], *rp[BATCH];
	Traction__V1__Metric m[BATCH];
	Traction__V1__KeyValue kv[BATCH], *kvp[BATCH];
	char keys[BATCH][32], metrics[BATCH][32], labels[BATCH][16];
	for (unsigned i = 0; i < n; i++) {
		s_record(&r[i], &m[i], &kv[i], &kvp[i], keys[i], metrics[i], labels[i], cycle,
			 from + i);
		rp[i] = &r[i];
	}
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	Traction__V1__PublishReply *rep = NULL;
	traction_status_t st;
	req.records = rp;
	req.n_records = n;
	if (traction_call(c, "feedback", "publish", &req.base,
			  &traction__v1__publish_reply__descriptor, (ProtobufCMessage **)&rep,
			  &st) != 0)
		return 0;
	unsigned ok = 0;
	for (size_t i = 0; i < rep->n_results && i < n; i++) {
		if (rep->results[i]->status->code == 0) {
			acked[from + i] = 1;
			ok++;
		}
	}
	traction_reply_free(&rep->base);
	return ok;
}

static void *s_publisher(void *arg)
{
	pub_t *p = arg;
	while (!atomic_load(&p->stop)) {
		unsigned from = atomic_load(&p->sent);
		if (from + BATCH > MAX_KEYS)
			break;
		atomic_store(&p->sent, from + BATCH);
		atomic_fetch_add(&p->nacked, s_publish(p->c, p->cycle, from, BATCH, p->acked));
	}
	return NULL;
}

/* ---- what the store holds ------------------------------------------------------- */

/* Counts each key of the cycle in the store (records labelled cycle=N);
 * returns the number of records. */
static unsigned s_stored(traction_client_t *c, int cycle, unsigned *count, unsigned sent)
{
	char label[16], cursor[64] = "";
	snprintf(label, sizeof(label), "%d", cycle);
	unsigned total = 0;
	memset(count, 0, sizeof(unsigned) * MAX_KEYS);
	for (;;) {
		Traction__V1__FeedbackListRequest q = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
		Traction__V1__PageRequest pg = TRACTION__V1__PAGE_REQUEST__INIT;
		Traction__V1__KeyValue kv = TRACTION__V1__KEY_VALUE__INIT;
		Traction__V1__FeedbackListReply *rep = NULL;
		traction_status_t st;
		kv.key = (char *)"cycle";
		kv.value = label;
		q.label = &kv;
		q.supply_id = (char *)"defect-vision";
		pg.limit = 1000;
		pg.cursor = cursor;
		q.page = &pg;
		CHECK_MSG(traction_call(c, "feedback", "list", &q.base,
					&traction__v1__feedback_list_reply__descriptor,
					(ProtobufCMessage **)&rep, &st) == 0,
			  "feedback.list: %s", st.message);
		for (size_t i = 0; i < rep->n_records; i++) {
			unsigned n;
			int cyc;
			CHECK_MSG(sscanf(rep->records[i]->idempotency_key, "c%d-%u", &cyc, &n) == 2 &&
					  cyc == cycle && n < sent,
				  "cycle %d: a record that was never sent: '%s'", cycle,
				  rep->records[i]->idempotency_key);
			count[n]++;
			total++;
		}
		bool more = rep->next_cursor != NULL && rep->next_cursor[0] != '\0' &&
			    rep->n_records > 0;
		if (more)
			snprintf(cursor, sizeof(cursor), "%s", rep->next_cursor);
		traction_reply_free(&rep->base);
		if (!more)
			return total;
	}
}

static uint64_t s_metric_count(traction_client_t *c, int cycle)
{
	char metric[32];
	snprintf(metric, sizeof(metric), "cut%d", cycle);
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	Traction__V1__StatsReply *rep = NULL;
	traction_status_t st;
	q.supply_id = (char *)"defect-vision";
	q.version = (char *)"1.0";
	q.scenario_id = (char *)"weld-line-3";
	q.metric = metric;
	int rc = traction_call(c, "feedback", "stats", &q.base,
			       &traction__v1__stats_reply__descriptor, (ProtobufCMessage **)&rep, &st);
	if (rc != 0 || rep->n_metrics == 0) {
		if (rep != NULL)
			traction_reply_free(&rep->base);
		return 0; /* nothing of the cycle survived: NOT_FOUND */
	}
	uint64_t n = rep->metrics[0]->stats->count;
	traction_reply_free(&rep->base);
	return n;
}

static void s_start_feedbackd(void)
{
	s_fbd = h_start(&H, "traction-feedbackd", "mnt");
	CHECK_MSG(h_wait_live(&H, "feedback", 1, 10000), "feedbackd did not come back");
}

/* ---- one cycle -------------------------------------------------------------------- */

static void s_cycle(traction_client_t *c, int cycle, uint64_t seed, unsigned *count,
		    unsigned char *acked)
{
	pub_t p = { .cycle = cycle, .acked = acked };
	memset(acked, 0, MAX_KEYS);
	p.c = h_client(&H);
	traction_client_set_timeout(p.c, 2000);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, s_publisher, &p) == 0);
	/* cut at a random moment, once acknowledgements flow */
	int64_t deadline = 5000;
	while (atomic_load(&p.nacked) == 0 && deadline-- > 0)
		h_sleep_ms(1);
	CHECK_MSG(atomic_load(&p.nacked) > 0, "cycle %d: nothing acknowledged", cycle);
	h_sleep_ms(20 + (int)(seed % 300));
	h_kill(&H, s_fbd, SIGKILL);
	kill(s_fs, SIGUSR1); /* the power goes */
	char done[450];
	snprintf(done, sizeof(done), "%s/.cut-done", s_backing);
	for (int i = 0; i < 1000 && access(done, F_OK) != 0; i++)
		h_sleep_ms(5);
	CHECK_MSG(access(done, F_OK) == 0, "cycle %d: the power cut did not finish", cycle);
	/* replies still on their way were sent before the kill, and so
	 * before the cut: they count as acknowledged too */
	atomic_store(&p.stop, true);
	pthread_join(t, NULL);
	traction_client_destroy(&p.c);
	char line[200] = "";
	FILE *f = fopen(done, "r");
	if (f != NULL && fgets(line, sizeof(line), f) != NULL)
		line[strcspn(line, "\n")] = '\0';
	if (f != NULL)
		fclose(f);
	unlink(done);
	fs_stop();

	fs_start(seed + 1);
	s_start_feedbackd();
	unsigned sent = atomic_load(&p.sent);
	unsigned stored = s_stored(c, cycle, count, sent);
	unsigned lost = 0, twice = 0;
	for (unsigned n = 0; n < sent; n++) {
		if (acked[n] && count[n] == 0)
			lost++;
		if (count[n] > 1)
			twice++;
	}
	printf("cycle %2d: acked %u of %u sent, %u stored after the cut (%s)\n", cycle,
	       atomic_load(&p.nacked), sent, stored, line);
	fflush(stdout);
	CHECK_MSG(lost == 0, "cycle %d: %u acknowledged records lost by the power cut (seed %llu)",
		  cycle, lost, (unsigned long long)seed);
	CHECK_MSG(twice == 0, "cycle %d: %u records stored twice", cycle, twice);
	CHECK_MSG(s_metric_count(c, cycle) == stored,
		  "cycle %d: the aggregates count %llu records, the store holds %u", cycle,
		  (unsigned long long)s_metric_count(c, cycle), stored);

	/* every record of the cycle again, with its key: exactly once each */
	for (unsigned from = 0; from < sent; from += BATCH) {
		unsigned n = sent - from < BATCH ? sent - from : BATCH;
		int tries = 0;
		while (s_publish(c, cycle, from, n, acked) != n && tries++ < 100)
			h_sleep_ms(20);
		CHECK_MSG(tries <= 100, "cycle %d: records %u.. not accepted after restart", cycle,
			  from);
	}
	CHECK_EQ_INT(s_stored(c, cycle, count, sent), sent);
	for (unsigned n = 0; n < sent; n++)
		CHECK_MSG(count[n] == 1, "cycle %d: key %u stored %u times", cycle, n, count[n]);
	CHECK_EQ_INT(s_metric_count(c, cycle), sent);
}

static void s_unmount_at_exit(void)
{
	fs_stop();
}

int main(void)
{
	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
		printf("skipped: needs root and /dev/fuse to mount trc-cutfs\n");
		return 77;
	}
	const char *env = getenv("TRACTION_POWERCUT_CYCLES");
	int cycles = env != NULL ? atoi(env) : 40;
	env = getenv("TRACTION_POWERCUT_SEED");
	uint64_t seed = env != NULL ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
	printf("power cuts: %d cycles, seed %llu (TRACTION_POWERCUT_SEED replays it)\n", cycles,
	       (unsigned long long)seed);
	fflush(stdout);

	h_init(&H, "[bus]\nheartbeat_ms = 100\n[events]\nreplay_interval_ms = 200\n");
	snprintf(s_backing, sizeof(s_backing), "%s/backing", H.dir);
	snprintf(s_mnt, sizeof(s_mnt), "%s/mnt", H.dir);
	CHECK(mkdir(s_backing, 0755) == 0 && mkdir(s_mnt, 0755) == 0);
	atexit(s_unmount_at_exit); /* runs before the harness removes the dir */
	h_start_broker(&H, false);
	const char *d[] = { "traction-supplyd", "traction-scenariod", "traction-iterationd" };
	for (int i = 0; i < 3; i++)
		h_start(&H, d[i], NULL);
	fs_start(seed);
	s_start_feedbackd();
	traction_client_t *c = h_client(&H);
	traction_client_set_timeout(c, 5000);
	h_catalogue(c, NULL);
	h_wait_feedback_ready(c, "weld-line-3");

	unsigned *count = malloc(sizeof(unsigned) * MAX_KEYS);
	unsigned char *acked = malloc(MAX_KEYS);
	CHECK(count != NULL && acked != NULL);
	uint64_t rng = seed;
	for (int cycle = 0; cycle < cycles; cycle++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		s_cycle(c, cycle, rng >> 16, count, acked);
	}
	free(count);
	free(acked);
	traction_client_destroy(&c);
	fs_stop();
	h_done(&H);
	DONE();
}
