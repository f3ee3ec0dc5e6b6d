/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The integration test harness. See harness.h.
 */
#include "harness.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t *s_h;
static bool s_passed;

void h_done(harness_t *h)
{
	(void)h;
	s_passed = true;
}

static void s_dump_logs(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd),
		 "for f in '%s'/*.log; do echo \"==== $f\"; tail -n 60 \"$f\"; done >&2",
		 s_h->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "harness: cannot show the logs\n");
}

static void s_cleanup(void)
{
	if (s_h == NULL)
		return;
	if (!s_passed)
		s_dump_logs();
	for (int i = 0; i < s_h->n; i++) {
		if (s_h->pids[i] > 0) {
			kill(s_h->pids[i], SIGKILL);
			waitpid(s_h->pids[i], NULL, 0);
			s_h->pids[i] = 0;
		}
	}
	if (getenv("TRACTION_KEEP_TEST_DIR") == NULL && s_h->dir[0] != '\0') {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_h->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "harness: cannot remove %s\n", s_h->dir);
	} else {
		fprintf(stderr, "harness: kept %s\n", s_h->dir);
	}
	s_h = NULL;
}

static void s_on_signal(int sig)
{
	(void)sig;
	exit(1); /* runs s_cleanup */
}

void h_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

const char *h_bin(const char *name, char *buf, size_t len)
{
	const char *sub = strcmp(name, "traction-testd") == 0    ? "tests/integration"
			  : strcmp(name, "traction-broker") == 0 ? "broker"
			  : strcmp(name, "tractionctl") == 0   ? "clients/tractionctl"
			  : strcmp(name, "traction-gatewayd") == 0 ? "gateway"
			  : strncmp(name, "traction-", 9) == 0 ? "services"
							       : "tests/integration";
	snprintf(buf, len, "%s/%s/%s", TRACTION_BUILD_DIR, sub, name);
	return buf;
}

