/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scoped readers. See scope.h.
 */
#include "scope.h"

#include <string.h>

#include "error.h"

bool trc_scope_on(const trc_call_t *call)
{
	return call->n_enterprises > 0 || call->n_providers > 0;
}

static bool s_in(char *const *v, size_t n, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

bool trc_scope_sees(const trc_call_t *call, const char *enterprise, const char *provider)
{
	return !trc_scope_on(call) || s_in(call->enterprises, call->n_enterprises, enterprise) ||
	       s_in(call->providers, call->n_providers, provider);
}

int trc_scope_deny(trc_call_t *call, const char *what, const char *id)
{
	trc_call_detail(call, what, "out_of_scope", id, "");
	return trc_call_fail(call, TRC_EPERM, "%s '%s' is outside this reader's scope", what,
			     id != NULL ? id : "");
}
