/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A libuv loop hosted in ours: see hosted_uv.h.
 */
#include "hosted_uv.h"

#include <poll.h>
#include <uv.h>

/* uv_backend_timeout counts from the loop's cached time, which only
 * uv_run moves on: after a wait that was not the loop's own, it would
 * be late by that much. */
static int s_timeout(void *ud)
{
	uv_loop_t *loop = ud;
	uv_update_time(loop);
	return uv_backend_timeout(loop);
}

static void s_run(void *ud, short revents)
{
	(void)revents;
	(void)uv_run(ud, UV_RUN_NOWAIT);
}

void trc_hosted_uv(trc_hosted_t *h, struct uv_loop_s *loop)
{
	*h = (trc_hosted_t){ uv_backend_fd(loop), POLLIN, s_timeout, s_run, loop };
}
