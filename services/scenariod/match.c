/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Matching (supply to a scenario's demand) and gaps (demand no active
 * supply offers). Both read only scenariod's own index; see index.c.
 *
 * Ranking, in order: coverage of the required capabilities (higher
 * first), unmet constraints (fewer first), evidence from the field (higher
 * first, scenariod_evidence_score), supply id. docs/matching.md explains
 * the evidence score.
 *
 * A scoped reader matches only a scenario it sees (scope.c); an
 * enterprise-scoped one gets the gaps of its own open scenarios only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "record.h"
#include "scenariod.h"
#include "scope.h"
#include "util.h"
#include "validate.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

#define MATCH_DEFAULT 20
#define MATCH_MAX 200

double scenariod_evidence_score(const Traction__V1__MatchEvidence *e)
{
	double imp = e->mean_improvement_pct;
	if (!isfinite(imp))
		imp = 0;
	imp = imp > 50 ? 50 : (imp < -50 ? -50 : imp);
	return 10.0 * (double)e->deployments_in_service + 1.0 * (double)e->deployments +
	       2.0 * log1p((double)e->value_verifications) + imp / 10.0 -
	       20.0 * (double)e->open_critical_problems - 2.0 * (double)e->open_problems;
}

typedef struct {
	char id[TRC_SLUG_MAX + 1];
	uint64_t covered;         /* bit i: required capability i */
	unsigned ncovered;
	unsigned unmet;           /* constraints the supply's properties contradict */
	double evidence;
	Traction__V1__MatchEvidence *ev;
	Traction__V1__Supply *supply;
	char **unmet_list;
} cand_t;

typedef struct {
	char id[TRC_SLUG_MAX + 1];
	unsigned cap;
} hit_t;

static int s_hit_cmp(const void *a, const void *b)
{
	return strcmp(((const hit_t *)a)->id, ((const hit_t *)b)->id);
}

static int s_cand_cmp(const void *a_, const void *b_)
{
	const cand_t *a = a_, *b = b_;
	if (a->ncovered != b->ncovered)
		return a->ncovered > b->ncovered ? -1 : 1;
	if (a->unmet != b->unmet)
		return a->unmet < b->unmet ? -1 : 1;
	if (a->evidence != b->evidence)
		return a->evidence > b->evidence ? -1 : 1;
	return strcmp(a->id, b->id);
}

/* Every constraint of the scenario that the supply states otherwise. */
static void s_constraints(trc_call_t *call, const Traction__V1__Scenario *s, cand_t *c)
{
	size_t cap = 0;
	for (size_t d = 0; d < s->n_demands; d++)
		cap += s->demands[d]->n_constraints;
	if (cap == 0)
		return;
	c->unmet_list = trc_arena_alloc(call->arena, sizeof(char *) * cap);
	for (size_t d = 0; d < s->n_demands; d++) {
		for (size_t k = 0; k < s->demands[d]->n_constraints; k++) {
			const Traction__V1__KeyValue *want = s->demands[d]->constraints[k];
			for (size_t p = 0; p < c->supply->n_properties; p++) {
				const Traction__V1__KeyValue *has = c->supply->properties[p];
				if (strcmp(has->key, want->key) != 0 || strcmp(has->value, want->value) == 0)
					continue;
				if (c->unmet_list != NULL)
					c->unmet_list[c->unmet] = trc_arena_printf(
						call->arena, "%s=%s (supply says %s)", want->key,
						want->value, has->value);
				c->unmet++;
			}
		}
	}
}

static int s_collect(trc_call_t *call, const char **caps, size_t ncaps, hit_t **hits_p,
		     size_t *nhits_p)
{
	size_t nhits = 0, caphits = 1024;
	hit_t *hits = malloc(sizeof(*hits) * caphits);
	int rc = hits != NULL ? 0 : TRC_ENOMEM;
	for (size_t i = 0; rc == 0 && i < ncaps; i++) {
		trc_iter_t it;
		rc = trc_iter_prefix(call->txn, trc_call_db(call, SCEN_DB_SUPPLY_CAP), &it, caps[i],
				     strlen(caps[i]), false);
		while (rc == 0 && trc_iter_next(&it)) {
			trc_dbsplit_t sp; /* capability, supply */
			size_t idlen;
			trc_dbsplit_init(&sp, &it.key);
			trc_dbsplit_str(&sp, &idlen);
			const char *id = trc_dbsplit_str(&sp, &idlen);
			if (!trc_dbsplit_done(&sp) || idlen > TRC_SLUG_MAX)
				continue;
			if (nhits == caphits) {
				caphits *= 2;
				hit_t *nh = realloc(hits, sizeof(*hits) * caphits);
				if (nh == NULL) {
					rc = TRC_ENOMEM;
					break;
				}
				hits = nh;
			}
			memcpy(hits[nhits].id, id, idlen);
			hits[nhits].id[idlen] = '\0';
			hits[nhits].cap = (unsigned)i;
			nhits++;
		}
		trc_iter_end(&it);
	}
	if (rc == 0)
		rc = call->txn->err;
	*hits_p = hits;
	*nhits_p = nhits;
	return rc;
}

