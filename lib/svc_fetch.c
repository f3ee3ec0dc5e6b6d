/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A replica behind its group's snapshot (docs/scale-out.md, "A replica
 * behind"): raft's snapshot is only a descriptor ("the store holds the
 * entries up to N"), so a store that does not hold them stops the daemon
 * (svc_raft.c's restore writes the marker need-copy and the daemon exits
 * EX_TEMPFAIL), and at its next start, before the store opens, this file
 * fetches a copy of the leader's store over the bus with the online
 * backup's pieces (backup.begin, .resume at once, .read, .end: a read
 * transaction's compacted copy), checks it (size, SHA-256, an LMDB store
 * of this daemon's schema) and puts it in place. The store may then be
 * ahead of the descriptor: apply skips what it holds.
 *
 * It speaks to the broker as the daemon does (the service endpoint, its
 * service key), without registering: a request of a service, routed to
 * the leader like any other.
 */
#include "service_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "daemon.h"
#include "error.h"
#include "log.h"
#include "storecopy.h"
#include "traction/v1/events.pb-c.h"

#define S_MARKER "need-copy"
#define S_FETCH_MS 120000 /* how long a start may wait for a leader and its copy */

typedef struct {
	const trc_config_t *cfg;
	const char *service;     /* the daemon's first service: the leader answers backup.* */
	void *zctx, *sock;
	uint64_t next_id;
	char why[256];
} fetch_t;

int svc_fetch_mark(const char *state_path, uint64_t want)
{
	char path[TRC_CONFIG_PATH + 80];
	snprintf(path, sizeof(path), "%s/%s", state_path, S_MARKER);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return trc_err_from_errno(errno);
	fprintf(f, "the store must hold raft's entries up to %llu\n", (unsigned long long)want);
	int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : trc_err_from_errno(errno);
	fclose(f);
	return rc;
}

/* A DEALER to the first broker, as the daemon's own (service key). */
static int s_connect(fetch_t *f)
{
	char ep[TRC_CONFIG_STR], pub[TRC_Z85_KEY + 1], sec[TRC_Z85_KEY + 1], srv[TRC_Z85_KEY + 1];
	f->zctx = zmq_ctx_new();
	f->sock = f->zctx != NULL ? zmq_socket(f->zctx, ZMQ_DEALER) : NULL;
	if (f->sock == NULL || trc_socket_setup(f->sock, f->cfg) != 0)
		return TRC_ENOMEM;
	if (f->cfg->service_curve) {
		if (trc_keypair_load(f->cfg->service_key_file, pub, sec, f->why, sizeof(f->why)) != 0 ||
		    trc_keypair_load(f->cfg->server_public_key_file, srv, NULL, f->why,
				     sizeof(f->why)) != 0)
			return TRC_ECONFIG;
		if (zmq_setsockopt(f->sock, ZMQ_CURVE_SERVERKEY, srv, TRC_Z85_KEY) != 0 ||
		    zmq_setsockopt(f->sock, ZMQ_CURVE_PUBLICKEY, pub, TRC_Z85_KEY) != 0 ||
		    zmq_setsockopt(f->sock, ZMQ_CURVE_SECRETKEY, sec, TRC_Z85_KEY) != 0)
			return trc_err_from_errno(errno);
	}
	trc_endpoint_at(f->cfg->service_endpoint, 0, ep, sizeof(ep));
	return zmq_connect(f->sock, ep) == 0 ? 0 : trc_err_from_errno(errno);
}

/* method of the daemon's service with req; its reply decoded as rd into
 * *rep (free with protobuf_c_message_free_unpacked). 0, or the reply's
 * code as a trc error (f->why says why). */
