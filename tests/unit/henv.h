/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A handler test environment: a real LMDB store in a temp dir, an event
 * log, and a call context, so that unit tests run a daemon's handlers (pure
 * functions of call + request) exactly as the runtime does, minus sockets.
 * Each henv_call runs in a transaction of its own that commits on success
 * and aborts on error, like the runtime's nested transaction per request.
 */
#ifndef TRC_HENV_H
#define TRC_HENV_H

#include <stdbool.h>

#include "arena.h"
#include "call.h"
#include "evlog.h"
#include "store.h"
#include "traction/v1/events.pb-c.h"

#define HENV_EVENTS_MAX 4096

typedef struct {
	trc_store_t *store;
	trc_evlog_t *evlog;
	trc_arena_t *arena;
	trc_call_t call;          /* of the last henv_call: code and message */
	int64_t now_ms;
	int role;
	const char *client_id;    /* "test" unless set */
	void *user;               /* the daemon's state, and its batch hooks */
	int (*batch_end)(trc_call_t *call);
	void (*batch_done)(void *user, bool committed);
	char **scenarios;         /* a publisher's scope */
	size_t n_scenarios;
	char **enterprises;       /* a scoped reader's (lib/scope.h) */
	size_t n_enterprises;
	char **providers;
	size_t n_providers;
	/* events committed, packed, in order (consumed by henv_feed) */
	uint8_t *events[HENV_EVENTS_MAX];
	size_t event_len[HENV_EVENTS_MAX];
	char *event_type[HENV_EVENTS_MAX];
	size_t nevents;
} henv_t;

void henv_open(henv_t *e, const char *dir, const trc_dbs_t *dbs, const char *source);
void henv_close(henv_t *e);

/* Runs fn on req, into rep (initialised here from its descriptor). */
int henv_call(henv_t *e, trc_handler_fn fn, bool write, const void *req, void *rep,
	      const ProtobufCMessageDescriptor *rep_desc);

typedef int (*henv_apply_fn)(trc_call_t *call, const Traction__V1__Event *ev);

/* Applies every event src committed since the last feed to dst with
 * apply, each in its own transaction, advancing dst's position. */
void henv_feed(henv_t *dst, henv_t *src, henv_apply_fn apply);
/* The same for each of several daemons that consume src's events. */
void henv_feed_to(henv_t *src, henv_t *const *dst, const henv_apply_fn *apply, size_t ndst);

/* Forgets the events kept so far. */
void henv_clear_events(henv_t *e);

/* Frees what handler replies point to (call between steps). */
void henv_reset(henv_t *e);

#endif
