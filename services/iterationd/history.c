/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The history of a supply (iteration.history): its versions in lineage
 * order, each with what it addressed and whether that stayed fixed, its
 * aggregates, its deltas against its parent and the deployments that ran
 * it; and the cache that spares a history asked again decoding it all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "fault.h"
#include "iterationd.h"
#include "record.h"
#include "util.h"
#include "validate.h"

/* What a reply was built from besides the cache's lineage and roll-ups
 * (those are its generation): the request's range, each addressed
 * problem's bytes, each version's deployments. A reply built from the same
 * bytes in the same generation is the same reply, so it is sent as it was
 * packed the last time (packing 44 KB of 200 versions was most of
 * iterationd's time for a history). */
typedef struct {
	uint8_t *p;
	size_t len, cap;
	bool failed; /* out of memory: this reply is not kept */
} s_bytes_t;

/* Room for len more bytes; false (and failed) without memory. */
static bool s_bytes_room(s_bytes_t *b, size_t len)
{
	if (b->failed)
		return false;
	if (b->cap - b->len >= len)
		return true;
	size_t cap = b->cap > 0 ? b->cap : 1024;
	while (cap - b->len < len)
		cap *= 2;
	uint8_t *p = trc_fault() ? NULL : realloc(b->p, cap);
	if (p == NULL) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void s_bytes_add(s_bytes_t *b, const void *data, size_t len)
{
	if (!s_bytes_room(b, sizeof(len) + len))
		return;
	/* each piece with its length, so that no two sequences run together */
	memcpy(b->p + b->len, &len, sizeof(len));
	if (len > 0)
		memcpy(b->p + b->len + sizeof(len), data, len);
	b->len += sizeof(len) + len;
}

static bool s_bytes_same(const s_bytes_t *a, const s_bytes_t *b)
{
	return !a->failed && !b->failed && a->len == b->len &&
	       (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static int s_problem(trc_call_t *call, s_bytes_t *from, const char *supply, const char *sig,
		     Traction__V1__ProblemInfo **out)
{
	trc_dbkey_t k;
	MDB_val raw;
	*out = NULL;
	if (!trc_dbkey_of(&k, supply, sig))
		return TRC_ENOENT;
	const trc_db_t *db = trc_call_db(call, IT_DB_PROBLEMS);
	int rc = trc_txn_get(call->txn, db, k.buf, k.len, &raw);
	s_bytes_add(from, rc == 0 ? raw.mv_data : NULL, rc == 0 ? raw.mv_size : 0);
	return rc != 0 ? rc : trc_rec_decode(db, &raw, call->arena, (void **)out);
}

static int s_deployment_ids(trc_call_t *call, s_bytes_t *from, const char *supply,
			    const char *version, char ***out, size_t *n)
{
	trc_dbkey_t k;
	trc_dbkey_of(&k, supply, version);
	size_t cap = 8;
	*n = 0;
	*out = NULL;
	trc_iter_t it;
	int rc = trc_iter_prefix(call->txn, trc_call_db(call, IT_DB_DEP_BY_VERSION), &it, k.buf,
				 k.len, false);
	while (rc == 0 && trc_iter_next(&it)) {
		trc_dbsplit_t sp; /* supply, version, deployment */
		size_t idlen;
		trc_dbsplit_init(&sp, &it.key);
		trc_dbsplit_str(&sp, &idlen);
		trc_dbsplit_str(&sp, &idlen);
		const char *idp = trc_dbsplit_str(&sp, &idlen);
		if (!trc_dbsplit_done(&sp))
			continue;
		*out = trc_arena_grow(call->arena, *out, *n, &cap, sizeof(**out));
		char *id = trc_arena_alloc(call->arena, idlen + 1);
		if (*out == NULL || id == NULL) {
			rc = TRC_ENOMEM; /* the cursor is closed below */
			break;
		}
		memcpy(id, idp, idlen);
		(*out)[(*n)++] = id;
		s_bytes_add(from, idp, idlen);
	}
	s_bytes_add(from, NULL, 0); /* this version's list ends */
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
	uint64_t gen;            /* changes whenever what it holds does */
	/* the last reply, packed, the generation and bytes it was built from
	 * (s_bytes_t), and the bytes of the reply being built */
	s_bytes_t packed, from, building;
	uint64_t packed_gen;
	uint64_t snapshot;       /* the snapshot the lineage was checked in; 0: none */
	char supply[TRC_SLUG_MAX + 1];
	trc_arena_t *arena;
	size_t grown;            /* bytes of roll-ups decoded again since the reset */
	it_lineage_t l;
	MDB_val vraw;            /* the version records' bytes (it_lineage) */
	Traction__V1__EvidenceUpdate **memo; /* by lineage position, read lazily */
	MDB_val *memo_raw;       /* memo[i]'s bytes (mv_data NULL: none stored) */
	uint64_t *memo_snap;     /* the snapshot memo[i] was checked in */
};

void it_hist_cache_destroy(it_hist_cache_t **c_p)
{
	if (*c_p != NULL) {
		trc_arena_destroy(&(*c_p)->arena);
		free((*c_p)->packed.p);
		free((*c_p)->from.p);
		free((*c_p)->building.p);
	}
	free(*c_p);
	*c_p = NULL;
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
			rc = it_lineage_same(call, c->supply, &c->vraw, &same);
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
	c->gen++;
	trc_arena_reset(c->arena);
	snprintf(c->supply, sizeof(c->supply), "%s", supply);
	rc = it_lineage(call, c->arena, supply, &c->l, &c->vraw);
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
	int rc = it_evidence_raw(call, c->supply, c->l.v[i]->version, "", &raw);
	if (rc != 0)
		return rc;
	const MDB_val *was = &c->memo_raw[i];
	bool changed = c->memo[i] == NULL || raw.mv_size != was->mv_size ||
		       (raw.mv_data == NULL) != (was->mv_data == NULL) ||
		       (raw.mv_size > 0 && memcmp(raw.mv_data, was->mv_data, raw.mv_size) != 0);
	if (changed) {
		c->gen++;
		if (c->memo[i] != NULL)
			c->grown += raw.mv_size;
		/* names from the cache itself: it outlives the request */
		rc = it_evidence_decode(call, c->arena, &raw, c->supply, c->l.v[i]->version, "",
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
	const it_lineage_t *l = &c->l;
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
	else if (rc == 0 && v->parent_version != NULL && v->parent_version[0] != '\0') {
		MDB_val raw; /* not stored: not in the cache either */
		rc = it_evidence_raw(call, supply, v->parent_version, "", &raw);
		s_bytes_add(&c->building, raw.mv_data, raw.mv_size);
		if (rc == 0)
			rc = it_evidence_decode(call, call->arena, &raw, supply, v->parent_version,
						"", &pe);
	}
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
		if (s_problem(call, &c->building, supply, sig, &p) == 0 &&
		    p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED && p->regressed_in != NULL &&
		    it_descends(call, supply, p->regressed_in, v->version)) {
			a->stayed_fixed = false;
			a->regressed_in = p->regressed_in;
		}
		h->addressed[h->n_addressed++] = a;
	}
	rc = s_deployment_ids(call, &c->building, supply, v->version, &h->deployment_ids,
			      &h->n_deployment_ids);
	*out = h;
	return rc;
}

/* The reply rep, built from c->building in generation c->gen: sent as
 * packed the last time if that was built from the same, else packed here
 * and kept (without memory for it, the runtime packs rep as usual). A
 * reply the arena failed while it was built is the runtime's to refuse
 * (RESOURCE_EXHAUSTED), and is never kept. */
static void s_packed(trc_call_t *call, it_hist_cache_t *c, const ProtobufCMessage *rep,
		     size_t failures)
{
	if (trc_arena_failures(call->arena) != failures)
		return; /* rep lacks what the arena failed to give: never kept */
	if (c->packed_gen != c->gen || !s_bytes_same(&c->building, &c->from)) {
		s_bytes_t t = c->from; /* what was built from is now this */
		c->from = c->building;
		c->building = t;
		c->packed_gen = 0; /* none, until packed */
		c->packed.len = 0;
		c->packed.failed = false;
		if (c->from.failed || !s_bytes_room(&c->packed, protobuf_c_message_get_packed_size(rep)))
			return; /* not kept: the runtime packs it */
		c->packed.len = protobuf_c_message_pack(rep, c->packed.p);
		c->packed_gen = c->gen;
	}
	trc_call_reply_packed(call, c->packed.p, c->packed.len);
}

int iterationd_history(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__SupplyHistoryRequest *req = (const void *)req_;
	Traction__V1__SupplyHistoryReply *rep = (void *)rep_;
	size_t failures = trc_arena_failures(call->arena);
	int rc = trc_check_slug(call, "supply_id", req->supply_id);
	if (rc != 0)
		return rc;
	MDB_val sv;
	rc = trc_txn_get(call->txn, trc_call_db(call, IT_DB_SUPPLIES), req->supply_id,
			 strlen(req->supply_id), &sv);
	/* a supply just registered: its event may not be here yet */
	if (rc == TRC_ENOENT && trc_call_catch_up(call, "supply"))
		return TRC_EUNAVAIL;
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "supply_id: no supply '%s'", req->supply_id);
	if (rc != 0)
		return rc;
	/* sums over every scenario, and the request cannot narrow it to one:
	 * the provider's alone (who also sees each deployment listed) */
	if (!it_sees_supply_sums(call, req->supply_id))
		return trc_scope_deny(call, "supply", req->supply_id);
	size_t off = it_lineage_offset(call, req->page, &rc);
	if (rc != 0)
		return rc;
	it_hist_cache_t *c;
	if ((rc = s_hist_cache(call, req->supply_id, &c)) != 0)
		return rc;
	const it_lineage_t l = c->l;
	size_t limit = trc_page_limit(req->page, 100, 1000);
	int64_t from = req->range != NULL ? req->range->from_ms : 0;
	int64_t to = req->range != NULL ? req->range->to_ms : 0;
	rep->supply_id = req->supply_id;
	rep->versions = trc_arena_alloc(call->arena, sizeof(void *) * limit);
	if (rep->versions == NULL)
		return TRC_ENOMEM;
	c->building.len = 0;
	c->building.failed = false;
	int64_t range[4] = { (int64_t)off, (int64_t)limit, from, to };
	s_bytes_add(&c->building, range, sizeof(range));
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
	if (rc == 0 && !call->txn->write)
		s_packed(call, c, &rep->base, failures);
	return rc;
}
