/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers handlers use to fail with a message and to emit events.
 */
#include "call.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "util.h"

int trc_call_fail(trc_call_t *call, int err, const char *fmt, ...)
{
	va_list ap;
	char buf[512], out[512];
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* a value quoted from the request, or cut mid-character by the
	 * buffer, must not make the reply one a strict parser refuses */
	trc_escape(out, sizeof(out), buf, strlen(buf));
	call->code = trc_err_to_code(err);
	call->message = trc_arena_strdup(call->arena, out);
	return err;
}

#define DETAILS_MAX 64 /* a reply header and body stay small */

int trc_call_detail(trc_call_t *call, const char *subject, const char *reason,
		    const char *current, const char *required)
{
	if (call->n_details >= DETAILS_MAX)
		return 0;
	Traction__V1__ErrorDetail **v =
		trc_arena_alloc(call->arena, sizeof(*v) * (call->n_details + 1));
	Traction__V1__ErrorDetail *d = trc_arena_alloc(call->arena, sizeof(*d));
	if (v == NULL || d == NULL)
		return TRC_ENOMEM;
	traction__v1__error_detail__init(d);
	const char *in[4] = { subject, reason, current, required };
	char **out[4] = { &d->subject, &d->reason, &d->current, &d->required };
	for (int i = 0; i < 4; i++) {
		/* escaped like messages: a value from the request must not make
		 * the reply one a strict parser refuses */
		const char *s = in[i] != NULL ? in[i] : "";
		size_t cap = 4 * strlen(s) + 1;
		*out[i] = trc_arena_alloc(call->arena, cap);
		if (*out[i] == NULL)
			return TRC_ENOMEM;
		trc_escape(*out[i], cap, s, strlen(s));
	}
	if (call->n_details > 0)
		memcpy(v, call->details, sizeof(*v) * call->n_details);
	v[call->n_details++] = d;
	call->details = v;
	return 0;
}

bool trc_call_catch_up(trc_call_t *call, const char *source)
{
	if (!call->may_wait || source == NULL)
		return false;
	for (size_t i = 0; i < call->n_catch_up; i++)
		if (strcmp(call->catch_up[i], source) == 0)
			return true;
	if (call->n_catch_up == TRC_CALL_CATCH_UP_MAX)
		return false;
	call->catch_up[call->n_catch_up++] = source;
	return true;
}

int trc_call_emit(trc_call_t *call, const char *type, Traction__V1__Event *ev)
{
	if (call->evlog == NULL)
		return trc_call_fail(call, TRC_EINTERNAL, "this daemon writes no events");
	ev->type = (char *)type;
	int rc = trc_evlog_append(call->evlog, call->txn, ev, call->now_ms, NULL);
	if (rc != 0)
		return trc_call_fail(call, rc, "cannot write the event: %s", trc_strerror(rc));
	return 0;
}
