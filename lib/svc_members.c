/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster.* built-ins (docs/scale-out.md, "Membership"): where this
 * replica stands (cluster.status, any replica), and membership changed
 * online on the leader (cluster.add, cluster.remove, cluster.transfer).
 * A change is started here and completes in raft: its reply says what
 * was started, cluster.status what it came to (tractionctl cluster waits
 * for it there). One change at a time, as raft takes them.
 */
#include "service_int.h"

#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "error.h"
#include "log.h"
#include "traction/v1/cluster.pb-c.h"

#if defined(TRC_RAFT) && defined(TRC_UV)

#include "svc_raft_int.h"

const char *svc_raft_name(const struct svc_raft *r, raft_id id, const char *address)
{
	for (size_t i = 0; i < r->members.n; i++)
		if (r->members.m[i].id == id ||
		    (address != NULL && strcmp(r->members.m[i].address, address) == 0))
			return r->members.m[i].name;
	return NULL;
}

/* The replica of this call's service, or NULL having failed the call. */
static struct svc_raft *s_raft(trc_call_t *call)
{
	trc_service_t *svc = call->user;
	if (svc->raft == NULL)
		(void)trc_call_fail(call, TRC_EPRECOND,
				    "this daemon runs on a single host ([cluster] node is not set)");
	return svc->raft;
}

static const char *s_state_name(int state)
{
	static const char *const names[] = { "unavailable", "follower", "candidate", "leader" };
	return state >= 0 && state <= 3 ? names[state] : "unknown";
}

static const char *s_role_name(int role)
{
	return role == RAFT_VOTER ? "voter" : role == RAFT_STANDBY ? "standby" : "spare";
}

/* The members of raft's configuration as this replica sees them. */
static int s_members(trc_call_t *call, struct svc_raft *r, Traction__V1__ClusterStatusReply *rep,
		     raft_id leader)
{
	const struct raft_configuration *conf = &r->raft.configuration;
	rep->members = trc_arena_alloc(call->arena, (conf->n + 1) * sizeof(*rep->members));
	if (rep->members == NULL)
		return TRC_ENOMEM;
	for (unsigned i = 0; i < conf->n; i++) {
		Traction__V1__ClusterMember *m = trc_arena_alloc(call->arena, sizeof(*m));
		if (m == NULL)
			return TRC_ENOMEM;
		traction__v1__cluster_member__init(m);
		const struct raft_server *sv = &conf->servers[i];
		const char *name = svc_raft_name(r, sv->id, sv->address);
		m->id = sv->id;
		m->name = (char *)(name != NULL ? name : "");
		m->address = sv->address;
		m->role = (char *)s_role_name(sv->role);
		m->leader = sv->id == leader;
		/* the leader's view of each member's log (raft.h's raft_progress,
		 * by the configuration's order) */
		if (r->raft.state == RAFT_LEADER && r->raft.leader_state.progress != NULL)
			m->match_index = r->raft.leader_state.progress[i].match_index;
		rep->members[rep->n_members++] = m;
	}
	return 0;
}

int svc_cluster_status(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	(void)req_;
	Traction__V1__ClusterStatusReply *rep = (Traction__V1__ClusterStatusReply *)rep_;
	struct svc_raft *r = s_raft(call);
	if (r == NULL)
		return TRC_EPRECOND;
	const trc_member_t *me = &r->members.m[r->members.self];
	raft_id leader = 0;
	const char *address = NULL;
	raft_leader(&r->raft, &leader, &address);
	const char *lname = leader != 0 ? svc_raft_name(r, leader, address) : NULL;
	rep->node = (char *)me->name;
	rep->id = me->id;
	rep->state = (char *)s_state_name(raft_state(&r->raft));
	rep->term = r->raft.current_term;
	rep->leader = (char *)(lname != NULL ? lname : address != NULL ? address : "");
	rep->last_index = raft_last_index(&r->raft);
	rep->commit_index = r->raft.commit_index;
	rep->last_applied = raft_last_applied(&r->raft);
	int rc = svc_applied_read(r->svc, &rep->store_applied);
	if (rc == 0)
		rc = s_members(call, r, rep, leader);
	rep->change = r->change;
	return rc == 0 ? 0 : trc_call_fail(call, rc, "cannot say: %s", trc_strerror(rc));
}

