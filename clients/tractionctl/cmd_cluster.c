/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl cluster: where each daemon's replicas stand in cluster mode,
 * and membership changed online (docs/scale-out.md, "Membership"). Each
 * stateful daemon is a raft group of its own, so every command goes to the
 * four of them (or those --service names); a change is started on each
 * group's leader and completes in raft, so the command waits until
 * cluster.status says how it ended.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "traction/v1/cluster.pb-c.h"
#include "traction/v1/events.pb-c.h"

static const char *const s_groups = "supply,scenario,feedback,iteration";

static void s_print_status(const ProtobufCMessage *m)
{
	const Traction__V1__ClusterStatusReply *r = (const Traction__V1__ClusterStatusReply *)m;
	printf("%s (id %llu): %s, term %llu, leader %s; log %llu, committed %llu, applied %llu "
	       "(store %llu)\n",
	       r->node, (unsigned long long)r->id, r->state, (unsigned long long)r->term,
	       r->leader[0] != '\0' ? r->leader : "none", (unsigned long long)r->last_index,
	       (unsigned long long)r->commit_index, (unsigned long long)r->last_applied,
	       (unsigned long long)r->store_applied);
	for (size_t i = 0; i < r->n_members; i++) {
		const Traction__V1__ClusterMember *x = r->members[i];
		printf("  %-3llu %-12s %-22s %-7s%s", (unsigned long long)x->id,
		       x->name[0] != '\0' ? x->name : "-", x->address, x->role,
		       x->leader ? " leader" : "       ");
		if (!x->leader && strcmp(r->state, "leader") == 0)
			printf(" has %llu", (unsigned long long)x->match_index);
		printf("\n");
	}
	if (r->change[0] != '\0')
		printf("  last change: %s\n", r->change);
}

/* Each service of --service (a list), or the four stateful daemons. */
static int s_each(ctl_t *ctl, args_t *a, int (*fn)(ctl_t *, args_t *, const char *))
{
	const char *list = arg(a, "service");
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", list != NULL ? list : s_groups);
	int rc = 0;
	for (char *save = NULL, *s = strtok_r(buf, ",", &save); s != NULL;
	     s = strtok_r(NULL, ",", &save))
		rc |= fn(ctl, a, s);
	return rc;
}

static int s_status(ctl_t *ctl, args_t *a, const char *service)
{
	(void)a;
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	if (!ctl->json)
		printf("%s: ", service);
	return ctl_call(ctl, service, "cluster.status", &req.base,
			&traction__v1__cluster_status_reply__descriptor, s_print_status);
}

static int cmd_status(ctl_t *ctl, args_t *a)
{
	return s_each(ctl, a, s_status);
}

/* Polls service's cluster.status (the leader's, where the broker routes)
 * until the change it started ended: the change it reports is no longer
 * `started` alone (raft added how it ended), or, for a transfer
 * (leader_was set), a leader other than leader_was answers; up to the
 * timeout. */
static int s_wait(ctl_t *ctl, const char *service, const char *started, const char *leader_was)
{
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	struct timespec nap = { 0, 100 * 1000000L };
	for (int waited = 0; waited < ctl->timeout_ms; waited += 100) {
		Traction__V1__ClusterStatusReply *r = NULL;
		if (ctl_call_rep(ctl, service, "cluster.status", &req.base,
				 &traction__v1__cluster_status_reply__descriptor,
				 (ProtobufCMessage **)&r) != 0)
			return 1;
		bool ended = leader_was != NULL ? r->leader[0] != '\0' && strcmp(r->leader, leader_was) != 0
						: strcmp(r->change, started) != 0;
		int rc = 0;
		if (ended && leader_was != NULL) {
			printf("%s: the leader is %s\n", service, r->leader);
			/* raft hands it only to a member caught up; else an election */
			if (started[0] != '\0' && strstr(started, " to any voter") == NULL &&
			    strcmp(strrchr(started, ' ') + 1, r->leader) != 0)
				rc = ctl_fail("%s: %s went elsewhere (not caught up?): try again",
					      service, started);
		} else if (ended) {
			printf("%s: %s\n", service, r->change);
			rc = strstr(r->change, ": done") != NULL ? 0 : 1;
		}
		traction_reply_free(&r->base);
		if (ended)
			return rc;
		nanosleep(&nap, NULL);
	}
	return ctl_fail("%s: %s: not finished in %d ms", service, started, ctl->timeout_ms);
}

