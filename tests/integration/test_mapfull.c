/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A full store, end to end: feedbackd with a 1 MiB LMDB map is fed until
 * publishing answers RESOURCE_EXHAUSTED with a message that says what to
 * do; reads keep working; restarted with a bigger map, the refused batch
 * goes in on retry and every record acknowledged before is there, once.
 *
 * Then a full disk: feedbackd keeps its store on a 4 MiB tmpfs (needs
 * root to mount it) and is fed until the disk, not the map, runs out; the
 * client hears that the disk is full; once the tmpfs grows, the same
 * daemon, not restarted, takes the refused batch and nothing is doubled.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;
static traction_client_t *C;
static pid_t s_fb;
static char s_disk[400];

enum { BATCH = 200 };
static Traction__V1__FeedbackRecord s_recs[BATCH], *s_rp[BATCH];
static Traction__V1__Metric s_m[BATCH];
static Traction__V1__KeyValue s_label, *s_labelp = &s_label;
static char s_keys[BATCH][32];
static char s_pad[180];

static int publish_batch(int b, traction_status_t *st)
{
	for (int i = 0; i < BATCH; i++) {
		traction__v1__feedback_record__init(&s_recs[i]);
		traction__v1__metric__init(&s_m[i]);
		snprintf(s_keys[i], sizeof(s_keys[i]), "b%d-%d", b, i);
		s_recs[i].scenario_id = (char *)"weld-line-3";
		s_recs[i].supply_id = (char *)"defect-vision";
		s_recs[i].version = (char *)"1.0";
		s_recs[i].idempotency_key = s_keys[i];
		s_recs[i].labels = &s_labelp;
		s_recs[i].n_labels = 1;
		s_m[i].name = (char *)"defect_rate";
		s_m[i].value = 0.01 * (i % 7);
		s_recs[i].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
		s_recs[i].metric = &s_m[i];
		s_rp[i] = &s_recs[i];
	}
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	Traction__V1__PublishReply *rep = NULL;
	req.records = s_rp;
	req.n_records = BATCH;
	int code = traction_call(C, "feedback", "publish", &req.base,
				 &traction__v1__publish_reply__descriptor, (ProtobufCMessage **)&rep, st);
	if (code == 0) {
		for (int i = 0; i < BATCH; i++)
			if (rep->results[i]->status->code != 0)
				code = rep->results[i]->status->code;
		traction_reply_free(&rep->base);
	}
	return code;
}

static uint64_t stats_count(void)
{
	Traction__V1__StatsReply *r = NULL;
	traction_status_t st;
	CHECK_MSG(h_stats(C, "defect-vision", "defect_rate", &r, &st) == 0, "stats: %s", st.message);
	uint64_t n = r->metrics[0]->stats->count;
	traction_reply_free(&r->base);
	return n;
}

/* Publishes batches first, first+1, ... until one is refused (waiting out
 * NOT_FOUND while feedbackd learns the catalogue); checks the refusal is
 * RESOURCE_EXHAUSTED, that something went in first, and that reads hold
 * exactly what was acknowledged. Returns the refused batch's number. */
static int fill_until_refused(int first, traction_status_t *st, int *acked)
{
	int b = first, code = TRACTION__V1__CODE__NOT_FOUND;
	for (int i = 0; i < 200 && code == TRACTION__V1__CODE__NOT_FOUND; i++) {
		code = publish_batch(b, st);
		if (code == TRACTION__V1__CODE__NOT_FOUND)
			h_sleep_ms(25); /* references not known yet */
	}
	*acked = 0;
	while (code == 0 && *acked < 1000) {
		(*acked)++;
		code = publish_batch(++b, st);
	}
	CHECK_MSG(code == TRACTION__V1__CODE__RESOURCE_EXHAUSTED, "code %d after %d batches: %s", code,
		  *acked, st->message);
	CHECK(*acked > 0);
	/* reads go on, and hold exactly what was acknowledged */
	CHECK_EQ_INT(stats_count(), (uint64_t)*acked * BATCH);
	return b;
}

/* Retries the refused batch until it goes in; then the count is one batch
 * more, and the first batch sent again is all duplicates. */
static void retry_goes_in_once(int first, int refused, int acked)
{
	traction_status_t st;
	int code = -1;
	for (int i = 0; i < 100 && code != 0; i++) {
		code = publish_batch(refused, &st);
		if (code != 0)
			h_sleep_ms(50);
	}
	CHECK_MSG(code == 0, "%s", st.message);
	CHECK_EQ_INT(stats_count(), (uint64_t)(acked + 1) * BATCH);
	CHECK_EQ_INT(publish_batch(first, &st), 0);
	CHECK_EQ_INT(stats_count(), (uint64_t)(acked + 1) * BATCH);
}