static char *s_reason(trc_call_t *call, const cand_t *c, size_t nreq)
{
	const Traction__V1__MatchEvidence *e = c->ev;
	/* a mean of no value verifications is no figure: left out, not +0.0% */
	char mean[48] = "";
	if (e->value_verifications > 0)
		snprintf(mean, sizeof(mean), " (mean %+.1f%%)", e->mean_improvement_pct);
	return trc_arena_printf(
		call->arena,
		"covers %u of %zu required capabilities%s; %llu deployments (%llu in service), "
		"%llu value verifications%s, %llu open problems (%llu critical)%s",
		c->ncovered, nreq, c->ncovered == nreq ? "" : " (partial)",
		(unsigned long long)e->deployments, (unsigned long long)e->deployments_in_service,
		(unsigned long long)e->value_verifications, mean,
		(unsigned long long)e->open_problems, (unsigned long long)e->open_critical_problems,
		c->unmet > 0 ? "; contradicts a constraint" : "");
}

static int s_get_evidence_ro(trc_call_t *call, cand_t *c)
{
	int rc = trc_rec_get(call->txn, trc_call_db(call, SCEN_DB_EVIDENCE), c->id, strlen(c->id),
			     call->arena, (void **)&c->ev);
	if (rc == TRC_ENOENT) {
		c->ev = trc_arena_alloc(call->arena, sizeof(*c->ev));
		if (c->ev == NULL)
			return TRC_ENOMEM;
		traction__v1__match_evidence__init(c->ev);
		rc = 0;
	}
	if (rc == 0)
		c->evidence = scenariod_evidence_score(c->ev);
	return rc;
}

/* The hits (a supply and a capability it covers, sorted by supply) as one
 * candidate per supply with the capabilities it covers; malloc'd. */
static cand_t *s_candidates(const hit_t *hits, size_t nhits, size_t *ncand)
{
	cand_t *cands = malloc(sizeof(*cands) * (nhits > 0 ? nhits : 1));
	*ncand = 0;
	if (cands == NULL)
		return NULL;
	for (size_t i = 0; i < nhits; i++) {
		if (*ncand == 0 || strcmp(cands[*ncand - 1].id, hits[i].id) != 0) {
			memset(&cands[*ncand], 0, sizeof(cands[*ncand]));
			memcpy(cands[*ncand].id, hits[i].id, sizeof(hits[i].id));
			(*ncand)++;
		}
		cand_t *c = &cands[*ncand - 1];
		if (!(c->covered & (1ull << hits[i].cap))) {
			c->covered |= 1ull << hits[i].cap;
			c->ncovered++;
		}
	}
	return cands;
}

/* The candidates worth ranking (all, or those covering every capability),
 * each with its evidence and, if the scenario has constraints, how it
 * meets them; kept in place: 0 with *kept, or an error. */
static int s_assess(trc_call_t *call, const Traction__V1__Scenario *s, bool full_only,
		    size_t ncaps, cand_t *cands, size_t ncand, size_t *kept)
{
	bool constraints = false;
	for (size_t d = 0; d < s->n_demands; d++)
		constraints |= s->demands[d]->n_constraints > 0;
	int rc = 0;
	*kept = 0;
	for (size_t i = 0; rc == 0 && i < ncand; i++) {
		cand_t *c = &cands[i];
		if (full_only && c->ncovered < ncaps)
			continue;
		rc = s_get_evidence_ro(call, c);
		if (rc == 0 && constraints) {
			rc = trc_rec_get(call->txn, trc_call_db(call, SCEN_DB_SUPPLIES), c->id,
					 strlen(c->id), call->arena, (void **)&c->supply);
			if (rc == 0)
				s_constraints(call, s, c);
		}
		cands[(*kept)++] = *c;
	}
	return rc;
}

