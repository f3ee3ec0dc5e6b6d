/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The build's verdict on cluster mode: see cluster.h. The gate is
 * RAFT_VERSION_NUMBER of the raft.h compiled against, at compile time:
 * nothing here links libraft. (The raft node, which does, will also ask
 * the library loaded at run time, raft_version_number, since the package
 * installed may be another than the one built against.)
 */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"

#ifdef TRC_RAFT
#include <raft.h>
#endif

#ifdef RAFT_VERSION_NUMBER
#define S_HEADER_VERSION RAFT_VERSION_NUMBER
#else
#define S_HEADER_VERSION 0
#endif

#ifdef TRC_RAFT_UNSAFE_015
#define S_UNSAFE true
#else
#define S_UNSAFE false
#endif

bool trc_cluster_unsafe(void)
{
	return S_UNSAFE;
}

#define S_STR_(x) #x
#define S_STR(x) S_STR_(x)

const char *trc_cluster_raft_version(void)
{
#if !defined(TRC_RAFT)
	return "none";
#elif S_HEADER_VERSION == 0
	return "0.15 or older (no RAFT_VERSION_NUMBER)";
#else
	return S_STR(RAFT_VERSION_MAJOR) "." S_STR(RAFT_VERSION_MINOR) "." S_STR(
		RAFT_VERSION_RELEASE);
#endif
}

const char *trc_cluster_refused(void)
{
#if !defined(TRC_RAFT) || !defined(TRC_UV)
	return "this build has no cluster mode: it was built without libraft or libuv "
	       "(pkg-config raft, libuv; docs/scale-out.md)";
#elif !TRC_RAFT_VERSION_OK(S_HEADER_VERSION)
	if (S_UNSAFE)
		return NULL; /* the build said so: -DTRC_RAFT_UNSAFE_015=ON */
	return "this build's libraft is older than 0.17.1 (Debian 12's is 0.15), without "
	       "the fixes cluster mode depends on (canonical/raft PR #321, v0.16.0; PR #336, "
	       "v0.17.1): build against cowsql/raft or canonical/raft >= 0.18.1, or, for "
	       "development only, with -DTRC_RAFT_UNSAFE_015=ON (docs/scale-out.md)";
#else
	return NULL;
#endif
}

/* [cluster]: one of the shared sections (config.c), declared here beside
 * what reads it. */
#define K TRC_CONF_KEY

const trc_conf_key_t trc_cluster_keys[TRC_CLUSTER_NKEYS] = {
	K(cluster_node, "node", STR, 0, 0, "",
	  "this host's name in members; empty: a single host, no cluster (docs/scale-out.md)"),
	K(cluster_members, "members", STR, 0, 0, "",
	  "every host as name=address[:port], separated by commas, the same list on each"),
	K(cluster_base_port, "base_port", UINT, 1, 65000, "7500",
	  "a daemon's raft port, where members gives none: base_port plus its own offset"),
	K(cluster_election_ms, "election_timeout_ms", UINT, 100, 60000, "1000",
	  "a follower that hears no leader this long (randomized up to twice) stands"),
	K(cluster_heartbeat_ms, "heartbeat_ms", UINT, 10, 10000, "100", "the leader's heartbeat"),
	K(cluster_pre_vote, "pre_vote", UINT, 0, 1, "1",
	  "1: a host back from a partition asks before it stands, and deposes no healthy leader"),
	K(cluster_snapshot_threshold, "snapshot_threshold", UINT, 2, 100000000, "1024",
	  "entries applied between two snapshots (the log is truncated behind them)"),
	K(cluster_snapshot_trailing, "snapshot_trailing", UINT, 0, 100000000, "2048",
	  "entries kept behind a snapshot (in memory too), for a follower just behind"),
	K(cluster_plain_ok, "plain_ok", UINT, 0, 1, "0",
	  "1: raft in the clear off loopback (without [security] service_curve = 1)"),
	K(cluster_join, "join", UINT, 0, 1, "0", "1: a host added to a running cluster: no bootstrap"),
};

bool trc_cluster_on(const trc_config_t *cfg)
{
	return cfg->cluster_node[0] != '\0';
}

