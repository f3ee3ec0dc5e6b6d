/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The method table of service "notify", its databases, and the source it
 * consumes.
 */
#include "notifyd.h"

static const trc_db_decl_t s_dbs[NT_DB_COUNT] = {
	[NT_DB_HOOKS] = { "hooks", "name -> Webhook, with its secret (webhooks.c)",
			  &traction__v1__webhook__descriptor },
	[NT_DB_DELIVERIES] = { "deliveries", "webhook, be64 seq -> Delivery (deliveries.c)",
			       &traction__v1__delivery__descriptor },
	[NT_DB_DUE] = { "due", "webhook, be64 next_ms, be64 seq -> \"\": the pending ones", NULL },
	[NT_DB_FINISHED] = { "finished",
			     "be64 finished_ms, webhook, be64 seq -> \"\": done and dead, to prune",
			     NULL },
};
const trc_dbs_t notifyd_dbs = TRC_DBS(s_dbs);

/* feedbackd's topics, as it declares them: a consumer sees every one of a
 * source's sequence numbers, or it could not notice a gap (the feedback.*
 * events are skipped at once, by type). */
const trc_consume_t notifyd_consumes[] = {
	{ "feedback", (const char *const[]){ "feedback.", "alert.", NULL } },
	{ NULL, NULL },
};

/* Every method needs the admin role: a webhook's URL is often a bearer
 * credential itself (a chat service's incoming-webhook URL), and its
 * deliveries show where alerts go. */
const trc_method_t notifyd_methods[] = {
	{ "webhook.add", &traction__v1__webhook_add_request__descriptor,
	  &traction__v1__webhook_reply__descriptor, notifyd_webhook_add,
	  TRC_METHOD_WRITE | TRC_METHOD_ADMIN, "a new webhook for alerts" },
	{ "webhook.list", &traction__v1__webhook_list_request__descriptor,
	  &traction__v1__webhook_list_reply__descriptor, notifyd_webhook_list, TRC_METHOD_ADMIN,
	  "webhooks by name, without their secrets" },
	{ "webhook.remove", &traction__v1__id_request__descriptor,
	  &traction__v1__webhook_reply__descriptor, notifyd_webhook_remove,
	  TRC_METHOD_WRITE | TRC_METHOD_ADMIN, "remove a webhook and its deliveries" },
	{ "webhook.deliveries", &traction__v1__webhook_deliveries_request__descriptor,
	  &traction__v1__webhook_deliveries_reply__descriptor, notifyd_webhook_deliveries,
	  TRC_METHOD_ADMIN, "deliveries, newest first, by webhook and state" },
	{ "webhook.retry", &traction__v1__id_request__descriptor,
	  &traction__v1__delivery_reply__descriptor, notifyd_webhook_retry,
	  TRC_METHOD_WRITE | TRC_METHOD_ADMIN, "a dead delivery pending again" },
};
const size_t notifyd_n_methods = sizeof(notifyd_methods) / sizeof(notifyd_methods[0]);