/* A change of service's membership (method), then its end. */
static int s_change(ctl_t *ctl, args_t *a, const char *service, const char *method)
{
	Traction__V1__ClusterChangeRequest req = TRACTION__V1__CLUSTER_CHANGE_REQUEST__INIT;
	uint64_t id = 0, port = 0;
	req.name = (char *)(arg(a, "name") != NULL ? arg(a, "name") : "");
	req.host = (char *)(arg(a, "host") != NULL ? arg(a, "host") : "");
	if ((arg(a, "id") != NULL && ctl_uint("id", arg(a, "id"), UINT32_MAX, &id) != 0) ||
	    (arg(a, "port") != NULL && ctl_uint("port", arg(a, "port"), 65535, &port) != 0))
		return 1;
	req.id = id;
	req.port = (uint32_t)port;
	/* a transfer ends at the new leader, whose own status knows nothing
	 * of it: it is seen in who leads */
	char leader_was[128] = "";
	Traction__V1__Empty empty = TRACTION__V1__EMPTY__INIT;
	Traction__V1__ClusterStatusReply *st = NULL;
	bool transfer = strcmp(method, "cluster.transfer") == 0;
	if (transfer && ctl_call_rep(ctl, service, "cluster.status", &empty.base,
				     &traction__v1__cluster_status_reply__descriptor,
				     (ProtobufCMessage **)&st) != 0)
		return 1;
	if (st != NULL) {
		snprintf(leader_was, sizeof(leader_was), "%s", st->leader);
		traction_reply_free(&st->base);
	}
	Traction__V1__ClusterChangeReply *rep = NULL;
	if (ctl_call_rep(ctl, service, method, &req.base,
			 &traction__v1__cluster_change_reply__descriptor, (ProtobufCMessage **)&rep) != 0)
		return 1;
	char started[256];
	snprintf(started, sizeof(started), "%s", rep->message);
	traction_reply_free(&rep->base);
	return s_wait(ctl, service, started, transfer ? leader_was : NULL);
}

static int s_add(ctl_t *ctl, args_t *a, const char *service)
{
	return s_change(ctl, a, service, "cluster.add");
}

static int s_remove(ctl_t *ctl, args_t *a, const char *service)
{
	return s_change(ctl, a, service, "cluster.remove");
}

static int s_transfer(ctl_t *ctl, args_t *a, const char *service)
{
	return s_change(ctl, a, service, "cluster.transfer");
}

static int cmd_add(ctl_t *ctl, args_t *a)
{
	if (arg_req(a, "name") == NULL || arg_req(a, "host") == NULL)
		return 1;
	return s_each(ctl, a, s_add);
}

static int cmd_remove(ctl_t *ctl, args_t *a)
{
	if (arg(a, "name") == NULL && arg(a, "id") == NULL)
		return ctl_fail("cluster remove: --name or --id is required");
	return s_each(ctl, a, s_remove);
}

static int cmd_transfer(ctl_t *ctl, args_t *a)
{
	return s_each(ctl, a, s_transfer);
}

const cmd_t ctl_cluster_cmds[] = {
	{ "cluster", "status", cmd_status, "service", 0, 0, "cluster status [--service LIST]",
	  "Where each stateful daemon's replicas stand in cluster mode (admin): the replica\n"
	  "that answers (the leader, where the broker routes), its state, term and log, and\n"
	  "every member with its role and, on the leader, how much of the log it holds.\n"
	  "--service supply,feedback asks those only (docs/scale-out.md).",
	  "tractionctl cluster status --service feedback" },
	{ "cluster", "add", cmd_add, "name,host,port,id,service", 0, 0,
	  "cluster add --name NAME --host HOST [--port P] [--id N] [--service LIST]",
	  "A host joins each daemon's cluster (admin): a spare that catches up from the\n"
	  "leader's log, then a voter. Its id: --id, else its place in [cluster] members\n"
	  "if the name is there (a host removed and added again), else the next free one\n"
	  "(the new host's members list it there); each daemon's port is [cluster]\n"
	  "base_port plus its offset unless --port. Start the host's daemons with\n"
	  "[cluster] join = 1 first. Waits until each group has it.",
	  "tractionctl cluster add --name h4 --host 10.0.0.4" },
	{ "cluster", "remove", cmd_remove, "name,id,service", 0, 0,
	  "cluster remove --name NAME | --id N [--service LIST]",
	  "A member leaves each daemon's cluster (admin); waits until each group has\n"
	  "committed the new configuration.",
	  "tractionctl cluster remove --name h3" },
	{ "cluster", "transfer-leadership", cmd_transfer, "name,id,service", 0, 0,
	  "cluster transfer-leadership [--name NAME | --id N] [--service LIST]",
	  "Each daemon's leader hands the leadership to that member, or to the voter most\n"
	  "up to date (admin), e.g. before the leader's host is taken down; waits until\n"
	  "each group has a leader again.",
	  "tractionctl cluster transfer-leadership --name h2" },
};
const int ctl_n_cluster_cmds = sizeof(ctl_cluster_cmds) / sizeof(ctl_cluster_cmds[0]);
