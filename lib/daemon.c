/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Arguments, configuration, signals and systemd notification shared by
 * every daemon. See daemon.h.
 */
#include "daemon.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "util.h"

/* Handed over by the build from deploy/traction.conf (lib/CMakeLists.txt). */
const char trc_daemon_set_sections[] = TRACTION_SET_SECTIONS;

/* The --set options, applied over the file at start and at each reload
 * (argv's strings: they live as long as the process). */
#define SET_MAX 16
static const char *s_sets[SET_MAX];
static size_t s_nsets;

/* "section.key=value" as the line "key = value" of [section], on top of
 * cfg. */
static int s_apply_set(trc_config_t *cfg, const char *set, char *err, size_t errlen)
{
	const char *dot = strchr(set, '.'), *eq = strchr(set, '=');
	if (dot == NULL || eq == NULL || dot > eq || dot == set || eq == dot + 1)
		return trc_errf(TRC_ECONFIG, err, errlen,
				"--set %s: expected SECTION.KEY=VALUE", set);
	char *text = NULL;
	int n = asprintf(&text, "[%.*s]\n%.*s = %s\n", (int)(dot - set), set,
			 (int)(eq - dot - 1), dot + 1, eq + 1);
	if (n < 0)
		return trc_errf(TRC_ECONFIG, err, errlen, "--set: out of memory");
	int rc = trc_config_parse(cfg, "--set", text, (size_t)n, err, errlen);
	free(text);
	return rc;
}

/* The file at path, the --set options, and what no key checks alone. */
static int s_config_load(trc_config_t *cfg, const char *path, char *err, size_t errlen)
{
	int rc = trc_config_read(cfg, path, err, errlen);
	for (size_t i = 0; rc == 0 && i < s_nsets; i++)
		rc = s_apply_set(cfg, s_sets[i], err, errlen);
	return rc == 0 ? trc_config_check(cfg, err, errlen) : rc;
}

int trc_daemon_args(int argc, char **argv, const trc_daemon_info_t *info,
		    trc_config_t *cfg, const char **config_path)
{
	size_t nopts;
	const trc_opt_t *table = trc_daemon_opts(&nopts);
	struct option opts[16];
	char letters[32] = "";
	trc_opt_getopt(table, nopts < 15 ? nopts : 15, opts, letters, sizeof(letters));
	const char *path = NULL, *man = NULL;
	bool print = false;
	int c;

	optind = 1;
	s_nsets = 0;
	while ((c = getopt_long(argc, argv, letters, opts, NULL)) != -1) {
		/* the long options without a letter, by name */
		const char *name = c >= 256 ? table[c - 256].name : "";
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			trc_daemon_usage(info, stdout);
			return 1;
		case 'V':
			printf("%s %s\n", info->name, TRACTION_VERSION);
			return 1;
		default:
			if (strcmp(name, "print-config") == 0) {
				print = true;
				break;
			}
			if (strcmp(name, "man") == 0) {
				man = optarg;
				break;
			}
			if (strcmp(name, "set") != 0) {
				trc_daemon_usage(info, stderr);
				return TRC_EINVAL;
			}
			if (s_nsets == SET_MAX) {
				fprintf(stderr, "%s: at most %d --set options\n", info->name, SET_MAX);
				return TRC_EINVAL;
			}
			s_sets[s_nsets++] = optarg;
			break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", info->name, argv[optind]);
		return TRC_EINVAL;
	}
	char err[512];
	if (trc_config_init(cfg, info->config, trc_daemon_set_sections, err, sizeof(err)) != 0 ||
	    s_config_load(cfg, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", info->name, err);
		return TRC_ECONFIG;
	}
	if (print) {
		trc_config_dump(cfg, stdout);
		return 1;
	}
	if (man != NULL) {
		if (trc_daemon_man(info, cfg, man, stdout) == 0)
			return 1;
		fprintf(stderr, "%s: --man page|shared|own\n", info->name);
		return TRC_EINVAL;
	}
	*config_path = path;
	return 0;
}

int trc_daemon_start(int argc, char **argv, const trc_daemon_info_t *info,
		     const char *log_name, trc_config_t *cfg, const char **config_path,
		     int *sigfd)
{
	int rc = trc_daemon_args(argc, argv, info, cfg, config_path);
	if (rc != 0)
		return rc;
	trc_log_init(log_name, (trc_log_level_t)cfg->log_level);
	*sigfd = trc_daemon_signals();
	if (*sigfd < 0) {
		trc_err("cannot set up signal handling");
		return TRC_EIO;
	}
	return 0;
}

int trc_daemon_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	/* A peer vanishing mid-write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int trc_daemon_signal_read(int fd)
{
	return trc_daemon_signal_from(fd, NULL, NULL);
}

int trc_daemon_signal_from(int fd, unsigned *uid, int *pid)
{
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	if (uid != NULL)
		*uid = si.ssi_uid;
	if (pid != NULL)
		*pid = (int)si.ssi_pid;
	return (int)si.ssi_signo;
}

void trc_daemon_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%lu", status, (unsigned long)getpid());
}

void trc_daemon_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

void trc_daemon_reload(const trc_config_t *running, const char *config_path,
		       void (*apply)(void *ud, const trc_config_t *ncfg), void *ud)
{
	/* a configuration is large (its sections' paths): not on the stack */
	trc_config_t *ncfg = malloc(sizeof(*ncfg));
	char err[512];
	trc_daemon_reloading();
	if (ncfg == NULL) {
		trc_err("reload refused, keeping the running configuration: out of memory");
	} else if (trc_config_init(ncfg, running->own, running->others, err, sizeof(err)) != 0 ||
		   s_config_load(ncfg, config_path, err, sizeof(err)) != 0) {
		trc_err("reload refused, keeping the running configuration: %s", err);
	} else {
		trc_log_set_level((trc_log_level_t)ncfg->log_level);
		if (apply != NULL)
			apply(ud, ncfg);
		trc_info("configuration reloaded");
	}
	free(ncfg);
	trc_daemon_ready("reloaded");
}

void trc_daemon_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

static int64_t s_wd_last;

int64_t trc_daemon_watchdog_ms(void)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return (int64_t)(usec / 1000);
}

/* Atomic (relaxed): a test may run two runtimes' loops in one process
 * (tests/integration/test_entries.c), each pinging; a ping too many is
 * harmless. */
void trc_daemon_watchdog(void)
{
	static int64_t interval = -1;
	int64_t iv = __atomic_load_n(&interval, __ATOMIC_RELAXED);
	if (iv < 0) {
		iv = trc_daemon_watchdog_ms();
		__atomic_store_n(&interval, iv, __ATOMIC_RELAXED);
	}
	if (iv == 0)
		return;
	int64_t now = trc_mono_ms();
	if (now - __atomic_load_n(&s_wd_last, __ATOMIC_RELAXED) >= iv / 2) {
		sd_notify(0, "WATCHDOG=1");
		__atomic_store_n(&s_wd_last, now, __ATOMIC_RELAXED);
	}
}

int trc_daemon_state_path(const trc_config_t *cfg, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", cfg->state_dir, name);
	return n < 0 || (size_t)n >= len ? TRC_EINVAL : TRC_OK;
}
