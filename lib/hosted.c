/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hosted event loops: their timeouts folded into the host's wait, and
 * their turns. See hosted.h.
 */
#include "hosted.h"

#include "error.h"

int trc_hosts_add(trc_hosts_t *hs, const trc_hosted_t *h)
{
	if (h->run == NULL || hs->n == TRC_HOSTED_MAX)
		return TRC_EINVAL;
	hs->due[hs->n] = -1;
	hs->h[hs->n++] = *h;
	return 0;
}

int64_t trc_hosts_next(trc_hosts_t *hs, int64_t now)
{
	int64_t next = -1;
	for (size_t i = 0; i < hs->n; i++) {
		trc_hosted_t *h = &hs->h[i];
		int t = h->timeout != NULL ? h->timeout(h->ud) : -1;
		hs->due[i] = t >= 0 ? now + t : -1;
		if (t >= 0 && (next < 0 || hs->due[i] < next))
			next = hs->due[i];
	}
	return next;
}

void trc_hosts_run(trc_hosts_t *hs, const short *revents, int64_t now)
{
	for (size_t i = 0; i < hs->n; i++) {
		trc_hosted_t *h = &hs->h[i];
		short rev = h->fd >= 0 ? revents[i] : 0;
		if (rev != 0 || (hs->due[i] >= 0 && now >= hs->due[i]))
			h->run(h->ud, rev);
	}
}
