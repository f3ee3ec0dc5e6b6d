/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl backup|verify|restore: online backup of the daemon set, and
 * its restore into fresh state directories (docs/operations.md, "Backup
 * and restore"). The daemons write the copies (backup.* of the daemon
 * block, lib/svc_backup.c; the broker that of its audit log, broker/
 * backup.c) and stream them here: a sandboxed daemon cannot write an
 * arbitrary directory. The manifest says what each copy
 * holds; verify and restore read the copies with lib/storecopy.c, which
 * needs no daemon's table of databases.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "storecopy.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/events.pb-c.h"

#define S_MAX_DAEMONS 32
#define S_MANIFEST "manifest.json"

static int64_t s_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- the cut's checks: shared by backup, verify and restore ------------------ */

static json_int_t s_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *s_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

/* Every consumer's position against its source's head at the cut, as the
 * manifest's daemons say: a copy that has applied events its source's
 * copy lacks would, restored, skip the sequence numbers the source then
 * hands out again. The number of problems (each said on stderr). */
static int s_check_cut(const json_t *daemons)
{
	int bad = 0;
	size_t i, j;
	json_t *d, *e;
	json_array_foreach(daemons, i, d) {
		const char *key;
		json_t *seq;
		json_object_foreach(json_object_get(d, "positions"), key, seq) {
			const json_t *src = NULL;
			json_array_foreach(daemons, j, e)
				if (strcmp(s_str(e, "source"), key) == 0)
					src = e;
			if (src == NULL) {
				ctl_fail("%s consumes source '%s', whose daemon is not in the backup",
					 s_str(d, "daemon"), key);
				bad++;
			} else if (json_integer_value(seq) > s_int(src, "event_head")) {
				ctl_fail("%s has applied %s events up to %lld, past %s's head %lld at "
					 "the cut (copies of different moments?)",
					 s_str(d, "daemon"), key, (long long)json_integer_value(seq),
					 s_str(src, "daemon"), (long long)s_int(src, "event_head"));
				bad++;
			}
		}
	}
	return bad;
}

/* One copy of a backup directory against its manifest entry: its digest
 * first (LMDB trusts its pages: a damaged file is not opened), then what
 * it holds. The number of problems (said on stderr). */
static int s_check_copy(const char *dir, const json_t *d)
{
	char path[4096], hex[TRC_SHA256_HEX];
	uint64_t size = 0;
	const char *name = s_str(d, "daemon");
	snprintf(path, sizeof(path), "%s/%s", dir, s_str(d, "file"));
	int e = trc_storecopy_sha256(path, hex, &size);
	if (e != 0)
		return ctl_fail("%s: %s: %s", name, path, strerror(e));
	if (size != (uint64_t)s_int(d, "size") || strcmp(hex, s_str(d, "sha256")) != 0)
		return ctl_fail("%s: %s is not the copy the manifest names (sha256 %s, %llu bytes; "
				"the manifest says %s, %lld bytes)",
				name, path, hex, (unsigned long long)size, s_str(d, "sha256"),
				(long long)s_int(d, "size"));
	trc_storecopy_info_t info;
	int bad = 0;
	if (trc_storecopy_inspect(path, &info) != 0)
		bad += ctl_fail("%s: %s: %s", name, path, info.why);
	if (bad == 0 && (info.schema_version != s_int(d, "schema_version") ||
			 info.event_head != (uint64_t)s_int(d, "event_head")))
		bad += ctl_fail("%s: holds schema version %u and event head %llu; the manifest says "
				"%lld and %lld",
				name, info.schema_version, (unsigned long long)info.event_head,
				(long long)s_int(d, "schema_version"), (long long)s_int(d, "event_head"));
	const json_t *dbs = json_object_get(d, "databases"), *pos = json_object_get(d, "positions");
	if (bad == 0 && (json_object_size(dbs) != info.ndbs || json_object_size(pos) != info.npos))
		bad += ctl_fail("%s: holds %zu databases and %zu positions; the manifest says %zu and "
				"%zu",
				name, info.ndbs, info.npos, json_object_size(dbs), json_object_size(pos));
	for (size_t i = 0; bad == 0 && i < info.ndbs; i++) {
		const json_t *n = json_object_get(dbs, info.dbs[i].name);
		if (n == NULL || (uint64_t)json_integer_value(n) != info.dbs[i].entries)
			bad += ctl_fail("%s: database '%s' holds %llu records; the manifest says %s",
					name, info.dbs[i].name,
					(unsigned long long)info.dbs[i].entries,
					n != NULL ? "otherwise" : "nothing of it");
	}
	for (size_t i = 0; bad == 0 && i < info.npos; i++) {
		const json_t *n = json_object_get(pos, info.pos[i].source);
		if (n == NULL || (uint64_t)json_integer_value(n) != info.pos[i].seq)
			bad += ctl_fail("%s: has applied %s up to %llu; the manifest says otherwise",
					name, info.pos[i].source,
					(unsigned long long)info.pos[i].seq);
	}
	trc_storecopy_info_free(&info);
	return bad;
}

