/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A daemon's definition checked before anything opens (its method tables
 * against proto/, the topics of its events and of what it consumes, the
 * methods that catch up and with which sources), and the catch-up table
 * resolved for dispatch. Calls nothing of the runtime but the built-ins'
 * table.
 */
#include "service_int.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "methods.h"

/* A declared list of topic prefixes: at least one, each one the broker
 * takes. Without them our events, or a source's, would reach consumers
 * only by replay. */
static int s_check_topics(const trc_daemon_def_t *def, const char *what,
			  const char *const *topics)
{
	size_t n = 0;
	for (; topics != NULL && topics[n] != NULL; n++)
		if (!trc_topic_prefix_ok(topics[n], strlen(topics[n]))) {
			trc_err("%s: %s: '%s' is not a topic prefix", def->daemon, what, topics[n]);
			return TRC_ECONFIG;
		}
	if (n == 0) {
		trc_err("%s: %s: no topics declared", def->daemon, what);
		return TRC_ECONFIG;
	}
	return 0;
}

/* The position of source in def's consumes (and so of its consumer), or
 * -1. */
static int s_consumed(const trc_daemon_def_t *def, const char *source)
{
	for (int i = 0; def->consumes != NULL && def->consumes[i].source != NULL; i++)
		if (strcmp(def->consumes[i].source, source) == 0)
			return i;
	return -1;
}

static const trc_method_t *s_method_named(const trc_daemon_def_t *def, const char *service,
					  const char *method)
{
	for (size_t i = 0; i < def->n_services; i++) {
		const trc_service_table_t *t = &def->services[i];
		for (size_t j = 0; strcmp(t->name, service) == 0 && j < t->n_methods; j++)
			if (strcmp(t->methods[j].name, method) == 0)
				return &t->methods[j];
	}
	return NULL;
}

/* The definition's catch_up, resolved (out may be NULL: checked only): each
 * names a method of ours and sources we consume, and we consume no more
 * sources than a request's mask holds. */
static int s_catch_up_resolve(const trc_daemon_def_t *def, catch_up_method_t *out)
{
	size_t n = 0;
	while (def->consumes != NULL && def->consumes[n].source != NULL)
		n++;
	if (n > TRC_SOURCES_MAX) {
		trc_err("%s: consumes %zu sources, at most %d", def->daemon, n, TRC_SOURCES_MAX);
		return TRC_ECONFIG;
	}
	for (size_t k = 0; def->catch_up != NULL && def->catch_up[k].service != NULL; k++) {
		const trc_catch_up_t *cu = &def->catch_up[k];
		const trc_method_t *m = s_method_named(def, cu->service, cu->method);
		uint32_t bits = 0;
		if (m == NULL) {
			trc_err("%s: catch_up: no method %s.%s", def->daemon, cu->service, cu->method);
			return TRC_ECONFIG;
		}
		for (const char *const *src = cu->sources; src != NULL && *src != NULL; src++) {
			int i = s_consumed(def, *src);
			if (i < 0) {
				trc_err("%s: %s.%s catches up with '%s', which it does not consume",
					def->daemon, cu->service, cu->method, *src);
				return TRC_ECONFIG;
			}
			bits |= 1u << i;
		}
		if (out != NULL)
			out[k] = (catch_up_method_t){ m, bits };
	}
	return 0;
}

int svc_catch_up_open(trc_service_t *svc)
{
	size_t n = 0;
	while (svc->def->catch_up != NULL && svc->def->catch_up[n].service != NULL)
		n++;
	if (n == 0)
		return 0;
	svc->catch_up = calloc(n, sizeof(*svc->catch_up));
	if (svc->catch_up == NULL)
		return TRC_ENOMEM;
	svc->n_catch_up = n;
	return s_catch_up_resolve(svc->def, svc->catch_up);
}

/* The definition, before anything opens: its method tables agree with
 * proto/ (a table that says otherwise is a build that must not serve),
 * it declares the topics of its own events and of each source it
 * consumes, and its methods catch up only with those sources. */
int svc_def_check(const trc_daemon_def_t *def)
{
	char why[256];
	int mc = svc_builtin_check(why, sizeof(why));
	for (size_t i = 0; mc == 0 && i < def->n_services; i++)
		if (def->services[i].proto != NULL)
			mc = trc_methods_check(def->services[i].proto, def->services[i].methods,
					       def->services[i].n_methods, why, sizeof(why));
	if (mc != 0) {
		trc_err("the method tables disagree with proto/: %s", why);
		return TRC_ECONFIG;
	}
	int rc = def->event_source != NULL ? s_check_topics(def, "event_topics", def->event_topics)
					   : 0;
	for (size_t i = 0; rc == 0 && def->consumes != NULL && def->consumes[i].source != NULL; i++)
		rc = s_check_topics(def, def->consumes[i].source, def->consumes[i].topics);
	return rc == 0 ? s_catch_up_resolve(def, NULL) : rc;
}