TEST(full_store_refuses_then_resumes)
{
	memset(s_pad, 'p', sizeof(s_pad) - 1);
	traction__v1__key_value__init(&s_label);
	s_label.key = (char *)"site";
	s_label.value = s_pad;
	h_start_broker(&H, false);
	h_start(&H, "traction-supplyd", NULL);
	h_start(&H, "traction-scenariod", NULL);
	s_fb = h_start(&H, "traction-feedbackd", NULL);
	CHECK(h_wait_live(&H, "feedback", 1, 5000));
	CHECK(h_wait_live(&H, "scenario", 1, 5000));
	C = h_client(&H);
	h_catalogue(C, NULL);

	traction_status_t st;
	int acked;
	int b = fill_until_refused(0, &st, &acked);
	CHECK_CONTAINS(st.message, "the store is full (map_size_mb=1)");
	CHECK_CONTAINS(st.message, "raise [store] map_size_mb and restart");

	/* a bigger map: the refused batch goes in on retry, nothing lost */
	CHECK_EQ_INT(WEXITSTATUS(h_kill(&H, s_fb, SIGTERM)), 0);
	CHECK(h_wait_live(&H, "feedback", 0, 3000));
	snprintf(H.extra, sizeof(H.extra),
		 "[bus]\nheartbeat_ms = 100\nheartbeat_liveness = 10\n[store]\nmap_size_mb = 64\n");
	s_fb = h_start(&H, "traction-feedbackd", "var"); /* the same state dir, a new config */
	CHECK(h_wait_live(&H, "feedback", 1, 5000));
	retry_goes_in_once(0, b, acked);
	fprintf(stderr, "store full after %d batches of %d records\n", acked, BATCH);
}

/* Runs before the harness's own exit handler (atexit is LIFO) so the rm -rf
 * of the test dir does not meet a mount point. */
static void s_umount(void)
{
	if (s_disk[0] != '\0')
		umount2(s_disk, MNT_DETACH);
}

static bool s_skipped;

TEST(full_disk_refuses_then_resumes)
{
	if (geteuid() != 0) {
		/* said, and the exit status tells CTest (and tests/run.sh) */
		printf("skipped: full_disk_refuses_then_resumes needs root to mount a tmpfs\n");
		s_skipped = true;
		return;
	}
	snprintf(s_disk, sizeof(s_disk), "%s/disk", H.dir);
	CHECK(mkdir(s_disk, 0700) == 0);
	CHECK_MSG(mount("tmpfs", s_disk, "tmpfs", 0, "size=4m,mode=0700") == 0, "mount: %s",
		  strerror(errno));
	atexit(s_umount);

	CHECK_EQ_INT(WEXITSTATUS(h_kill(&H, s_fb, SIGTERM)), 0);
	CHECK(h_wait_live(&H, "feedback", 0, 3000));
	/* the map is far bigger than the disk: the disk runs out first */
	snprintf(H.extra, sizeof(H.extra),
		 "[bus]\nheartbeat_ms = 100\nheartbeat_liveness = 10\n[store]\nmap_size_mb = 64\n");
	s_fb = h_start(&H, "traction-feedbackd", "disk");
	CHECK(h_wait_live(&H, "feedback", 1, 5000));

	traction_status_t st;
	int acked;
	int b = fill_until_refused(10000, &st, &acked);
	CHECK_CONTAINS(st.message, "is full: writes are refused");
	CHECK_CONTAINS(st.message, s_disk);
	/* still full: refused again, the daemon still up. A commit that ran
	 * out of disk half way may leave the next one the room it needed (a
	 * fresh store on a near-full tmpfs was seen to take the refused batch
	 * at once): a batch that goes in is acknowledged and counted, and the
	 * next one must be refused twice in a row */
	int code;
	for (int i = 0; i < 20; i++) {
		code = publish_batch(b, &st);
		if (code == TRACTION__V1__CODE__RESOURCE_EXHAUSTED)
			break;
		CHECK_MSG(code == 0, "code %d: %s", code, st.message);
		acked++;
		CHECK_EQ_INT(stats_count(), (uint64_t)acked * BATCH);
		b++;
		CHECK_EQ_INT(publish_batch(b, &st), TRACTION__V1__CODE__RESOURCE_EXHAUSTED);
	}
	CHECK_EQ_INT(code, TRACTION__V1__CODE__RESOURCE_EXHAUSTED);
	CHECK_CONTAINS(st.message, "is full: writes are refused");
	CHECK(kill(s_fb, 0) == 0);

	/* room again: the same daemon takes the refused batch, once */
	CHECK_MSG(mount(NULL, s_disk, NULL, MS_REMOUNT, "size=64m,mode=0700") == 0, "remount: %s",
		  strerror(errno));
	retry_goes_in_once(10000, b, acked);
	CHECK_EQ_INT(WEXITSTATUS(h_kill(&H, s_fb, SIGTERM)), 0);
	fprintf(stderr, "disk full after %d batches of %d records\n", acked, BATCH);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\nheartbeat_liveness = 10\n[store]\nmap_size_mb = 1\n"
		   "[events]\nreplay_interval_ms = 200\n");
	RUN(full_store_refuses_then_resumes);
	RUN(full_disk_refuses_then_resumes);
	traction_client_destroy(&C);
	h_done(&H);
	if (s_skipped)
		return 77;
	DONE();
}
