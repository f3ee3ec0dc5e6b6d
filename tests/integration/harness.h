/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test harness for integration tests: real daemons as child processes, in
 * a temp dir, on ephemeral loopback ports. The broker binds
 * tcp://127.0.0.1:* and writes the ports it got to an endpoints file; the
 * services get a config with those. Every child dies with the test (exit
 * handler, and PR_SET_PDEATHSIG if the test is killed), and the temp dir
 * goes with it.
 */
#ifndef TRC_HARNESS_H
#define TRC_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "traction/traction.h"

#define H_MAX_PROCS 256

typedef struct {
	char dir[256];
	char conf[320];             /* the services' config */
	char extra[2048];           /* appended to every config */
	char client_ep[128];
	char service_ep[128];
	char pub_ep[128];
	char sub_ep[128];
	pid_t pids[H_MAX_PROCS];
	char names[H_MAX_PROCS][64];
	int n;
} harness_t;

/* Makes the temp dir; extra is appended to each daemon's config (e.g.
 * "[bus]\nheartbeat_ms = 100\n"). */
void h_init(harness_t *h, const char *extra);

/* The daemon set's services, which the broker knows before they register
 * (its [broker] services; an extra [broker] services replaces them). */
#define H_SET_SERVICES "supply, scenario, feedback, iteration, deployment"

/* Starts the broker. With fixed_ports, binds the endpoints found before
 * (for a restart); otherwise ephemeral ones. Waits until it is bound. */
pid_t h_start_broker(harness_t *h, bool fixed_ports);

/* Starts a daemon binary (e.g. "traction-supplyd") with the services'
 * config; state_name, if not NULL, gives it its own state_dir. */
pid_t h_start(harness_t *h, const char *binary, const char *state_name);

/* Sends sig and, for SIGKILL/SIGTERM, waits for the process. Returns its
 * exit status as waitpid gives it. */
int h_kill(harness_t *h, pid_t pid, int sig);

/* Waits until the broker lists n live instances of service. */
bool h_wait_live(harness_t *h, const char *service, unsigned n, int timeout_ms);

/* A client on the broker's client endpoint. */
traction_client_t *h_client(harness_t *h);

/* Marks the test passed; otherwise the daemons' logs are printed at exit. */
void h_done(harness_t *h);

/* Registers, through c, provider "acme", supply "defect-vision" (kind
 * industrial-algorithm, capability defect-detection, version 1.0) and the
 * scenarios named (NULL-terminated; NULL: "weld-line-3"), each needing
 * defect-detection. Retries while a service is unavailable; exits the test
 * on any other error. */
void h_catalogue(traction_client_t *c, const char *const *scenarios);
/* feedback.stats of metric for supply (all its versions and scenarios):
 * the call's status code, *rep the reply on OK (free it with
 * traction_reply_free). */
struct Traction__V1__StatsReply;
int h_stats(traction_client_t *c, const char *supply, const char *metric,
	    struct Traction__V1__StatsReply **rep, traction_status_t *st);
/* Submits scenario id of enterprise (named id, needing defect-detection);
 * the call's status code. */
int h_scenario(traction_client_t *c, const char *id, const char *enterprise);

/* Waits until feedbackd knows defect-vision@1.0 and scenario (from their
 * events): publishes the record kept under key "ready-<scenario>" until it
 * is accepted. */
void h_wait_feedback_ready(traction_client_t *c, const char *scenario);

/* A number traction-testd answers in a KeyValue (method "count": keys in
 * service "kv" or "mirror"; "batches": the most puts one group commit
 * held); -1 if the call fails. h_testd_count is method "count";
 * h_testd_wait_count polls it until it is `want`, up to timeout_ms
 * (false, having said what it saw, if not). */
long h_testd_number(traction_client_t *c, const char *service, const char *method);
long h_testd_count(traction_client_t *c, const char *service);
bool h_testd_wait_count(traction_client_t *c, const char *service, long want, int timeout_ms);

/* trc-cutfs (tests/powercut/cutfs.c) over directory backing, mounted on
 * mnt (both made by the caller, inside h->dir); the harness kills it at
 * exit. Its pid, once mounted (the test fails if it does not mount). */
pid_t h_cutfs_start(harness_t *h, const char *backing, const char *mnt, uint64_t seed);
/* Kills it (*pid, if not 0, set to 0) and detaches the mount (a dead FUSE
 * mount lingers otherwise); call it at exit too, before the harness
 * removes its dir. */
void h_cutfs_stop(harness_t *h, pid_t *pid, const char *mnt);

/* The path of a built binary. */
const char *h_bin(const char *name, char *buf, size_t len);

void h_sleep_ms(int ms);

#endif
