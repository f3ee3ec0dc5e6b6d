/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the runtime calls around iterationd's handlers (trc_daemon_def_t):
 * open keeps the gates' thresholds, close frees history's cache.
 */
#include "iterationd.h"

int iterationd_open(void *user, trc_store_t *store, const trc_config_t *cfg)
{
	it_state_t *st = user;
	st->gates = *it_gates(cfg);
	return 0;
}

void iterationd_close(void *user)
{
	it_state_t *st = user;
	it_hist_cache_destroy(&st->hist);
}
