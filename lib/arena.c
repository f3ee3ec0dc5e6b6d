/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-turn bump allocator. See arena.h.
 */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

#define BLOCK_SIZE (64 * 1024)
#define ALIGN 16
/* Standard blocks kept across resets for the next turns, at most: a busy
 * daemon then stops asking malloc (and the kernel) for the same memory
 * every turn, and an idle one holds no more than this. */
#define SPARE_MAX 128 /* 8 MiB */

typedef struct block {
	struct block *next;
	size_t size;
	size_t used;
	_Alignas(ALIGN) unsigned char data[];
} block_t;

struct trc_arena {
	block_t *head;   /* current block; older ones follow */
	size_t total;
	block_t *spare;  /* standard blocks freed by reset, for reuse */
	size_t nspare;
	size_t failures; /* allocations that returned NULL since the reset */
};

static block_t *s_block_new(size_t size)
{
	block_t *b = malloc(sizeof(*b) + size);
	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

trc_arena_t *trc_arena_new(void)
{
	trc_arena_t *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->head = s_block_new(BLOCK_SIZE);
	if (a->head == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

void trc_arena_destroy(trc_arena_t **arena_p)
{
	if (arena_p == NULL || *arena_p == NULL)
		return;
	for (int list = 0; list < 2; list++) {
		block_t *b = list == 0 ? (*arena_p)->head : (*arena_p)->spare;
		while (b != NULL) {
			block_t *next = b->next;
			free(b);
			b = next;
		}
	}
	free(*arena_p);
	*arena_p = NULL;
}

/* Every NULL the arena hands out is counted (trc_arena_failures). */
static void *s_failed(trc_arena_t *a)
{
	a->failures++;
	return NULL;
}

/* Memory from the arena, not zeroed. */
static void *s_alloc(trc_arena_t *a, size_t size)
{
	size_t need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (need < size || trc_fault())
		return s_failed(a);
	if (need == 0)
		need = ALIGN;
	block_t *b = a->head;
	if (b->size - b->used < need) {
		size_t bsize = need > BLOCK_SIZE ? need : BLOCK_SIZE;
		block_t *nb = a->spare;
		if (bsize == BLOCK_SIZE && nb != NULL) {
			a->spare = nb->next;
			a->nspare--;
			nb->used = 0;
		} else if ((nb = s_block_new(bsize)) == NULL) {
			return s_failed(a);
		}
		nb->next = b;
		a->head = nb;
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += need;
	a->total += need;
	return p;
}

void *trc_arena_alloc(trc_arena_t *a, size_t size)
{
	void *p = s_alloc(a, size);
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

void *trc_arena_grow(trc_arena_t *a, void *arr, size_t n, size_t *cap, size_t elem)
{
	if (arr != NULL && n < *cap)
		return arr;
	size_t ncap = arr == NULL ? (*cap > 0 ? *cap : 16) : *cap * 2;
	if (ncap < n + 1 || elem == 0 || ncap > SIZE_MAX / elem)
		return s_failed(a);
	void *na = s_alloc(a, ncap * elem);
	if (na == NULL)
		return NULL;
	if (arr != NULL && n > 0)
		memcpy(na, arr, n * elem);
	*cap = ncap;
	return na;
}

char *trc_arena_strdup(trc_arena_t *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = trc_arena_alloc(a, n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

char *trc_arena_printf(trc_arena_t *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return s_failed(a);
	char *p = trc_arena_alloc(a, (size_t)n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* A block no longer used: kept for reuse, or freed. */
static void s_block_drop(trc_arena_t *a, block_t *b)
{
	if (b->size == BLOCK_SIZE && a->nspare < SPARE_MAX) {
		b->next = a->spare;
		a->spare = b;
		a->nspare++;
	} else {
		free(b);
	}
}

void trc_arena_reset(trc_arena_t *a)
{
	/* Keep the oldest block (the first one made, of the standard size). */
	block_t *b = a->head;
	while (b->next != NULL) {
		block_t *next = b->next;
		s_block_drop(a, b);
		b = next;
	}
	a->head = b;
	b->used = 0;
	a->total = 0;
	a->failures = 0;
}

trc_arena_mark_t trc_arena_mark(const trc_arena_t *a)
{
	return (trc_arena_mark_t){ a->head, a->head->used, a->total };
}

void trc_arena_rewind(trc_arena_t *a, trc_arena_mark_t m)
{
	while (a->head != m.block && a->head->next != NULL) {
		block_t *b = a->head;
		a->head = b->next;
		s_block_drop(a, b);
	}
	a->head->used = m.used;
	a->total = m.total;
}

size_t trc_arena_used(const trc_arena_t *a)
{
	return a->total;
}

size_t trc_arena_failures(const trc_arena_t *a)
{
	return a->failures;
}

/* protobuf-c initialises every message it allocates and fills every array
 * and string, so its memory need not be zeroed first (what zeroing cost:
 * docs/performance.md, "Measurements behind the code"). */
static void *s_pb_alloc(void *data, size_t size)
{
	return s_alloc(data, size);
}

static void s_pb_free(void *data, void *ptr)
{
	(void)data;
	(void)ptr;
}

ProtobufCAllocator trc_arena_allocator(trc_arena_t *a)
{
	ProtobufCAllocator al = { .alloc = s_pb_alloc, .free = s_pb_free, .allocator_data = a };
	return al;
}
