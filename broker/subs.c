/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event feed's subscriptions, bounded. See subs.h.
 */
#include "subs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

typedef struct {
	UT_hash_handle hh;
	size_t len;
	char prefix[TRC_TOPIC_MAX];
} prefix_t;

/* One peer's hold on one prefix; key: peer '\0' prefix. */
typedef struct {
	UT_hash_handle hh;
	size_t keylen, peerlen;
	char key[];
} hold_t;

typedef struct {
	UT_hash_handle hh;
	unsigned held;
	char name[];
} peer_t;

struct trc_subs {
	prefix_t *prefixes;
	hold_t *holds;
	peer_t *peers;
	unsigned max, max_per_peer;
};

trc_subs_t *trc_subs_new(unsigned max, unsigned max_per_peer)
{
	trc_subs_t *s = calloc(1, sizeof(*s));
	if (s != NULL)
		trc_subs_limits(s, max, max_per_peer);
	return s;
}

void trc_subs_limits(trc_subs_t *s, unsigned max, unsigned max_per_peer)
{
	s->max = max;
	s->max_per_peer = max_per_peer;
}

void trc_subs_destroy(trc_subs_t **subs_p)
{
	if (subs_p == NULL || *subs_p == NULL)
		return;
	trc_subs_t *s = *subs_p;
	prefix_t *p, *pt;
	HASH_ITER(hh, s->prefixes, p, pt) {
		HASH_DEL(s->prefixes, p);
		free(p);
	}
	hold_t *h, *ht;
	HASH_ITER(hh, s->holds, h, ht) {
		HASH_DEL(s->holds, h);
		free(h);
	}
	peer_t *e, *et;
	HASH_ITER(hh, s->peers, e, et) {
		HASH_DEL(s->peers, e);
		free(e);
	}
	free(s);
	*subs_p = NULL;
}

trc_sub_verdict_t trc_subs_offer(trc_subs_t *s, const char *peer, const void *prefix,
				 size_t len)
{
	if (!trc_topic_prefix_ok(prefix, len))
		return TRC_SUB_BAD;
	size_t plen = strlen(peer);
	char key[256 + 1 + TRC_TOPIC_MAX];
	if (plen > 256)
		return TRC_SUB_BAD;
	memcpy(key, peer, plen + 1);
	memcpy(key + plen + 1, prefix, len);
	size_t keylen = plen + 1 + len;
	hold_t *h;
	HASH_FIND(hh, s->holds, key, keylen, h);
	prefix_t *p;
	HASH_FIND(hh, s->prefixes, prefix, len, p);
	if (h != NULL)
		return TRC_SUB_KNOWN; /* a peer subscribing again, or reconnected */

	peer_t *e;
	HASH_FIND(hh, s->peers, peer, plen, e);
	if (e != NULL && e->held >= s->max_per_peer)
		return TRC_SUB_PEER_FULL;
	if (p == NULL && HASH_COUNT(s->prefixes) >= s->max)
		return TRC_SUB_FULL;
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e) + plen + 1)) == NULL)
			return TRC_SUB_FULL;
		memcpy(e->name, peer, plen + 1);
		HASH_ADD_KEYPTR(hh, s->peers, e->name, plen, e);
	}
	bool fresh = p == NULL;
	if ((h = calloc(1, sizeof(*h) + keylen)) == NULL)
		return TRC_SUB_FULL;
	if (fresh) {
		if ((p = calloc(1, sizeof(*p))) == NULL) {
			free(h);
			return TRC_SUB_FULL;
		}
		memcpy(p->prefix, prefix, len);
		p->len = len;
		HASH_ADD(hh, s->prefixes, prefix, len, p);
	}
	h->keylen = keylen;
	h->peerlen = plen;
	memcpy(h->key, key, keylen);
	HASH_ADD(hh, s->holds, key, keylen, h);
	e->held++;
	return fresh ? TRC_SUB_NEW : TRC_SUB_KNOWN;
}

bool trc_subs_gone(trc_subs_t *s, const void *prefix, size_t len)
{
	prefix_t *p;
	if (len > TRC_TOPIC_MAX)
		return false;
	HASH_FIND(hh, s->prefixes, prefix, len, p);
	if (p == NULL)
		return false;
	/* nobody holds it: neither does any peer any more */
	hold_t *h, *ht;
	HASH_ITER(hh, s->holds, h, ht) {
		if (h->keylen - h->peerlen - 1 != len ||
		    memcmp(h->key + h->peerlen + 1, prefix, len) != 0)
			continue;
		peer_t *e;
		HASH_FIND(hh, s->peers, h->key, h->peerlen, e);
		if (e != NULL && --e->held == 0) {
			HASH_DEL(s->peers, e);
			free(e);
		}
		HASH_DEL(s->holds, h);
		free(h);
	}
	HASH_DEL(s->prefixes, p);
	free(p);
	return true;
}

size_t trc_subs_count(const trc_subs_t *s)
{
	return HASH_COUNT(s->prefixes);
}
