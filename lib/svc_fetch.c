/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A replica behind its group's snapshot (docs/scale-out.md, "A replica
 * behind"): raft's snapshot is only a descriptor ("the store holds the
 * entries up to N"), so a store that does not hold them stops the daemon
 * (svc_raft.c's restore writes the marker need-copy, N in it), and at its
 * next start, before the store opens, this file fetches a copy of another
 * replica's store over the bus with the online backup's pieces
 * (backup.begin, .resume at once, .read, .end: a read transaction's
 * compacted copy), checks it (size, SHA-256, an LMDB store of this
 * daemon's schema, holding the entries up to N) and puts it in place. The
 * store may then be ahead of the descriptor: apply skips what it holds.
 *
 * Not only the leader's: while this replica fetches, it does not vote,
 * and in a group of three with one host down the other one then cannot
 * stay leader, nor be elected. So the copy comes from the leader if there
 * is one, else from any replica whose store holds the entries: every
 * piece of it from that one instance (Header.instance, STALE), named by
 * the broker's status.
 *
 * It speaks to the broker as the daemon does (the service endpoint, its
 * service key), without registering: requests of a service, as a client.
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

#define S_INSTANCES 16 /* replicas asked in one round, the leader first */

typedef struct {
	const trc_config_t *cfg;
	const char *service;     /* the daemon's first service: its replicas answer backup.* */
	const char *instance;    /* the one asked now (broker.status's id) */
	uint64_t want;           /* the copy must hold raft's entries up to this one */
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

/* method of service (NULL: the daemon's, of the instance f->instance)
 * with req; its reply decoded as rd into *rep (free with
 * protobuf_c_message_free_unpacked). 0, or the reply's code as a trc
 * error (f->why says why). */
static int s_call_of(fetch_t *f, const char *service, const char *method,
		     const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
		     ProtobufCMessage **rep)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	h.version = TRC_PROTOCOL_VERSION;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)(service != NULL ? service : f->service);
	h.method = (char *)method;
	if (service == NULL) { /* that replica, whatever its role */
		h.instance = (char *)f->instance;
		h.consistency = TRACTION__V1__CONSISTENCY__CONSISTENCY_STALE;
	}
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

static int s_call(fetch_t *f, const char *method, const ProtobufCMessage *req,
		  const ProtobufCMessageDescriptor *rd, ProtobufCMessage **rep)
{
	return s_call_of(f, NULL, method, req, rd, rep);
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

/* Whether the copy in tmp is a store of this daemon that holds the
 * entries up to f->want. */
static int s_check_copy(fetch_t *f, const char *tmp)
{
	trc_storecopy_info_t info;
	int rc = trc_storecopy_inspect(tmp, &info);
	if (rc != 0) {
		snprintf(f->why, sizeof(f->why), "the copy is not a store: %.200s", info.why);
	} else if (info.raft_applied < f->want) {
		snprintf(f->why, sizeof(f->why), "instance %s holds the entries up to %llu only",
			 f->instance, (unsigned long long)info.raft_applied);
		rc = TRC_EUNAVAIL; /* another may, or this one later */
	}
	trc_storecopy_info_free(&info);
	return rc;
}

/* Instance f->instance's store into tmp (begin, resume at once: a
 * replica's copy needs no cut shared with other daemons; read; end). */
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
	return rc == 0 ? s_check_copy(f, tmp) : rc;
}

/* The live instances of the daemon's service, the leader of the highest
 * term first, into ids; how many. */
static size_t s_instances(fetch_t *f, char ids[S_INSTANCES][64])
{
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__BrokerStatusReply *st = NULL;
	if (s_call_of(f, "broker", "status", &req.base, &traction__v1__broker_status_reply__descriptor,
		      (ProtobufCMessage **)&st) != 0)
		return 0;
	size_t n = 0;
	uint64_t top = 0;
	for (size_t i = 0; i < st->n_services; i++) {
		if (strcmp(st->services[i]->name, f->service) != 0)
			continue;
		for (size_t j = 0; j < st->services[i]->n_instances && n < S_INSTANCES; j++) {
			const Traction__V1__InstanceStatus *in = st->services[i]->instances[j];
			if (strlen(in->id) >= 64)
				continue;
			bool first = in->replica_role == TRACTION__V1__REPLICA_ROLE__REPLICA_LEADER &&
				     in->term >= top;
			if (first) { /* to the front */
				top = in->term;
				if (n > 0)
					memcpy(ids[n], ids[0], 64);
			}
			snprintf(ids[first ? 0 : n], 64, "%s", in->id);
			n++;
		}
	}
	protobuf_c_message_free_unpacked(&st->base, NULL);
	if (n == 0)
		snprintf(f->why, sizeof(f->why), "no live instance of %s", f->service);
	return n;
}

/* Whether a fetch that failed with rc may be tried again (elsewhere, or
 * later): a replica away or behind, no answer, a copy gone with its
 * replica. */
static bool s_again(int rc)
{
	return rc == TRC_EUNAVAIL || rc == TRC_ETIMEOUT || rc == TRC_ENOENT;
}

/* A copy that holds the entries up to f->want into tmp, from the leader
 * or else any replica that has one; 0, or the last one's refusal. */
static int s_fetch_round(fetch_t *f, const char *tmp)
{
	char ids[S_INSTANCES][64];
	size_t n = s_instances(f, ids);
	int rc = TRC_EUNAVAIL;
	for (size_t i = 0; i < n; i++) {
		f->instance = ids[i];
		rc = s_fetch_into(f, tmp);
		if (rc == 0) {
			trc_info("the store of instance %s (%s) is here: it holds the entries "
				 "this replica needs", ids[i], i == 0 ? "first asked" : "not the first");
			return 0;
		}
		if (!s_again(rc))
			return rc;
	}
	return rc;
}

/* The copy in tmp (checked) into the store's place, and the marker gone. */
static int s_put_in_place(const char *state, const char *tmp)
{
	int rc = 0;
	char path[TRC_CONFIG_PATH + 80];
	snprintf(path, sizeof(path), "%s/data.mdb", state);
	if (rename(tmp, path) != 0)
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
	fetch_t f = { .cfg = cfg, .service = def->services[0].name };
	unsigned long long want = 0;
	FILE *m = fopen(marker, "r");
	if (m != NULL) {
		if (fscanf(m, "the store must hold raft's entries up to %llu", &want) != 1)
			want = 0; /* an older marker: any replica's store */
		fclose(m);
	}
	f.want = want;
	trc_notice("this store is behind its group's raft snapshot (%s: entries up to %llu): "
		   "fetching another replica's", marker, want);
	int rc = s_connect(&f);
	for (int64_t end = trc_mono_ms() + S_FETCH_MS; rc == 0;) {
		rc = s_fetch_round(&f, tmp);
		/* a broker away, replicas behind, a copy gone with its replica
		 * (NOT_FOUND): again */
		if (rc == 0 || !s_again(rc) || trc_mono_ms() > end)
			break;
		trc_info("no copy yet (%s): asking again", f.why);
		usleep(500000);
		rc = 0;
	}
	if (rc == 0)
		rc = s_put_in_place(state, tmp);
	if (rc != 0) {
		trc_err("cannot fetch another replica's store: %s (%s)", trc_strerror(rc), f.why);
		(void)unlink(tmp);
	} else {
		trc_notice("a replica's store is in place: raft's log brings the rest");
	}
	if (f.sock != NULL)
		zmq_close(f.sock);
	if (f.zctx != NULL)
		zmq_ctx_term(f.zctx);
	return rc;
}
