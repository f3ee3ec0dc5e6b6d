/*
 * libFuzzer: the request handlers and event consumers, fed what a hostile
 * client or a broken peer could send: the first byte picks an entry point,
 * the rest is its protobuf body, decoded as the runtime decodes it and run
 * in a write transaction on a real store (aborted afterwards, so every run
 * starts from the same state). A handler must answer (OK or an error),
 * never crash, leak or touch memory it does not own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "call.h"
#include "evlog.h"
#include "feedbackd.h"
#include "iterationd.h"
#include "scenariod.h"
#include "store.h"
#include "supplyd.h"
#include "traction/v1/bus.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	trc_store_t *store;
	trc_evlog_t *evlog;
	void *user;
} env_t;

static env_t s_sup, s_scen, s_fb, s_it;
static fb_state_t s_fb_state;
static it_state_t s_it_state;
static trc_arena_t *s_arena;

static void s_open(env_t *e, const char *dir, const char *name, const char *const *dbs,
		   const char *source)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (trc_store_open(&e->store, path, 64u << 20, dbs, 1) != 0)
		abort();
	e->evlog = trc_evlog_new(source);
}

static void s_init(void)
{
	char dir[] = "/tmp/trc-fuzz-XXXXXX";
	if (mkdtemp(dir) == NULL)
		abort();
	s_open(&s_sup, dir, "supplyd", supplyd_dbs, "supply");
	s_open(&s_scen, dir, "scenariod", scenariod_dbs, "scenario");
	s_open(&s_fb, dir, "feedbackd", feedbackd_dbs, "feedback");
	s_open(&s_it, dir, "iterationd", iterationd_dbs, "iteration");
	/* The stores stay open (and mapped) for the process's life; their
	 * files can go now, so no run leaves a directory behind, whether
	 * libFuzzer exits, finds a crash, or is killed. */
	static const char *const names[] = { "supplyd", "scenariod", "feedbackd", "iterationd" };
	for (size_t i = 0; i < 4; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s/data.mdb", dir, names[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s/lock.mdb", dir, names[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		rmdir(path);
	}
	rmdir(dir);
	feedbackd_open(&s_fb_state, s_fb.store, NULL);
	trc_config_defaults(&s_it_state.cfg);
	s_fb.user = &s_fb_state;
	s_it.user = &s_it_state;
	s_arena = trc_arena_new();
}

typedef struct {
	env_t *env;
	const trc_method_t *m;   /* a request, or */
	int (*apply)(trc_call_t *, const Traction__V1__Event *); /* an event */
} target_t;

static size_t s_targets(target_t *t)
{
	size_t n = 0;
	for (size_t i = 0; i < supplyd_n_methods; i++)
		t[n++] = (target_t){ &s_sup, &supplyd_methods[i], NULL };
	for (size_t i = 0; i < scenariod_n_methods; i++)
		t[n++] = (target_t){ &s_scen, &scenariod_methods[i], NULL };
	for (size_t i = 0; i < feedbackd_n_methods; i++)
		t[n++] = (target_t){ &s_fb, &feedbackd_methods[i], NULL };
	for (size_t i = 0; i < iterationd_n_iteration_methods; i++)
		t[n++] = (target_t){ &s_it, &iterationd_iteration_methods[i], NULL };
	for (size_t i = 0; i < iterationd_n_deployment_methods; i++)
		t[n++] = (target_t){ &s_it, &iterationd_deployment_methods[i], NULL };
	t[n++] = (target_t){ &s_scen, NULL, scenariod_apply };
	t[n++] = (target_t){ &s_fb, NULL, feedbackd_apply };
	t[n++] = (target_t){ &s_it, NULL, iterationd_apply };
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static target_t targets[128];
	static size_t ntargets;
	if (s_arena == NULL) {
		s_init();
		ntargets = s_targets(targets);
	}
	if (size < 1)
		return 0;
	target_t *t = &targets[data[0] % ntargets];
	ProtobufCAllocator al = trc_arena_allocator(s_arena);
	trc_txn_t txn;
	if (trc_txn_begin(t->env->store, &txn, true) != 0)
		abort();
	trc_call_t call = { .txn = &txn, .arena = s_arena, .evlog = t->env->evlog,
			    .user = t->env->user, .client_id = "fuzz",
			    .role = TRACTION__V1__ROLE__ROLE_ADMIN, .now_ms = 1764325000000 };
	if (t->m != NULL) {
		ProtobufCMessage *req = protobuf_c_message_unpack(t->m->request, &al, size - 1, data + 1);
		if (req != NULL) {
			/* as the runtime does: the bytes as they came, too */
			call.body = data + 1;
			call.body_len = size - 1;
			ProtobufCMessage *rep = trc_arena_alloc(s_arena, t->m->reply->sizeof_message);
			protobuf_c_message_init(t->m->reply, rep);
			int rc = t->m->handler(&call, req, rep);
			if (rc == 0) {
				/* a reply that packs */
				size_t len = protobuf_c_message_get_packed_size(rep);
				uint8_t *buf = malloc(len + 1);
				protobuf_c_message_pack(rep, buf);
				free(buf);
			}
		}
	} else {
		Traction__V1__Event *ev = traction__v1__event__unpack(&al, size - 1, data + 1);
		if (ev != NULL)
			t->apply(&call, ev);
	}
	trc_txn_abort(&txn);
	trc_evlog_rollback(t->env->evlog, 0);
	if (t->env == &s_fb)
		feedbackd_batch_done(&s_fb_state);
	trc_arena_reset(s_arena);
	return 0;
}
