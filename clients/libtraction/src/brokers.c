/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The brokers a libtraction client or publisher talks to (lt.h): an
 * endpoint list ("tcp://a:7400,tcp://b:7400"), a DEALER to each, and a
 * socket monitor on each that says at once when its connection drops, so
 * that what was in flight through a broker that died goes again through
 * another without waiting out a timeout.
 *
 * With one broker nothing changes from the first wave: its DEALER queues
 * while the broker is away (a client started before its broker waits for
 * it). With several, each DEALER is ZMQ_IMMEDIATE: a message is never
 * queued towards a broker that is not connected (it would be lost with
 * it), so a send either reaches a live connection or fails at once and
 * the caller tries the next broker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt.h"
#include "util.h"
#include "wire.h"

typedef struct {
	void *sock;
	void *mon;   /* PAIR: the monitor's events */
	bool down;   /* its connection dropped, and has not come back */
} link_t;

struct lt_brokers {
	link_t l[TRC_BROKERS_MAX];
	size_t n;
	size_t current;
};

int lt_brokers_new(lt_brokers_t **bp, void *zctx, const char *endpoints, const lt_keys_t *keys,
		   int hwm)
{
	size_t n = trc_endpoints_count(endpoints);
	if (n == 0 || n > TRC_BROKERS_MAX)
		return -EINVAL;
	lt_brokers_t *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	*bp = b;
	int rc = 0, one = 1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char ep[1024];
		if (!trc_endpoint_at(endpoints, i, ep, sizeof(ep)))
			return -EINVAL;
		b->l[i].sock = zmq_socket(zctx, ZMQ_DEALER);
		if (b->l[i].sock == NULL)
			return -errno;
		b->n = i + 1;
		if (n > 1 && zmq_setsockopt(b->l[i].sock, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0)
			return -errno;
		rc = lt_connect(b->l[i].sock, ep, keys != NULL ? keys->server : NULL,
				keys != NULL ? keys->pub : NULL, keys != NULL ? keys->sec : NULL, hwm);
		if (rc == 0 && n > 1)
			rc = trc_monitor_open(zctx, b->l[i].sock,
					      ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
						      ZMQ_EVENT_DISCONNECTED,
					      &b->l[i].mon);
	}
	return rc;
}

void lt_brokers_destroy(lt_brokers_t **bp)
{
	if (bp == NULL || *bp == NULL)
		return;
	lt_brokers_t *b = *bp;
	for (size_t i = 0; i < b->n; i++) {
		if (b->l[i].sock != NULL) {
			trc_monitor_close(b->l[i].sock, &b->l[i].mon);
			zmq_close(b->l[i].sock);
		}
	}
	free(b);
	*bp = NULL;
}

size_t lt_brokers_n(const lt_brokers_t *b)
{
	return b->n;
}

void *lt_brokers_sock(const lt_brokers_t *b, size_t i)
{
	return b->l[i].sock;
}

size_t lt_brokers_current(const lt_brokers_t *b)
{
	return b->current;
}

/* The next broker after `from` not known to be down (from itself if every
 * other is). */
static size_t s_next(const lt_brokers_t *b, size_t from)
{
	for (size_t k = 1; k <= b->n; k++) {
		size_t i = (from + k) % b->n;
		if (!b->l[i].down)
			return i;
	}
	return (from + 1) % b->n;
}

void lt_brokers_suspect(lt_brokers_t *b, size_t i)
{
	if (b->n > 1 && i == b->current)
		b->current = s_next(b, i);
}

size_t lt_brokers_items(const lt_brokers_t *b, zmq_pollitem_t *items, short events)
{
	size_t k = 0;
	for (size_t i = 0; i < b->n; i++)
		items[k++] = (zmq_pollitem_t){ b->l[i].sock, 0, events, 0 };
	for (size_t i = 0; i < b->n; i++)
		if (b->l[i].mon != NULL)
			items[k++] = (zmq_pollitem_t){ b->l[i].mon, 0, ZMQ_POLLIN, 0 };
	return k;
}

uint32_t lt_brokers_events(lt_brokers_t *b)
{
	uint32_t dropped = 0;
	for (size_t i = 0; i < b->n; i++)
		for (int e; (e = trc_monitor_event(b->l[i].mon)) != 0;) {
			b->l[i].down = e == ZMQ_EVENT_DISCONNECTED;
			if (b->l[i].down)
				dropped |= 1u << i;
		}
	if (dropped & (1u << b->current))
		b->current = s_next(b, b->current);
	return dropped;
}

bool lt_brokers_up(const lt_brokers_t *b, size_t i)
{
	return !b->l[i].down;
}
