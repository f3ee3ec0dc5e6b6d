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

int trc_call_emit(trc_call_t *call, const char *type, Traction__V1__Event *ev)
{
	if (call->evlog == NULL)
		return trc_call_fail(call, TRC_EINTERNAL, "this daemon writes no events");
	ev->type = (char *)type;
	ev->time_ms = call->now_ms;
	int rc = trc_evlog_append(call->evlog, call->txn, ev, NULL);
	if (rc != 0)
		return trc_call_fail(call, rc, "cannot write the event: %s", trc_strerror(rc));
	return 0;
}
