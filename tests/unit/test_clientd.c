/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client daemon runtime (clientd.h): its main() reads the config file
 * with a section of its own, starts, says READY, reloads on SIGHUP (and
 * keeps its configuration on a bad file), pings the watchdog, stops on
 * SIGTERM saying STOPPING; and its loop hosts another library's event
 * loop, here a stand-in shaped like libuv's (an epoll backend fd, a
 * backend timeout, a non-blocking run), which gets a turn when its fd is
 * ready or its timer is due and never otherwise: no busy wait.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "clientd.h"
#include "daemon.h"
#include "error.h"
#include "util.h"

/* ---- a library's event loop, as libuv shows it to a host ------------------ */

#define TIMER_MS 200
#define TIMER_FIRES 3

typedef struct {
	int epfd;            /* uv_backend_fd: readable when any of its fds is */
	int evfd;            /* one of its fds: an async wake-up from another thread */
	int64_t due;         /* its repeating timer; -1: done */
	int fires, wakes, runs, idle_runs, asked;
	int64_t sent, late;  /* when the wake-up was sent; how late its turn came */
} lib_loop_t;

static void lib_init(lib_loop_t *l)
{
	*l = (lib_loop_t){ .epfd = epoll_create1(EPOLL_CLOEXEC),
			   .evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC),
			   .due = trc_mono_ms() + TIMER_MS };
	CHECK(l->epfd >= 0 && l->evfd >= 0);
	struct epoll_event ev = { .events = EPOLLIN };
	CHECK(epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) == 0);
}

/* uv_backend_timeout */
static int lib_timeout(void *ud)
{
	lib_loop_t *l = ud;
	l->asked++;
	if (l->due < 0)
		return -1;
	int64_t left = l->due - trc_mono_ms();
	return left > 0 ? (int)left : 0;
}

/* uv_run(loop, UV_RUN_NOWAIT): whatever is ready, without waiting */
static void lib_run(void *ud, short revents)
{
	lib_loop_t *l = ud;
	bool did = false;
	l->runs++;
	struct epoll_event ev;
	while (epoll_wait(l->epfd, &ev, 1, 0) == 1) {
		uint64_t n;
		CHECK(read(l->evfd, &n, sizeof(n)) == (ssize_t)sizeof(n));
		l->wakes += (int)n;
		l->late = trc_mono_ms() - __atomic_load_n(&l->sent, __ATOMIC_ACQUIRE);
		did = true;
	}
	if (l->due >= 0 && trc_mono_ms() >= l->due) {
		l->fires++;
		l->due = l->fires < TIMER_FIRES ? l->due + TIMER_MS : -1;
		did = true;
	}
	if (!did)
		l->idle_runs++;
	(void)revents;
}

/* ---- the daemon ----------------------------------------------------------------- */

typedef struct {
	char greeting[64];
} demo_t;

static const trc_conf_key_t s_keys[] = {
	{ "greeting", TRC_CONF_STR, TRC_CONF_AT(demo_t, greeting), 0, 0, "hello", "what it says" },
};
static const trc_conf_section_t s_demo = { "demo", s_keys, 1, sizeof(demo_t) };
static const trc_conf_section_t *const s_config[] = { &s_demo, NULL };

static struct {
	lib_loop_t lib;
	int starts, stops, reloads;
	char greeting[64], reloaded[64];
	bool fail_start;
} S;

static int s_lib_ready; /* atomic: S.lib is made */

static int d_start(trc_clientd_t *cd, void *user)
{
	(void)user;
	S.starts++;
	const demo_t *d = trc_config_section(trc_clientd_config(cd), &s_demo);
	CHECK(d != NULL);
	snprintf(S.greeting, sizeof(S.greeting), "%s", d->greeting);
	if (S.fail_start)
		return -1;
	lib_init(&S.lib);
	/* the driver thread touches the library's loop only after this (a
	 * sleep is no synchronization: TSan said so) */
	__atomic_store_n(&s_lib_ready, 1, __ATOMIC_RELEASE);
	trc_hosted_t h = { S.lib.epfd, POLLIN, lib_timeout, lib_run, &S.lib };
	return trc_clientd_host(cd, &h);
}