static int s_call(fetch_t *f, const char *method, const ProtobufCMessage *req,
		  const ProtobufCMessageDescriptor *rd, ProtobufCMessage **rep)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	h.version = TRC_PROTOCOL_VERSION;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)f->service;
	h.method = (char *)method;
	h.request_id = ++f->next_id;
	h.timeout_ms = f->cfg->request_timeout_ms;
	uint8_t hb[TRC_HEADER_MAX], *bb = malloc(protobuf_c_message_get_packed_size(req) + 1);
	if (bb == NULL || traction__v1__header__get_packed_size(&h) > sizeof(hb)) {
		free(bb);
		return TRC_ENOMEM;
	}
	trc_frame_t fr[2] = { { hb, traction__v1__header__pack(&h, hb) },
			      { bb, protobuf_c_message_pack(req, bb) } };
	int rc = trc_send(f->sock, fr, 2, 0);
	free(bb);
	for (int64_t end = trc_mono_ms() + h.timeout_ms; rc == 0;) {
		zmq_pollitem_t it = { f->sock, 0, ZMQ_POLLIN, 0 };
		int64_t left = end - trc_mono_ms();
		if (left <= 0 || zmq_poll(&it, 1, (long)left) <= 0)
			return snprintf(f->why, sizeof(f->why), "%s: no answer", method), TRC_ETIMEOUT;
		trc_msg_t m;
		if (trc_msg_recv(f->sock, &m, 0) != 0)
			continue;
		const char *bad = NULL;
		Traction__V1__Header *rh = m.n == 2 ? trc_header_unpack(NULL, trc_msg_data(&m, 0),
									  trc_msg_size(&m, 0), &bad)
						    : NULL;
		if (rh != NULL && rh->request_id == h.request_id) {
			int code = rh->status != NULL ? rh->status->code : 0;
			if (code != 0)
				snprintf(f->why, sizeof(f->why), "%s: %s", method,
					 rh->status->message);
			*rep = code == 0 ? protobuf_c_message_unpack(rd, NULL, trc_msg_size(&m, 1),
								      trc_msg_data(&m, 1))
					 : NULL;
			rc = code != 0 ? trc_err_from_code(code) : *rep == NULL ? TRC_EPROTO : 0;
			protobuf_c_message_free_unpacked(&rh->base, NULL);
			trc_msg_close(&m);
			return rc;
		}
		if (rh != NULL)
			protobuf_c_message_free_unpacked(&rh->base, NULL);
		trc_msg_close(&m);
	}
	return rc;
}

/* The copy named id, read piece by piece into fd; its size and SHA-256. */
static int s_read_copy(fetch_t *f, const char *id, int fd, char sha[TRC_SHA256_HEX])
{
	Traction__V1__BackupReadRequest rq = TRACTION__V1__BACKUP_READ_REQUEST__INIT;
	rq.id = (char *)id;
	for (;;) {
		Traction__V1__BackupReadReply *rp = NULL;
		int rc = s_call(f, "backup.read", &rq.base, &traction__v1__backup_read_reply__descriptor,
				(ProtobufCMessage **)&rp);
		if (rc != 0)
			return rc;
		bool ready = rp->ready, done = ready && rq.offset + rp->data.len >= rp->size;
		if (rp->ready && rp->data.len > 0 &&
		    pwrite(fd, rp->data.data, rp->data.len, (off_t)rq.offset) != (ssize_t)rp->data.len)
			rc = trc_err_from_errno(errno);
		rq.offset += rp->ready ? rp->data.len : 0;
		if (done)
			snprintf(sha, TRC_SHA256_HEX, "%s", rp->sha256);
		protobuf_c_message_free_unpacked(&rp->base, NULL);
		if (rc != 0 || done)
			return rc;
		if (!ready)
			usleep(20000); /* the copy is still being written */
	}
}

/* The leader's store into tmp (begin, resume at once: a replica's copy
 * needs no cut shared with other daemons; read; end). */
static int s_fetch_into(fetch_t *f, const char *tmp)
{
	Traction__V1__BackupBeginRequest bq = TRACTION__V1__BACKUP_BEGIN_REQUEST__INIT;
	Traction__V1__BackupBeginReply *bp = NULL;
	int rc = s_call(f, "backup.begin", &bq.base, &traction__v1__backup_begin_reply__descriptor,
			(ProtobufCMessage **)&bp);
	if (rc != 0)
		return rc;
	Traction__V1__BackupIdRequest iq = TRACTION__V1__BACKUP_ID_REQUEST__INIT;
	iq.id = bp->id;
	ProtobufCMessage *e = NULL;
	rc = s_call(f, "backup.resume", &iq.base, &traction__v1__empty__descriptor, &e);
	protobuf_c_message_free_unpacked(e, NULL);
	int fd = rc == 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
	char sha[TRC_SHA256_HEX] = "", got[TRC_SHA256_HEX];
	uint64_t size = 0;
	if (rc == 0)
		rc = fd < 0 ? trc_err_from_errno(errno) : s_read_copy(f, bp->id, fd, sha);
	if (fd >= 0 && fsync(fd) != 0 && rc == 0)
		rc = trc_err_from_errno(errno);
	if (fd >= 0)
		close(fd);
	e = NULL;
	(void)s_call(f, "backup.end", &iq.base, &traction__v1__empty__descriptor, &e);
	protobuf_c_message_free_unpacked(e, NULL);
	protobuf_c_message_free_unpacked(&bp->base, NULL);
	if (rc == 0 && (trc_storecopy_sha256(tmp, got, &size) != 0 || strcmp(got, sha) != 0)) {
		snprintf(f->why, sizeof(f->why), "the copy's SHA-256 is not the one its daemon gave");
		rc = TRC_ECORRUPT;
	}
	return rc;
}

