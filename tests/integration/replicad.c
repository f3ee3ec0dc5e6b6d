/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trc-replicad: traction-exampled (its own definition, from its main.c
 * compiled again: tests/CMakeLists.txt) on the real service runtime, as a
 * replica that a test says the role of, until the raft node of the
 * service (lib/svc_raft.c) says it itself. Built for the tests only,
 * never installed: nothing of it is reachable in a production daemon.
 *
 * TRC_REPLICA_ROLE="ROLE TERM": its role from the start (ROLE single,
 * leader, follower or candidate); none: it never says one (SINGLE, a
 * first wave's frames).
 * TRC_REPLICA_FIFO=PATH: a FIFO it makes and reads, a line at a time, on
 * its loop thread (a hosted fd, service.h): "ROLE TERM" calls
 * trc_service_set_replica; "flap N" makes the next N calls of
 * replica.flap answer UNAVAILABLE with the detail a replica that lost
 * its leadership sends (leadership_changed), the next ones OK with its
 * pid. Its service "replica" (method flap) is served beside "note".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "error.h"
#include "log.h"
#include "service.h"
#include "wire.h"
#include "traction/v1/common.pb-c.h"

int replicad_exampled_main(int argc, char **argv);
int replicad_capture(int argc, char **argv, const trc_daemon_def_t *def);

static const trc_daemon_def_t *s_exampled;
static trc_service_t *s_svc;
static int s_fifo = -1;
static long s_flaps; /* replica.flap's refusals to come (the loop thread's) */

int replicad_capture(int argc, char **argv, const trc_daemon_def_t *def)
{
	(void)argc;
	(void)argv;
	s_exampled = def;
	return 0;
}

static int s_flap(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	(void)req_;
	Traction__V1__KeyValue *rep = (Traction__V1__KeyValue *)rep_;
	if (s_flaps > 0) {
		s_flaps--;
		trc_call_detail(call, "leader", TRC_REASON_LEADERSHIP_CHANGED, "", "");
		return trc_call_fail(call, TRC_EUNAVAIL, "leadership changed; retry with the same key");
	}
	rep->key = (char *)"pid";
	rep->value = trc_arena_printf(call->arena, "%d", (int)getpid());
	return 0;
}

static const trc_method_t s_methods[] = {
	{ "flap", &traction__v1__key_value__descriptor, &traction__v1__key_value__descriptor,
	  s_flap, 0, "OK with its pid, or UNAVAILABLE leadership_changed while told to" },
};

/* "leader 3", "flap 2": 0, or TRC_EINVAL. */
static int s_command(const char *line)
{
	static const char *const roles[] = { "single", "leader", "follower", "candidate" };
	char word[16];
	unsigned long long n;
	if (sscanf(line, "%15s %llu", word, &n) != 2)
		return TRC_EINVAL;
	if (strcmp(word, "flap") == 0) {
		s_flaps = (long)n;
		return 0;
	}
	for (int r = 0; r < 4; r++)
		if (strcmp(word, roles[r]) == 0)
			return trc_service_set_replica(s_svc, r, n);
	return TRC_EINVAL;
}

/* The FIFO's turn on the loop thread: every whole line that came. */
static void s_fifo_run(void *ud, short revents)
{
	(void)ud;
	(void)revents;
	static char buf[256];
	static size_t len;
	ssize_t got;
	while ((got = read(s_fifo, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)got;
		buf[len] = '\0';
		char *nl;
		while ((nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			if (s_command(buf) != 0)
				trc_warn("replicad: not a command: '%s'", buf);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof(buf) - 1)
			len = 0; /* a line too long: dropped */
	}
}

/* The FIFO, opened read-write so that it never reads end-of-file when a
 * writer closes it, and hosted in the service's loop. */
static int s_fifo_open(const char *path)
{
	if (mkfifo(path, 0600) != 0 && errno != EEXIST)
		return trc_err_from_errno(errno);
	s_fifo = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (s_fifo < 0)
		return trc_err_from_errno(errno);
	trc_hosted_t h = { .fd = s_fifo, .events = POLLIN, .run = s_fifo_run };
	return trc_service_host(s_svc, &h);
}

int main(int argc, char **argv)
{
	char *none[] = { (char *)"trc-replicad", NULL };
	if (replicad_exampled_main(1, none) != 0 || s_exampled == NULL)
		return 1;
	static trc_service_table_t services[2];
	static trc_daemon_def_t def;
	def = *s_exampled;
	services[0] = def.services[0];
	services[1] = (trc_service_table_t){ "replica", s_methods, 1, NULL };
	def.services = services;
	def.n_services = 2;
	def.program = "trc-replicad";
	trc_daemon_info_t info = { def.program, def.summary, def.config, NULL, NULL };
	trc_config_t cfg;
	const char *config_path = NULL;
	int sigfd = -1;
	int rc = trc_daemon_start(argc, argv, &info, def.daemon, &cfg, &config_path, &sigfd);
	if (rc != 0)
		return rc > 0 ? 0 : 1;
	rc = trc_service_new(&s_svc, &def, &cfg);
	const char *role = getenv("TRC_REPLICA_ROLE");
	const char *fifo = getenv("TRC_REPLICA_FIFO");
	if (rc == 0 && role != NULL)
		rc = s_command(role);
	if (rc == 0 && fifo != NULL)
		rc = s_fifo_open(fifo);
	if (rc == 0)
		rc = trc_service_run(s_svc, sigfd, config_path);
	if (rc != 0)
		trc_err("replicad: %s", trc_strerror(rc));
	trc_service_destroy(&s_svc);
	if (s_fifo >= 0)
		close(s_fifo);
	close(sigfd);
	return rc == 0 ? 0 : 1;
}
