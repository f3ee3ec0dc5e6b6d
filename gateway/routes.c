/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The REST routes: one table, one resource per noun of tractionctl, each a
 * bus method (or a handler of the gateway's own), and one generic way to
 * turn a request into the method's message: the {placeholders} of the path
 * and the query parameters become its fields (typed by the descriptor), the
 * JSON body goes where the route says. The answer is the reply message in
 * the JSON dialect of lib/pbjson (tractionctl --json's too). The OpenAPI
 * document is made from this same table (openapi.c).
 */
#include "gateway.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "jsonl.h"
#include "pbjson.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"

#define NONE { NULL }

const gw_route_t gw_routes[] = {
	/* the gateway's own */
	{ "GET", "/v1/health", NULL, NULL, gw_health, NULL, NONE, GW_R_PUBLIC,
	  "the gateway and the broker answer" },
	{ "GET", "/v1/openapi.json", NULL, NULL, gw_openapi, NULL, NONE, GW_R_PUBLIC,
	  "this API as an OpenAPI 3.0 document" },
	{ "POST", "/v1/session", NULL, NULL, gw_session_new, NULL, NONE, GW_R_PUBLIC,
	  "trade a token (body {\"token\"}) for a session cookie, for browsers" },
	{ "DELETE", "/v1/session", NULL, NULL, gw_session_end, NULL, NONE, GW_R_PUBLIC,
	  "end the session of the cookie" },
	{ "GET", "/v1/session", NULL, NULL, gw_session_get, NULL, NONE, 0,
	  "who the token or cookie acts for: user, role, scope" },
	{ "GET", "/v1/events", NULL, NULL, gw_events, NULL, NONE, 0,
	  "Server-Sent Events of the readers' feed (events.read), resumable with Last-Event-ID" },
	/* providers and supplies */
	{ "GET", "/v1/providers", "supply", "provider.list", NULL, NULL, NONE, 0,
	  "providers, by id; filter kind" },
	{ "POST", "/v1/providers", "supply", "provider.register", NULL, "provider", NONE,
	  GW_R_CREATED, "register a provider (body: a Provider)" },
	{ "GET", "/v1/providers/{id}", "supply", "provider.get", NULL, NULL, { "id" }, 0,
	  "one provider" },
	{ "PATCH", "/v1/providers/{id}", "supply", "provider.update", NULL, "provider",
	  { "provider.id" }, GW_R_MASK, "change the fields the body names" },
	{ "GET", "/v1/supplies", "supply", "list", NULL, NULL, NONE, 0,
	  "supplies, by id; filters kind, provider_id, capability, status" },
	{ "POST", "/v1/supplies", "supply", "register", NULL, "supply", NONE, GW_R_CREATED,
	  "register a supply (body: a Supply with its initial_version)" },
	{ "GET", "/v1/supplies/{id}", "supply", "get", NULL, NULL, { "id" }, 0, "one supply" },
	{ "PATCH", "/v1/supplies/{id}", "supply", "update", NULL, "supply", { "supply.id" },
	  GW_R_MASK, "change the fields the body names" },
	{ "POST", "/v1/supplies/{id}/retire", "supply", "retire", NULL, "", { "id" }, 0,
	  "retire a supply (body: {\"reason\"})" },
	/* versions of a supply */
	{ "GET", "/v1/supplies/{id}/versions", "iteration", "list", NULL, NULL, { "supply_id" },
	  0, "the versions of a supply in lineage order" },
	{ "POST", "/v1/supplies/{id}/versions", "iteration", "record", NULL, "iteration",
	  { "iteration.supply_id" }, GW_R_CREATED,
	  "record a new version (body: an Iteration with its parent_version)" },
	{ "GET", "/v1/supplies/{id}/versions/{version}", "iteration", "get", NULL, NULL,
	  { "supply_id", "version" }, 0, "one version" },
	{ "GET", "/v1/supplies/{id}/history", "iteration", "history", NULL, NULL,
	  { "supply_id" }, 0, "every version with what it addressed, its aggregates and deltas" },
	{ "GET", "/v1/supplies/{id}/diff", "iteration", "diff", NULL, NULL, { "supply_id" }, 0,
	  "between from_version and to_version: metric deltas, problems fixed, new, regressed" },
	/* scenarios */
	{ "GET", "/v1/scenarios", "scenario", "list", NULL, NULL, NONE, 0,
	  "scenarios, by id; filters domain, status, enterprise, capability" },
	{ "POST", "/v1/scenarios", "scenario", "submit", NULL, "scenario", NONE, GW_R_CREATED,
	  "submit a scenario with its demands (body: a Scenario)" },
	{ "GET", "/v1/scenarios/{id}", "scenario", "get", NULL, NULL, { "id" }, 0,
	  "one scenario" },
	{ "PATCH", "/v1/scenarios/{id}", "scenario", "update", NULL, "scenario",
	  { "scenario.id" }, GW_R_MASK, "change the fields the body names" },
	{ "POST", "/v1/scenarios/{id}/close", "scenario", "close", NULL, "", { "id" }, 0,
	  "close a scenario (body: {\"reason\"})" },
	{ "GET", "/v1/scenarios/{id}/match", "scenario", "match", NULL, NULL,
	  { "scenario_id" }, 0, "ranked supplies for the scenario's demands, with reasons" },
	{ "GET", "/v1/gaps", "scenario", "gaps", NULL, NULL, NONE, 0,
	  "capabilities open scenarios need that no active supply offers" },
	/* deployments */
	{ "GET", "/v1/deployments", "deployment", "list", NULL, NULL, NONE, 0,
	  "deployments; filters scenario_id, supply_id, version, stage, status" },
	{ "POST", "/v1/deployments", "deployment", "adopt", NULL, "", NONE, GW_R_CREATED,
	  "adopt a supply version into a scenario (body: scenario_id, supply_id, version)" },
	{ "GET", "/v1/deployments/{id}", "deployment", "get", NULL, NULL, { "id" }, 0,
	  "one deployment" },
	{ "POST", "/v1/deployments/{id}/upgrade", "deployment", "upgrade", NULL, "",
	  { "deployment_id" }, 0, "move to a newer version (body: version, reason)" },
	{ "POST", "/v1/deployments/{id}/advance", "deployment", "advance", NULL, "",
	  { "deployment_id" }, 0,
	  "move to another stage (body: to, force, reason); refused: 412 with the criteria" },
	{ "POST", "/v1/deployments/{id}/retire", "deployment", "retire", NULL, "",
	  { "deployment_id" }, 0, "retire a deployment (body: {\"reason\"})" },
	{ "GET", "/v1/deployments/{id}/history", "deployment", "history", NULL, NULL,
	  { "deployment_id" }, 0, "the stage timeline with its evidence, and the versions" },
	{ "GET", "/v1/deployments/{id}/gates", "deployment", "gates", NULL, NULL,
	  { "deployment_id" }, 0,
	  "what an advance would be judged on now (?to=STAGE, default the next): every criterion" },
	/* feedback */
	{ "POST", "/v1/feedback", NULL, NULL, gw_feedback_post, "", NONE, 0,
	  "publish records: a JSON record, an array of them, or application/x-ndjson lines "
	  "(docs/cli.md); 200 once on disk, with a result per record" },
	{ "GET", "/v1/feedback", "feedback", "list", NULL, NULL, NONE, 0,
	  "records, by id; filters supply_id, version, scenario_id, kind, from, to, label" },
	{ "GET", "/v1/stats", "feedback", "stats", NULL, NULL, NONE, 0,
	  "aggregates of supply_id [version] [scenario_id] [metric]; trends" },
	{ "GET", "/v1/problems", "feedback", "problems", NULL, NULL, NONE, 0,
	  "problems with their state; filters" },
	{ "GET", "/v1/regressions", "feedback", "regressions", NULL, NULL, NONE, 0,
	  "problems that came back after an iteration addressed them" },
	{ "GET", "/v1/demands", "feedback", "demands", NULL, NULL, NONE, 0,
	  "demand signals by capability" },
	/* alert rules (docs/alerts.md) */
	{ "GET", "/v1/alerts", "feedback", "alert.list", NULL, NULL, NONE, 0,
	  "alert rules, with their alerts now pending or firing" },
	{ "POST", "/v1/alerts", "feedback", "alert.add", NULL, "rule", NONE, GW_R_CREATED,
	  "add an alert rule (body: an AlertRule; admin)" },
	{ "DELETE", "/v1/alerts/{id}", "feedback", "alert.remove", NULL, NULL, { "id" }, 0,
	  "remove an alert rule; its firing alerts resolve (admin)" },
	{ "GET", "/v1/alerts/history", "feedback", "alert.history", NULL, NULL, NONE, 0,
	  "alerts fired and resolved, newest first; filters rule_id, from, to" },
	/* retention of raw feedback (docs/operations.md, "Retention"): admin */
	{ "GET", "/v1/retention", "feedback", "retention.list", NULL, NULL, NONE, 0,
	  "the configured retention and the overrides by scenario; filter scenario_id (admin)" },
	{ "POST", "/v1/retention", "feedback", "retention.set", NULL, "", NONE, 0,
	  "how long a scenario's raw records are kept (body: scenario_id, kind, days; days 0 "
	  "removes it; admin)" },
	{ "GET", "/v1/holds", "feedback", "hold.list", NULL, NULL, NONE, 0,
	  "holds that suspend the deletion of raw records (admin)" },
	{ "POST", "/v1/holds", "feedback", "hold.add", NULL, "hold", NONE, GW_R_CREATED,
	  "hold a scenario's or a deployment's records (body: a Hold with a reason; admin)" },
	{ "DELETE", "/v1/holds/scenarios/{id}", "feedback", "hold.remove", NULL, NULL,
	  { "scenario_id" }, 0, "end a scenario's hold (admin)" },
	{ "DELETE", "/v1/holds/deployments/{id}", "feedback", "hold.remove", NULL, NULL,
	  { "deployment_id" }, 0, "end a deployment's hold (admin)" },
};
const size_t gw_n_routes = sizeof(gw_routes) / sizeof(gw_routes[0]);

/* ---- matching ------------------------------------------------------------------- */

static int s_hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Percent-decodes s[0..n) into a new string (NULL if malformed, or if
 * it decodes to a NUL byte). */
static char *s_unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		int hi = i + 2 < n ? s_hex(s[i + 1]) : -1, lo = i + 2 < n ? s_hex(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

/* Whether path matches the pattern; captures its {placeholders}. */
static bool s_match(const char *pattern, const char *path, char **caps, int *ncaps)
{
	const char *p = pattern, *s = path;
	*ncaps = 0;
	while (*p != '\0' && *s != '\0') {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			size_t n = strcspn(s, "/");
			if (pe == NULL || n == 0 || *ncaps == GW_PARAMS_MAX)
				return false;
			caps[(*ncaps)++] = s_unescape(s, n);
			if (caps[*ncaps - 1] == NULL)
				return false;
			p = pe + 1;
			s += n;
			continue;
		}
		if (*p++ != *s++)
			return false;
	}
	return *p == '\0' && *s == '\0';
}

const gw_route_t *gw_route_find(const char *method, const char *path, gw_request_t *rq,
				bool *allowed)
{
	*allowed = false;
	for (size_t i = 0; i < gw_n_routes; i++) {
		char *caps[GW_PARAMS_MAX] = { NULL };
		int n = 0;
		bool m = s_match(gw_routes[i].path, path, caps, &n);
		if (m && strcmp(gw_routes[i].http, method) == 0) {
			for (int k = 0; k < n; k++)
				rq->params[k] = caps[k]; /* the request's now: gw_request_done */
			return &gw_routes[i];
		}
		for (int k = 0; k < n; k++)
			free(caps[k]);
		*allowed = *allowed || m;
	}
	return NULL;
}

void gw_request_done(gw_request_t *rq)
{
	for (int k = 0; k < GW_PARAMS_MAX; k++) {
		free((char *)rq->params[k]);
		rq->params[k] = NULL;
	}
}

/* ---- answers ---------------------------------------------------------------------- */

unsigned gw_http_status(int code)
{
	switch (code) {
	case TRACTION__V1__CODE__OK: return 200;
	case TRACTION__V1__CODE__INVALID_ARGUMENT:
	case TRACTION__V1__CODE__OUT_OF_RANGE: return 400;
	case TRACTION__V1__CODE__UNAUTHENTICATED: return 401;
	case TRACTION__V1__CODE__PERMISSION_DENIED: return 403;
	case TRACTION__V1__CODE__NOT_FOUND: return 404;
	case TRACTION__V1__CODE__ALREADY_EXISTS:
	case TRACTION__V1__CODE__ABORTED: return 409;
	case TRACTION__V1__CODE__FAILED_PRECONDITION: return 412;
	case TRACTION__V1__CODE__RESOURCE_EXHAUSTED: return 429;
	case TRACTION__V1__CODE__UNIMPLEMENTED: return 501;
	case TRACTION__V1__CODE__UNAVAILABLE: return 503;
	case TRACTION__V1__CODE__DEADLINE_EXCEEDED: return 504;
	default: return 500;
	}
}

void gw_error(gw_answer_t *an, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	an->status = status;
	an->doc = pbjson_error(code, msg, NULL);
}

void gw_bus_error(gw_request_t *rq, gw_answer_t *an, int code, const char *message)
{
	an->status = gw_http_status(code);
	an->doc = pbjson_error(traction_code_name(code), message,
			       (const ProtobufCMessage *)traction_last_details(rq->client));
}

void gw_call(gw_request_t *rq, const char *service, const char *method,
	     const ProtobufCMessage *req, unsigned ok_status, gw_answer_t *an)
{
	const ProtobufCMethodDescriptor *md = trc_method_lookup(service, method);
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	int code = traction_call(rq->client, service, method, req, md->output, &rep, &st);
	if (code != 0) {
		gw_bus_error(rq, an, code, st.message);
		return;
	}
	an->status = ok_status;
	an->doc = pbjson_from_message(rep);
	traction_reply_free(rep);
	gw_positions(rq, an);
}

void gw_positions(gw_request_t *rq, gw_answer_t *an)
{
	/* positions, as headers: "as of" for a read, where a write committed
	 * (docs/protocol.md); a client sends the latter back in Traction-After */
	const Traction__V1__Header *h = traction_last_header(rq->client);
	if (h != NULL && h->committed != NULL)
		snprintf(an->committed, sizeof(an->committed), "%s:%llu", h->committed->source,
			 (unsigned long long)h->committed->applied_seq);
	size_t n = 0;
	for (size_t i = 0; h != NULL && i < h->n_applied && n < sizeof(an->applied); i++)
		n += (size_t)snprintf(an->applied + n, sizeof(an->applied) - n, "%s%s:%llu",
				      i ? "," : "", h->applied[i]->source,
				      (unsigned long long)h->applied[i]->applied_seq);
}

int gw_positions_each(const char *text, int (*each)(void *ud, const char *source, uint64_t seq),
		      void *ud)
{
	char *copy = strdup(text), *save = NULL;
	int rc = copy != NULL ? 0 : -1;
	for (char *tok = copy != NULL ? strtok_r(copy, ", ", &save) : NULL; tok != NULL && rc == 0;
	     tok = strtok_r(NULL, ", ", &save)) {
		char *colon = strchr(tok, ':'), *end;
		if (colon == NULL || colon == tok || colon[1] == '\0') {
			rc = -1;
			break;
		}
		*colon = '\0';
		unsigned long long seq = strtoull(colon + 1, &end, 10);
		rc = *end == '\0' ? each(ud, tok, seq) : -1;
	}
	free(copy);
	return rc;
}

static int s_after_one(void *ud, const char *source, uint64_t seq)
{
	return traction_client_after(ud, source, seq) == 0 ? 0 : -1;
}

int gw_after(gw_request_t *rq, const char *header)
{
	traction_client_after(rq->client, NULL, 0);
	return header != NULL ? gw_positions_each(header, s_after_one, rq->client) : 0;
}

/* ---- a request into the method's message --------------------------------------------- */

/* Sets doc[path] (dotted: "provider.id") = v, making the objects on the way. */
static void s_set_path(json_t *doc, const char *path, json_t *v)
{
	char key[128];
	const char *dot;
	while ((dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		json_t *sub = json_object_get(doc, key);
		if (!json_is_object(sub)) {
			sub = json_object();
			json_object_set_new(doc, key, sub);
		}
		doc = sub;
		path = dot + 1;
	}
	json_object_set_new(doc, path, v);
}

static const ProtobufCFieldDescriptor *s_field(const ProtobufCMessageDescriptor *d,
					       const char *name)
{
	return protobuf_c_message_descriptor_get_field_by_name(d, name);
}

/* The field a dotted query key names, and the message it is in. */
static const ProtobufCFieldDescriptor *s_field_path(const ProtobufCMessageDescriptor *d,
						    const char *path)
{
	char key[128];
	const char *dot;
	while ((dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		const ProtobufCFieldDescriptor *f = s_field(d, key);
		if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE)
			return NULL;
		d = f->descriptor;
		path = dot + 1;
	}
	return s_field(d, path);
}

/* A query value as the JSON the field's type wants (times may be RFC 3339
 * where the field is in ms). NULL with err if it is not one. */
static json_t *s_typed(const ProtobufCFieldDescriptor *f, const char *key, const char *v,
		       char *err, size_t errlen)
{
	char *end = NULL;
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_ENUM:
		return json_string(v);
	case PROTOBUF_C_TYPE_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || v[0] == '\0')
			return json_true();
		if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			return json_false();
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
	case PROTOBUF_C_TYPE_FLOAT: {
		double x = strtod(v, &end);
		if (end != v && *end == '\0')
			return json_real(x);
		break;
	}
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: {
		int64_t ms;
		size_t kl = strlen(f->name);
		if (kl > 3 && strcmp(f->name + kl - 3, "_ms") == 0 && trc_time_parse(v, &ms) == 0)
			return json_integer(ms);
	}
		/* fall through */
	default: {
		long long x = strtoll(v, &end, 10);
		if (end != v && *end == '\0' && (x >= 0 || f->type == PROTOBUF_C_TYPE_INT64 ||
						 f->type == PROTOBUF_C_TYPE_INT32 ||
						 f->type == PROTOBUF_C_TYPE_SINT64 ||
						 f->type == PROTOBUF_C_TYPE_SINT32))
			return json_integer(x);
		break;
	}
	}
	snprintf(err, errlen, "query %s: '%.64s' is not a %s", key, v,
		 f->type == PROTOBUF_C_TYPE_BOOL ? "boolean (true or false)" : "number");
	return NULL;
}

/* The TimeRange field of a request, if it has exactly one (for from/to). */
static const char *s_range_field(const ProtobufCMessageDescriptor *d)
{
	const char *name = NULL;
	for (unsigned i = 0; i < d->n_fields; i++)
		if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE &&
		    d->fields[i].descriptor == &traction__v1__time_range__descriptor) {
			if (name != NULL)
				return NULL;
			name = d->fields[i].name;
		}
	return name;
}

