/*
 * Versions (iterations) of a supply and their lineage, a tree: each
 * version but the initial one names an existing parent, so a cycle cannot
 * be recorded. The history walks the tree depth-first from the initial
 * version, children in release order, and shows for each version what it
 * addressed and whether that stayed fixed, its aggregates, and its deltas
 * against its parent.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "iterationd.h"
#include "record.h"
#include "util.h"
#include "validate.h"

#define NOTES_MAX 8000
#define VERSIONS_MAX 100000

static MDB_dbi s_db(trc_call_t *call, const char *name)
{
	return trc_store_db(call->txn->store, name);
}

int it_version_get(trc_call_t *call, const char *supply, const char *version,
		   Traction__V1__Iteration **out)
{
	char key[2 * TRC_SLUG_MAX + 2];
	size_t kl = trc_key2(key, sizeof(key), supply, version);
	if (kl == 0)
		return TRC_EINVAL;
	return trc_rec_get(call->txn, s_db(call, IT_DB_VERSIONS), key, kl,
			   &traction__v1__iteration__descriptor, call->arena, (void **)out);
}

bool it_descends(trc_call_t *call, const char *supply, const char *version,
		 const char *ancestor)
{
	const char *cur = version;
	for (int depth = 0; depth < VERSIONS_MAX && cur != NULL && cur[0] != '\0'; depth++) {
		if (strcmp(cur, ancestor) == 0)
			return true;
		Traction__V1__Iteration *it;
		if (it_version_get(call, supply, cur, &it) != 0)
			return false;
		cur = it->parent_version;
	}
	return false;
}

/* The stored bytes of a roll-up; raw->mv_data NULL when none is stored. */
static int s_evidence_raw(trc_call_t *call, const char *supply, const char *version,
			  const char *scenario, MDB_val *raw)
{
	char key[3 * TRC_SLUG_MAX + 3];
	size_t kl = trc_key3(key, sizeof(key), supply, version, scenario);
	*raw = (MDB_val){ 0, NULL };
	if (kl == 0)
		return TRC_EINVAL;
	int rc = trc_txn_get(call->txn, s_db(call, IT_DB_EVIDENCE), key, kl, raw);
	return rc == TRC_ENOENT ? 0 : rc;
}

/* A roll-up decoded from its bytes into arena, or an empty one naming
 * (supply, version, scenario) when none is stored. */
static int s_evidence_decode(trc_arena_t *arena, const MDB_val *raw, const char *supply,
			     const char *version, const char *scenario,
			     Traction__V1__EvidenceUpdate **out)
{
	if (raw->mv_data != NULL) {
		*out = trc_rec_unpack(raw, &traction__v1__evidence_update__descriptor, arena);
		return *out != NULL ? 0 : TRC_ECORRUPT;
	}
	*out = trc_arena_alloc(arena, sizeof(**out));
	if (*out == NULL)
		return TRC_ENOMEM;
	traction__v1__evidence_update__init(*out);
	(*out)->supply_id = (char *)supply;
	(*out)->version = (char *)version;
	(*out)->scenario_id = (char *)scenario;
	return 0;
}

int it_evidence(trc_call_t *call, const char *supply, const char *version, const char *scenario,
		Traction__V1__EvidenceUpdate **out)
{
	MDB_val raw;
	int rc = s_evidence_raw(call, supply, version, scenario, &raw);
	return rc != 0 ? rc : s_evidence_decode(call->arena, &raw, supply, version, scenario, out);
}

static const Traction__V1__MetricSummary *s_metric(const Traction__V1__EvidenceUpdate *e,
						    const char *name)
{
	for (size_t i = 0; e != NULL && i < e->n_metrics; i++)
		if (strcmp(e->metrics[i]->name, name) == 0)
			return e->metrics[i];
	return NULL;
}

