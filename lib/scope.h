/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scoped readers (tenants): a reader key or user may be limited to some
 * enterprises (Scenario.enterprise) or providers (Supply.provider_id), so
 * that one plant's people cannot read another enterprise's feedback. The
 * broker puts the scope in the Route; each daemon applies it to what its
 * reads return, with the rules of docs/security.md:
 *
 *   - the catalogue (providers, supplies, versions) is public to readers;
 *   - a scenario is seen by its enterprise's scope, and by every provider
 *     scope (demand is shown to providers);
 *   - a deployment, a feedback record or anything derived from feedback of
 *     one scenario is seen by the scenario's enterprise and by the
 *     provider of the supply;
 *   - what sums feedback over many scenarios of a supply (a supply's
 *     aggregates, its history) is seen by the supply's provider only.
 */
#ifndef TRC_SCOPE_H
#define TRC_SCOPE_H

#include <stdbool.h>

#include "call.h"

/* The call is scoped at all (an unscoped call sees everything). */
bool trc_scope_on(const trc_call_t *call);

/* Whether the call sees what concerns this enterprise or this provider
 * (either may be NULL or ""): unscoped, or one of them is in its scope. */
bool trc_scope_sees(const trc_call_t *call, const char *enterprise, const char *provider);

/* Refuses the call with PERMISSION_DENIED and a detail (subject `what`,
 * reason "out_of_scope", current = id): for a request that names something
 * outside the caller's scope. Returns TRC_EPERM. */
int trc_scope_deny(trc_call_t *call, const char *what, const char *id);

#endif
