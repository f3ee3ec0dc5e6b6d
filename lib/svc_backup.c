/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Online backup, the daemon's part (docs/operations.md, "Backup and
 * restore"; the methods backup.begin, .resume, .read, .end of the daemon
 * block). One backup at a time:
 *
 *   begin   waits for a commit under way to end, pauses the writer under a
 *           lease (no batch starts; reads go on, writes queue in the loop
 *           as behind a long commit), opens the read transaction that is
 *           the cut, and starts a thread copying the store as the cut sees
 *           it into a file of its state directory (storecopy.h);
 *   resume  lets the writer go on (the lease's end does too: a client
 *           that dies never leaves writes paused);
 *   read    the copy, a piece at a time, with its size and SHA-256;
 *   end     drops the copy (so does an idle time with no read).
 *
 * Why the writer stays paused after the cut: the daemons consume each
 * other's events, and a client that begins every daemon of the set before
 * it resumes any gets cuts that agree: a consumer is paused from before
 * any source's cut until after its own, so it cannot have applied an
 * event its source's copy lacks. The handlers run on the loop thread (as
 * reads), so the pause needs no lock: the loop is the one that hands the
 * writer its batches (svc_turn_end asks svc_backup_paused).
 */
#include "service_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "storecopy.h"

#define S_LEASE_MS 5000u
#define S_LEASE_MAX_MS 60000u
#define S_IDLE_MS 60000u
#define S_IDLE_MAX_MS 3600000u
/* How long begin waits for a commit under way: the loop stands still
 * meanwhile, so well under the broker's heartbeat liveness. */
#define S_COMMIT_WAIT_MS 2000

typedef struct svc_backup {
	bool active;             /* a copy exists or is being written */
	char id[24];
	char path[TRC_CONFIG_PATH + 128];
	int64_t pause_until;     /* monotonic ms; 0: the writer is not held */
	int64_t paused_at;
	int64_t idle_ms;
	int64_t last_read;       /* monotonic ms */
	bool ending;             /* ended (or idle) while still being written */
	trc_txn_t cut;           /* the thread's until it is done */
	pthread_t thread;
	bool thread_started;
	int cancel;              /* atomic: the thread stops early */
	int done;                /* atomic: the thread has finished */
	int rc;                  /* its outcome, once done */
	int fd;                  /* the copy, open for reading once done */
	uint64_t size;
	char sha256[TRC_SHA256_HEX];
	int64_t started_us;
} svc_backup_t;

/* ---- the copy ------------------------------------------------------------------ */