void h_init(harness_t *h, const char *extra)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/trc-it-XXXXXX");
	if (mkdtemp(h->dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(h->extra, sizeof(h->extra), "%s", extra != NULL ? extra : "");
	s_h = h;
	atexit(s_cleanup);
	signal(SIGINT, s_on_signal);
	signal(SIGTERM, s_on_signal);
	signal(SIGALRM, s_on_signal);
	signal(SIGPIPE, SIG_IGN);
	alarm(300); /* a hung test fails rather than hangs CI */
}

static pid_t s_spawn(harness_t *h, const char *name, char *const argv[])
{
	char logpath[400];
	snprintf(logpath, sizeof(logpath), "%s/%s.%d.log", h->dir, name, h->n);
	/* Each daemon logs to a file of its own; a failed test prints them.
	 * The file is opened here: between fork and exec the child may only
	 * make async-signal-safe calls, as the test has threads (ZeroMQ's) that
	 * may hold the malloc or stdio locks at the fork (a child stuck in
	 * freopen was seen). */
	int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		perror(logpath);
		exit(1);
	}
	/* No signal may reach the child while it still runs the test's
	 * handlers (a SIGTERM sent to it before its exec would run the test's
	 * exit handlers in the child: seen, when a test killed a daemon it had
	 * only just forked). Block everything across the fork; the child
	 * restores the defaults before it unblocks. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(logfd, 2);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		execv(argv[0], argv);
		_exit(127);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(logfd);
	if (h->n >= H_MAX_PROCS) {
		fprintf(stderr, "harness: too many processes\n");
		exit(1);
	}
	h->pids[h->n] = pid;
	snprintf(h->names[h->n], sizeof(h->names[h->n]), "%s", name);
	h->n++;
	return pid;
}

static void s_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "harness: cannot write %s\n", path);
		exit(1);
	}
}

/* Tests run side by side: no daemon takes the metrics ports of the set's
 * defaults, unless the test's extra names a [metrics] section itself. */
static const char *s_metrics(const harness_t *h)
{
	return strstr(h->extra, "[metrics]") != NULL ? "" : "[metrics]\nbase_port = 0\n";
}

static void s_write_service_conf(harness_t *h, const char *path, const char *state_dir)
{
	char text[4096];
	snprintf(text, sizeof(text),
		 "[bus]\nclient_endpoint = %s\nservice_endpoint = %s\n"
		 "event_publish_endpoint = %s\nevent_subscribe_endpoint = %s\n"
		 "[store]\nstate_dir = %s\nmap_size_mb = 64\n%s%s",
		 h->client_ep, h->service_ep, h->pub_ep, h->sub_ep, state_dir, s_metrics(h),
		 h->extra);
	s_write(path, text);
}

pid_t h_start_broker(harness_t *h, bool fixed_ports)
{
	char conf[320], epfile[320], text[4096], bin[512];
	snprintf(conf, sizeof(conf), "%s/broker.conf", h->dir);
	snprintf(epfile, sizeof(epfile), "%s/endpoints", h->dir);
	unlink(epfile);
	if (!fixed_ports) {
		snprintf(h->client_ep, sizeof(h->client_ep), "tcp://127.0.0.1:*");
		snprintf(h->service_ep, sizeof(h->service_ep), "tcp://127.0.0.1:*");
		snprintf(h->pub_ep, sizeof(h->pub_ep), "tcp://127.0.0.1:*");
		snprintf(h->sub_ep, sizeof(h->sub_ep), "tcp://127.0.0.1:*");
	}
	snprintf(text, sizeof(text),
		 "[bus]\nclient_endpoint = %s\nservice_endpoint = %s\n"
		 "event_publish_endpoint = %s\nevent_subscribe_endpoint = %s\n"
		 "[broker]\nendpoints_file = %s\nservices = %s\n[store]\nstate_dir = %s/var-broker\n"
		 "%s%s",
		 h->client_ep, h->service_ep, h->pub_ep, h->sub_ep, epfile, H_SET_SERVICES, h->dir,
		 s_metrics(h), h->extra);
	s_write(conf, text);
	char *argv[] = { (char *)h_bin("traction-broker", bin, sizeof(bin)), (char *)"--config",
			 conf, NULL };
	pid_t pid = s_spawn(h, "broker", argv);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(epfile, "r");
		if (f != NULL) {
			char line[256];
			while (fgets(line, sizeof(line), f) != NULL) {
				char key[64], val[128];
				if (sscanf(line, "%63s = %127s", key, val) != 2)
					continue;
				if (strcmp(key, "client_endpoint") == 0)
					snprintf(h->client_ep, sizeof(h->client_ep), "%s", val);
				else if (strcmp(key, "service_endpoint") == 0)
					snprintf(h->service_ep, sizeof(h->service_ep), "%s", val);
				else if (strcmp(key, "event_publish_endpoint") == 0)
					snprintf(h->pub_ep, sizeof(h->pub_ep), "%s", val);
				else if (strcmp(key, "event_subscribe_endpoint") == 0)
					snprintf(h->sub_ep, sizeof(h->sub_ep), "%s", val);
			}
			fclose(f);
			char state[300];
			snprintf(h->conf, sizeof(h->conf), "%s/services.conf", h->dir);
			snprintf(state, sizeof(state), "%s/var", h->dir);
			s_write_service_conf(h, h->conf, state);
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			fprintf(stderr, "harness: the broker exited at start\n");
			exit(1);
		}
		h_sleep_ms(10);
	}
	fprintf(stderr, "harness: the broker did not write %s\n", epfile);
	exit(1);
}

pid_t h_start(harness_t *h, const char *binary, const char *state_name)
{
	char bin[512], conf[400];
	snprintf(conf, sizeof(conf), "%s", h->conf);
	if (state_name != NULL) {
		char state[400];
		snprintf(conf, sizeof(conf), "%s/%s.conf", h->dir, state_name);
		snprintf(state, sizeof(state), "%s/%s", h->dir, state_name);
		s_write_service_conf(h, conf, state);
	}
	char *argv[] = { (char *)h_bin(binary, bin, sizeof(bin)), (char *)"--config", conf, NULL };
	return s_spawn(h, binary, argv);
}

int h_kill(harness_t *h, pid_t pid, int sig)
{
	int status = -1;
	kill(pid, sig);
	if (sig != SIGKILL && sig != SIGTERM && sig != SIGINT)
		return 0;
	waitpid(pid, &status, 0);
	for (int i = 0; i < h->n; i++)
		if (h->pids[i] == pid)
			h->pids[i] = 0;
	return status;
}

