/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway's listener and its acceptor thread, which hands each
 * connection to libmicrohttpd (MHD_add_connection). Its own listening
 * thread, in thread-per-connection mode, polls the listener even past the
 * process's file limit, where accept() fails at once: a spin, and a log
 * line a turn (docs/http.md). Past the limit the acceptor closes waiting
 * connections with a spare descriptor (trc_accept_refuse); with none it
 * rests — the listener out of its poll — until a connection ends
 * (gw_accept_freed) or ACCEPT_PAUSE_MS passed.
 */
#include "gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define ACCEPT_PAUSE_MS 100

struct gw_acceptor {
	int lfd, spare, wake;      /* wake: an eventfd, to stop or resume */
	struct MHD_Daemon *mhd;
	pthread_t thread;
	bool started;
	int stop, paused;          /* atomic */
	int64_t logged_ms;
	uint64_t troubles;
};

/* A connection closed as it came, or the listener rested: logged at most
 * once a second. */
static void s_trouble(gw_acceptor_t *a, const char *what)
{
	a->troubles++;
	int64_t now = trc_mono_ms();
	if (now - a->logged_ms >= 1000) {
		a->logged_ms = now;
		trc_warn("http: %s (%llu so far)", what, (unsigned long long)a->troubles);
	}
}

/* Takes what waits on the listener: true to rest it a while. */
static bool s_accept_all(gw_acceptor_t *a)
{
	for (;;) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int fd = accept4(a->lfd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
		if (fd >= 0) { /* closed by libmicrohttpd if it cannot take it */
			MHD_add_connection(a->mhd, fd, (struct sockaddr *)&sa, sl);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE) {
			int r = trc_accept_refuse(a->lfd, &a->spare);
			if (r > 0) {
				s_trouble(a, "a connection closed as it came: past the file limit");
				continue;
			}
			if (r < 0)
				s_trouble(a, "connections wait past the file limit, no spare "
					     "descriptor: the listener rests");
			return r < 0;
		}
		if (errno == ENOBUFS || errno == ENOMEM) {
			s_trouble(a, "connections wait: out of memory: the listener rests");
			return true;
		}
		return false; /* EAGAIN, or one that went away first */
	}
}

static void *s_acceptor(void *arg)
{
	gw_acceptor_t *a = arg;
	bool rest = false;
	while (!__atomic_load_n(&a->stop, __ATOMIC_RELAXED)) {
		struct pollfd p[2] = { { a->wake, POLLIN, 0 }, { a->lfd, POLLIN, 0 } };
		__atomic_store_n(&a->paused, rest, __ATOMIC_RELAXED);
		int n = poll(p, rest ? 1 : 2, rest ? ACCEPT_PAUSE_MS : -1);
		if (n < 0 && errno != EINTR) {
			trc_err("http: poll: %s", strerror(errno));
			rest = true;
			continue;
		}
		if (n > 0 && (p[0].revents & POLLIN)) {
			uint64_t v;
			if (read(a->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
				trc_warn("http: acceptor: %s", strerror(errno));
		}
		if (rest) { /* a connection ended, or the pause passed: again */
			if (a->spare < 0)
				a->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
			rest = false;
			continue;
		}
		if (n > 0 && (p[1].revents & POLLIN))
			rest = s_accept_all(a);
	}
	return NULL;
}

int gw_accept_listen(gw_acceptor_t **a_p, const struct sockaddr_in *sa, unsigned *port)
{
	gw_acceptor_t *a = calloc(1, sizeof(*a));
	*a_p = a;
	if (a == NULL)
		return -1;
	int one = 1;
	a->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	a->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	a->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->wake < 0 || a->lfd < 0 ||
	    setsockopt(a->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(a->lfd, (const struct sockaddr *)sa, sizeof(*sa)) != 0 || listen(a->lfd, 128) != 0)
		return -1;
	struct sockaddr_in bound;
	socklen_t sl = sizeof(bound);
	if (getsockname(a->lfd, (struct sockaddr *)&bound, &sl) != 0)
		return -1;
	*port = ntohs(bound.sin_port);
	return 0;
}

int gw_accept_start(gw_acceptor_t *a, struct MHD_Daemon *mhd)
{
	a->mhd = mhd;
	if (pthread_create(&a->thread, NULL, s_acceptor, a) != 0)
		return -1;
	a->started = true;
	return 0;
}

void gw_accept_freed(gw_acceptor_t *a)
{
	uint64_t one = 1; /* a descriptor is free: the acceptor's turn */
	if (a != NULL && __atomic_load_n(&a->paused, __ATOMIC_RELAXED) &&
	    write(a->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
		trc_warn("http: cannot wake the acceptor: %s", strerror(errno));
}

void gw_accept_stop(gw_acceptor_t **a_p)
{
	gw_acceptor_t *a = *a_p;
	if (a == NULL)
		return;
	if (a->started) {
		uint64_t one = 1;
		__atomic_store_n(&a->stop, 1, __ATOMIC_RELAXED);
		if (write(a->wake, &one, sizeof(one)) < 0)
			trc_warn("http: cannot stop the acceptor: %s", strerror(errno));
		pthread_join(a->thread, NULL);
	}
	if (a->lfd >= 0)
		close(a->lfd);
	if (a->spare >= 0)
		close(a->spare);
	if (a->wake >= 0)
		close(a->wake);
	free(a);
	*a_p = NULL;
}
