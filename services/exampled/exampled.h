/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-exampled: a tiny daemon, the example of docs/architecture.md
 * ("Adding a daemon"). It serves "note" (methods add and list, from its own
 * note.proto), writes events of source "note" (note.added), and applies
 * the supply registry's events to know which supplies exist.
 */
#ifndef EXAMPLED_H
#define EXAMPLED_H

#include "service.h"
#include "note.pb-c.h"

/* Its databases, by index (notes.c declares each one's keys and values). */
enum { EX_DB_NOTES, EX_DB_SUPPLIES, EX_DB_COUNT };

#define EX_TEXT_MAX 200
#define EX_LIST_MAX 100               /* notes in one list reply */

extern const trc_dbs_t exampled_dbs;
extern const char *const exampled_event_topics[];
/* Our events name no record (evlog.h): they go with the retention. */
int exampled_event_keys(const Traction__V1__Event *ev, trc_evlog_key_fn emit, void *ud);
extern const trc_consume_t exampled_consumes[];
extern const trc_method_t exampled_methods[];
extern const size_t exampled_n_methods;

/* One event of a source it consumes (trc_daemon_def_t.apply_event). */
int exampled_apply(trc_call_t *call, const Traction__V1__Event *ev);

#endif
