/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's bookkeeping of services, instances, clients and requests in
 * flight. See registry.h.
 */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "traction/v1/bus.pb-c.h"

void trc_registry_init(trc_registry_t *r)
{
	memset(r, 0, sizeof(*r));
	r->next_ticket = 1;
}

void trc_registry_clear(trc_registry_t *r)
{
	trc_ticket_t *t, *tt;
	HASH_ITER(hh, r->tickets, t, tt) {
		HASH_DEL(r->tickets, t);
		free(t);
	}
	trc_bclient_t *c, *ct;
	HASH_ITER(hh, r->clients, c, ct) {
		HASH_DEL(r->clients, c);
		free(c);
	}
	trc_worker_t *w, *wt;
	HASH_ITER(hh, r->workers, w, wt) {
		HASH_DEL(r->workers, w);
		free(w);
	}
	trc_bservice_t *s, *st;
	HASH_ITER(hh, r->services, s, st) {
		HASH_DEL(r->services, s);
		free(s->workers);
		free(s);
	}
}

trc_bservice_t *trc_registry_service(trc_registry_t *r, const char *name, bool create)
{
	trc_bservice_t *s;
	HASH_FIND_STR(r->services, name, s);
	if (s != NULL || !create)
		return s;
	/* READY frames may come from anyone who reaches the service endpoint:
	 * the table of names is bounded */
	if (strlen(name) >= TRC_SERVICE_NAME_MAX || !trc_is_slug(name) ||
	    HASH_COUNT(r->services) >= TRC_SERVICES_MAX)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	strcpy(s->name, name);
	HASH_ADD_STR(r->services, name, s);
	return s;
}

trc_worker_t *trc_registry_worker(trc_registry_t *r, const void *id, size_t idlen)
{
	trc_worker_t *w;
	HASH_FIND(hh, r->workers, id, idlen, w);
	return w;
}

trc_worker_t *trc_registry_attach(trc_registry_t *r, const void *id, size_t idlen,
				  trc_bservice_t *svc, int64_t now)
{
	if (idlen == 0 || idlen > TRC_ROUTING_ID_MAX)
		return NULL;
	trc_worker_t *w = trc_registry_worker(r, id, idlen);
	if (w == NULL) {
		w = calloc(1, sizeof(*w));
		if (w == NULL)
			return NULL;
		memcpy(w->id, id, idlen);
		w->idlen = idlen;
		trc_hex(w->hex, w->id + (idlen > 4 ? idlen - 4 : 0), idlen > 4 ? 4 : idlen);
		HASH_ADD(hh, r->workers, id, idlen, w);
	}
	w->last_seen = now;
	for (size_t i = 0; i < w->nservices; i++)
		if (w->services[i] == svc)
			return w;
	if (w->nservices == TRC_WORKER_SERVICES_MAX)
		return NULL;
	if (svc->nworkers == svc->cap) {
		size_t ncap = svc->cap == 0 ? 4 : svc->cap * 2;
		trc_worker_t **nw = realloc(svc->workers, ncap * sizeof(*nw));
		if (nw == NULL)
			return NULL;
		svc->workers = nw;
		svc->cap = ncap;
	}
	svc->workers[svc->nworkers++] = w;
	w->services[w->nservices++] = svc;
	return w;
}

void trc_registry_role(trc_worker_t *w, int role, uint64_t term)
{
	w->role = role;
	w->term = term;
}

/* Whether w leads, and (*term) as of which term: a SINGLE is a leader of
 * term 0 (no cluster: today's daemons, and the first wave's). */
static bool s_leads(const trc_worker_t *w, uint64_t *term)
{
	*term = w->role == TRACTION__V1__REPLICA_ROLE__REPLICA_SINGLE ? 0 : w->term;
	return w->role == TRACTION__V1__REPLICA_ROLE__REPLICA_SINGLE ||
	       w->role == TRACTION__V1__REPLICA_ROLE__REPLICA_LEADER;
}

/* Whether w is the instance named (hex of its routing id, as
 * broker.status says it), or no instance is named. */
static bool s_named(const trc_worker_t *w, const char *instance)
{
	char hex[2 * TRC_ROUTING_ID_MAX + 1];
	if (instance == NULL || instance[0] == '\0')
		return true;
	trc_hex(hex, w->id, w->idlen);
	return strcmp(hex, instance) == 0;
}