/* ---- changes ------------------------------------------------------------------------ */

/* The member a request names (by name in [cluster] members, or id), in
 * raft's configuration; 0 if none. */
static raft_id s_named(struct svc_raft *r, const Traction__V1__ClusterChangeRequest *req)
{
	const struct raft_configuration *conf = &r->raft.configuration;
	for (unsigned i = 0; i < conf->n; i++) {
		const char *name = svc_raft_name(r, conf->servers[i].id, conf->servers[i].address);
		if (conf->servers[i].id == req->id ||
		    (req->name[0] != '\0' && name != NULL && strcmp(name, req->name) == 0))
			return conf->servers[i].id;
	}
	return 0;
}

/* A change may start here: the leader, none under way. */
static int s_may_change(trc_call_t *call, struct svc_raft *r)
{
	if (raft_state(&r->raft) != RAFT_LEADER)
		return trc_call_fail(call, TRC_EUNAVAIL,
				     "not the leader: membership changes are the leader's; try again");
	if (r->changing)
		return trc_call_fail(call, TRC_EBUSY, "a change is under way: %s", r->change);
	return 0;
}

static void s_changed(struct raft_change *req, int status);

/* cluster.add's second step, once the member caught up as a spare. */
static void s_promote(struct svc_raft *r)
{
	raft_id id = r->change_id;
	r->change_id = 0;
	int rc = raft_assign(&r->raft, &r->creq, id, RAFT_VOTER, s_changed);
	if (rc != 0) {
		r->changing = false;
		snprintf(r->change, sizeof(r->change), "add %llu: not made a voter: %s",
			 (unsigned long long)id, raft_strerror(rc));
	}
}

static void s_changed(struct raft_change *req, int status)
{
	struct svc_raft *r = req->data;
	if (status == 0 && r->change_id != 0) {
		s_promote(r);
		return;
	}
	r->changing = false;
	size_t len = strlen(r->change);
	snprintf(r->change + len, sizeof(r->change) - len, ": %s",
		 status == 0 ? "done" : raft_strerror(status));
	trc_notice("cluster: %s", r->change);
}

int svc_cluster_add(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__ClusterChangeRequest *req =
		(const Traction__V1__ClusterChangeRequest *)req_;
	Traction__V1__ClusterChangeReply *rep = (Traction__V1__ClusterChangeReply *)rep_;
	struct svc_raft *r = s_raft(call);
	if (r == NULL || s_may_change(call, r) != 0)
		return TRC_EPRECOND;
	if (req->host[0] == '\0' || strchr(req->host, ':') != NULL || req->port > 65535)
		return trc_call_fail(call, TRC_EINVAL, "add: a host (no port in it) is needed");
	/* a host [cluster] members names starts with its place there as its
	 * id (a member removed and added again: its own); another one, the
	 * next free id, which its own members list must give it */
	raft_id id = req->id;
	for (size_t i = 0; id == 0 && req->name[0] != '\0' && i < r->members.n; i++)
		if (strcmp(r->members.m[i].name, req->name) == 0)
			id = r->members.m[i].id;
	const struct raft_configuration *conf = &r->raft.configuration;
	bool next = id == 0;
	for (unsigned j = 0; next && j < conf->n; j++)
		if (conf->servers[j].id >= id)
			id = conf->servers[j].id + 1;
	if (id == 0)
		id = 1;
	unsigned port = req->port != 0 ? req->port
					: r->svc->cfg.cluster_base_port + r->svc->def->metrics_offset;
	char *address = trc_arena_printf(call->arena, "%s:%u", req->host, port);
	if (address == NULL)
		return TRC_ENOMEM;
	/* asked again (the first one's leader went before it ended): a
	 * member already is made a voter, a voter is left as it is */
	const struct raft_server *was = NULL;
	for (unsigned j = 0; j < conf->n; j++)
		if (conf->servers[j].id == id)
			was = &conf->servers[j];
	r->creq.data = r;
	int rc = was != NULL ? 0 : raft_add(&r->raft, &r->creq, id, address, s_changed);
	if (rc != 0)
		return trc_call_fail(call, TRC_EPRECOND, "add: %s", raft_strerror(rc));
	snprintf(r->change, sizeof(r->change), "add %s (id %llu) at %s%s", req->name,
		 (unsigned long long)id, was != NULL ? was->address : address,
		 was == NULL ? "" : was->role == RAFT_VOTER ? ", a voter already: done"
							    : ", a member already");
	r->changing = was == NULL || was->role != RAFT_VOTER;
	r->change_id = r->changing ? id : 0;
	if (was != NULL && r->changing)
		s_promote(r);
	rep->id = id;
	rep->address = address;
	rep->message = r->change;
	return 0;
}

