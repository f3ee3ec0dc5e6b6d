/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Upgrades of feedbackd's store, in the transaction that opens it (all or
 * nothing), one schema after the other:
 *
 *   1 -> 2  idempotency keys scoped by scenario, supply and version (idem.c);
 *   2 -> 3  the owners of supplies and scenarios, for scoped readers: the
 *           catalogue events are replayed from the start (refs.c);
 *   3 -> 4  alert rules (new databases), and the deployments and targets
 *           they judge: scenario and iteration events are replayed from
 *           the start (refs.c, alert_targets.c);
 *   4 -> 5  nothing to move: new idempotency values digest with XXH3 and
 *           carry a kind byte, the FNV-1a ones stay readable (idem.c); the
 *           number only keeps an earlier build off a store that has them.
 */
#include "error.h"
#include "feedbackd.h"

int fb_migrate(trc_txn_t *txn, uint32_t from)
{
	if (from < 1 || from >= FB_SCHEMA_VERSION)
		return TRC_ECORRUPT;
	int rc = 0;
	if (from < 2)
		rc = fb_idem_migrate(txn);
	if (rc == 0 && from < 3)
		rc = fb_refs_migrate(txn, (const char *const[]){ "supply", "scenario", NULL });
	if (rc == 0 && from < 4)
		rc = fb_refs_migrate(txn, (const char *const[]){ "scenario", "iteration", NULL });
	return rc;
}
