/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bump allocator for everything one turn of a daemon's loop allocates:
 * decoded requests, replies, strings. Freed all at once when the turn's
 * replies have been sent, so a handler never frees anything.
 */
#ifndef TRC_ARENA_H
#define TRC_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

typedef struct trc_arena trc_arena_t;

trc_arena_t *trc_arena_new(void);
void trc_arena_destroy(trc_arena_t **arena_p);

/* Zeroed memory aligned for any type; NULL when out of memory. */
void *trc_arena_alloc(trc_arena_t *arena, size_t size);
char *trc_arena_strdup(trc_arena_t *arena, const char *s);
char *trc_arena_printf(trc_arena_t *arena, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Room for element n of an array that lives in the arena (elements of
 * `elem` bytes): arr itself while n < *cap; else, with arr NULL, a first
 * array of *cap elements (16 if *cap is 0), or a copy of arr twice the size
 * (*cap updated; the old copy stays in the arena). NULL when out of memory.
 *   all = trc_arena_grow(arena, all, n, &cap, sizeof(*all)); all[n++] = x; */
void *trc_arena_grow(trc_arena_t *arena, void *arr, size_t n, size_t *cap, size_t elem);

/* Forget everything allocated (and the failures); keeps the first block,
 * and up to 8 MiB of the others, for reuse. */
void trc_arena_reset(trc_arena_t *arena);

/* Where the arena stands, to forget later what is allocated after it. */
typedef struct {
	const void *block;
	size_t used, total;
} trc_arena_mark_t;
trc_arena_mark_t trc_arena_mark(const trc_arena_t *arena);
/* Forgets what was allocated since mark (taken since the last reset; none
 * of that memory may be used any more). The service runtime answers a
 * read from the memory of the turn and takes it back at once, so reads
 * served while the writer commits do not pile up in the loop's batch.
 * Failures are kept: they are counted until the reset. */
void trc_arena_rewind(trc_arena_t *arena, trc_arena_mark_t mark);

/* Bytes handed out since the last reset. */
size_t trc_arena_used(const trc_arena_t *arena);

/* How many allocations have failed (returned NULL) since the last reset.
 * Sticky: a NULL that a caller lost on the way (a helper that returned a
 * short result, a field left empty) still shows here. The service runtime
 * compares it before and after each step of a request and answers
 * RESOURCE_EXHAUSTED when it grew, whatever the handler returned: out of
 * memory is never an OK with a short reply. */
size_t trc_arena_failures(const trc_arena_t *arena);

/* A protobuf-c allocator that allocates from the arena (free is a no-op). */
ProtobufCAllocator trc_arena_allocator(trc_arena_t *arena);

#endif
