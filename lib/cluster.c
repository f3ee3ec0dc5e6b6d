/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The build's verdict on cluster mode: see cluster.h. The gate is
 * RAFT_VERSION_NUMBER of the raft.h compiled against, at compile time:
 * nothing here links libraft. (The raft node, which does, will also ask
 * the library loaded at run time, raft_version_number, since the package
 * installed may be another than the one built against.)
 */
#include "cluster.h"

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