/* The match of rank i+1 for candidate c: 0, or an error. */
static int s_match(trc_call_t *call, cand_t *c, size_t i, const char **caps, size_t ncaps,
		   Traction__V1__Match **out)
{
	Traction__V1__Match *m = trc_arena_alloc(call->arena, sizeof(*m));
	if (m == NULL)
		return TRC_ENOMEM;
	traction__v1__match__init(m);
	int rc = 0;
	if (c->supply == NULL)
		rc = trc_rec_get(call->txn, trc_call_db(call, SCEN_DB_SUPPLIES), c->id,
				 strlen(c->id), call->arena, (void **)&c->supply);
	if (rc != 0)
		return rc;
	m->rank = (uint32_t)(i + 1);
	m->supply = c->supply;
	m->coverage = (double)c->ncovered / (double)ncaps;
	m->covered = trc_arena_alloc(call->arena, sizeof(char *) * ncaps);
	m->missing = trc_arena_alloc(call->arena, sizeof(char *) * ncaps);
	for (size_t k = 0; k < ncaps && m->covered != NULL && m->missing != NULL; k++) {
		if (c->covered & (1ull << k))
			m->covered[m->n_covered++] = (char *)caps[k];
		else
			m->missing[m->n_missing++] = (char *)caps[k];
	}
	m->evidence = c->ev;
	m->score = 100.0 * m->coverage + c->evidence;
	m->unmet_constraints = c->unmet_list;
	m->n_unmet_constraints = c->unmet;
	m->reason = s_reason(call, c, ncaps);
	*out = m;
	return 0;
}

int scenariod_match(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__MatchRequest *req = (const void *)req_;
	Traction__V1__MatchReply *rep = (void *)rep_;
	Traction__V1__Scenario *s = NULL;
	int rc = trc_check_load(call, trc_call_db(call, SCEN_DB_SCENARIOS), "scenario_id",
				req->scenario_id, "scenario", (void **)&s);
	if (rc != 0)
		return rc;
	if (!scenariod_sees(call, s))
		return trc_scope_deny(call, "scenario", s->id);
	const char **caps = trc_arena_alloc(call->arena, sizeof(char *) * SCEN_CAPS_MAX);
	if (caps == NULL)
		return TRC_ENOMEM;
	size_t ncaps = scenariod_required(s, caps);
	rep->scenario_id = s->id;
	rep->required = (char **)caps;
	rep->n_required = ncaps;
	if (ncaps == 0)
		return 0;
	hit_t *hits = NULL;
	size_t nhits = 0, ncand = 0, kept = 0;
	rc = s_collect(call, caps, ncaps, &hits, &nhits);
	if (rc == 0)
		qsort(hits, nhits, sizeof(*hits), s_hit_cmp);
	cand_t *cands = rc == 0 ? s_candidates(hits, nhits, &ncand) : NULL;
	free(hits);
	if (rc != 0 || cands == NULL)
		return rc != 0 ? rc : TRC_ENOMEM;
	rc = s_assess(call, s, req->full_only, ncaps, cands, ncand, &kept);
	if (rc == 0)
		qsort(cands, kept, sizeof(*cands), s_cand_cmp);
	size_t limit = req->limit == 0 ? MATCH_DEFAULT : (req->limit > MATCH_MAX ? MATCH_MAX : req->limit);
	size_t n = kept < limit ? kept : limit;
	rep->matches = rc == 0 ? trc_arena_alloc(call->arena, sizeof(void *) * (n > 0 ? n : 1)) : NULL;
	if (rc == 0 && rep->matches == NULL)
		rc = TRC_ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if ((rc = s_match(call, &cands[i], i, caps, ncaps, &rep->matches[i])) == 0)
			rep->n_matches++;
	free(cands);
	return rc;
}

/* ---- gaps -------------------------------------------------------------------- */

typedef struct {
	char *capability;
	uint32_t nscen;
	char **ids;
	size_t nids, capids;
	uint32_t domains;         /* bit d: Domain d */
	uint64_t signals;
} gap_t;

static int s_gap_cmp(const void *a_, const void *b_)
{
	const gap_t *a = a_, *b = b_;
	if (a->nscen != b->nscen)
		return a->nscen > b->nscen ? -1 : 1;
	if (a->signals != b->signals)
		return a->signals > b->signals ? -1 : 1;
	return strcmp(a->capability, b->capability);
}

