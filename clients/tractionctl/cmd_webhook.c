/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl webhook add|list|remove|deliveries|retry: the webhooks that
 * receive alerts (service "notify", traction-notifyd; docs/operations.md,
 * "Alerts and webhooks"). Admin only, as the service is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "traction/v1/notify.pb-c.h"

static char s_lbl[64];
#define LABEL(desc, v) pbjson_enum_label(&(desc), (v), s_lbl, sizeof(s_lbl))

/* The secret from --secret, or from --secret-file (its first line): 0
 * with *out (malloc'd; NULL when neither: the service makes one). */
static int s_secret(args_t *a, char **out)
{
	*out = NULL;
	if (arg(a, "secret") != NULL && arg(a, "secret-file") != NULL)
		return ctl_fail("--secret and --secret-file: one or the other");
	if (arg(a, "secret") != NULL) {
		*out = strdup(arg(a, "secret"));
		return *out != NULL ? 0 : ctl_fail("out of memory");
	}
	const char *path = arg(a, "secret-file");
	if (path == NULL)
		return 0;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return ctl_fail("--secret-file: cannot read %s", path);
	char buf[1100] = "";
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	*out = strdup(buf);
	return *out != NULL ? 0 : ctl_fail("out of memory");
}

static void print_added(const ProtobufCMessage *m)
{
	const Traction__V1__WebhookReply *r = (const void *)m;
	printf("webhook %s -> %s (secret %s, at most %u in flight)\n", r->webhook->name,
	       r->webhook->url, r->webhook->secret_fingerprint, r->webhook->max_in_flight);
	if (r->generated_secret[0] != '\0')
		printf("secret = %s\n(shown this once: give it to the receiver)\n",
		       r->generated_secret);
}

static int webhook_add(ctl_t *ctl, args_t *a)
{
	Traction__V1__Webhook h = TRACTION__V1__WEBHOOK__INIT;
	Traction__V1__WebhookAddRequest req = TRACTION__V1__WEBHOOK_ADD_REQUEST__INIT;
	char *secret = NULL;
	int sev = 0;
	if (s_secret(a, &secret) != 0 || ctl_arg_u32(a, "max-in-flight", &h.max_in_flight) != 0 ||
	    (arg(a, "min-severity") != NULL &&
	     ctl_enum(&traction__v1__severity__descriptor, "min-severity", arg(a, "min-severity"),
		      &sev) != 0)) {
		free(secret);
		return 1;
	}
	h.name = a->pos[0];
	h.url = a->pos[1];
	if (secret != NULL)
		h.secret = (ProtobufCBinaryData){ strlen(secret), (uint8_t *)secret };
	h.min_severity = sev;
	h.n_rule_ids = (size_t)args_all(a, "rule", &h.rule_ids);
	req.webhook = &h;
	int rc = ctl_call(ctl, "notify", "webhook.add", &req.base,
			  &traction__v1__webhook_reply__descriptor, print_added);
	free(secret);
	return rc;
}

static void print_webhooks(const ProtobufCMessage *m)
{
	const Traction__V1__WebhookListReply *r = (const void *)m;
	printf("%-20s %-24s %-9s %-8s %s\n", "NAME", "SECRET", "IN-FLIGHT", "SEVERITY", "URL");
	for (size_t i = 0; i < r->n_webhooks; i++) {
		const Traction__V1__Webhook *h = r->webhooks[i];
		printf("%-20s %-24s %-9u %-8s %s", h->name, h->secret_fingerprint, h->max_in_flight,
		       h->min_severity != 0 ? LABEL(traction__v1__severity__descriptor,
						    h->min_severity)
					    : "any",
		       h->url);
		for (size_t k = 0; k < h->n_rule_ids; k++)
			printf("%s%s", k == 0 ? "  rules: " : ",", h->rule_ids[k]);
		putchar('\n');
	}
	if (r->next_cursor != NULL && r->next_cursor[0])
		printf("(more: --cursor %s)\n", r->next_cursor);
}

static int webhook_list(ctl_t *ctl, args_t *a)
{
	Traction__V1__WebhookListRequest req = TRACTION__V1__WEBHOOK_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	if (ctl_arg_page(a, &page) != 0)
		return 1;
	req.page = &page;
	return ctl_call(ctl, "notify", "webhook.list", &req.base,
			&traction__v1__webhook_list_reply__descriptor, print_webhooks);
}