static json_t *s_load_manifest(const char *dir)
{
	char path[4096];
	json_error_t err;
	snprintf(path, sizeof(path), "%s/%s", dir, S_MANIFEST);
	json_t *m = json_load_file(path, 0, &err);
	if (m == NULL) {
		ctl_fail("%s: %s (line %d)", path, err.text, err.line);
		return NULL;
	}
	if (s_int(m, "format") != 1 || !json_is_array(json_object_get(m, "daemons")) ||
	    json_array_size(json_object_get(m, "daemons")) > S_MAX_DAEMONS) {
		ctl_fail("%s: not a manifest of format 1 this tractionctl reads", path);
		json_decref(m);
		return NULL;
	}
	return m;
}

/* The manifest of dir, every copy checked against it and the cut against
 * itself; NULL (having said why) if anything is wrong. */
static json_t *s_verified(const char *dir, bool quiet)
{
	json_t *m = s_load_manifest(dir);
	if (m == NULL)
		return NULL;
	json_t *daemons = json_object_get(m, "daemons"), *d;
	size_t i;
	int bad = 0;
	json_array_foreach(daemons, i, d) {
		int b = s_check_copy(dir, d);
		if (b == 0 && !quiet)
			printf("ok %-12s %10lld bytes  event_head %lld  sha256 %.16s…\n",
			       s_str(d, "daemon"), (long long)s_int(d, "size"),
			       (long long)s_int(d, "event_head"), s_str(d, "sha256"));
		bad += b;
	}
	bad += s_check_cut(daemons);
	if (bad != 0) {
		ctl_fail("%s: %d problem%s: not a backup to restore", dir, bad, bad == 1 ? "" : "s");
		json_decref(m);
		return NULL;
	}
	return m;
}

/* ---- backup ------------------------------------------------------------------- */

typedef struct {
	char service[64];        /* a name it serves: the one it is asked by */
	bool broker;             /* the broker's audit log, not a daemon's store */
	char program[64];
	uint32_t pid;
	json_t *services;
	Traction__V1__BackupBeginReply *begun;
} daemon_t;

typedef struct {
	daemon_t d[S_MAX_DAEMONS];
	int n;
} set_t;

static int s_fail_call(const char *what, const char *service, const traction_status_t *st)
{
	return ctl_fail("%s %s: %s: %s", what, service, traction_code_name(st->code), st->message);
}

/* The daemons of the set: first the broker the client reached (the store
 * of its audit log, which it answers backup.* for), then every service it
 * knows, by the daemon that answers its ping (one daemon serves iteration
 * and deployment). Every service must have exactly one live instance: a
 * backup of a set with a daemon down would not be the set's. */