/* The query parameters into doc, by the request's fields: a field by its
 * name (a nested one dotted), a repeated field by repeating the key;
 * cursor and limit into page; from and to into the time range; label as
 * KEY=VALUE. */
static int s_query(const gw_request_t *rq, const ProtobufCMessageDescriptor *d, json_t *doc,
		   char *err, size_t errlen)
{
	bool paged = s_field(d, "page") != NULL && s_field(d, "limit") == NULL;
	const char *range = s_range_field(d);
	for (size_t i = 0; i < rq->nquery; i++) {
		const char *k = rq->query[i].key, *v = rq->query[i].value;
		char path[160];
		snprintf(path, sizeof(path), "%s", k);
		if (paged && (strcmp(k, "cursor") == 0 || strcmp(k, "limit") == 0))
			snprintf(path, sizeof(path), "page.%s", k);
		else if (range != NULL && (strcmp(k, "from") == 0 || strcmp(k, "to") == 0))
			snprintf(path, sizeof(path), "%s.%s_ms", range, k);
		if (strcmp(k, "label") == 0 && s_field(d, "label") != NULL) {
			const char *eq = strchr(v, '=');
			if (eq == NULL) {
				snprintf(err, errlen, "query label: expected KEY=VALUE");
				return -1;
			}
			json_object_set_new(doc, "label",
					    json_pack("{s:s%, s:s}", "key", v, (size_t)(eq - v),
						      "value", eq + 1));
			continue;
		}
		const ProtobufCFieldDescriptor *f = s_field_path(d, path);
		if (f == NULL || (f->type == PROTOBUF_C_TYPE_MESSAGE)) {
			snprintf(err, errlen, "query %s: no such parameter of %s", k, d->short_name);
			return -1;
		}
		json_t *jv = s_typed(f, k, v, err, errlen);
		if (jv == NULL)
			return -1;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			json_t *arr = json_object_get(doc, path);
			if (!json_is_array(arr)) {
				arr = json_array();
				s_set_path(doc, path, arr);
			}
			json_array_append_new(arr, jv);
		} else {
			s_set_path(doc, path, jv);
		}
	}
	return 0;
}

