/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What one attempt sends: a POST of JSON, the alert in the protobuf JSON
 * dialect every other JSON of traction speaks (lib/pbjson: the HTTP API,
 * tractionctl --json), signed (sign.c), with the headers a receiver needs
 * to route it and to drop a duplicate. The body of a delivery is the same
 * bytes on every attempt; only the signature's time changes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "notifyd.h"
#include "pbjson.h"

char *nt_body(const Traction__V1__Delivery *d, size_t *len)
{
	json_t *doc = json_object();
	json_t *alert = d->alert != NULL ? pbjson_from_message(&d->alert->base) : json_object();
	char *out = NULL;
	if (doc != NULL && alert != NULL &&
	    json_object_set_new(doc, "type", json_string(d->event_type)) == 0 &&
	    json_object_set_new(doc, "source", json_string("feedback")) == 0 &&
	    json_object_set_new(doc, "seq", json_integer((json_int_t)d->seq)) == 0 &&
	    json_object_set_new(doc, "time_ms", json_integer((json_int_t)d->event_ms)) == 0 &&
	    json_object_set_new(doc, "delivery", json_string(d->id)) == 0) {
		json_object_set_new(doc, "alert", alert);
		alert = NULL;
		out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	}
	json_decref(alert);
	json_decref(doc);
	if (out != NULL)
		*len = strlen(out);
	return out;
}

/* "Name: value"; "Name:" for an empty value, which tells libcurl to send
 * none of its own. */
static char *s_header(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 3;
	char *h = malloc(n);
	if (h != NULL)
		snprintf(h, n, "%s:%s%s", name, value[0] != '\0' ? " " : "", value);
	return h;
}

nt_job_t *nt_job_make(const Traction__V1__Webhook *h, const Traction__V1__Delivery *d, int64_t t)
{
	nt_job_t *job = calloc(1, sizeof(*job));
	if (job == NULL)
		return NULL;
	snprintf(job->webhook, sizeof(job->webhook), "%s", d->webhook);
	job->seq = d->seq;
	job->url = strdup(h->url);
	job->body = nt_body(d, &job->body_len);
	if (job->url == NULL || job->body == NULL) {
		nt_job_free(job);
		return NULL;
	}
	char sig[NT_SIG_MAX], attempt[16];
	nt_sign(h->secret.data, h->secret.len, t, job->body, job->body_len, sig);
	snprintf(attempt, sizeof(attempt), "%u", d->attempts + 1);
	const char *hv[][2] = {
		{ "Content-Type", "application/json" },
		{ "Traction-Event", d->event_type },
		{ "Traction-Delivery", d->id },
		{ "Traction-Attempt", attempt },
		{ "Traction-Signature", sig },
		/* no "Expect: 100-continue" round trip before a larger body */
		{ "Expect", "" },
	};
	for (size_t i = 0; i < sizeof(hv) / sizeof(hv[0]); i++)
		if ((job->headers[i] = s_header(hv[i][0], hv[i][1])) == NULL) {
			nt_job_free(job);
			return NULL;
		}
	return job;
}