static int s_discover(ctl_t *ctl, set_t *set)
{
	daemon_t *own = &set->d[set->n++];
	snprintf(own->service, sizeof(own->service), "broker");
	snprintf(own->program, sizeof(own->program), "traction-broker");
	own->broker = true;
	own->services = json_pack("[s]", "broker");
	traction_status_t st;
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__BrokerStatusReply *rep = NULL;
	if (traction_call(ctl->client, "broker", "status", &req.base,
			  &traction__v1__broker_status_reply__descriptor, (ProtobufCMessage **)&rep,
			  &st) != 0)
		return s_fail_call("status of", "broker", &st);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < rep->n_services; i++) {
		const Traction__V1__ServiceStatus *s = rep->services[i];
		Traction__V1__PingReply *pong = NULL;
		if (s->n_instances != 1) {
			rc = ctl_fail("service %s has %zu live instances: a backup needs exactly one "
				      "of each service",
				      s->name, s->n_instances);
			break;
		}
		if (traction_call(ctl->client, s->name, "ping", &req.base,
				  &traction__v1__ping_reply__descriptor, (ProtobufCMessage **)&pong,
				  &st) != 0) {
			rc = s_fail_call("ping of", s->name, &st);
			break;
		}
		int k = 0;
		while (k < set->n && (strcmp(set->d[k].program, pong->daemon) != 0 ||
				      set->d[k].pid != pong->pid))
			k++;
		if (k == set->n && set->n == S_MAX_DAEMONS)
			rc = ctl_fail("more than %d daemons", S_MAX_DAEMONS);
		if (rc == 0 && k == set->n) {
			daemon_t *d = &set->d[set->n++];
			snprintf(d->service, sizeof(d->service), "%s", s->name);
			snprintf(d->program, sizeof(d->program), "%s", pong->daemon);
			d->pid = pong->pid;
			d->services = json_array();
		}
		if (rc == 0)
			json_array_append_new(set->d[k].services, json_string(s->name));
		traction_reply_free(&pong->base);
	}
	traction_reply_free(&rep->base);
	if (rc == 0 && set->n == 1)
		rc = ctl_fail("the broker knows no service to back up");
	return rc;
}

/* backup.resume or backup.end of each daemon begun (best effort: the
 * lease and the idle time end both anyway). */
static void s_each(ctl_t *ctl, set_t *set, const char *method)
{
	for (int i = 0; i < set->n; i++) {
		if (set->d[i].begun == NULL)
			continue;
		Traction__V1__BackupIdRequest req = TRACTION__V1__BACKUP_ID_REQUEST__INIT;
		Traction__V1__Empty *rep = NULL;
		traction_status_t st;
		req.id = set->d[i].begun->id;
		if (traction_call(ctl->client, set->d[i].service, method, &req.base,
				  &traction__v1__empty__descriptor, (ProtobufCMessage **)&rep, &st) != 0)
			fprintf(stderr, "tractionctl: warning: %s %s: %s: %s\n", method,
				set->d[i].service, traction_code_name(st.code), st.message);
		traction_reply_free(&rep->base);
	}
}

/* The broker's entry (the first) out of the set: it keeps no audit log,
 * or is older than backup.* of the broker (said, not an error: the
 * restored broker then starts its log afresh). */
static void s_without_broker(set_t *set, const traction_status_t *st)
{
	fprintf(stderr, "tractionctl: note: the broker's audit log is not in the backup (%s: %s)\n",
		traction_code_name(st->code), st->message);
	json_decref(set->d[0].services);
	memmove(&set->d[0], &set->d[1], sizeof(set->d[0]) * (size_t)(set->n - 1));
	set->n--;
}

/* The cut: every daemon begun (its writer paused, its cut taken) before
 * any resumes, all within the lease of the first: 0, or 1 having said
 * why (and let go of those begun). The broker's copy, first, pauses
 * nothing: its cut is a read transaction of its own store. */
