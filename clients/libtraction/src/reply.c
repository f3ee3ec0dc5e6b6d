/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A reply's memory. protobuf-c's decoder asks its allocator once per
 * string, sub-message and repeated field: a 44 KB iteration.history of
 * 200 versions is a few thousand malloc calls, and as many free calls in
 * traction_reply_free, which together took about half of a client's CPU
 * for that call (docs/performance.md, "History"). So a reply is decoded
 * into an arena of its own: a few blocks, sized from the reply's length,
 * allocated from front to back and freed together.
 *
 * traction_reply_free gets only the message, so the arena must be found
 * from it: the message is the decoder's first allocation (protobuf-c
 * allocates the top-level struct before anything else, in every release
 * since 1.0), placed right behind the first block's header. That order is
 * checked once, on a small message decoded the same way, before the first
 * reply is decoded:
 * were a future protobuf-c to allocate in another order, every reply is
 * decoded with malloc as before, and freed that way.
 */
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lt.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"

typedef struct lt_blk lt_blk_t;
struct lt_blk {
	lt_blk_t *next; /* in the first block: every other block */
	size_t size, used;
};

typedef struct {
	ProtobufCAllocator al;
	lt_blk_t *first, *cur;
	size_t next;    /* the size of a next block */
	bool failed;
} lt_arena_t;

/* protobuf-c's structs hold nothing wider than 8 bytes (pointers,
 * uint64_t, double): 16, max_align_t's, would add a fifth to a reply */
#define ALIGN ((size_t)8)
_Static_assert(alignof(double) <= 8 && alignof(uint64_t) <= 8 && alignof(void *) <= 8,
	       "a reply's arena aligns to 8");
#define ROUND(n) (((n) + ALIGN - 1) & ~(size_t)(ALIGN - 1))
#define HDR ROUND(sizeof(lt_blk_t))
/* a reply decodes to about four and a half times its wire size (structs,
 * pointers, NULs: a 44 KB history takes 197 KB): the first block is sized
 * for it, and each next one as large as the reply itself */
#define FIRST_MIN 512
#define NEXT_MIN 4096

/* The first block of the last reply freed, kept for the next one: a
 * block of a large reply is over glibc's trim threshold (128 KB), so
 * freeing it gave the heap's top back to the kernel and the next reply
 * took page faults to have it again. One block for the process, taken
 * and given back atomically (any thread may free a reply). */
#define SPARE_MAX (1u << 20)
static _Atomic(lt_blk_t *) s_spare;

static lt_blk_t *s_blk(size_t size)
{
	lt_blk_t *b = malloc(HDR + size);
	if (b != NULL)
		*b = (lt_blk_t){ .next = NULL, .size = size, .used = 0 };
	return b;
}

static void *s_alloc(void *data, size_t size)
{
	lt_arena_t *a = data;
	size = ROUND(size > 0 ? size : 1);
	lt_blk_t *b = a->cur;
	if (b == NULL || b->size - b->used < size) {
		/* a block of its own for a large one; the first block stays
		 * first (it is the one traction_reply_free finds) */
		size_t want = size > a->next / 2 ? size : a->next;
		if ((b = s_blk(want)) == NULL) {
			a->failed = true;
			return NULL;
		}
		if (a->first == NULL) {
			a->first = b;
		} else {
			b->next = a->first->next;
			a->first->next = b;
		}
		if (want == a->next)
			a->cur = b;
	}
	void *p = (char *)b + HDR + b->used;
	b->used += size;
	return p;
}

static void s_free(void *data, void *p)
{
	/* the whole arena goes at once (a decoder that fails frees its
	 * partial message through here first) */
	(void)data;
	(void)p;
}

static void s_release(lt_blk_t *first)
{
	if (first == NULL)
		return;
	for (lt_blk_t *b = first->next, *next; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	if (first->size <= SPARE_MAX)
		first = atomic_exchange(&s_spare, first);
	free(first);
}

/* A first block of at least size bytes: the spare if it is large enough. */
static lt_blk_t *s_first(size_t size)
{
	lt_blk_t *b = atomic_exchange(&s_spare, NULL);
	if (b != NULL && b->size >= size) {
		*b = (lt_blk_t){ .next = NULL, .size = b->size, .used = 0 };
		return b;
	}
	free(b);
	return s_blk(size);
}

/* ---- decoding ------------------------------------------------------------- */

/* The first block of the arena a message was decoded into: the message
 * sits right behind its header (s_arena_unpack makes sure). */
static lt_blk_t *s_block_of(ProtobufCMessage *m)
{
	return (lt_blk_t *)(void *)((char *)m - HDR);
}

/* d's message decoded into an arena, or NULL: not decoded (*oom: memory
 * ran out), or not placed behind the first block's header. */
static ProtobufCMessage *s_arena_unpack(const ProtobufCMessageDescriptor *d,
					const uint8_t *data, size_t len, bool *oom)
{
	lt_arena_t a = { .al = { .alloc = s_alloc, .free = s_free },
			 .next = ROUND(len > NEXT_MIN ? len : NEXT_MIN) };
	a.al.allocator_data = &a;
	/* the first block: room for the message itself and most of the rest */
	size_t first = ROUND(d->sizeof_message) + 5 * len;
	*oom = false;
	if ((a.first = a.cur = s_first(first > FIRST_MIN ? first : FIRST_MIN)) == NULL) {
		*oom = true;
		return NULL;
	}
	ProtobufCMessage *m = protobuf_c_message_unpack(d, &a.al, len, data);
	if (m != NULL && s_block_of(m) == a.first)
		return m;
	*oom = a.failed;
	s_release(a.first);
	return NULL;
}

static bool s_arena_ok;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

/* The order check: a small message with a sub-message and a string,
 * decoded the arena's way, must come out behind the first block's header. */
static void s_probe(void)
{
	Traction__V1__Status status = TRACTION__V1__STATUS__INIT;
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	uint8_t buf[64];
	bool oom;
	status.code = TRACTION__V1__CODE__NOT_FOUND;
	status.message = (char *)"x";
	h.version = 1;
	h.status = &status;
	ProtobufCMessage *m = s_arena_unpack(&traction__v1__header__descriptor, buf,
					     traction__v1__header__pack(&h, buf), &oom);
	s_arena_ok = m != NULL;
	if (m != NULL)
		s_release(s_block_of(m));
}

ProtobufCMessage *lt_reply_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *data,
				  size_t len, bool *oom)
{
	pthread_once(&s_once, s_probe);
	if (s_arena_ok)
		return s_arena_unpack(d, data, len, oom);
	lt_alloc_t a;
	lt_alloc_init(&a);
	ProtobufCMessage *m = protobuf_c_message_unpack(d, &a.al, len, data);
	*oom = m == NULL && a.failed;
	return m;
}

void lt_reply_free(ProtobufCMessage *m)
{
	if (m == NULL)
		return;
	if (!s_arena_ok) /* no reply was decoded in an arena */
		protobuf_c_message_free_unpacked(m, NULL);
	else
		s_release(s_block_of(m));
}