static void d_reload(void *user, const trc_config_t *ncfg)
{
	(void)user;
	S.reloads++;
	const demo_t *d = trc_config_section(ncfg, &s_demo);
	CHECK(d != NULL);
	snprintf(S.reloaded, sizeof(S.reloaded), "%s", d->greeting);
}

static void d_stop(void *user)
{
	(void)user;
	S.stops++;
	close(S.lib.epfd);
	close(S.lib.evfd);
}

static const trc_clientd_def_t s_def = {
	.daemon = "demod",
	.program = "traction-demod",
	.summary = "a client daemon of a test",
	.config = s_config,
	.start = d_start,
	.reload = d_reload,
	.stop = d_stop,
};

/* ---- the world around it: a config file, signals, systemd's socket ---------- */

static char s_conf[256];

static void write_conf(const char *text)
{
	FILE *f = fopen(s_conf, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static void sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/* What happens to the daemon from outside, in time. */
static void *driver(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&s_lib_ready, __ATOMIC_ACQUIRE))
		sleep_ms(5);
	sleep_ms(100);
	uint64_t one = 1; /* a library event from another thread (uv_async_send) */
	__atomic_store_n(&S.lib.sent, trc_mono_ms(), __ATOMIC_RELEASE);
	CHECK(write(S.lib.evfd, &one, sizeof(one)) == (ssize_t)sizeof(one));
	sleep_ms(200);
	write_conf("[demo]\ngreeting = again\n");
	kill(getpid(), SIGHUP);
	sleep_ms(200);
	write_conf("[demo]\ngreting = typo\n");
	kill(getpid(), SIGHUP);
	sleep_ms(400);
	kill(getpid(), SIGTERM);
	return NULL;
}

/* systemd's side of NOTIFY_SOCKET: what the daemon said, the first line
 * of each message, "|"-separated, read as it comes (a full queue would
 * block the daemon's sd_notify). */
static struct {
	int sock;
	bool done;
	char said[4096];
} N;