int it_deltas(trc_call_t *call, const Traction__V1__EvidenceUpdate *from,
	      const Traction__V1__EvidenceUpdate *to, Traction__V1__MetricDelta ***out, size_t *n)
{
	size_t cap = (from != NULL ? from->n_metrics : 0) + (to != NULL ? to->n_metrics : 0);
	*n = 0;
	*out = trc_arena_alloc(call->arena, sizeof(void *) * (cap > 0 ? cap : 1));
	if (*out == NULL)
		return TRC_ENOMEM;
	/* every metric of either side, the child's first */
	for (int side = 0; side < 2; side++) {
		const Traction__V1__EvidenceUpdate *e = side == 0 ? to : from;
		for (size_t i = 0; e != NULL && i < e->n_metrics; i++) {
			const char *name = e->metrics[i]->name;
			bool seen = false;
			for (size_t k = 0; k < *n && !seen; k++)
				seen = strcmp((*out)[k]->metric, name) == 0;
			if (seen)
				continue;
			const Traction__V1__MetricSummary *a = s_metric(from, name), *b = s_metric(to, name);
			Traction__V1__MetricDelta *d = trc_arena_alloc(call->arena, sizeof(*d));
			if (d == NULL)
				return TRC_ENOMEM;
			traction__v1__metric_delta__init(d);
			d->metric = (char *)name;
			d->from_mean = a != NULL ? a->mean : 0;
			d->to_mean = b != NULL ? b->mean : 0;
			d->from_count = a != NULL ? a->count : 0;
			d->to_count = b != NULL ? b->count : 0;
			if (a != NULL && b != NULL) {
				d->abs_delta = d->to_mean - d->from_mean;
				d->pct_delta = d->from_mean != 0 ? d->abs_delta / fabs(d->from_mean) * 100.0
								 : 0;
			}
			(*out)[(*n)++] = d;
		}
	}
	return 0;
}

/* ---- iteration.record / get ------------------------------------------------------ */

int it_version_store(trc_call_t *call, Traction__V1__Iteration *it)
{
	char key[2 * TRC_SLUG_MAX + 2];
	size_t kl = trc_key2(key, sizeof(key), it->supply_id, it->version);
	int rc = trc_rec_put(call->txn, s_db(call, IT_DB_VERSIONS), key, kl, &it->base);
	if (rc != 0)
		return rc;
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_ITERATION;
	ev.iteration = it;
	return trc_call_emit(call, "iteration.recorded", &ev);
}

int iterationd_record(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IterationRecordRequest *req = (const void *)req_;
	Traction__V1__IterationReply *rep = (void *)rep_;
	Traction__V1__Iteration *it = req->iteration;
	if (it == NULL)
		return trc_call_fail(call, TRC_EINVAL, "iteration: required");
	int rc = trc_check_slug(call, "iteration.supply_id", it->supply_id);
	if (rc == 0)
		rc = trc_check_slug(call, "iteration.version", it->version);
	if (rc == 0 && (it->parent_version == NULL || it->parent_version[0] == '\0'))
		rc = trc_call_fail(call, TRC_EINVAL,
				   "iteration.parent_version: required (the initial version is "
				   "the one the supply was registered with)");
	if (rc == 0)
		rc = trc_check_slug(call, "iteration.parent_version", it->parent_version);
	if (rc == 0)
		rc = trc_check_text(call, "iteration.notes", it->notes, 0, NOTES_MAX);
	if (rc == 0)
		rc = trc_check_slugs(call, "iteration.addresses", it->addresses, it->n_addresses,
				     TRC_LIST_MAX);
	if (rc == 0 && it->n_addresses_records > TRC_LIST_MAX)
		rc = trc_call_fail(call, TRC_EINVAL, "iteration.addresses_records: at most %d",
				   TRC_LIST_MAX);
	if (rc == 0 && it->released_ms < 0)
		rc = trc_call_fail(call, TRC_EINVAL, "iteration.released_ms: before 1970");
	if (rc != 0)
		return rc;
	MDB_val v;
	rc = trc_txn_get(call->txn, s_db(call, IT_DB_SUPPLIES), it->supply_id, strlen(it->supply_id),
			 &v);
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "iteration.supply_id: no supply '%s'", it->supply_id);
	if (rc != 0)
		return rc;
	Traction__V1__Iteration *parent;
	rc = it_version_get(call, it->supply_id, it->parent_version, &parent);
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "iteration.parent_version: supply '%s' has no version '%s'",
				     it->supply_id, it->parent_version);
	if (rc != 0)
		return rc;
	Traction__V1__Iteration *existing;
	rc = it_version_get(call, it->supply_id, it->version, &existing);
	if (rc == 0)
		return trc_call_fail(call, TRC_EEXIST, "iteration.version: supply '%s' has a version '%s'",
				     it->supply_id, it->version);
	if (rc != TRC_ENOENT)
		return rc;
	it->recorded_ms = call->now_ms;
	if (it->released_ms == 0)
		it->released_ms = call->now_ms;
	rep->iteration = it;
	return it_version_store(call, it);
}