static bool s_offered(trc_call_t *call, const char *cap, size_t n)
{
	trc_iter_t it;
	bool any = false;
	const trc_db_t *db = trc_call_db(call, SCEN_DB_SUPPLY_CAP);
	if (trc_iter_prefix(call->txn, db, &it, cap, n, false) == 0)
		any = trc_iter_next(&it);
	trc_iter_end(&it);
	return any;
}

static uint64_t s_signals(trc_call_t *call, const char *cap, size_t n)
{
	MDB_val v;
	if (trc_txn_get(call->txn, trc_call_db(call, SCEN_DB_DEMAND), cap, n, &v) != 0 ||
	    v.mv_size != 8)
		return 0;
	return trc_be64_get(v.mv_data);
}

/* Whether the call sees the scenario stored under id. Decoded on the heap
 * and freed: gaps asks once per index entry, and the arena would keep every
 * copy until the reply is sent. */
static bool s_sees_id(trc_call_t *call, const char *id, size_t idlen)
{
	MDB_val v;
	if (trc_txn_get(call->txn, trc_call_db(call, SCEN_DB_SCENARIOS), id, idlen, &v) != 0)
		return false;
	Traction__V1__Scenario *s = traction__v1__scenario__unpack(NULL, v.mv_size, v.mv_data);
	bool sees = s != NULL && scenariod_sees(call, s);
	if (s != NULL)
		traction__v1__scenario__free_unpacked(s, NULL);
	return sees;
}

static gap_t *s_gap_push(gap_t **gaps, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		*cap = *cap == 0 ? 64 : *cap * 2;
		gap_t *ng = realloc(*gaps, sizeof(**gaps) * *cap);
		if (ng == NULL)
			return NULL;
		*gaps = ng;
	}
	gap_t *g = &(*gaps)[(*n)++];
	memset(g, 0, sizeof(*g));
	return g;
}

/* The gaps being gathered (a growing array). */
typedef struct {
	gap_t *v;
	size_t n, cap;
} gaps_t;

/* Names scenario id (idlen bytes) in gap g: the first hundred are named,
 * the count is exact. 0, or TRC_ENOMEM. */
static int s_gap_name(trc_call_t *call, gap_t *g, const char *id, size_t idlen)
{
	g->nscen++;
	if (g->nids >= 100)
		return 0;
	if (g->nids == g->capids) {
		g->capids = g->capids == 0 ? 8 : g->capids * 2;
		char **nids = trc_arena_alloc(call->arena, sizeof(char *) * g->capids);
		if (nids == NULL)
			return TRC_ENOMEM;
		if (g->nids > 0)
			memcpy(nids, g->ids, sizeof(char *) * g->nids);
		g->ids = nids;
	}
	g->ids[g->nids] = trc_arena_alloc(call->arena, idlen + 1);
	if (g->ids[g->nids] == NULL)
		return TRC_ENOMEM;
	memcpy(g->ids[g->nids], id, idlen);
	g->nids++;
	return 0;
}

/* Open scenarios' needs nobody offers, grouped by capability (the index
 * is sorted), in the domain asked (0: any), of the scenarios the caller
 * sees; all: it sees every one (then the field's signals are shown). */
static int s_gaps_needed(trc_call_t *call, uint8_t want_domain, bool all, gaps_t *gs)
{
	char last[TRC_SLUG_MAX + 1] = "";
	bool last_offered = false;
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, trc_call_db(call, SCEN_DB_OPEN_BY_CAP), &it, NULL, 0,
				NULL, 0, false);
	while (rc == 0 && trc_iter_next(&it)) {
		trc_dbsplit_t sp; /* capability, scenario */
		size_t caplen, idlen;
		trc_dbsplit_init(&sp, &it.key);
		const char *cap = trc_dbsplit_str(&sp, &caplen);
		const char *id = trc_dbsplit_str(&sp, &idlen);
		uint8_t domain = it.val.mv_size == 1 ? *(const uint8_t *)it.val.mv_data : 0;
		if (!trc_dbsplit_done(&sp) || caplen > TRC_SLUG_MAX || idlen == 0 ||
		    (want_domain != 0 && domain != want_domain) ||
		    (!all && !s_sees_id(call, id, idlen)))
			continue;
		if (strlen(last) != caplen || memcmp(last, cap, caplen) != 0) {
			memcpy(last, cap, caplen);
			last[caplen] = '\0';
			last_offered = s_offered(call, cap, caplen);
			if (!last_offered) {
				gap_t *g = s_gap_push(&gs->v, &gs->n, &gs->cap);
				if (g == NULL) {
					rc = TRC_ENOMEM;
					break;
				}
				g->capability = trc_arena_strdup(call->arena, last);
				g->signals = all ? s_signals(call, cap, caplen) : 0;
			}
		}
		if (last_offered)
			continue;
		gap_t *g = &gs->v[gs->n - 1];
		if (domain < 32)
			g->domains |= 1u << domain;
		rc = s_gap_name(call, g, id, idlen);
	}
	trc_iter_end(&it);
	return rc;
}