static int s_cut(ctl_t *ctl, set_t *set, uint32_t lease_ms, uint32_t idle_ms)
{
	int64_t t0 = s_mono_ms();
	for (int i = 0; i < set->n; i++) {
		Traction__V1__BackupBeginRequest req = TRACTION__V1__BACKUP_BEGIN_REQUEST__INIT;
		traction_status_t st;
		req.lease_ms = lease_ms;
		req.idle_ms = idle_ms;
		if (traction_call(ctl->client, set->d[i].service, "backup.begin", &req.base,
				  &traction__v1__backup_begin_reply__descriptor,
				  (ProtobufCMessage **)&set->d[i].begun, &st) != 0) {
			if (set->d[i].broker && (st.code == TRACTION__V1__CODE__NOT_FOUND ||
						 st.code == TRACTION__V1__CODE__UNIMPLEMENTED)) {
				s_without_broker(set, &st);
				i--;
				continue;
			}
			s_fail_call("backup.begin of", set->d[i].service, &st);
			s_each(ctl, set, "backup.end");
			return 1;
		}
	}
	/* Each lease began after t0: while they all hold, no daemon has
	 * committed anything since its cut. The margin covers the clocks'
	 * rates and the last reply's way back. */
	int64_t took = s_mono_ms() - t0;
	if (took + 100 + (int64_t)lease_ms / 10 > (int64_t)lease_ms) {
		s_each(ctl, set, "backup.end");
		return ctl_fail("the cut took %lld ms, too close to the lease of %u ms to be one "
				"cut: nothing kept; try again, or with a longer --lease-ms",
				(long long)took, lease_ms);
	}
	s_each(ctl, set, "backup.resume");
	return 0;
}

static json_t *s_entry(const daemon_t *d, const char *file)
{
	const Traction__V1__BackupBeginReply *b = d->begun;
	json_t *pos = json_object(), *dbs = json_object();
	for (size_t i = 0; i < b->n_positions; i++)
		json_object_set_new(pos, b->positions[i]->source,
				    json_integer((json_int_t)b->positions[i]->applied_seq));
	for (size_t i = 0; i < b->n_databases; i++)
		json_object_set_new(dbs, b->databases[i]->name,
				    json_integer((json_int_t)b->databases[i]->entries));
	return json_pack("{s:s, s:s, s:O, s:s, s:i, s:s, s:I, s:o, s:o, s:I, s:s}", "daemon",
			 b->daemon, "program", b->program, "services", d->services, "version",
			 b->version, "schema_version", (int)b->schema_version, "source", b->source,
			 "event_head", (json_int_t)b->event_head, "positions", pos, "databases", dbs,
			 "cut_ms", (json_int_t)b->cut_ms, "file", file);
}

/* a then b into out: 0, or ENAMETOOLONG if it does not fit. */
static int s_join(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s%s", a, b);
	return n < 0 || (size_t)n >= cap ? ENAMETOOLONG : 0;
}

/* Writes n bytes of p to fd. 0 or errno. */
static int s_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int s_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd >= 0 && fsync(fd) == 0 ? 0 : errno;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* One daemon's copy, read piece by piece into path (through a temporary
 * file, synced), checked against the SHA-256 the daemon gave; its size
 * and digest into e. */