int iterationd_get(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IterationGetRequest *req = (const void *)req_;
	Traction__V1__IterationReply *rep = (void *)rep_;
	int rc = trc_check_slug(call, "supply_id", req->supply_id);
	if (rc == 0)
		rc = trc_check_slug(call, "version", req->version);
	if (rc != 0)
		return rc;
	rc = it_version_get(call, req->supply_id, req->version, &rep->iteration);
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "version: supply '%s' has no version '%s'",
				     req->supply_id, req->version);
	return rc;
}

/* ---- lineage order ------------------------------------------------------------------ */

typedef struct {
	Traction__V1__Iteration **v;
	uint32_t *depth;
	size_t *parent;          /* position of each one's parent in v, or SIZE_MAX */
	size_t n;
} lineage_t;

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

/* Every version of a supply, depth first from the roots, children in
 * release order. O(n log n): the parent of each is found by binary search
 * and the children of each are a slice of one array (a history of
 * hundreds of versions must answer in well under a millisecond). */
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

/* raw, if not NULL: the version records' bytes as scanned, kept in arena
 * (u32 length, key, u32 length, value, ...) for s_versions_same. */
static int s_lineage_in(trc_call_t *call, trc_arena_t *arena, const char *supply,
			lineage_t *out, MDB_val *raw)
{
	size_t cap = 64, n = 0, rcap = 0, rlen = 0;
	uint8_t *rbuf = NULL;
	Traction__V1__Iteration **all = NULL;
	trc_iter_t it;
	int rc = trc_iter_prefix(call->txn, s_db(call, IT_DB_VERSIONS), &it, supply, strlen(supply),
				 false);
	while (rc == 0 && trc_iter_next(&it) && n < VERSIONS_MAX) {
		Traction__V1__Iteration *v =
			trc_rec_unpack(&it.val, &traction__v1__iteration__descriptor, arena);
		if (v == NULL) {
			rc = TRC_ECORRUPT;
			break;
		}
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
	if (rc == 0)
		rc = call->txn->err;
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
	    sdepth == NULL) {
		rc = TRC_ENOMEM;
		goto out;
	}
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
out:
	free(mem);
	free(sdepth);
	return rc;
}

static int s_lineage(trc_call_t *call, const char *supply, lineage_t *out)
{
	return s_lineage_in(call, call->arena, supply, out, NULL);
}

static size_t s_offset(trc_call_t *call, const Traction__V1__PageRequest *page, int *rc)
{
	const char *cursor = trc_page_cursor(page);
	*rc = 0;
	if (cursor[0] == '\0')
		return 0;
	char *end;
	unsigned long long off = strtoull(cursor, &end, 10);
	if (*end != '\0' || off > VERSIONS_MAX)
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
	size_t off = s_offset(call, req->page, &rc);
	if (rc != 0)
		return rc;
	lineage_t l;
	if ((rc = s_lineage(call, req->supply_id, &l)) != 0)
		return rc;
	size_t limit = trc_page_limit(req->page, 100, 1000);
	rep->iterations = l.v + (off < l.n ? off : l.n);
	rep->n_iterations = off < l.n ? (l.n - off < limit ? l.n - off : limit) : 0;
	if (off + rep->n_iterations < l.n)
		rep->next_cursor = trc_arena_printf(call->arena, "%zu", off + rep->n_iterations);
	return 0;
}

/* ---- history --------------------------------------------------------------------------- */

static int s_problem(trc_call_t *call, const char *supply, const char *sig,
		     Traction__V1__ProblemInfo **out)
{
	char key[2 * TRC_SLUG_MAX + 24];
	size_t kl = trc_key2(key, sizeof(key), supply, sig);
	if (kl == 0)
		return TRC_ENOENT;
	return trc_rec_get(call->txn, s_db(call, IT_DB_PROBLEMS), key, kl,
			   &traction__v1__problem_info__descriptor, call->arena, (void **)out);
}

