/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's audit log in an online backup (docs/operations.md, "Backup
 * and restore"): the broker answers backup.begin, .resume, .read and .end
 * of its own service "broker" for its store (state_dir/broker, keyaudit.c)
 * with the daemons' messages, so tractionctl streams the broker's copy as
 * it streams a daemon's (a sandboxed broker's state directory is not the
 * client's to read).
 *
 * The store takes no consumer positions and its writes are the broker's
 * own (a key change, between two turns of the loop), so the cut is only
 * a read transaction, and nothing is paused: resume has nothing to let
 * go. The store is small (a few hundred bytes an entry), so begin writes
 * the copy at once, on the loop (lib/storecopy.c, as a daemon's thread
 * does), rather than on a thread of its own. One copy at a time; it is
 * dropped by backup.end, by a begin after idle_ms with no backup.read, at
 * the broker's stop, and, left by a crash, at its next start.
 */
#include "broker_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "call.h"
#include "error.h"
#include "log.h"
#include "storecopy.h"
#include "util.h"

#define S_IDLE_MS 60000u
#define S_IDLE_MAX_MS 3600000u

struct broker_backup {
	char dir[TRC_CONFIG_PATH + 16]; /* the store's state directory */
	bool active;
	char id[24];
	char path[TRC_CONFIG_PATH + 128];
	int fd;
	uint64_t size;
	char sha256[TRC_SHA256_HEX];
	int64_t last_read; /* monotonic ms */
	int64_t idle_ms;
};

int broker_backup_open(trc_broker_t *b, const char *dir)
{
	if ((b->backup = calloc(1, sizeof(*b->backup))) == NULL)
		return TRC_ENOMEM;
	snprintf(b->backup->dir, sizeof(b->backup->dir), "%s", dir);
	b->backup->fd = -1;
	trc_store_copy_leftovers(dir);
	return 0;
}

static void s_drop(broker_backup_t *k, const char *why)
{
	if (!k->active)
		return;
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	(void)unlink(k->path);
	k->active = false;
	trc_notice("backup %s of the broker's audit log: copy dropped (%s)", k->id, why);
}

void broker_backup_close(trc_broker_t *b)
{
	if (b->backup == NULL)
		return;
	s_drop(b->backup, "stopping");
	free(b->backup);
	b->backup = NULL;
}

/* The copy of the store as the read transaction cut sees it, written,
 * digested and opened for reading; its databases into rep. */
static int s_copy(trc_broker_t *b, trc_call_t *call, trc_txn_t *cut,
		  Traction__V1__BackupBeginReply *rep)
{
	broker_backup_t *k = b->backup;
	if (trc_call_backup_databases(call, cut, &rep->base) != 0)
		return TRC_ENOMEM;
	int rc = cut->err != 0 ? cut->err : trc_store_copy(cut, k->path, NULL);
	if (rc == 0) {
		int e = trc_storecopy_sha256(k->path, k->sha256, &k->size);
		if (e == 0 && (k->fd = open(k->path, O_RDONLY | O_CLOEXEC)) < 0)
			e = errno;
		rc = e != 0 ? trc_err_from_errno(e) : 0;
	}
	return rc;
}