static void *listener(void *arg)
{
	(void)arg;
	char msg[512];
	while (!__atomic_load_n(&N.done, __ATOMIC_ACQUIRE)) {
		struct pollfd p = { N.sock, POLLIN, 0 };
		if (poll(&p, 1, 20) != 1)
			continue;
		ssize_t n = recv(N.sock, msg, sizeof(msg) - 1, 0);
		if (n <= 0)
			continue;
		msg[n] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		size_t used = strlen(N.said);
		snprintf(N.said + used, sizeof(N.said) - used, "%s|", msg);
	}
	return NULL;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

TEST(a_whole_life)
{
	const char *dir = check_tmpdir("trc-clientd");
	snprintf(s_conf, sizeof(s_conf), "%s/t.conf", dir);
	N.sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	CHECK(strlen(dir) + 8 < sizeof(sa.sun_path));
	memcpy(sa.sun_path, dir, strlen(dir));
	memcpy(sa.sun_path + strlen(dir), "/notify", 8);
	const char *sockpath = sa.sun_path;
	CHECK(N.sock >= 0 && bind(N.sock, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	setenv("NOTIFY_SOCKET", sockpath, 1);
	setenv("WATCHDOG_USEC", "200000", 1); /* a ping every 100 ms */
	write_conf("[demo]\ngreeting = first\n[log]\nlevel = warning\n[gates]\nx = 1\n");

	pthread_t lt;
	CHECK(pthread_create(&lt, NULL, listener, NULL) == 0);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, driver, NULL) == 0);
	char *argv[] = { (char *)"traction-demod", (char *)"--config", s_conf, NULL };
	int64_t t0 = trc_mono_ms();
	CHECK_EQ_INT(trc_clientd_main(3, argv, &s_def), 0);
	int64_t took = trc_mono_ms() - t0;
	pthread_join(t, NULL);

	CHECK_EQ_INT(S.starts, 1);
	CHECK_EQ_INT(S.stops, 1);
	CHECK_STR(S.greeting, "first");
	/* the good file reloaded, the bad one refused */
	CHECK_EQ_INT(S.reloads, 1);
	CHECK_STR(S.reloaded, "again");
	/* the hosted loop: its async wake-up and each timer, each in a turn of
	 * its own that had something to do, the wake-up at once (its
	 * timer's turn is 100 ms later) */
	CHECK_EQ_INT(S.lib.wakes, 1);
	CHECK_MSG(S.lib.late < 50, "the wake-up's turn came %lld ms late", (long long)S.lib.late);
	CHECK_EQ_INT(S.lib.fires, TIMER_FIRES);
	CHECK_EQ_INT(S.lib.idle_runs, 0);
	/* and no busy wait: a turn for each wake-up, timer, signal and
	 * watchdog ping (about 20 in 0.9 s), not thousands */
	CHECK_MSG(S.lib.asked < 60, "%d turns in %lld ms", S.lib.asked, (long long)took);

	sleep_ms(50);
	__atomic_store_n(&N.done, true, __ATOMIC_RELEASE);
	pthread_join(lt, NULL);
	const char *said = N.said;
	CHECK_MSG(strncmp(said, "READY=1|", 8) == 0, "%s", said);
	CHECK_EQ_INT(count(said, "RELOADING=1"), 2);
	CHECK_MSG(count(said, "WATCHDOG=1") >= 5, "%s", said);
	CHECK_CONTAINS(said, "STOPPING=1|");
	CHECK_EQ_INT(strlen(strstr(said, "STOPPING=1|")), strlen("STOPPING=1|"));
	close(N.sock);
	unsetenv("NOTIFY_SOCKET");
}

static void *stopper(void *cd)
{
	sleep_ms(50);
	trc_clientd_stop(cd);
	return NULL;
}

static void nothing(void *ud, short revents)
{
	(void)ud;
	(void)revents;
}

/* Its parts: hosting is bounded, a failed start ends it before READY, and
 * trc_clientd_stop ends the loop from another thread. */
TEST(parts)
{
	static trc_config_t cfg;
	char err[256];
	CHECK_EQ_INT(trc_config_init(&cfg, s_config, NULL, err, sizeof(err)), 0);
	trc_clientd_t *cd = NULL;
	CHECK_EQ_INT(trc_clientd_new(&cd, &s_def, &cfg), 0);
	trc_hosted_t h = { -1, 0, NULL, NULL, NULL };
	CHECK_EQ_INT(trc_clientd_host(cd, &h), TRC_EINVAL);
	h.run = nothing;
	for (int i = 0; i < TRC_CLIENTD_HOSTED; i++)
		CHECK_EQ_INT(trc_clientd_host(cd, &h), 0);
	CHECK_EQ_INT(trc_clientd_host(cd, &h), TRC_EINVAL);
	trc_clientd_destroy(&cd);
	CHECK(cd == NULL);

	int sigfd = trc_daemon_signals();
	CHECK(sigfd >= 0);
	memset(&S, 0, sizeof(S));
	S.fail_start = true;
	CHECK_EQ_INT(trc_clientd_new(&cd, &s_def, &cfg), 0);
	CHECK(trc_clientd_run(cd, sigfd, NULL) != 0);
	CHECK_EQ_INT(S.stops, 0);
	trc_clientd_destroy(&cd);

	memset(&S, 0, sizeof(S));
	CHECK_EQ_INT(trc_clientd_new(&cd, &s_def, &cfg), 0);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, stopper, cd) == 0);
	CHECK_EQ_INT(trc_clientd_run(cd, sigfd, NULL), 0);
	pthread_join(t, NULL);
	CHECK_EQ_INT(S.starts, 1);
	CHECK_EQ_INT(S.stops, 1);
	trc_clientd_destroy(&cd);
	close(sigfd);
}

int main(void)
{
	/* before any thread: the signals go to the daemon's signalfd */
	int fd = trc_daemon_signals();
	CHECK(fd >= 0);
	close(fd);
	RUN(a_whole_life);
	RUN(parts);
	DONE();
}