/* The copy in tmp into the store's place, and the marker gone. */
static int s_put_in_place(const char *state, const char *tmp, char *why, size_t len)
{
	trc_storecopy_info_t info;
	int rc = trc_storecopy_inspect(tmp, &info);
	if (rc != 0)
		snprintf(why, len, "the copy is not a store: %.200s", info.why);
	trc_storecopy_info_free(&info);
	char path[TRC_CONFIG_PATH + 80];
	snprintf(path, sizeof(path), "%s/data.mdb", state);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = trc_err_from_errno(errno);
	snprintf(path, sizeof(path), "%s/lock.mdb", state);
	(void)unlink(path); /* the old store's readers' table */
	int dfd = open(state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) != 0 && rc == 0)
			rc = trc_err_from_errno(errno);
		close(dfd);
	}
	snprintf(path, sizeof(path), "%s/%s", state, S_MARKER);
	if (rc == 0 && unlink(path) != 0)
		rc = trc_err_from_errno(errno);
	return rc;
}

/* The marker's path (and the state directory's) of def under cfg; false
 * when cfg is not a cluster's. */
static bool s_marker(const trc_daemon_def_t *def, const trc_config_t *cfg, char *state,
		     size_t slen, char *marker, size_t mlen)
{
	if (!trc_cluster_on(cfg) || def->n_services == 0 ||
	    trc_daemon_state_path(cfg, def->daemon, state, slen) != 0)
		return false;
	snprintf(marker, mlen, "%s/%s", state, S_MARKER);
	return true;
}

bool svc_fetch_marked(const trc_daemon_def_t *def, const trc_config_t *cfg)
{
	char state[TRC_CONFIG_PATH + 64], marker[TRC_CONFIG_PATH + 80];
	return s_marker(def, cfg, state, sizeof(state), marker, sizeof(marker)) &&
	       access(marker, F_OK) == 0;
}

int svc_fetch_if_needed(const trc_daemon_def_t *def, const trc_config_t *cfg)
{
	char state[TRC_CONFIG_PATH + 64], marker[TRC_CONFIG_PATH + 80], tmp[TRC_CONFIG_PATH + 80];
	if (!s_marker(def, cfg, state, sizeof(state), marker, sizeof(marker)) ||
	    access(marker, F_OK) != 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s/data.mdb.fetch", state);
	trc_notice("this store is behind its group's raft snapshot (%s): fetching the leader's",
		   marker);
	fetch_t f = { .cfg = cfg, .service = def->services[0].name };
	int rc = s_connect(&f);
	for (int64_t end = trc_mono_ms() + S_FETCH_MS; rc == 0;) {
		rc = s_fetch_into(&f, tmp);
		/* an election, a leader that changed in the middle (the copy is
		 * the old one's: NOT_FOUND on the new), a broker away: again */
		if (rc == 0 || (rc != TRC_EUNAVAIL && rc != TRC_ETIMEOUT && rc != TRC_ENOENT) ||
		    trc_mono_ms() > end)
			break;
		trc_info("no copy yet (%s): asking again", f.why); /* an election, a broker */
		usleep(500000);
		rc = 0;
	}
	if (rc == 0)
		rc = s_put_in_place(state, tmp, f.why, sizeof(f.why));
	if (rc != 0) {
		trc_err("cannot fetch the leader's store: %s (%s)", trc_strerror(rc), f.why);
		(void)unlink(tmp);
	} else {
		trc_notice("the leader's store is in place: raft's log brings the rest");
	}
	if (f.sock != NULL)
		zmq_close(f.sock);
	if (f.zctx != NULL)
		zmq_ctx_term(f.zctx);
	return rc;
}