static int s_begin(trc_broker_t *b, const ProtobufCMessage *req_, const broker_caller_t *who,
		   ProtobufCMessage *rep_, trc_call_t *call)
{
	const Traction__V1__BackupBeginRequest *req =
		(const Traction__V1__BackupBeginRequest *)req_;
	Traction__V1__BackupBeginReply *rep = (Traction__V1__BackupBeginReply *)rep_;
	broker_backup_t *k = b->backup;
	if (b->audit == NULL || k == NULL)
		return trc_call_fail(call, TRC_ENOENT,
				     "%s keeps no audit log (no keys in force, or no state_dir): "
				     "nothing to back up",
				     b->name);
	int64_t now = trc_mono_ms();
	if (k->active && now < k->last_read + k->idle_ms)
		return trc_call_fail(call, TRC_EPRECOND,
				     "backup %s is under way: backup.end it, or it is dropped "
				     "%lld ms after its last backup.read",
				     k->id, (long long)k->idle_ms);
	s_drop(k, "idle");
	unsigned char raw[8];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(k->id, sizeof(k->id), raw, sizeof(raw));
	snprintf(k->path, sizeof(k->path), "%s/%s%s.mdb", k->dir, TRC_STORE_COPY_PREFIX, k->id);
	k->idle_ms = req->idle_ms == 0 ? S_IDLE_MS
					: req->idle_ms > S_IDLE_MAX_MS ? S_IDLE_MAX_MS : req->idle_ms;
	k->last_read = now;
	k->active = true;
	trc_txn_t cut;
	int rc = trc_txn_begin(b->audit, &cut, false);
	if (rc == 0) {
		rc = s_copy(b, call, &cut, rep);
		trc_txn_abort(&cut);
	}
	if (rc != 0) {
		s_drop(k, "failed");
		return trc_call_fail(call, rc, "cannot copy %s's audit log: %s", b->name,
				     trc_strerror(rc));
	}
	rep->id = k->id;
	rep->daemon = b->name;
	rep->program = (char *)"traction-broker";
	rep->version = (char *)TRACTION_VERSION;
	rep->schema_version = BROKER_SCHEMA;
	rep->source = (char *)"";
	rep->cut_ms = call->now_ms;
	rep->lease_ms = req->lease_ms; /* nothing is paused: no lease to hold */
	trc_notice("backup %s of the broker's audit log begun by client=%s: %llu bytes, sha256 %s",
		   k->id, who->actor, (unsigned long long)k->size, k->sha256);
	return 0;
}

/* The backup id names, or a failed call. */
static broker_backup_t *s_named(trc_broker_t *b, trc_call_t *call, const char *id)
{
	broker_backup_t *k = b->backup;
	if (k != NULL && k->active && id != NULL && strcmp(id, k->id) == 0)
		return k;
	trc_call_fail(call, TRC_ENOENT, "no backup '%s' under way here", id != NULL ? id : "");
	return NULL;
}

static int s_resume(trc_broker_t *b, const ProtobufCMessage *req, const broker_caller_t *who,
		    ProtobufCMessage *rep, trc_call_t *call)
{
	(void)who;
	(void)rep;
	return s_named(b, call, ((const Traction__V1__BackupIdRequest *)req)->id) != NULL
		       ? 0
		       : TRC_ENOENT;
}

static int s_end(trc_broker_t *b, const ProtobufCMessage *req, const broker_caller_t *who,
		 ProtobufCMessage *rep, trc_call_t *call)
{
	(void)who;
	(void)rep;
	broker_backup_t *k = s_named(b, call, ((const Traction__V1__BackupIdRequest *)req)->id);
	if (k == NULL)
		return TRC_ENOENT;
	s_drop(k, "backup.end");
	return 0;
}

static int s_read(trc_broker_t *b, const ProtobufCMessage *req, const broker_caller_t *who,
		  ProtobufCMessage *rep, trc_call_t *call)
{
	(void)who;
	broker_backup_t *k = s_named(b, call, ((const Traction__V1__BackupReadRequest *)req)->id);
	if (k == NULL)
		return TRC_ENOENT;
	k->last_read = trc_mono_ms();
	return trc_call_backup_read(call, k->fd, k->size, k->sha256, b->cfg.max_message_kb, req,
				    rep);
}

const broker_method_t broker_backup_methods[] = {
	{ "backup.begin", &traction__v1__backup_begin_request__descriptor,
	  &traction__v1__backup_begin_reply__descriptor, s_begin },
	{ "backup.resume", &traction__v1__backup_id_request__descriptor,
	  &traction__v1__empty__descriptor, s_resume },
	{ "backup.read", &traction__v1__backup_read_request__descriptor,
	  &traction__v1__backup_read_reply__descriptor, s_read },
	{ "backup.end", &traction__v1__backup_id_request__descriptor,
	  &traction__v1__empty__descriptor, s_end },
	{ NULL, NULL, NULL, NULL },
};
