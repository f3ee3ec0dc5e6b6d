/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A real libuv loop hosted in a service daemon's loop (trc_service_host,
 * hosted_uv.h): its repeating timer fires at its period, a uv_async
 * wake-up sent from another thread is handled at once, and the host does
 * not spin meanwhile (its turns are counted, and its CPU time). The
 * service is a real one (a store in a temp dir, its writer thread, its
 * broker dealer) whose broker never answers: nothing but the hosted loop,
 * the signal that stops it and its own timers wakes it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "check.h"
#include "daemon.h"
#include "error.h"
#include "hosted_uv.h"
#include "service.h"
#include "util.h"

#define PERIOD_MS 100
#define FIRES 10
#define LATE_MAX_MS 50  /* the shared 2-core machine, sanitizers included */

static struct {
	uv_loop_t loop;
	uv_timer_t timer;
	uv_async_t async;
	trc_hosted_t inner;       /* hosted_uv.h's, counted around */
	int64_t start;            /* when the timer was started (mono ms) */
	int fires, wakes, asked, runs;
	int64_t late_max;         /* of the timer's fires, against its schedule */
	int64_t sent, woke_late;  /* the wake-up: when sent, how late handled */
} S;

static int s_fired; /* atomic: the driver waits for the timer's last fire */

static void on_timer(uv_timer_t *t)
{
	S.fires++;
	int64_t late = trc_mono_ms() - (S.start + (int64_t)S.fires * PERIOD_MS);
	if (late > S.late_max)
		S.late_max = late;
	if (S.fires == FIRES) {
		uv_timer_stop(t);
		__atomic_store_n(&s_fired, 1, __ATOMIC_RELEASE);
	}
}

static void on_async(uv_async_t *a)
{
	(void)a;
	S.wakes++;
	S.woke_late = trc_mono_ms() - __atomic_load_n(&S.sent, __ATOMIC_ACQUIRE);
}

static int counted_timeout(void *ud)
{
	S.asked++;
	return S.inner.timeout(ud);
}

static void counted_run(void *ud, short revents)
{
	S.runs++;
	S.inner.run(ud, revents);
}

static int64_t s_cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* From outside, in time: the wake-up a third into the timer's run, then
 * the stop once the timer is done. */
static void *driver(void *arg)
{
	(void)arg;
	usleep(3 * PERIOD_MS * 1000 + 30000);
	__atomic_store_n(&S.sent, trc_mono_ms(), __ATOMIC_RELEASE);
	CHECK(uv_async_send(&S.async) == 0);
	while (!__atomic_load_n(&s_fired, __ATOMIC_ACQUIRE))
		usleep(10000);
	kill(getpid(), SIGTERM);
	return NULL;
}

static int s_sigfd;

static const trc_daemon_def_t s_def = {
	.daemon = "hostd",
	.program = "traction-hostd",
	.summary = "a service of a test hosting libuv",
	.schema_version = 1,
};

static void s_close_cb(uv_handle_t *h)
{
	(void)h;
}

TEST(a_libuv_loop_in_a_service)
{
	const char *dir = check_tmpdir("trc-svc-hosted");
	static trc_config_t cfg;
	trc_config_defaults(&cfg);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", dir);
	/* a broker nobody binds, heard from only after the test: the
	 * service's own heartbeats and reconnections stay out of it */
	snprintf(cfg.service_endpoint, sizeof(cfg.service_endpoint), "ipc://%s/none", dir);
	cfg.heartbeat_ms = 5000;
	cfg.metrics_base_port = 0;
	trc_service_t *svc = NULL;
	CHECK_EQ_INT(trc_service_new(&svc, &s_def, &cfg), 0);

	CHECK_EQ_INT(uv_loop_init(&S.loop), 0);
	CHECK_EQ_INT(uv_timer_init(&S.loop, &S.timer), 0);
	CHECK_EQ_INT(uv_async_init(&S.loop, &S.async, on_async), 0);
	trc_hosted_uv(&S.inner, &S.loop);
	trc_hosted_t h = S.inner;
	h.timeout = counted_timeout;
	h.run = counted_run;
	CHECK_EQ_INT(trc_service_host(svc, &h), 0);
	S.start = trc_mono_ms();
	CHECK_EQ_INT(uv_timer_start(&S.timer, on_timer, PERIOD_MS, PERIOD_MS), 0);

	pthread_t t;
	CHECK(pthread_create(&t, NULL, driver, NULL) == 0);
	int64_t cpu0 = s_cpu_ms(), t0 = trc_mono_ms();
	CHECK_EQ_INT(trc_service_run(svc, s_sigfd, NULL), 0);
	int64_t cpu = s_cpu_ms() - cpu0, took = trc_mono_ms() - t0;
	pthread_join(t, NULL);

	printf("%d fires, the latest %lld ms late; the wake-up %lld ms late; %d waits, %d turns "
	       "of the hosted loop, %lld ms of CPU in %lld ms\n",
	       S.fires, (long long)S.late_max, (long long)S.woke_late, S.asked, S.runs,
	       (long long)cpu, (long long)took);
	/* the timer: every fire, each at its time */
	CHECK_EQ_INT(S.fires, FIRES);
	CHECK_MSG(S.late_max < LATE_MAX_MS, "a timer fire came %lld ms late",
		  (long long)S.late_max);
	/* the wake-up from another thread: at once, not at the next fire */
	CHECK_EQ_INT(S.wakes, 1);
	CHECK_MSG(S.woke_late < LATE_MAX_MS, "the wake-up's turn came %lld ms late",
		  (long long)S.woke_late);
	/* no busy wait: a turn for each fire and the wake-up (and the
	 * signal, the odd early wake), not thousands; and the CPU mostly
	 * asleep over the second the timer ran */
	CHECK_MSG(S.asked < 4 * FIRES, "%d waits in %lld ms", S.asked, (long long)took);
	CHECK_MSG(S.runs <= S.asked && S.runs >= FIRES + 1, "%d turns", S.runs);
	CHECK_MSG(cpu < took / 4, "%lld ms of CPU in %lld ms", (long long)cpu, (long long)took);

	/* hosting is bounded */
	trc_hosted_t none = { -1, 0, NULL, NULL, NULL };
	CHECK_EQ_INT(trc_service_host(svc, &none), TRC_EINVAL);
	trc_service_destroy(&svc);
	uv_close((uv_handle_t *)&S.timer, s_close_cb);
	uv_close((uv_handle_t *)&S.async, s_close_cb);
	CHECK_EQ_INT(uv_run(&S.loop, UV_RUN_DEFAULT), 0);
	CHECK_EQ_INT(uv_loop_close(&S.loop), 0);
}

int main(void)
{
	/* before any thread (the service's writer, the driver): the signals
	 * go to the signalfd */
	s_sigfd = trc_daemon_signals();
	CHECK(s_sigfd >= 0);
	RUN(a_libuv_loop_in_a_service);
	DONE();
}