/* Demand signals from the field for capabilities nobody offers, even when
 * no open scenario names them. */
static int s_gaps_signalled(trc_call_t *call, gaps_t *gs)
{
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, trc_call_db(call, SCEN_DB_DEMAND), &it, NULL, 0, NULL, 0,
				false);
	while (rc == 0 && trc_iter_next(&it)) {
		size_t n = it.key.mv_size;
		if (n > TRC_SLUG_MAX || it.val.mv_size != 8)
			continue;
		bool listed = false;
		for (size_t i = 0; i < gs->n && !listed; i++)
			listed = strlen(gs->v[i].capability) == n &&
				 memcmp(gs->v[i].capability, it.key.mv_data, n) == 0;
		if (listed || s_offered(call, it.key.mv_data, n))
			continue;
		gap_t *g = s_gap_push(&gs->v, &gs->n, &gs->cap);
		if (g == NULL || (g->capability = trc_arena_alloc(call->arena, n + 1)) == NULL) {
			rc = TRC_ENOMEM;
			break;
		}
		memcpy(g->capability, it.key.mv_data, n);
		g->signals = trc_be64_get(it.val.mv_data);
	}
	trc_iter_end(&it);
	return rc;
}

static Traction__V1__Gap *s_gap_reply(trc_call_t *call, const gap_t *src)
{
	Traction__V1__Gap *g = trc_arena_alloc(call->arena, sizeof(*g));
	if (g == NULL)
		return NULL;
	traction__v1__gap__init(g);
	g->capability = src->capability;
	g->scenarios = src->nscen;
	g->scenario_ids = src->ids;
	g->n_scenario_ids = src->nids;
	g->demand_signals = src->signals;
	g->domains = trc_arena_alloc(call->arena, sizeof(*g->domains) * 8);
	for (int d = 1; d < 8 && g->domains != NULL; d++)
		if (src->domains & (1u << d))
			g->domains[g->n_domains++] = (Traction__V1__Domain)d;
	return g;
}

int scenariod_gaps(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__GapsRequest *req = (const void *)req_;
	Traction__V1__GapsReply *rep = (void *)rep_;
	int rc = trc_check_enum(call, "domain", req->domain, &traction__v1__domain__descriptor, true);
	if (rc != 0)
		return rc;
	/* An enterprise-scoped reader: only its own scenarios count, and the
	 * field's demand signals (summed over every enterprise's feedback) are
	 * not shown to it. */
	bool all = scenariod_sees_all(call);
	gaps_t gs = { 0 };
	rc = s_gaps_needed(call, (uint8_t)req->domain, all, &gs);
	/* signals have no domain: only without a domain filter */
	if (rc == 0 && req->domain == 0 && all)
		rc = s_gaps_signalled(call, &gs);
	if (rc == 0)
		rc = call->txn->err;
	if (rc != 0) {
		free(gs.v);
		return rc;
	}
	if (gs.n > 1)
		qsort(gs.v, gs.n, sizeof(*gs.v), s_gap_cmp);
	size_t limit = req->limit == 0 ? 100 : (req->limit > 1000 ? 1000 : req->limit);
	size_t n = gs.n < limit ? gs.n : limit;
	rep->gaps = trc_arena_alloc(call->arena, sizeof(void *) * (n > 0 ? n : 1));
	for (size_t i = 0; i < n && rep->gaps != NULL; i++) {
		Traction__V1__Gap *g = s_gap_reply(call, &gs.v[i]);
		if (g == NULL)
			break;
		rep->gaps[rep->n_gaps++] = g;
	}
	free(gs.v);
	return 0;
}
