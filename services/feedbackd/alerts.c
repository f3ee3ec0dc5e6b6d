/*
 * Alert rules (docs/alerts.md): placeholder handlers while the evaluation
 * is built; every method answers UNIMPLEMENTED.
 */
#include "error.h"
#include "feedbackd.h"

static int s_later(trc_call_t *call)
{
	return trc_call_fail(call, TRC_ENOTSUP, "alert rules are not built yet");
}

int feedbackd_alert_add(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	(void)req, (void)rep;
	return s_later(call);
}

int feedbackd_alert_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	(void)req, (void)rep;
	return s_later(call);
}

int feedbackd_alert_remove(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	(void)req, (void)rep;
	return s_later(call);
}

int feedbackd_alert_history(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	(void)req, (void)rep;
	return s_later(call);
}