static void *s_copy_thread(void *arg)
{
	svc_backup_t *b = arg;
	int rc = trc_store_copy(&b->cut, b->path, &b->cancel);
	/* the cut's snapshot is held no longer than the copy needs it: while
	 * it is, LMDB cannot reuse the pages later commits free */
	trc_txn_abort(&b->cut);
	if (rc == 0) {
		int e = trc_storecopy_sha256(b->path, b->sha256, &b->size);
		rc = e != 0 ? trc_err_from_errno(e) : 0;
	}
	if (rc == 0) {
		b->fd = open(b->path, O_RDONLY | O_CLOEXEC);
		if (b->fd < 0)
			rc = trc_err_from_errno(errno);
	}
	b->rc = rc;
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool s_copy_done(const svc_backup_t *b)
{
	return !b->thread_started || __atomic_load_n(&b->done, __ATOMIC_ACQUIRE);
}

/* The copy's thread joined (stopped early if it still runs) and its file
 * removed: no backup is under way any more. */
static void s_drop(svc_backup_t *b, const char *why)
{
	if (b->thread_started) {
		__atomic_store_n(&b->cancel, 1, __ATOMIC_RELAXED);
		pthread_join(b->thread, NULL);
		b->thread_started = false;
	}
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	if (b->path[0] != '\0')
		(void)unlink(b->path);
	if (b->active)
		trc_notice("backup %s: copy dropped (%s)", b->id, why);
	b->active = false;
	b->ending = false;
	b->pause_until = 0;
	b->path[0] = '\0';
}

int svc_backup_open(trc_service_t *svc)
{
	svc_backup_t *b = calloc(1, sizeof(*b));
	if (b == NULL || sodium_init() < 0) {
		free(b);
		return TRC_ENOMEM;
	}
	b->fd = -1;
	svc->backup = b;
	trc_store_copy_leftovers(svc->state_path);
	return 0;
}

void svc_backup_close(trc_service_t *svc)
{
	if (svc->backup == NULL)
		return;
	s_drop(svc->backup, "stopping");
	free(svc->backup);
	svc->backup = NULL;
}

/* ---- the pause ----------------------------------------------------------------- */

bool svc_backup_paused(trc_service_t *svc)
{
	svc_backup_t *b = svc->backup;
	if (b == NULL || b->pause_until == 0)
		return false;
	int64_t now = trc_mono_ms();
	if (now < b->pause_until)
		return true;
	trc_warn("backup %s: the lease ran out (%lld ms) before backup.resume: writes go on", b->id,
		 (long long)(now - b->paused_at));
	b->pause_until = 0;
	return false;
}

int64_t svc_backup_next(const trc_service_t *svc, int64_t next)
{
	const svc_backup_t *b = svc->backup;
	if (b == NULL || !b->active)
		return next;
	if (b->pause_until != 0 && b->pause_until < next)
		next = b->pause_until;
	int64_t idle = b->last_read + b->idle_ms;
	if (idle < next)
		next = idle;
	if (b->ending && next > trc_mono_ms() + 100)
		next = trc_mono_ms() + 100; /* look again for the thread's end */
	return next;
}

void svc_backup_timers(trc_service_t *svc, int64_t now)
{
	svc_backup_t *b = svc->backup;
	if (b == NULL || !b->active)
		return;
	(void)svc_backup_paused(svc); /* logs a lease that ran out */
	if (b->ending && s_copy_done(b))
		s_drop(b, "ended");
	else if (now >= b->last_read + b->idle_ms) {
		b->ending = true; /* dropped once its thread is done */
		b->last_read = now;
		trc_warn("backup %s: no backup.read for %lld ms: dropping the copy", b->id,
			 (long long)b->idle_ms);
		__atomic_store_n(&b->cancel, 1, __ATOMIC_RELAXED);
	}
}

/* Whether no commit is under way: the writer has no batch, or finished it
 * (waited for, up to S_COMMIT_WAIT_MS; the loop settles it later, as
 * usual). A batch the loop writes itself never is under way here: the
 * handlers run on the loop between its commits. */
static bool s_writer_idle(trc_service_t *svc)
{
	int64_t until = trc_mono_ms() + S_COMMIT_WAIT_MS;
	while (svc->run != NULL && __atomic_load_n(&svc->done, __ATOMIC_ACQUIRE) == NULL) {
		int64_t left = until - trc_mono_ms();
		if (left <= 0)
			return false;
		/* the eventfd is read by the loop only: polling leaves it set */
		struct pollfd pfd = { svc->done_fd, POLLIN, 0 };
		(void)poll(&pfd, 1, (int)(left < 50 ? left : 50));
	}
	return true;
}

/* ---- the methods ----------------------------------------------------------------- */

static uint32_t s_clamp(uint32_t v, uint32_t dflt, uint32_t max)
{
	return v == 0 ? dflt : v > max ? max : v;
}

/* What the cut holds, into the reply: the event head, each position, each
 * database's entries. */
static int s_describe_cut(trc_service_t *svc, trc_call_t *call, trc_txn_t *cut,
			  Traction__V1__BackupBeginReply *rep)
{
	trc_store_t *st = svc->store;
	rep->event_head = svc->evlog != NULL ? trc_evlog_head(cut) : 0;
	if (trc_call_backup_databases(call, cut, &rep->base) != 0)
		return TRC_ENOMEM;
	trc_iter_t it;
	const trc_db_t *posdb = trc_store_sysdb(st, TRC_SYSDB_POSITIONS);
	size_t npos = 0;
	(void)trc_txn_entries(cut, posdb, &npos);
	rep->positions = trc_arena_alloc(call->arena, (npos + 1) * sizeof(void *));
	if (rep->positions == NULL || trc_iter_begin(cut, posdb, &it, NULL, 0, NULL, 0, false) != 0)
		return cut->err != 0 ? cut->err : TRC_ENOMEM;
	int rc = 0;
	while (rc == 0 && trc_iter_next(&it) && rep->n_positions < npos) {
		Traction__V1__EventPosition *p = trc_arena_alloc(call->arena, sizeof(*p));
		char *src = trc_arena_alloc(call->arena, it.key.mv_size + 1);
		/* a begin that fails must not pause: every failure before it says so */
		rc = p == NULL || src == NULL ? TRC_ENOMEM : it.val.mv_size != 8 ? TRC_ECORRUPT : 0;
		if (rc != 0)
			break;
		traction__v1__event_position__init(p);
		memcpy(src, it.key.mv_data, it.key.mv_size);
		src[it.key.mv_size] = '\0';
		p->source = src;
		p->applied_seq = trc_be64_get(it.val.mv_data);
		rep->positions[rep->n_positions++] = p;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : cut->err;
}

static void s_new_id(char *id, size_t len)
{
	unsigned char raw[8];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(id, len, raw, sizeof(raw));
}

int svc_backup_begin(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	trc_service_t *svc = call->user;
	svc_backup_t *b = svc->backup;
	const Traction__V1__BackupBeginRequest *req =
		(const Traction__V1__BackupBeginRequest *)req_;
	Traction__V1__BackupBeginReply *rep = (Traction__V1__BackupBeginReply *)rep_;
	if (b->active)
		return trc_call_fail(call, TRC_EPRECOND,
				     "backup %s is under way: backup.end it, or it is dropped "
				     "%lld ms after its last backup.read",
				     b->id, (long long)b->idle_ms);
	if (svc->stopping)
		return trc_call_fail(call, TRC_ESTOPPED, "stopping");
	if (!s_writer_idle(svc))
		return trc_call_fail(call, TRC_EUNAVAIL,
				     "a commit has been under way for %d ms: no cut now; try again",
				     S_COMMIT_WAIT_MS);
	/* no batch has started since the writer's last commit: this read
	 * transaction is the store as every reply acknowledged so far left it */
	int rc = trc_txn_begin(svc->store, &b->cut, false);
	if (rc == 0)
		rc = s_describe_cut(svc, call, &b->cut, rep);
	if (rc != 0) {
		trc_txn_abort(&b->cut);
		return trc_call_fail(call, rc, "cannot take the cut: %s", trc_strerror(rc));
	}
	s_new_id(b->id, sizeof(b->id));
	snprintf(b->path, sizeof(b->path), "%s/%s%s.mdb", svc->state_path, TRC_STORE_COPY_PREFIX, b->id);
	uint32_t lease = s_clamp(req->lease_ms, S_LEASE_MS, S_LEASE_MAX_MS);
	b->idle_ms = s_clamp(req->idle_ms, S_IDLE_MS, S_IDLE_MAX_MS);
	b->paused_at = b->last_read = trc_mono_ms();
	b->pause_until = b->paused_at + lease;
	b->cancel = b->done = 0;
	b->rc = 0;
	b->fd = -1;
	b->started_us = svc_now_us();
	if (pthread_create(&b->thread, NULL, s_copy_thread, b) != 0) {
		trc_txn_abort(&b->cut);
		b->pause_until = 0;
		return trc_call_fail(call, TRC_ENOMEM, "cannot start the copy's thread");
	}
	b->thread_started = true;
	b->active = true;
	rep->id = b->id;
	rep->daemon = (char *)svc->def->daemon;
	rep->program = (char *)svc->def->program;
	rep->version = (char *)TRACTION_VERSION;
	rep->schema_version = svc->def->schema_version;
	rep->source = (char *)(svc->def->event_source != NULL ? svc->def->event_source : "");
	rep->cut_ms = call->now_ms;
	rep->lease_ms = lease;
	/* audit: the audit log takes this line when it lands (issue #28) */
	trc_notice("backup %s begun by client=%s: cut at event_head=%llu, writes paused for at "
		   "most %u ms",
		   b->id, call->client_id, (unsigned long long)rep->event_head, lease);
	return 0;
}

/* The backup that id names, or a failed call. */
static svc_backup_t *s_named(trc_call_t *call, const char *id)
{
	trc_service_t *svc = call->user;
	svc_backup_t *b = svc->backup;
	if (b->active && !b->ending && id != NULL && strcmp(id, b->id) == 0)
		return b;
	trc_call_fail(call, TRC_ENOENT, "no backup '%s' under way here",
		      id != NULL ? id : "");
	return NULL;
}

static void s_resume(svc_backup_t *b, const char *why)
{
	if (b->pause_until == 0)
		return;
	trc_notice("backup %s: writes go on after %lld ms (%s)", b->id,
		   (long long)(trc_mono_ms() - b->paused_at), why);
	b->pause_until = 0;
}

int svc_backup_resume(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	(void)rep;
	svc_backup_t *b = s_named(call, ((const Traction__V1__BackupIdRequest *)req)->id);
	if (b != NULL)
		s_resume(b, "backup.resume");
	return b != NULL ? 0 : TRC_ENOENT;
}

int svc_backup_read(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep)
{
	trc_service_t *svc = call->user;
	const Traction__V1__BackupReadRequest *req = (const Traction__V1__BackupReadRequest *)req_;
	svc_backup_t *b = s_named(call, req->id);
	if (b == NULL)
		return TRC_ENOENT;
	b->last_read = trc_mono_ms();
	if (!s_copy_done(b))
		return 0; /* not ready: ask again */
	if (b->rc != 0)
		return trc_call_fail(call, b->rc, "the copy failed: %s", trc_strerror(b->rc));
	if (!b->ending && b->size > 0 && b->started_us != 0) {
		trc_info("backup %s: copy of %llu bytes written in %lld ms, sha256 %s", b->id,
			 (unsigned long long)b->size,
			 (long long)((svc_now_us() - b->started_us) / 1000), b->sha256);
		b->started_us = 0;
	}
	return trc_call_backup_read(call, b->fd, b->size, b->sha256, svc->cfg.max_message_kb,
				    req_, rep);
}

int trc_call_backup_databases(trc_call_t *call, trc_txn_t *cut, ProtobufCMessage *rep_)
{
	Traction__V1__BackupBeginReply *rep = (Traction__V1__BackupBeginReply *)rep_;
	const trc_store_t *st = cut->store;
	size_t n = trc_store_count(st);
	rep->databases = trc_arena_alloc(call->arena, (n + 1) * sizeof(void *));
	if (rep->databases == NULL)
		return TRC_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		Traction__V1__BackupDatabase *d = trc_arena_alloc(call->arena, sizeof(*d));
		size_t entries = 0;
		if (d == NULL)
			return TRC_ENOMEM;
		traction__v1__backup_database__init(d);
		d->name = (char *)trc_db_name(trc_store_nth(st, i));
		(void)trc_txn_entries(cut, trc_store_nth(st, i), &entries);
		d->entries = entries;
		rep->databases[rep->n_databases++] = d;
	}
	return 0;
}

int trc_call_backup_read(trc_call_t *call, int fd, uint64_t size, const char *sha256,
			 unsigned max_message_kb, const ProtobufCMessage *req_,
			 ProtobufCMessage *rep_)
{
	const Traction__V1__BackupReadRequest *req = (const Traction__V1__BackupReadRequest *)req_;
	Traction__V1__BackupReadReply *rep = (Traction__V1__BackupReadReply *)rep_;
	rep->ready = true;
	rep->size = size;
	rep->sha256 = (char *)sha256;
	size_t max = (size_t)max_message_kb * 512;
	if (req->max > 0 && req->max < max)
		max = req->max;
	if (req->offset >= size)
		return 0;
	if (size - req->offset < max)
		max = (size_t)(size - req->offset);
	uint8_t *buf = trc_arena_alloc(call->arena, max);
	if (buf == NULL)
		return TRC_ENOMEM;
	ssize_t r;
	while ((r = pread(fd, buf, max, (off_t)req->offset)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return trc_call_fail(call, trc_err_from_errno(errno), "cannot read the copy: %s",
				     strerror(errno));
	rep->data.data = buf;
	rep->data.len = (size_t)r;
	return 0;
}

int svc_backup_end(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	(void)rep;
	svc_backup_t *b = s_named(call, ((const Traction__V1__BackupIdRequest *)req)->id);
	if (b == NULL)
		return TRC_ENOENT;
	s_resume(b, "backup.end");
	if (s_copy_done(b)) {
		s_drop(b, "backup.end");
		return 0;
	}
	/* still being written: stopped, and dropped by the timers once done,
	 * not waited for here, on the loop */
	__atomic_store_n(&b->cancel, 1, __ATOMIC_RELAXED);
	b->ending = true;
	return 0;
}