trc_worker_t *trc_registry_pick(trc_bservice_t *svc, bool stale, const char *instance)
{
	trc_worker_t *best = NULL;
	uint64_t top = 0, term;
	bool led = false;
	if (svc->nworkers == 0)
		return NULL;
	for (size_t k = 0; k < svc->nworkers && !stale; k++) {
		if (s_leads(svc->workers[k], &term) && (!led || term > top)) {
			top = term;
			led = true;
		}
	}
	if (!stale && !led)
		return NULL;
	/* Least in flight; ties go round-robin from where the last search began. */
	for (size_t k = 0; k < svc->nworkers; k++) {
		trc_worker_t *w = svc->workers[(svc->next + k) % svc->nworkers];
		if ((!stale && (!s_leads(w, &term) || term != top)) || !s_named(w, instance))
			continue;
		if (best == NULL || w->in_flight < best->in_flight)
			best = w;
	}
	svc->next = (svc->next + 1) % svc->nworkers;
	return best;
}

static trc_bclient_t *s_client(trc_registry_t *r, const void *id, size_t idlen, size_t ridlen,
			       bool create)
{
	trc_bclient_t *c;
	HASH_FIND(hh, r->clients, id, idlen, c);
	if (c != NULL || !create || idlen == 0 || idlen > TRC_CLIENT_KEY_MAX || ridlen == 0 ||
	    ridlen > idlen || ridlen > TRC_ROUTING_ID_MAX)
		return c;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	memcpy(c->id, id, idlen);
	c->idlen = idlen;
	c->ridlen = ridlen;
	HASH_ADD(hh, r->clients, id, idlen, c);
	return c;
}

uint32_t trc_registry_client_in_flight(trc_registry_t *r, const void *id, size_t idlen,
				       uint64_t *bytes)
{
	trc_bclient_t *c = s_client(r, id, idlen, idlen, false);
	*bytes = c != NULL ? c->bytes : 0;
	return c != NULL ? c->in_flight : 0;
}

trc_ticket_t *trc_registry_ticket_new(trc_registry_t *r, const void *client_id,
				      size_t client_idlen, size_t ridlen, bool from_service,
				      uint64_t request_id, trc_bservice_t *svc,
				      trc_worker_t *w, int64_t deadline, size_t bytes)
{
	trc_bclient_t *c = s_client(r, client_id, client_idlen, ridlen, true);
	if (c == NULL)
		return NULL;
	trc_ticket_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		if (c->in_flight == 0) {
			HASH_DEL(r->clients, c);
			free(c);
		}
		return NULL;
	}
	t->ticket = r->next_ticket++;
	t->request_id = request_id;
	t->client = c;
	t->from_service_socket = from_service;
	t->worker = w;
	t->service = svc;
	t->deadline = deadline;
	t->bytes = bytes;
	HASH_ADD(hh, r->tickets, ticket, sizeof(t->ticket), t);
	c->in_flight++;
	c->bytes += bytes;
	w->in_flight++;
	svc->in_flight++;
	svc->requests++;
	r->in_flight++;
	r->bytes += bytes;
	return t;
}

trc_ticket_t *trc_registry_ticket(trc_registry_t *r, uint64_t ticket)
{
	trc_ticket_t *t;
	HASH_FIND(hh, r->tickets, &ticket, sizeof(ticket), t);
	return t;
}

void trc_registry_ticket_done(trc_registry_t *r, trc_ticket_t *t)
{
	HASH_DEL(r->tickets, t);
	if (t->worker != NULL)
		t->worker->in_flight--;
	t->service->in_flight--;
	r->in_flight--;
	r->bytes -= t->bytes;
	t->client->bytes -= t->bytes;
	if (--t->client->in_flight == 0) {
		HASH_DEL(r->clients, t->client);
		free(t->client);
	}
	free(t);
}

void trc_registry_worker_remove(trc_registry_t *r, trc_worker_t *w)
{
	for (size_t i = 0; i < w->nservices; i++) {
		trc_bservice_t *s = w->services[i];
		for (size_t j = 0; j < s->nworkers; j++) {
			if (s->workers[j] == w) {
				s->workers[j] = s->workers[--s->nworkers];
				break;
			}
		}
		if (s->next >= s->nworkers)
			s->next = 0;
	}
	trc_ticket_t *t, *tt;
	HASH_ITER(hh, r->tickets, t, tt) {
		if (t->worker == w)
			t->worker = NULL;
	}
	HASH_DEL(r->workers, w);
	free(w);
}