/* Whether host names this machine's loopback, where raft's plain TCP
 * leaves no wire. */
static bool s_loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0 ||
	       strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0;
}

/* One "name=host[:port]" of the list (len bytes at p) as m. */
static int s_member(const trc_config_t *cfg, unsigned offset, const char *p, size_t len,
		    trc_member_t *m, char *err, size_t errlen)
{
	char item[TRC_MEMBER_NAME + TRC_MEMBER_ADDR];
	if (len >= sizeof(item))
		return trc_errf(TRC_ECONFIG, err, errlen, "[cluster] members: an item is too long");
	memcpy(item, p, len);
	item[len] = '\0';
	char *name = trc_trim(item), *eq = strchr(name, '=');
	if (eq == NULL || eq == name || eq[1] == '\0')
		return trc_errf(TRC_ECONFIG, err, errlen,
				"[cluster] members: \"%s\" is not name=host[:port]", name);
	*eq = '\0';
	char *host = trc_trim(eq + 1), *colon = strrchr(host, ':');
	unsigned long port = cfg->cluster_base_port + offset;
	if (colon != NULL && strchr(host, ']') < colon) {
		char *end;
		*colon = '\0';
		port = strtoul(colon + 1, &end, 10);
		if (*end != '\0' || port == 0 || port > 65535)
			return trc_errf(TRC_ECONFIG, err, errlen,
					"[cluster] members: %s: not a port: %s", name, colon + 1);
	}
	name = trc_trim(name);
	if (strlen(name) >= TRC_MEMBER_NAME || host[0] == '\0')
		return trc_errf(TRC_ECONFIG, err, errlen, "[cluster] members: %s: bad item", name);
	if (!cfg->cluster_plain_ok && !cfg->service_curve && !s_loopback(host))
		return trc_errf(TRC_ECONFIG, err, errlen,
				"[cluster] members: %s is at %s, off this machine's loopback, and raft's "
				"transport is plain TCP without [security] service_curve = 1: set "
				"plain_ok = 1 only on a network you trust (docs/scale-out.md)",
				name, host);
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->address, sizeof(m->address), "%s:%lu", host, port);
	return 0;
}

int trc_cluster_members(const trc_config_t *cfg, unsigned offset, trc_members_t *ms, char *err,
			size_t errlen)
{
	memset(ms, 0, sizeof(*ms));
	if (cfg->cluster_heartbeat_ms >= cfg->cluster_election_ms)
		return trc_errf(TRC_ECONFIG, err, errlen,
				"[cluster] heartbeat_ms (%u) must be below election_timeout_ms (%u)",
				cfg->cluster_heartbeat_ms, cfg->cluster_election_ms);
	ms->self = TRC_MEMBERS_MAX;
	for (const char *p = cfg->cluster_members; *p != '\0';) {
		size_t len = strcspn(p, ",");
		if (ms->n == TRC_MEMBERS_MAX)
			return trc_errf(TRC_ECONFIG, err, errlen,
					"[cluster] members: more than %d hosts", TRC_MEMBERS_MAX);
		trc_member_t *m = &ms->m[ms->n];
		int rc = s_member(cfg, offset, p, len, m, err, errlen);
		if (rc != 0)
			return rc;
		for (size_t i = 0; i < ms->n; i++)
			if (strcmp(ms->m[i].name, m->name) == 0 ||
			    strcmp(ms->m[i].address, m->address) == 0)
				return trc_errf(TRC_ECONFIG, err, errlen,
						"[cluster] members: %s and %s: the same name or address",
						ms->m[i].name, m->name);
		m->id = (unsigned)++ms->n;
		if (strcmp(m->name, cfg->cluster_node) == 0)
			ms->self = ms->n - 1;
		p += len + (p[len] == ',');
	}
	if (ms->self == TRC_MEMBERS_MAX)
		return trc_errf(TRC_ECONFIG, err, errlen,
				"[cluster] node \"%s\" is not one of members (\"%s\")", cfg->cluster_node,
				cfg->cluster_members);
	return 0;
}