/* The request document of route r: body, then query, then the path's
 * placeholders (which win: the URL names the thing). */
static json_t *s_request_doc(const gw_route_t *r, const gw_request_t *rq,
			     const ProtobufCMessageDescriptor *d, char *err, size_t errlen)
{
	json_t *doc = json_object(), *body = NULL;
	if (r->body != NULL && rq->body_len > 0) {
		json_error_t je;
		body = json_loadb(rq->body, rq->body_len, 0, &je);
		if (body == NULL || !json_is_object(body)) {
			snprintf(err, errlen, "the body is not a JSON object%s%s",
				 body == NULL ? ": " : "", body == NULL ? je.text : "");
			json_decref(body);
			json_decref(doc);
			return NULL;
		}
		if (r->body[0] == '\0') {
			json_decref(doc);
			doc = body;
		} else {
			json_object_set(doc, r->body, body);
		}
	}
	if (r->flags & GW_R_MASK) { /* PATCH: the fields the body names */
		json_t *mask = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(body, k, v) {
			json_array_append_new(mask, json_string(k));
		}
		json_object_set_new(doc, "update_mask", mask);
	}
	json_decref(r->body != NULL && r->body[0] != '\0' ? body : NULL);
	if (s_query(rq, d, doc, err, errlen) != 0) {
		json_decref(doc);
		return NULL;
	}
	for (int i = 0; i < GW_PARAMS_MAX && r->params[i] != NULL; i++)
		s_set_path(doc, r->params[i], json_string(rq->params[i]));
	return doc;
}

