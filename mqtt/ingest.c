/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an MQTT PUBLISH becomes: feedback records (docs/mqtt.md). The topic
 * traction/v1/feedback/{scenario}/{supply}/{version} carries one record or
 * an array of them in the JSON Lines record format of docs/cli.md (the
 * fields the topic names may be left out; if given they must agree), and
 * .../{version}/metric/{name} a bare number. A pure function: no bus, no
 * sockets; the daemon sends what it makes.
 */
#include "mqttd.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonl.h"
#include "pbjson.h"
#include "util.h"

#define PREFIX "traction/v1/feedback/"

void mqd_records_free(mqd_records_t *rs)
{
	if (rs->block != NULL) {
		free(rs->block); /* the records and their strings */
		rs->block = NULL;
	} else {
		for (size_t i = 0; i < rs->n; i++)
			pbjson_free(&rs->v[i].base);
		free(rs->v);
	}
	rs->v = NULL;
	rs->n = 0;
}

static int s_refuse(mqd_records_t *rs, uint8_t reason, const char *why)
{
	mqd_records_free(rs);
	rs->reason = reason;
	snprintf(rs->err, sizeof(rs->err), "%s", why);
	return -1;
}

/* The topic's parts: scenario, supply, version, and the metric's name
 * (NULL for a JSON topic), copied into parts. */
static int s_topic(const char *t, size_t n, char parts[4][TRC_SLUG_MAX + 1], bool *metric)
{
	if (n <= strlen(PREFIX) || memcmp(t, PREFIX, strlen(PREFIX)) != 0)
		return -1;
	const char *p = t + strlen(PREFIX), *end = t + n;
	int k = 0;
	while (p <= end && k < 6) {
		const char *sl = memchr(p, '/', (size_t)(end - p));
		size_t len = (size_t)((sl != NULL ? sl : end) - p);
		if (len == 0 || len > TRC_SLUG_MAX)
			return -1;
		if (k == 3) {
			if (len != 6 || memcmp(p, "metric", 6) != 0)
				return -1;
		} else {
			memcpy(parts[k < 3 ? k : 3], p, len);
			parts[k < 3 ? k : 3][len] = '\0';
		}
		k++;
		p += len + 1;
		if (sl == NULL)
			break;
	}
	if (p <= end || (k != 3 && k != 5))
		return -1;
	*metric = k == 5;
	for (int i = 0; i < 3; i++)
		if (!trc_is_slug(parts[i]))
			return -1;
	return *metric && !trc_is_text(parts[3], TRC_SLUG_MAX) ? -1 : 0;
}

/* A field the topic names: set if absent, else it must agree. */
static int s_field(char **f, const char *topic_value, const char *name, mqd_records_t *rs)
{
	if (*f == NULL || (*f)[0] == '\0') {
		if (*f != NULL && *f != protobuf_c_empty_string)
			free(*f);
		*f = strdup(topic_value);
		return *f != NULL ? 0 : s_refuse(rs, MQ_RC_UNSPECIFIED, "out of memory");
	}
	if (strcmp(*f, topic_value) != 0)
	{
		char why[80];
		snprintf(why, sizeof(why), "%s: the payload and the topic differ", name);
		return s_refuse(rs, MQ_RC_PAYLOAD_INVALID, why);
	}
	return 0;
}

static int s_metric(const uint8_t *payload, size_t plen, const char *name, mqd_records_t *rs)
{
	char num[64];
	if (plen == 0 || plen >= sizeof(num))
		return s_refuse(rs, MQ_RC_PAYLOAD_INVALID, "metric: the payload is not a number");
	memcpy(num, payload, plen);
	num[plen] = '\0';
	char *end;
	double v = strtod(num, &end);
	while (isspace((unsigned char)*end))
		end++;
	if (end == num || *end != '\0' || isspace((unsigned char)num[0]) || !isfinite(v))
		return s_refuse(rs, MQ_RC_PAYLOAD_INVALID, "metric: the payload is not a number");
	Traction__V1__Metric *m = calloc(1, sizeof(*m));
	rs->v = calloc(1, sizeof(*rs->v));
	if (m == NULL || rs->v == NULL) {
		free(m);
		return s_refuse(rs, MQ_RC_UNSPECIFIED, "out of memory");
	}
	traction__v1__metric__init(m);
	traction__v1__feedback_record__init(&rs->v[0]);
	rs->n = 1;
	m->name = strdup(name);
	m->value = v;
	rs->v[0].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	rs->v[0].metric = m;
	return m->name != NULL ? 0 : s_refuse(rs, MQ_RC_UNSPECIFIED, "out of memory");
}