traction_client_t *h_client(harness_t *h)
{
	traction_client_t *c = NULL;
	traction_options_t o = { .timeout_ms = 5000, .client_name = "test" };
	if (traction_client_new(&c, h->client_ep, &o) != 0) {
		fprintf(stderr, "harness: cannot connect a client\n");
		exit(1);
	}
	return c;
}

bool h_wait_live(harness_t *h, const char *service, unsigned n, int timeout_ms)
{
	traction_client_t *c = h_client(h);
	traction_client_set_timeout(c, 500);
	bool ok = false;
	for (int waited = 0; waited < timeout_ms && !ok; waited += 20) {
		Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
		Traction__V1__BrokerStatusReply *rep = NULL;
		if (traction_call(c, "broker", "status", &req.base,
				  &traction__v1__broker_status_reply__descriptor,
				  (ProtobufCMessage **)&rep, NULL) == 0) {
			for (size_t i = 0; i < rep->n_services; i++)
				if (strcmp(rep->services[i]->name, service) == 0 &&
				    rep->services[i]->n_instances == n)
					ok = true;
			traction_reply_free(&rep->base);
		}
		if (!ok)
			h_sleep_ms(20);
	}
	traction_client_destroy(&c);
	return ok;
}

static void s_must_call(traction_client_t *c, const char *svc, const char *method,
			const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd)
{
	traction_status_t st;
	int code = -1;
	for (int i = 0; i < 200; i++) {
		ProtobufCMessage *rep = NULL;
		code = traction_call(c, svc, method, req, rd, &rep, &st);
		traction_reply_free(rep);
		if (code != TRACTION__V1__CODE__UNAVAILABLE && code != TRACTION__V1__CODE__DEADLINE_EXCEEDED)
			break;
		h_sleep_ms(25);
	}
	if (code != 0) {
		fprintf(stderr, "harness: %s.%s: %s\n", svc, method, st.message);
		exit(1);
	}
}

void h_catalogue(traction_client_t *c, const char *const *scenarios)
{
	static const char *const def[] = { "weld-line-3", NULL };
	char *caps[] = { (char *)"defect-detection" };
	Traction__V1__Provider p = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderRegisterRequest pr = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
	p.id = (char *)"acme";
	p.name = (char *)"Acme Vision";
	p.kind = TRACTION__V1__PROVIDER_KIND__PROVIDER_AI_COMPANY;
	pr.provider = &p;
	s_must_call(c, "supply", "provider.register", &pr.base,
		    &traction__v1__provider_reply__descriptor);
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyRegisterRequest sr = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
	s.id = (char *)"defect-vision";
	s.provider_id = (char *)"acme";
	s.kind = TRACTION__V1__SUPPLY_KIND__SUPPLY_INDUSTRIAL_ALGORITHM;
	s.name = (char *)"Defect Vision";
	s.capabilities = caps;
	s.n_capabilities = 1;
	s.initial_version = (char *)"1.0";
	sr.supply = &s;
	s_must_call(c, "supply", "register", &sr.base, &traction__v1__supply_reply__descriptor);
	for (const char *const *id = scenarios != NULL ? scenarios : def; *id != NULL; id++) {
		Traction__V1__Scenario sc = TRACTION__V1__SCENARIO__INIT;
		Traction__V1__Demand d = TRACTION__V1__DEMAND__INIT, *dp = &d;
		Traction__V1__ScenarioSubmitRequest req = TRACTION__V1__SCENARIO_SUBMIT_REQUEST__INIT;
		d.capabilities = caps;
		d.n_capabilities = 1;
		sc.id = (char *)*id;
		sc.enterprise = (char *)"Northern Steel";
		sc.domain = TRACTION__V1__DOMAIN__DOMAIN_PRODUCTION;
		sc.name = (char *)"Weld seam inspection";
		sc.demands = &dp;
		sc.n_demands = 1;
		req.scenario = &sc;
		s_must_call(c, "scenario", "submit", &req.base,
			    &traction__v1__scenario_reply__descriptor);
	}
}