static int s_deployment_ids(trc_call_t *call, const char *supply, const char *version,
			    char ***out, size_t *n)
{
	char key[2 * TRC_SLUG_MAX + 3];
	size_t kl = trc_key2(key, sizeof(key) - 1, supply, version);
	size_t cap = 8;
	*n = 0;
	*out = NULL;
	trc_iter_t it;
	int rc = trc_iter_prefix(call->txn, s_db(call, IT_DB_DEP_BY_VERSION), &it, key, kl, false);
	while (rc == 0 && trc_iter_next(&it)) {
		size_t idlen = it.key.mv_size - kl - 1;
		*out = trc_arena_grow(call->arena, *out, *n, &cap, sizeof(**out));
		char *id = trc_arena_alloc(call->arena, idlen + 1);
		if (*out == NULL || id == NULL)
			return TRC_ENOMEM;
		memcpy(id, (const char *)it.key.mv_data + kl + 1, idlen);
		(*out)[(*n)++] = id;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

/* What history reads of a supply (its lineage and each version's roll-up),
 * kept with the bytes it was decoded from. A history asked again in the
 * same store snapshot uses it as it is. In a later snapshot (any write to
 * iterationd's store makes one: another supply's version, a roll-up of
 * feedback) it is checked, not decoded again: the supply's version
 * records are compared with the bytes kept (any difference: read it all
 * again), and each roll-up is compared when history next needs it (a
 * difference: that one is decoded again). Equal bytes decode to equal
 * values, so it is never stale; a dashboard or gate review that asks
 * while feedback flows in skips decoding hundreds of records. One supply
 * at a time; its arena is kept for the next one, and started afresh once
 * it holds HIST_CACHE_MAX bytes of roll-ups decoded again. */
#define HIST_CACHE_MAX (4u << 20)

struct it_hist_cache {
	uint64_t snapshot;       /* the snapshot the lineage was checked in; 0: none */
	char supply[TRC_SLUG_MAX + 1];
	trc_arena_t *arena;
	size_t grown;            /* bytes of roll-ups decoded again since the reset */
	lineage_t l;
	MDB_val vraw;            /* the version records' bytes (s_lineage_in) */
	Traction__V1__EvidenceUpdate **memo; /* by lineage position, read lazily */
	MDB_val *memo_raw;       /* memo[i]'s bytes (mv_data NULL: none stored) */
	uint64_t *memo_snap;     /* the snapshot memo[i] was checked in */
};

void iterationd_close(void *user)
{
	it_state_t *st = user;
	if (st->hist != NULL)
		trc_arena_destroy(&st->hist->arena);
	free(st->hist);
	st->hist = NULL;
}

/* Whether the supply's version records in this snapshot are, byte for
 * byte, those the cached lineage was built from. */
static int s_versions_same(trc_call_t *call, const it_hist_cache_t *c, bool *same)
{
	trc_iter_t it;
	size_t n = 0;
	const uint8_t *cmp = c->vraw.mv_data, *end = cmp + c->vraw.mv_size;
	*same = true;
	int rc = trc_iter_prefix(call->txn, s_db(call, IT_DB_VERSIONS), &it, c->supply,
				 strlen(c->supply), false);
	while (rc == 0 && *same && trc_iter_next(&it) && n++ < VERSIONS_MAX)
		*same = s_raw_same(&cmp, end, &it.key) && s_raw_same(&cmp, end, &it.val);
	trc_iter_end(&it);
	*same = *same && cmp == end; /* and none went away */
	return rc != 0 ? rc : call->txn->err;
}

static int s_hist_cache(trc_call_t *call, const char *supply, it_hist_cache_t **out)
{
	it_state_t *st = call->user;
	if (st->hist == NULL) {
		st->hist = calloc(1, sizeof(*st->hist));
		if (st->hist == NULL || (st->hist->arena = trc_arena_new()) == NULL) {
			free(st->hist);
			st->hist = NULL;
			return TRC_ENOMEM;
		}
	}
	it_hist_cache_t *c = st->hist;
	/* a write's view is not a snapshot yet: nothing read in it is kept */
	uint64_t snap = call->txn->write ? 0 : trc_txn_snapshot(call->txn);
	bool same = false;
	int rc = 0;
	if (snap != 0 && c->snapshot != 0 && strcmp(c->supply, supply) == 0 &&
	    c->grown < HIST_CACHE_MAX) {
		if (c->snapshot == snap)
			same = true;
		else
			rc = s_versions_same(call, c, &same);
	}
	if (rc != 0)
		return rc;
	if (same) {
		c->snapshot = snap;
		*out = c;
		return 0;
	}
	c->snapshot = 0;
	c->grown = 0;
	trc_arena_reset(c->arena);
	snprintf(c->supply, sizeof(c->supply), "%s", supply);
	rc = s_lineage_in(call, c->arena, supply, &c->l, &c->vraw);
	if (rc != 0)
		return rc;
	size_t n = c->l.n + 1;
	c->memo = trc_arena_alloc(c->arena, sizeof(*c->memo) * n);
	c->memo_raw = trc_arena_alloc(c->arena, sizeof(*c->memo_raw) * n);
	c->memo_snap = trc_arena_alloc(c->arena, sizeof(*c->memo_snap) * n);
	if (c->memo == NULL || c->memo_raw == NULL || c->memo_snap == NULL)
		return TRC_ENOMEM;
	memset(c->memo, 0, sizeof(*c->memo) * n);
	memset(c->memo_snap, 0, sizeof(*c->memo_snap) * n);
	c->snapshot = snap;
	*out = c;
	return 0;
}

/* The roll-up of the version at lineage position i, decoded once and
 * checked once per snapshot (a parent's serves each of its children's
 * deltas), into the cache. */
static int s_evidence_at(trc_call_t *call, it_hist_cache_t *c, size_t i,
			 Traction__V1__EvidenceUpdate **out)
{
	*out = c->memo[i];
	if (c->memo[i] != NULL && c->snapshot != 0 && c->memo_snap[i] == c->snapshot)
		return 0;
	MDB_val raw;
	int rc = s_evidence_raw(call, c->supply, c->l.v[i]->version, "", &raw);
	if (rc != 0)
		return rc;
	const MDB_val *was = &c->memo_raw[i];
	bool changed = c->memo[i] == NULL || raw.mv_size != was->mv_size ||
		       (raw.mv_data == NULL) != (was->mv_data == NULL) ||
		       (raw.mv_size > 0 && memcmp(raw.mv_data, was->mv_data, raw.mv_size) != 0);
	if (changed) {
		if (c->memo[i] != NULL)
			c->grown += raw.mv_size;
		/* names from the cache itself: it outlives the request */
		rc = s_evidence_decode(c->arena, &raw, c->supply, c->l.v[i]->version, "",
				       &c->memo[i]);
		if (rc != 0) {
			c->memo[i] = NULL;
			return rc;
		}
		c->memo_raw[i] = (MDB_val){ raw.mv_size, NULL };
		if (raw.mv_data != NULL) {
			c->memo_raw[i].mv_data =
				trc_arena_alloc(c->arena, raw.mv_size > 0 ? raw.mv_size : 1);
			if (c->memo_raw[i].mv_data == NULL) {
				c->memo[i] = NULL;
				return TRC_ENOMEM;
			}
			memcpy(c->memo_raw[i].mv_data, raw.mv_data, raw.mv_size);
		}
	}
	c->memo_snap[i] = c->snapshot;
	*out = c->memo[i];
	return 0;
}

static int s_version_history(trc_call_t *call, const char *supply, it_hist_cache_t *c, size_t at,
			     Traction__V1__VersionHistory **out)
{
	const lineage_t *l = &c->l;
	Traction__V1__Iteration *v = l->v[at];
	Traction__V1__VersionHistory *h = trc_arena_alloc(call->arena, sizeof(*h));
	if (h == NULL)
		return TRC_ENOMEM;
	traction__v1__version_history__init(h);
	h->iteration = v;
	h->depth = l->depth[at];
	Traction__V1__EvidenceUpdate *e, *pe = NULL;
	int rc = s_evidence_at(call, c, at, &e);
	if (rc == 0 && l->parent[at] != SIZE_MAX)
		rc = s_evidence_at(call, c, l->parent[at], &pe);
	else if (rc == 0 && v->parent_version != NULL && v->parent_version[0] != '\0')
		rc = it_evidence(call, supply, v->parent_version, "", &pe); /* not stored */
	if (rc != 0)
		return rc;
	h->metrics = e->metrics;
	h->n_metrics = e->n_metrics;
	h->problems = e->problems;
	h->n_problems = e->n_problems;
	h->values = e->values;
	if (pe != NULL && (rc = it_deltas(call, pe, e, &h->deltas, &h->n_deltas)) != 0)
		return rc;
	size_t na = v->n_addresses + v->n_addresses_records;
	h->addressed = trc_arena_alloc(call->arena, sizeof(void *) * (na > 0 ? na : 1));
	for (size_t i = 0; i < na && h->addressed != NULL; i++) {
		const char *sig = i < v->n_addresses
					  ? v->addresses[i]
					  : trc_arena_printf(call->arena, "record:%llu",
							     (unsigned long long)v->addresses_records[i - v->n_addresses]);
		Traction__V1__AddressedProblem *a = trc_arena_alloc(call->arena, sizeof(*a));
		if (a == NULL)
			return TRC_ENOMEM;
		traction__v1__addressed_problem__init(a);
		a->signature = (char *)sig;
		a->stayed_fixed = true;
		Traction__V1__ProblemInfo *p;
		/* It did not stay fixed if it came back in this version or one
		 * descending from it. */
		if (s_problem(call, supply, sig, &p) == 0 &&
		    p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED && p->regressed_in != NULL &&
		    it_descends(call, supply, p->regressed_in, v->version)) {
			a->stayed_fixed = false;
			a->regressed_in = p->regressed_in;
		}
		h->addressed[h->n_addressed++] = a;
	}
	rc = s_deployment_ids(call, supply, v->version, &h->deployment_ids, &h->n_deployment_ids);
	*out = h;
	return rc;
}

int iterationd_history(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__SupplyHistoryRequest *req = (const void *)req_;
	Traction__V1__SupplyHistoryReply *rep = (void *)rep_;
	int rc = trc_check_slug(call, "supply_id", req->supply_id);
	if (rc != 0)
		return rc;
	MDB_val sv;
	rc = trc_txn_get(call->txn, s_db(call, IT_DB_SUPPLIES), req->supply_id,
			 strlen(req->supply_id), &sv);
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "supply_id: no supply '%s'", req->supply_id);
	if (rc != 0)
		return rc;
	/* sums over every scenario, and the request cannot narrow it to one:
	 * the provider's alone (who also sees each deployment listed) */
	if (!it_sees_supply_sums(call, req->supply_id))
		return trc_scope_deny(call, "supply", req->supply_id);
	size_t off = s_offset(call, req->page, &rc);
	if (rc != 0)
		return rc;
	it_hist_cache_t *c;
	if ((rc = s_hist_cache(call, req->supply_id, &c)) != 0)
		return rc;
	const lineage_t l = c->l;
	size_t limit = trc_page_limit(req->page, 100, 1000);
	int64_t from = req->range != NULL ? req->range->from_ms : 0;
	int64_t to = req->range != NULL ? req->range->to_ms : 0;
	rep->supply_id = req->supply_id;
	rep->versions = trc_arena_alloc(call->arena, sizeof(void *) * limit);
	if (rep->versions == NULL)
		return TRC_ENOMEM;
	size_t i;
	for (i = off; rc == 0 && i < l.n && rep->n_versions < limit; i++) {
		Traction__V1__Iteration *v = l.v[i];
		if ((from != 0 && v->released_ms < from) || (to != 0 && v->released_ms >= to))
			continue;
		rc = s_version_history(call, req->supply_id, c, i, &rep->versions[rep->n_versions]);
		if (rc == 0)
			rep->n_versions++;
	}
	if (rc == 0 && i < l.n)
		rep->next_cursor = trc_arena_printf(call->arena, "%zu", i);
	return rc;
}

/* ---- diff ------------------------------------------------------------------------------ */

static bool s_has(char **list, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], v) == 0)
			return true;
	return false;
}