static int s_json(const uint8_t *payload, size_t plen, mqd_records_t *rs)
{
	json_error_t je;
	json_t *doc = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL) {
		char why[200];
		snprintf(why, sizeof(why), "the payload is not JSON: %s", je.text);
		return s_refuse(rs, MQ_RC_PAYLOAD_INVALID, why);
	}
	size_t n = json_is_array(doc) ? json_array_size(doc) : 1;
	rs->array = json_is_array(doc);
	if (n == 0 || n > MQD_RECORDS_MAX) {
		json_decref(doc);
		return s_refuse(rs, MQ_RC_PAYLOAD_INVALID, "expected a record or an array of 1 to 1000 records");
	}
	rs->v = calloc(n, sizeof(*rs->v));
	if (rs->v == NULL) {
		json_decref(doc);
		return s_refuse(rs, MQ_RC_UNSPECIFIED, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		traction__v1__feedback_record__init(&rs->v[i]);
		rs->n = i + 1;
		char err[200];
		json_t *o = rs->array ? json_array_get(doc, i) : doc;
		if (trc_record_from_json(o, &rs->v[i], err, sizeof(err)) != 0) {
			char msg[240];
			snprintf(msg, sizeof(msg), "record %zu: %s", i + 1, err);
			json_decref(doc);
			return s_refuse(rs, MQ_RC_PAYLOAD_INVALID, msg);
		}
	}
	json_decref(doc);
	return 0;
}

/* mqd_records, its JSON payload scanned directly first (scan.c) if scan. */
static int s_records(const char *topic, size_t tlen, const uint8_t *payload, size_t plen,
		     const char *key_base, mqd_records_t *rs, bool scan)
{
	char parts[4][TRC_SLUG_MAX + 1];
	bool metric = false;
	memset(rs, 0, sizeof(*rs));
	if (s_topic(topic, tlen, parts, &metric) != 0)
		return s_refuse(rs, MQ_RC_TOPIC_INVALID, "topic: expected traction/v1/feedback/SCENARIO/SUPPLY/VERSION[/metric/NAME]");
	const char *const fields[3] = { parts[0], parts[1], parts[2] };
	if (!metric && scan && mqd_scan(payload, plen, fields, key_base, rs) == 0)
		return 0; /* its records whole, the topic's fields and the keys in */
	if ((metric ? s_metric(payload, plen, parts[3], rs) : s_json(payload, plen, rs)) != 0)
		return -1;
	for (size_t i = 0; i < rs->n; i++) {
		Traction__V1__FeedbackRecord *r = &rs->v[i];
		if (s_field(&r->scenario_id, parts[0], "scenario", rs) != 0 ||
		    s_field(&r->supply_id, parts[1], "supply", rs) != 0 ||
		    s_field(&r->version, parts[2], "version", rs) != 0)
			return -1;
		if (r->idempotency_key == NULL || r->idempotency_key[0] == '\0') {
			char key[MQD_KEY_MAX + 16];
			if (rs->array)
				snprintf(key, sizeof(key), "%s/%zu", key_base, i);
			else
				snprintf(key, sizeof(key), "%s", key_base);
			if (r->idempotency_key != NULL && r->idempotency_key != protobuf_c_empty_string)
				free(r->idempotency_key);
			r->idempotency_key = strdup(key);
			if (r->idempotency_key == NULL)
				return s_refuse(rs, MQ_RC_UNSPECIFIED, "out of memory");
		}
	}
	return 0;
}

int mqd_records(const char *topic, size_t tlen, const uint8_t *payload, size_t plen,
		const char *key_base, mqd_records_t *rs)
{
	return s_records(topic, tlen, payload, plen, key_base, rs, true);
}

int mqd_records_json(const char *topic, size_t tlen, const uint8_t *payload, size_t plen,
		     const char *key_base, mqd_records_t *rs)
{
	return s_records(topic, tlen, payload, plen, key_base, rs, false);
}