static int s_stream(ctl_t *ctl, const daemon_t *d, const char *path, json_t *e)
{
	char tmp[4200];
	if (s_join(tmp, sizeof(tmp), path, ".part") != 0)
		return ctl_fail("%s: %s", path, strerror(ENAMETOOLONG));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ctl_fail("%s: %s", tmp, strerror(errno));
	uint64_t off = 0, size = UINT64_MAX;
	char sha[TRC_SHA256_HEX] = "";
	int rc = 0;
	while (rc == 0 && off < size) {
		Traction__V1__BackupReadRequest req = TRACTION__V1__BACKUP_READ_REQUEST__INIT;
		Traction__V1__BackupReadReply *rep = NULL;
		traction_status_t st;
		req.id = d->begun->id;
		req.offset = off;
		if (traction_call(ctl->client, d->service, "backup.read", &req.base,
				  &traction__v1__backup_read_reply__descriptor,
				  (ProtobufCMessage **)&rep, &st) != 0) {
			rc = s_fail_call("backup.read of", d->service, &st);
			break;
		}
		if (!rep->ready) {
			traction_reply_free(&rep->base);
			s_sleep_ms(20);
			continue;
		}
		size = rep->size;
		snprintf(sha, sizeof(sha), "%s", rep->sha256);
		if (rep->data.len == 0 && off < size)
			rc = ctl_fail("%s: the copy ended at %llu of %llu bytes", d->service,
				      (unsigned long long)off, (unsigned long long)size);
		int w = rc == 0 ? s_write_all(fd, rep->data.data, rep->data.len) : 0;
		if (w != 0)
			rc = ctl_fail("%s: %s", tmp, strerror(w));
		off += rep->data.len;
		traction_reply_free(&rep->base);
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = ctl_fail("%s: %s", tmp, strerror(errno));
	close(fd);
	char got[TRC_SHA256_HEX];
	uint64_t got_size = 0;
	if (rc == 0 && (trc_storecopy_sha256(tmp, got, &got_size) != 0 || strcmp(got, sha) != 0 ||
			got_size != size))
		rc = ctl_fail("%s: the copy received is not the one sent (sha256 %s, the daemon "
			      "says %s)",
			      d->service, got, sha);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = ctl_fail("%s: %s", path, strerror(errno));
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	json_object_set_new(e, "size", json_integer((json_int_t)size));
	json_object_set_new(e, "sha256", json_string(sha));
	return 0;
}

/* An empty directory to write into (made if it is not there). */
static int s_empty_dir(const char *dir)
{
	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		return ctl_fail("%s: %s", dir, strerror(errno));
	DIR *dd = opendir(dir);
	if (dd == NULL)
		return ctl_fail("%s: %s", dir, strerror(errno));
	struct dirent *de;
	int n = 0;
	while ((de = readdir(dd)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(dd);
	return n == 0 ? 0 : ctl_fail("%s is not empty", dir);
}

static int s_write_manifest(const char *dir, json_t *m)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, S_MANIFEST);
	snprintf(tmp, sizeof(tmp), "%s.part", path);
	if (json_dump_file(m, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
		return ctl_fail("%s: cannot write it", tmp);
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);
	int rc = fd >= 0 && fsync(fd) == 0 ? 0 : errno;
	if (fd >= 0)
		close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = errno;
	if (rc == 0)
		rc = s_sync_dir(dir);
	return rc == 0 ? 0 : ctl_fail("%s: %s", path, strerror(rc));
}

/* Every copy streamed into dir/<daemon>/data.mdb, each dropped at its
 * daemon once it is here; the manifest's daemons into m. */
static int s_stream_all(ctl_t *ctl, set_t *set, const char *dir, json_t *daemons)
{
	for (int i = 0; i < set->n; i++) {
		daemon_t *d = &set->d[i];
		char sub[4096], file[200], path[4200];
		snprintf(sub, sizeof(sub), "%s/%s", dir, d->begun->daemon);
		snprintf(file, sizeof(file), "%s/data.mdb", d->begun->daemon);
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		if (mkdir(sub, 0750) != 0)
			return ctl_fail("%s: %s", sub, strerror(errno));
		json_t *e = json_array_get(daemons, (size_t)i);
		if (s_stream(ctl, d, path, e) != 0 || s_sync_dir(sub) != 0)
			return 1;
		Traction__V1__BackupIdRequest req = TRACTION__V1__BACKUP_ID_REQUEST__INIT;
		Traction__V1__Empty *rep = NULL;
		traction_status_t st;
		req.id = d->begun->id;
		if (traction_call(ctl->client, d->service, "backup.end", &req.base,
				  &traction__v1__empty__descriptor, (ProtobufCMessage **)&rep, &st) == 0)
			traction_reply_free(&rep->base);
		traction_reply_free(&d->begun->base);
		d->begun = NULL; /* ended */
	}
	return 0;
}

static int cmd_backup(ctl_t *ctl, args_t *a)
{
	const char *dir = a->pos[0];
	uint32_t lease_ms = 5000, idle_ms = 60000;
	if (ctl_arg_u32(a, "lease-ms", &lease_ms) != 0 || ctl_arg_u32(a, "idle-ms", &idle_ms) != 0)
		return 1;
	if (lease_ms < 500 || lease_ms > 60000)
		return ctl_fail("--lease-ms: %u is not within 500 and 60000", lease_ms);
	set_t set = { .n = 0 };
	int rc = s_empty_dir(dir);
	if (rc == 0)
		rc = s_discover(ctl, &set);
	if (rc == 0)
		rc = s_cut(ctl, &set, lease_ms, idle_ms);
	json_t *m = NULL;
	if (rc == 0) {
		json_t *daemons = json_array();
		for (int i = 0; i < set.n; i++) {
			char file[200];
			snprintf(file, sizeof(file), "%s/data.mdb", set.d[i].begun->daemon);
			json_array_append_new(daemons, s_entry(&set.d[i], file));
		}
		m = json_pack("{s:i, s:s, s:I, s:s, s:i, s:o}", "format", 1, "traction_version",
			      TRACTION_VERSION, "time_ms", (json_int_t)set.d[0].begun->cut_ms,
			      "broker", ctl->endpoint, "lease_ms", (int)lease_ms, "daemons", daemons);
		/* the daemons took it paused: a consumer past its source here is a bug */
		if (s_check_cut(daemons) != 0)
			rc = ctl_fail("the cut is not consistent: nothing kept");
		if (rc == 0)
			rc = s_stream_all(ctl, &set, dir, daemons);
	}
	if (rc != 0)
		s_each(ctl, &set, "backup.end");
	if (rc == 0)
		rc = s_write_manifest(dir, m);
	if (rc == 0 && ctl->json)
		ctl_print_json(json_incref(m));
	else if (rc == 0)
		printf("backup of %d daemons in %s (%s)\n", set.n, dir, S_MANIFEST);
	json_decref(m);
	for (int i = 0; i < set.n; i++) {
		json_decref(set.d[i].services);
		traction_reply_free(set.d[i].begun != NULL ? &set.d[i].begun->base : NULL);
	}
	return rc;
}

/* ---- verify and restore --------------------------------------------------------- */

static int cmd_verify(ctl_t *ctl, args_t *a)
{
	json_t *m = s_verified(a->pos[0], ctl->json);
	if (m == NULL)
		return 1;
	if (ctl->json)
		ctl_print_json(json_pack("{s:b, s:O}", "ok", 1, "daemons",
					 json_object_get(m, "daemons")));
	json_decref(m);
	return 0;
}

/* Copies the file src to dst (through a temporary file, synced). */
static int s_copy_file(const char *src, const char *dst)
{
	char tmp[4200];
	if (s_join(tmp, sizeof(tmp), dst, ".part") != 0)
		return ENAMETOOLONG;
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = in >= 0 ? open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640) : -1;
	int rc = in < 0 || out < 0 ? errno : 0;
	static uint8_t buf[1 << 16];
	while (rc == 0) {
		ssize_t r = read(in, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? errno : 0;
			break;
		}
		rc = s_write_all(out, buf, (size_t)r);
	}
	if (rc == 0 && fsync(out) != 0)
		rc = errno;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc == 0 && rename(tmp, dst) != 0)
		rc = errno;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static int cmd_restore(ctl_t *ctl, args_t *a)
{
	const char *dir = a->pos[0], *state = arg_req(a, "state-dir");
	if (state == NULL)
		return 1;
	json_t *m = s_verified(dir, true);
	if (m == NULL)
		return 1;
	json_t *daemons = json_object_get(m, "daemons"), *d;
	size_t i;
	char target[4096], src[4200], dst[4200];
	int rc = mkdir(state, 0750) != 0 && errno != EEXIST ? ctl_fail("%s: %s", state,
								      strerror(errno))
							     : 0;
	/* every target checked before anything is written: all or nothing */
	json_array_foreach(daemons, i, d) {
		snprintf(target, sizeof(target), "%s/%s", state, s_str(d, "daemon"));
		if (rc == 0 && access(target, F_OK) == 0 && s_empty_dir(target) != 0)
			rc = ctl_fail("refusing to restore into %s: a restore makes fresh state "
				      "directories", target);
	}
	json_array_foreach(daemons, i, d) {
		if (rc != 0)
			break;
		snprintf(target, sizeof(target), "%s/%s", state, s_str(d, "daemon"));
		snprintf(src, sizeof(src), "%s/%s", dir, s_str(d, "file"));
		snprintf(dst, sizeof(dst), "%s/data.mdb", target);
		int e = mkdir(target, 0750) != 0 && errno != EEXIST ? errno : 0;
		if (e == 0)
			e = s_copy_file(src, dst);
		if (e == 0)
			e = s_sync_dir(target);
		if (e != 0)
			rc = ctl_fail("%s: %s", dst, strerror(e));
		else if ((e = ctl_audit_restore(target, dir, s_int(m, "time_ms"))) != 0)
			rc = ctl_fail("%s: the restore's audit entry: %s", target, mdb_strerror(e));
		else if (!ctl->json)
			printf("restored %-12s into %s (event_head %lld)\n", s_str(d, "daemon"), target,
			       (long long)s_int(d, "event_head"));
	}
	if (rc == 0)
		rc = s_sync_dir(state) != 0 ? ctl_fail("%s: %s", state, strerror(errno)) : 0;
	/* A restore is an administrative act: in each restored store's audit
	 * log (s_audit_restore), and said to the system log (the journal). */
	openlog("tractionctl", LOG_PID, LOG_AUTHPRIV);
	char taken[40];
	syslog(rc == 0 ? LOG_NOTICE : LOG_WARNING, "restore of %s (taken %s) into %s by uid %u: %s",
	       dir, ctl_when(s_int(m, "time_ms"), taken, sizeof(taken)), state, (unsigned)getuid(),
	       rc == 0 ? "done" : "failed");
	closelog();
	if (rc == 0 && ctl->json)
		ctl_print_json(json_pack("{s:b, s:s, s:O}", "ok", 1, "state_dir", state, "daemons",
					 daemons));
	json_decref(m);
	return rc;
}

const cmd_t ctl_backup_cmds[] = {
	{ "backup", NULL, cmd_backup, "lease-ms,idle-ms", 1, 1,
	  "backup DIR [--lease-ms MS] [--idle-ms MS]",
	  "Back up every daemon of the set, online, into the empty directory DIR: one cut\n"
	  "(each daemon's writes paused, at most --lease-ms, default 5000, while every daemon\n"
	  "takes it), then each daemon's compacted copy streamed into DIR/<daemon>/data.mdb\n"
	  "with the broker's audit log (the broker reached) in DIR/broker/data.mdb, and\n"
	  "DIR/manifest.json written last (sizes, SHA-256, event heads, positions).\n"
	  "Needs the admin role (docs/operations.md, \"Backup and restore\").",
	  "tractionctl backup /srv/backup/traction-$(date +%F)" },
	{ "verify", NULL, cmd_verify, "", 1, 1, "verify DIR",
	  "Check a backup: each copy's SHA-256 and size against the manifest, then that it\n"
	  "opens as an LMDB store holding what the manifest says (databases, records, schema\n"
	  "version, event head, positions), and that no consumer is past its source's head.",
	  "tractionctl verify /srv/backup/traction-2026-12-01" },
	{ "restore", NULL, cmd_restore, "state-dir", 1, 1, "restore DIR --state-dir PATH",
	  "Restore a verified backup, offline (the daemons stopped), into fresh state\n"
	  "directories PATH/<daemon>/: refuses a directory that is not empty, and a backup\n"
	  "in which a consumer has applied events past its source's head.",
	  "tractionctl restore /srv/backup/traction-2026-12-01 --state-dir /var/lib/traction" },
};
const int ctl_n_backup_cmds = sizeof(ctl_backup_cmds) / sizeof(ctl_backup_cmds[0]);