int svc_cluster_remove(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__ClusterChangeRequest *req =
		(const Traction__V1__ClusterChangeRequest *)req_;
	Traction__V1__ClusterChangeReply *rep = (Traction__V1__ClusterChangeReply *)rep_;
	struct svc_raft *r = s_raft(call);
	if (r == NULL || s_may_change(call, r) != 0)
		return TRC_EPRECOND;
	raft_id id = s_named(r, req);
	if (id == 0)
		return trc_call_fail(call, TRC_ENOENT, "remove: no member %s (id %llu)", req->name,
				     (unsigned long long)req->id);
	r->creq.data = r;
	int rc = raft_remove(&r->raft, &r->creq, id, s_changed);
	if (rc != 0)
		return trc_call_fail(call, TRC_EPRECOND, "remove: %s", raft_strerror(rc));
	r->changing = true;
	snprintf(r->change, sizeof(r->change), "remove id %llu", (unsigned long long)id);
	rep->id = id;
	rep->message = r->change;
	return 0;
}

static void s_transferred(struct raft_transfer *req)
{
	struct svc_raft *r = req->data;
	r->changing = false;
	raft_id id = 0;
	const char *address = NULL;
	raft_leader(&r->raft, &id, &address);
	size_t len = strlen(r->change);
	snprintf(r->change + len, sizeof(r->change) - len, ": the leader is id %llu",
		 (unsigned long long)id);
	trc_notice("cluster: %s", r->change);
}

int svc_cluster_transfer(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__ClusterChangeRequest *req =
		(const Traction__V1__ClusterChangeRequest *)req_;
	Traction__V1__ClusterChangeReply *rep = (Traction__V1__ClusterChangeReply *)rep_;
	struct svc_raft *r = s_raft(call);
	if (r == NULL || s_may_change(call, r) != 0)
		return TRC_EPRECOND;
	raft_id id = 0;
	if ((req->name[0] != '\0' || req->id != 0) && (id = s_named(r, req)) == 0)
		return trc_call_fail(call, TRC_ENOENT, "transfer: no member %s (id %llu)",
				     req->name, (unsigned long long)req->id);
	r->treq.data = r;
	int rc = raft_transfer(&r->raft, &r->treq, id, s_transferred);
	if (rc != 0)
		return trc_call_fail(call, TRC_EPRECOND, "transfer: %s", raft_strerror(rc));
	r->changing = true;
	snprintf(r->change, sizeof(r->change), "transfer the leadership to %s",
		 id != 0 ? req->name : "any voter");
	rep->id = id;
	rep->message = r->change;
	return 0;
}

#else /* no cluster mode in this build */

static int s_single(trc_call_t *call)
{
	return trc_call_fail(call, TRC_EPRECOND, "this build has no cluster mode (%s)",
			     trc_cluster_refused());
}

int svc_cluster_status(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	(void)req;
	(void)rep;
	return s_single(call);
}

int svc_cluster_add(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	(void)req;
	(void)rep;
	return s_single(call);
}

int svc_cluster_remove(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	(void)req;
	(void)rep;
	return s_single(call);
}

int svc_cluster_transfer(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	(void)req;
	(void)rep;
	return s_single(call);
}

#endif
