/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lineage of a supply's versions, a tree: every version depth first
 * from the initial one, children in release order (iteration.list, and
 * history's order). O(n log n): the parent of each is found by binary
 * search and the children of each are a slice of one array (a history of
 * hundreds of versions must answer in well under a millisecond).
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "iterationd.h"
#include "record.h"
#include "util.h"
#include "validate.h"

static int s_by_release(const void *a_, const void *b_)
{
	const Traction__V1__Iteration *a = *(Traction__V1__Iteration *const *)a_;
	const Traction__V1__Iteration *b = *(Traction__V1__Iteration *const *)b_;
	if (a->released_ms != b->released_ms)
		return a->released_ms < b->released_ms ? -1 : 1;
	return strcmp(a->version, b->version);
}

static int s_by_name(const void *a, const void *b, void *all_)
{
	Traction__V1__Iteration *const *all = all_;
	return strcmp(all[*(const size_t *)a]->version, all[*(const size_t *)b]->version);
}

/* The release-order index of version name in all, by binary search over
 * byname (indexes sorted by name); SIZE_MAX if it is not there. */
static size_t s_find(Traction__V1__Iteration *const *all, const size_t *byname, size_t n,
		     const char *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(all[byname[mid]]->version, name);
		if (c == 0)
			return byname[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

/* The raw form it_lineage keeps: u32 length, key, u32 length, value, ... */
static void s_raw_put(uint8_t **p, const MDB_val *v)
{
	uint32_t n = (uint32_t)v->mv_size;
	memcpy(*p, &n, sizeof(n));
	if (n > 0)
		memcpy(*p + sizeof(n), v->mv_data, n);
	*p += sizeof(n) + n;
}

static bool s_raw_same(const uint8_t **p, const uint8_t *end, const MDB_val *v)
{
	uint32_t n;
	if ((size_t)(end - *p) < sizeof(n))
		return false;
	memcpy(&n, *p, sizeof(n));
	if (n != v->mv_size || (size_t)(end - *p) - sizeof(n) < n ||
	    (n > 0 && memcmp(*p + sizeof(n), v->mv_data, n) != 0))
		return false;
	*p += sizeof(n) + n;
	return true;
}

/* The supply's versions as stored (key order) into *all, decoded into
 * arena; with raw, their bytes too. */
static int s_scan(trc_call_t *call, trc_arena_t *arena, const char *supply,
		  Traction__V1__Iteration ***all_p, size_t *n_p, MDB_val *raw)
{
	size_t cap = 64, n = 0, rcap = 0, rlen = 0;
	uint8_t *rbuf = NULL;
	Traction__V1__Iteration **all = NULL;
	trc_iter_t it;
	int rc = trc_iter_prefix(call->txn, trc_call_db(call, IT_DB_VERSIONS), &it, supply,
				 strlen(supply), false);
	while (rc == 0 && trc_iter_next(&it) && n < IT_VERSIONS_MAX) {
		Traction__V1__Iteration *v;
		rc = trc_iter_rec(&it, arena, (void **)&v);
		if (rc != 0)
			break;
		if ((all = trc_arena_grow(arena, all, n, &cap, sizeof(*all))) == NULL) {
			rc = TRC_ENOMEM;
			break;
		}
		all[n++] = v;
		if (raw == NULL)
			continue;
		size_t need = 2 * sizeof(uint32_t) + it.key.mv_size + it.val.mv_size;
		while (rbuf == NULL || rlen + need > rcap)
			if ((rbuf = trc_arena_grow(arena, rbuf, rcap, &rcap, 1)) == NULL)
				break;
		if (rbuf == NULL) {
			rc = TRC_ENOMEM;
			break;
		}
		uint8_t *p = rbuf + rlen;
		s_raw_put(&p, &it.key);
		s_raw_put(&p, &it.val);
		rlen = (size_t)(p - rbuf);
	}
	if (raw != NULL)
		*raw = (MDB_val){ rlen, rbuf };
	trc_iter_end(&it);
	*all_p = all;
	*n_p = n;
	return rc != 0 ? rc : call->txn->err;
}

/* all (n versions, in release order) depth first from the roots into out;
 * mem is scratch of 6 n + 2 size_t, sdepth of n + 1. */
static void s_order(Traction__V1__Iteration **all, size_t n, size_t *mem, uint32_t *sdepth,
		    it_lineage_t *out)
{
	size_t *byname = mem, *par = mem + n, *first = mem + 2 * n, *kids = mem + 3 * n + 1,
	       *stack = mem + 4 * n + 1, *pos = mem + 5 * n + 1;
	for (size_t i = 0; i < n; i++)
		byname[i] = i;
	qsort_r(byname, n, sizeof(size_t), s_by_name, all);
	/* parents (a parent that is not stored makes a root), then the
	 * children of each in release order: counts, prefix sums, fill */
	memset(first, 0, sizeof(size_t) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		const char *pv = all[i]->parent_version;
		par[i] = pv != NULL && pv[0] != '\0' ? s_find(all, byname, n, pv) : SIZE_MAX;
		if (par[i] == i)
			par[i] = SIZE_MAX; /* its own parent: treat as a root */
		if (par[i] != SIZE_MAX)
			first[par[i] + 1]++;
	}
	for (size_t i = 0; i < n; i++)
		first[i + 1] += first[i];
	memcpy(pos, first, sizeof(size_t) * n);
	for (size_t i = 0; i < n; i++)
		if (par[i] != SIZE_MAX)
			kids[pos[par[i]]++] = i;
	for (size_t r = 0; r < n; r++) {
		if (par[r] != SIZE_MAX)
			continue;
		size_t sp = 0;
		stack[sp] = r;
		sdepth[sp++] = 0;
		while (sp > 0 && out->n < n) {
			size_t i = stack[--sp];
			uint32_t d = sdepth[sp];
			pos[i] = out->n; /* now: where i went in the output */
			out->v[out->n] = all[i];
			out->parent[out->n] = par[i] != SIZE_MAX ? pos[par[i]] : SIZE_MAX;
			out->depth[out->n++] = d;
			/* push children in reverse release order, so the earliest pops first */
			for (size_t k = first[i + 1]; k-- > first[i];) {
				stack[sp] = kids[k];
				sdepth[sp++] = d + 1;
			}
		}
	}
}

int it_lineage(trc_call_t *call, trc_arena_t *arena, const char *supply, it_lineage_t *out,
	       MDB_val *raw)
{
	Traction__V1__Iteration **all;
	size_t n;
	int rc = s_scan(call, arena, supply, &all, &n, raw);
	if (rc != 0)
		return rc;
	if (n > 1)
		qsort(all, n, sizeof(*all), s_by_release);
	out->v = trc_arena_alloc(arena, sizeof(void *) * (n + 1));
	out->depth = trc_arena_alloc(arena, sizeof(uint32_t) * (n + 1));
	out->parent = trc_arena_alloc(arena, sizeof(size_t) * (n + 1));
	out->n = 0;
	/* one block: byname, parent of each, children slices (first, kids), stack */
	size_t *mem = malloc(sizeof(size_t) * (6 * n + 2));
	uint32_t *sdepth = malloc(sizeof(uint32_t) * (n + 1));
	if (out->v == NULL || out->depth == NULL || out->parent == NULL || mem == NULL ||
	    sdepth == NULL)
		rc = TRC_ENOMEM;
	else
		s_order(all, n, mem, sdepth, out);
	free(mem);
	free(sdepth);
	return rc;
}

int it_lineage_same(trc_call_t *call, const char *supply, const MDB_val *raw, bool *same)
{
	trc_iter_t it;
	size_t n = 0;
	const uint8_t *cmp = raw->mv_data, *end = cmp + raw->mv_size;
	*same = true;
	int rc = trc_iter_prefix(call->txn, trc_call_db(call, IT_DB_VERSIONS), &it, supply,
				 strlen(supply), false);
	while (rc == 0 && *same && trc_iter_next(&it) && n++ < IT_VERSIONS_MAX)
		*same = s_raw_same(&cmp, end, &it.key) && s_raw_same(&cmp, end, &it.val);
	trc_iter_end(&it);
	*same = *same && cmp == end; /* and none went away */
	return rc != 0 ? rc : call->txn->err;
}

size_t it_lineage_offset(trc_call_t *call, const Traction__V1__PageRequest *page, int *rc)
{
	const char *cursor = trc_page_cursor(page);
	*rc = 0;
	if (cursor[0] == '\0')
		return 0;
	char *end;
	unsigned long long off = strtoull(cursor, &end, 10);
	if (*end != '\0' || off > IT_VERSIONS_MAX)
		*rc = trc_call_fail(call, TRC_EINVAL, "page.cursor: not a cursor of this list");
	return (size_t)off;
}

int iterationd_list(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IterationListRequest *req = (const void *)req_;
	Traction__V1__IterationListReply *rep = (void *)rep_;
	int rc = trc_check_slug(call, "supply_id", req->supply_id);
	if (rc != 0)
		return rc;
	size_t off = it_lineage_offset(call, req->page, &rc);
	if (rc != 0)
		return rc;
	it_lineage_t l;
	if ((rc = it_lineage(call, call->arena, req->supply_id, &l, NULL)) != 0)
		return rc;
	size_t limit = trc_page_limit(req->page, 100, 1000);
	rep->iterations = l.v + (off < l.n ? off : l.n);
	rep->n_iterations = off < l.n ? (l.n - off < limit ? l.n - off : limit) : 0;
	if (off + rep->n_iterations < l.n)
		rep->next_cursor = trc_arena_printf(call->arena, "%zu", off + rep->n_iterations);
	return 0;
}