static int webhook_remove(ctl_t *ctl, args_t *a)
{
	Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
	req.id = a->pos[0];
	return ctl_call(ctl, "notify", "webhook.remove", &req.base,
			&traction__v1__webhook_reply__descriptor, NULL);
}

static void print_deliveries(const ProtobufCMessage *m)
{
	const Traction__V1__WebhookDeliveriesReply *r = (const void *)m;
	printf("%-28s %-14s %-8s %8s %6s  %-20s %s\n", "DELIVERY", "EVENT", "STATE", "ATTEMPTS",
	       "STATUS", "NEXT/FINISHED", "LAST ERROR");
	for (size_t i = 0; i < r->n_deliveries; i++) {
		const Traction__V1__Delivery *d = r->deliveries[i];
		char t[32];
		bool pending = d->state == TRACTION__V1__DELIVERY_STATE__DELIVERY_PENDING;
		printf("%-28s %-14s %-8s %8u %6d  %-20s %s\n", d->id, d->event_type,
		       LABEL(traction__v1__delivery_state__descriptor, d->state), d->attempts,
		       d->last_status, ctl_when(pending ? d->next_ms : d->finished_ms, t, sizeof(t)),
		       d->last_error);
	}
	if (r->next_cursor != NULL && r->next_cursor[0])
		printf("(more: --cursor %s)\n", r->next_cursor);
}

static int webhook_deliveries(ctl_t *ctl, args_t *a)
{
	Traction__V1__WebhookDeliveriesRequest req = TRACTION__V1__WEBHOOK_DELIVERIES_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	int state = 0;
	if (arg(a, "state") != NULL &&
	    ctl_enum(&traction__v1__delivery_state__descriptor, "state", arg(a, "state"), &state) != 0)
		return 1;
	req.webhook = a->npos > 0 ? a->pos[0] : (char *)"";
	req.state = state;
	if (ctl_arg_page(a, &page) != 0)
		return 1;
	req.page = &page;
	return ctl_call(ctl, "notify", "webhook.deliveries", &req.base,
			&traction__v1__webhook_deliveries_reply__descriptor, print_deliveries);
}

static int webhook_retry(ctl_t *ctl, args_t *a)
{
	Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
	req.id = a->pos[0];
	return ctl_call(ctl, "notify", "webhook.retry", &req.base,
			&traction__v1__delivery_reply__descriptor, NULL);
}

const cmd_t ctl_webhook_cmds[] = {
	{ "webhook", "add", webhook_add, "secret,secret-file,rule*,min-severity,max-in-flight", 2, 2,
	  "webhook add NAME URL [--secret S | --secret-file F] [--rule RULE]... "
	  "[--min-severity SEV] [--max-in-flight N]",
	  "Add a webhook (admin): alerts are POSTed to URL as signed JSON (docs/operations.md,\n"
	  "\"Alerts and webhooks\"). Without a secret the service makes one and prints it once.\n"
	  "--rule: only those rules' alerts (repeat it); --min-severity: low, medium, high,\n"
	  "critical; --max-in-flight: deliveries in flight to it at once (default 4).",
	  "tractionctl webhook add ops-pager https://hooks.example.com/traction \\\n"
	  "    --secret-file ops-pager.secret --min-severity high" },
	{ "webhook", "list", webhook_list, "limit,cursor", 0, 0, "webhook list",
	  "The webhooks, by name, with their secrets' fingerprints (never the secrets).",
	  "tractionctl webhook list" },
	{ "webhook", "remove", webhook_remove, "", 1, 1, "webhook remove NAME",
	  "Remove a webhook and its deliveries, pending ones too.",
	  "tractionctl webhook remove ops-pager" },
	{ "webhook", "deliveries", webhook_deliveries, "state,limit,cursor", 0, 1,
	  "webhook deliveries [NAME] [--state pending|done|dead]",
	  "Deliveries, newest first: attempts, the last HTTP status and error, when the next\n"
	  "attempt is due (pending) or when it ended (done, dead).",
	  "tractionctl webhook deliveries ops-pager --state dead" },
	{ "webhook", "retry", webhook_retry, "", 1, 1, "webhook retry DELIVERY",
	  "A dead delivery pending again, due now, with its attempts anew.",
	  "tractionctl webhook retry 42-ops-pager" },
};
const int ctl_n_webhook_cmds = sizeof(ctl_webhook_cmds) / sizeof(ctl_webhook_cmds[0]);