uint64_t it_open_critical(trc_call_t *call, const char *supply, const char *version,
			  const char *scenario)
{
	uint64_t n = 0;
	trc_iter_t it;
	if (trc_iter_prefix(call->txn, s_db(call, IT_DB_PROBLEMS), &it, supply, strlen(supply),
			    false) != 0)
		return 0;
	while (trc_iter_next(&it)) {
		Traction__V1__ProblemInfo *p =
			trc_rec_unpack(&it.val, &traction__v1__problem_info__descriptor, call->arena);
		if (p != NULL && p->severity == TRACTION__V1__SEVERITY__SEVERITY_CRITICAL &&
		    (p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_OPEN ||
		     p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED) &&
		    s_has(p->versions, p->n_versions, version) &&
		    s_has(p->scenario_ids, p->n_scenario_ids, scenario))
			n++;
	}
	trc_iter_end(&it);
	return n;
}

/* On the path (from, to]: descends from `from` (exclusive) and is an
 * ancestor of `to` (inclusive). */
static bool s_on_path(trc_call_t *call, const char *supply, const char *v, const char *from,
		      const char *to)
{
	return v != NULL && v[0] != '\0' && strcmp(v, from) != 0 &&
	       it_descends(call, supply, v, from) && it_descends(call, supply, to, v);
}

