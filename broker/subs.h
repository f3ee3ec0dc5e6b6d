/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event feed's subscriptions: which topic prefixes the broker lets its
 * subscribers hold. libzmq's XPUB keeps subscriptions in a trie it walks
 * recursively, so a prefix of ~110 KB overflowed the broker's stack, and
 * every distinct prefix costs memory in the broker and, forwarded upstream,
 * in every daemon's PUB socket. The broker therefore runs its XPUB in
 * manual mode and asks this table about each subscription first: a topic
 * prefix (event types are short slugs) is applied, one that is not is
 * refused, and so is a new one past the feed's or the peer's bound. Pure
 * bookkeeping: no sockets here.
 */
#ifndef TRC_BROKER_SUBS_H
#define TRC_BROKER_SUBS_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h" /* trc_topic_prefix_ok, TRC_TOPIC_MAX */

typedef enum {
	TRC_SUB_NEW,       /* apply it, and forward it upstream: nobody held it */
	TRC_SUB_KNOWN,     /* apply it: held already, by this peer or another */
	TRC_SUB_BAD,       /* refused: not a topic prefix */
	TRC_SUB_FULL,      /* refused: the feed holds max distinct prefixes */
	TRC_SUB_PEER_FULL, /* refused: this peer holds max_per_peer of them */
} trc_sub_verdict_t;

typedef struct trc_subs trc_subs_t;

trc_subs_t *trc_subs_new(unsigned max, unsigned max_per_peer);
void trc_subs_destroy(trc_subs_t **subs_p);
/* New bounds (a reload); what is held stays. */
void trc_subs_limits(trc_subs_t *s, unsigned max, unsigned max_per_peer);

/* A subscription to prefix[0..len) from peer (its key's name with CurveZMQ,
 * else "anonymous": every peer without a key counts as one). */
trc_sub_verdict_t trc_subs_offer(trc_subs_t *s, const char *peer, const void *prefix,
				 size_t len);

/* No subscriber holds prefix any more: true if it was held (forward the
 * unsubscription upstream). */
bool trc_subs_gone(trc_subs_t *s, const void *prefix, size_t len);

/* Distinct prefixes held. */
size_t trc_subs_count(const trc_subs_t *s);


#endif
