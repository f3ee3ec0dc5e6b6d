/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A libuv loop as a hosted loop (hosted.h): its backend fd (epoll, which
 * every handle, timer, async wake-up and thread-pool completion of the
 * loop wakes), its backend timeout and uv_run(UV_RUN_NOWAIT) as its turn.
 * In the library trc_uv, built only where libuv is found (pkg-config
 * libuv), so that the rest of the set does not link libuv.
 */
#ifndef TRC_HOSTED_UV_H
#define TRC_HOSTED_UV_H

#include "hosted.h"

struct uv_loop_s;

/* Fills h for loop (initialised, not running elsewhere: everything of it
 * then runs on the host's thread). */
void trc_hosted_uv(trc_hosted_t *h, struct uv_loop_s *loop);

#endif