int iterationd_diff(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IterationDiffRequest *req = (const void *)req_;
	Traction__V1__IterationDiffReply *rep = (void *)rep_;
	int rc = trc_check_slug(call, "supply_id", req->supply_id);
	if (rc == 0)
		rc = trc_check_slug(call, "from_version", req->from_version);
	if (rc == 0)
		rc = trc_check_slug(call, "to_version", req->to_version);
	if (rc != 0)
		return rc;
	const char *s = req->supply_id, *fv = req->from_version, *tv = req->to_version;
	Traction__V1__Iteration *a, *b;
	if ((rc = it_version_get(call, s, fv, &a)) == TRC_ENOENT)
		return trc_call_fail(call, rc, "from_version: supply '%s' has no version '%s'", s, fv);
	if (rc == 0 && (rc = it_version_get(call, s, tv, &b)) == TRC_ENOENT)
		return trc_call_fail(call, rc, "to_version: supply '%s' has no version '%s'", s, tv);
	if (rc != 0)
		return rc;
	/* the versions are the catalogue; their sums over scenarios are not */
	if (!it_sees_supply_sums(call, s))
		return trc_scope_deny(call, "supply", s);
	Traction__V1__EvidenceUpdate *ea, *eb;
	if ((rc = it_evidence(call, s, fv, "", &ea)) != 0 || (rc = it_evidence(call, s, tv, "", &eb)) != 0)
		return rc;
	rep->supply_id = req->supply_id;
	rep->from_version = req->from_version;
	rep->to_version = req->to_version;
	rep->from_values = ea->values;
	rep->to_values = eb->values;
	if ((rc = it_deltas(call, ea, eb, &rep->deltas, &rep->n_deltas)) != 0)
		return rc;

	/* problems of the supply, against the two versions */
	size_t cap = 16;
	char **fixed = trc_arena_alloc(call->arena, sizeof(char *) * cap);
	char **fresh = trc_arena_alloc(call->arena, sizeof(char *) * cap);
	char **regr = trc_arena_alloc(call->arena, sizeof(char *) * cap);
	size_t nf = 0, nn = 0, nr = 0, capf = cap, capn = cap, capr = cap;
	trc_iter_t it;
	rc = trc_iter_prefix(call->txn, s_db(call, IT_DB_PROBLEMS), &it, s, strlen(s), false);
	while (rc == 0 && fixed != NULL && fresh != NULL && regr != NULL && trc_iter_next(&it)) {
		Traction__V1__ProblemInfo *p =
			trc_rec_unpack(&it.val, &traction__v1__problem_info__descriptor, call->arena);
		if (p == NULL)
			continue;
		char ***list = NULL;
		size_t *nl = NULL, *capl = NULL;
		bool in_from = s_has(p->versions, p->n_versions, fv);
		bool in_to = s_has(p->versions, p->n_versions, tv);
		if (p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED &&
		    (s_on_path(call, s, p->regressed_in, fv, tv) || strcmp(p->regressed_in, tv) == 0)) {
			list = &regr, nl = &nr, capl = &capr;
		} else if (in_from && !in_to && s_on_path(call, s, p->addressed_by, fv, tv)) {
			list = &fixed, nl = &nf, capl = &capf;
		} else if (in_to && !in_from) {
			list = &fresh, nl = &nn, capl = &capn;
		}
		if (list == NULL)
			continue;
		if (*nl == *capl) {
			char **g = trc_arena_alloc(call->arena, sizeof(char *) * *capl * 2);
			if (g == NULL) {
				rc = TRC_ENOMEM;
				break;
			}
			memcpy(g, *list, sizeof(char *) * *capl);
			*list = g;
			*capl *= 2;
		}
		(*list)[(*nl)++] = p->signature;
	}
	trc_iter_end(&it);
	rep->problems_fixed = fixed;
	rep->n_problems_fixed = nf;
	rep->problems_new = fresh;
	rep->n_problems_new = nn;
	rep->regressions = regr;
	rep->n_regressions = nr;
	return rc != 0 ? rc : call->txn->err;
}