void h_wait_feedback_ready(traction_client_t *c, const char *scenario)
{
	char key[96];
	snprintf(key, sizeof(key), "ready-%s", scenario);
	for (int i = 0; i < 400; i++) {
		Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT, *rp = &r;
		Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
		Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
		Traction__V1__PublishReply *rep = NULL;
		traction_status_t st;
		m.name = (char *)"ready";
		m.value = 1;
		r.scenario_id = (char *)scenario;
		r.supply_id = (char *)"defect-vision";
		r.version = (char *)"1.0";
		r.idempotency_key = key;
		r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
		r.metric = &m;
		req.records = &rp;
		req.n_records = 1;
		int code = traction_call(c, "feedback", "publish", &req.base,
					 &traction__v1__publish_reply__descriptor,
					 (ProtobufCMessage **)&rep, &st);
		if (code == 0) {
			code = rep->results[0]->status->code;
			traction_reply_free(&rep->base);
			if (code == 0)
				return;
		}
		h_sleep_ms(25);
	}
	fprintf(stderr, "harness: feedbackd never learned defect-vision@1.0 in %s\n", scenario);
	exit(1);
}

long h_testd_number(traction_client_t *c, const char *service, const char *method)
{
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__KeyValue *rep = NULL;
	traction_status_t st;
	if (traction_call(c, service, method, &req.base, &traction__v1__key_value__descriptor,
			  (ProtobufCMessage **)&rep, &st) != 0)
		return -1;
	long n = atol(rep->value);
	traction_reply_free(&rep->base);
	return n;
}

long h_testd_count(traction_client_t *c, const char *service)
{
	return h_testd_number(c, service, "count");
}

bool h_testd_wait_count(traction_client_t *c, const char *service, long want, int timeout_ms)
{
	long n = -1;
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		n = h_testd_count(c, service);
		if (n == want)
			return true;
		h_sleep_ms(20);
	}
	fprintf(stderr, "%s has %ld keys, expected %ld\n", service, n, want);
	return false;
}

int h_stats(traction_client_t *c, const char *supply, const char *metric,
	    Traction__V1__StatsReply **rep, traction_status_t *st)
{
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	q.supply_id = (char *)supply;
	q.metric = (char *)metric;
	return traction_call(c, "feedback", "stats", &q.base, &traction__v1__stats_reply__descriptor,
			     (ProtobufCMessage **)rep, st);
}

int h_scenario(traction_client_t *c, const char *id, const char *enterprise)
{
	char *caps[] = { (char *)"defect-detection" };
	Traction__V1__Scenario sc = TRACTION__V1__SCENARIO__INIT;
	Traction__V1__Demand d = TRACTION__V1__DEMAND__INIT, *dp = &d;
	Traction__V1__ScenarioSubmitRequest req = TRACTION__V1__SCENARIO_SUBMIT_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	d.capabilities = caps;
	d.n_capabilities = 1;
	sc.id = (char *)id;
	sc.enterprise = (char *)enterprise;
	sc.domain = TRACTION__V1__DOMAIN__DOMAIN_PRODUCTION;
	sc.name = (char *)id;
	sc.demands = &dp;
	sc.n_demands = 1;
	req.scenario = &sc;
	int code = traction_call(c, "scenario", "submit", &req.base,
				 &traction__v1__scenario_reply__descriptor, &rep, &st);
	traction_reply_free(rep);
	return code;
}

/* ---- trc-cutfs ------------------------------------------------------------------- */

static bool s_mounted(const char *mnt)
{
	struct stat a, b;
	char parent[1100];
	snprintf(parent, sizeof(parent), "%s/..", mnt);
	return stat(mnt, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

pid_t h_cutfs_start(harness_t *h, const char *backing, const char *mnt, uint64_t seed)
{
	char bin[512], sseed[32];
	snprintf(sseed, sizeof(sseed), "%llu", (unsigned long long)seed);
	h_bin("trc-cutfs", bin, sizeof(bin));
	char *argv[] = { bin, (char *)backing, (char *)mnt, sseed, NULL };
	pid_t pid = s_spawn(h, "trc-cutfs", argv);
	for (int i = 0; i < 500 && !s_mounted(mnt); i++)
		h_sleep_ms(10);
	if (!s_mounted(mnt)) {
		fprintf(stderr, "harness: trc-cutfs did not mount %s\n", mnt);
		exit(1);
	}
	return pid;
}

void h_cutfs_stop(harness_t *h, pid_t *pid, const char *mnt)
{
	if (*pid > 0) {
		h_kill(h, *pid, SIGKILL);
		*pid = 0;
	}
	if (mnt[0] != '\0')
		umount2(mnt, MNT_DETACH);
}

