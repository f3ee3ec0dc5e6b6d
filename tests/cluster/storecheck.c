/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fault checker's eye on the stores of a stopped cluster
 * (tests/cluster/set.sh): for each data.mdb given, what the replicas must
 * agree on.
 *
 *   trc-storecheck [--keys] DATA.MDB...
 *
 * prints, for each store, a line
 *
 *   PATH digest HEX events N applied N
 *
 * (the digest of its records, lib/storecopy.h; its event log's head; the
 * last raft entry it applied), and with --keys, after it, the idempotency
 * key of every record in feedbackd's "records", one a line: "key K".
 * Exits 1 on a store it cannot read.
 */
#include <lmdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "storecopy.h"
#include "traction/v1/feedback.pb-c.h"

/* Every record's idempotency key, in the records' order. */
static int s_keys(const char *path)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi dbi;
	int rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, 256);
	if (rc == 0)
		rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOLOCK | MDB_RDONLY, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "records", 0, &dbi);
	if (rc == 0)
		rc = mdb_cursor_open(txn, dbi, &cur);
	MDB_val k, v;
	for (int op = MDB_FIRST; rc == 0 && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0;
	     op = MDB_NEXT) {
		Traction__V1__FeedbackRecord *r =
			traction__v1__feedback_record__unpack(NULL, v.mv_size, v.mv_data);
		if (r == NULL) {
			fprintf(stderr, "%s: a record that does not decode\n", path);
			rc = MDB_CORRUPTED;
			break;
		}
		printf("key %s\n", r->idempotency_key);
		traction__v1__feedback_record__free_unpacked(r, NULL);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (rc != 0)
		fprintf(stderr, "%s: records: %s\n", path, mdb_strerror(rc));
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	return rc;
}

int main(int argc, char **argv)
{
	bool keys = argc > 1 && strcmp(argv[1], "--keys") == 0;
	int bad = 0;
	if (argc < 2 + keys) {
		fprintf(stderr, "usage: trc-storecheck [--keys] DATA.MDB...\n");
		return 2;
	}
	for (int i = 1 + keys; i < argc; i++) {
		trc_storecopy_info_t info;
		char hex[TRC_SHA256_HEX];
		int rc = trc_storecopy_digest(argv[i], &info, hex);
		if (rc != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], info.why);
			bad = 1;
		} else {
			printf("%s digest %s events %llu applied %llu\n", argv[i], hex,
			       (unsigned long long)info.event_head,
			       (unsigned long long)info.raft_applied);
		}
		trc_storecopy_info_free(&info);
		if (rc == 0 && keys && s_keys(argv[i]) != 0)
			bad = 1;
	}
	return bad;
}