void gw_route_run(const gw_route_t *r, gw_request_t *rq, gw_answer_t *an)
{
	if (r->handler != NULL) {
		r->handler(rq, an);
		return;
	}
	const ProtobufCMethodDescriptor *md = trc_method_lookup(r->service, r->method);
	char err[256];
	json_t *doc = s_request_doc(r, rq, md->input, err, sizeof(err));
	if (doc == NULL) {
		gw_error(an, 400, "INVALID_ARGUMENT", "%s", err);
		return;
	}
	ProtobufCMessage *req = calloc(1, md->input->sizeof_message);
	if (req == NULL) {
		json_decref(doc);
		gw_error(an, 500, "RESOURCE_EXHAUSTED", "out of memory");
		return;
	}
	protobuf_c_message_init(md->input, req);
	if (pbjson_to_message(doc, req, err, sizeof(err)) != 0)
		gw_error(an, 400, "INVALID_ARGUMENT", "%s", err);
	else
		gw_call(rq, r->service, r->method, req, (r->flags & GW_R_CREATED) ? 201 : 200, an);
	pbjson_free(req);
	free(req);
	json_decref(doc);
}

/* ---- health --------------------------------------------------------------------------- */

void gw_health(gw_request_t *rq, gw_answer_t *an)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	traction_client_on_behalf_of(rq->client, NULL); /* the edge's own: broker ping */
	int code = traction_call(rq->client, "broker", "ping", &e.base,
				 &traction__v1__ping_reply__descriptor, &rep, &st);
	traction_reply_free(rep);
	if (code != 0) {
		gw_bus_error(rq, an, code, st.message);
		return;
	}
	an->status = 200;
	an->doc = json_pack("{s:s, s:s}", "gateway", TRACTION_VERSION, "broker", "ok");
}
