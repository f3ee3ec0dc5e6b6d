/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /v1/openapi.json: the API as an OpenAPI 3.0 document, made from the
 * route table and the messages' descriptors, so that it cannot list a
 * route or a field the gateway does not have. The gateway's own handlers
 * (feedback, events, session, health) describe themselves here.
 */
#include "gateway.h"

#include <ctype.h>
#include <string.h>

#include "blocks.h"
#include "pbjson.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"

#define REF "#/components/schemas/"

static json_t *s_json_body(json_t *schema)
{
	return json_pack("{s:{s:{s:o}}}", "content", "application/json", "schema", schema);
}

static json_t *s_response(const char *desc, json_t *schema)
{
	json_t *r = json_pack("{s:s}", "description", desc);
	if (schema != NULL)
		json_object_update_missing_new(r, s_json_body(schema));
	return r;
}

/* The query parameters a route's request takes (see routes.c): its
 * top-level scalar fields that the path and body do not set; cursor and
 * limit of a page; from and to of a time range; label. */
static void s_query_params(const gw_route_t *r, const ProtobufCMessageDescriptor *d,
			   json_t *params, json_t *defs)
{
	bool paged = protobuf_c_message_descriptor_get_field_by_name(d, "page") != NULL &&
		     protobuf_c_message_descriptor_get_field_by_name(d, "limit") == NULL;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		bool from_path = false;
		for (int k = 0; k < GW_PARAMS_MAX && r->params[k] != NULL; k++)
			from_path = from_path || strcmp(r->params[k], f->name) == 0;
		if (from_path || (r->body != NULL && r->body[0] != '\0' &&
				  strcmp(r->body, f->name) == 0))
			continue;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (paged && strcmp(f->name, "page") == 0) {
				json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s}}", "name",
									"cursor", "in", "query", "schema",
									"type", "string"));
				json_array_append_new(params,
						      json_pack("{s:s, s:s, s:{s:s, s:i}}", "name",
								"limit", "in", "query", "schema", "type",
								"integer", "minimum", 0));
			} else if (f->descriptor == &traction__v1__time_range__descriptor) {
				const char *ends[2] = { "from", "to" };
				for (int k = 0; k < 2; k++)
					json_array_append_new(
						params,
						json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", ends[k],
							  "in", "query", "description",
							  "RFC 3339 UTC or ms since the epoch", "schema",
							  "type", "string"));
			} else if (strcmp(f->name, "label") == 0) {
				json_array_append_new(params,
						      json_pack("{s:s, s:s, s:s, s:{s:s}}", "name",
								"label", "in", "query", "description",
								"KEY=VALUE", "schema", "type", "string"));
			}
			continue;
		}
		if (r->body != NULL) /* a body route takes its fields in the body */
			continue;
		json_t *schema = pbjson_field_schema(f, defs, REF);
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			schema = json_pack("{s:s, s:o}", "type", "array", "items", schema);
		json_t *p = json_pack("{s:s, s:s, s:o}", "name", f->name, "in", "query", "schema",
				      schema);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			json_object_set_new(p, "style", json_string("form"));
			json_object_set_new(p, "explode", json_true());
		}
		json_array_append_new(params, p);
	}
}

/* "/v1/providers/{id}" -> its path parameters. */
static void s_path_params(const char *path, json_t *params)
{
	for (const char *p = strchr(path, '{'); p != NULL; p = strchr(p + 1, '{')) {
		const char *e = strchr(p, '}');
		json_array_append_new(params, json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", p + 1,
							(size_t)(e - p - 1), "in", "path",
							"required", 1, "schema", "type", "string"));
	}
}

/* POST /v1/feedback: records in, a result per record out. */
static void s_own_feedback(json_t *op, json_t *resp, json_t *defs)
{
	json_t *line = json_pack(
		"{s:s, s:s, s:o}", "type", "object", "description",
		"a record in the JSON Lines format of docs/cli.md",
		"properties",
		json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:o, s:o, "
			  "s:o, s:o}",
			  "scenario", "type", "string", "supply", "type", "string", "version",
			  "type", "string", "key", "type", "string", "observed_at", "type",
			  "string", "labels", "type", "object", "metric",
			  pbjson_schema(&traction__v1__metric__descriptor, defs, REF), "problem",
			  pbjson_schema(&traction__v1__problem__descriptor, defs, REF), "value",
			  pbjson_schema(&traction__v1__value_verification__descriptor, defs,
					REF),
			  "demand",
			  pbjson_schema(&traction__v1__demand_signal__descriptor, defs, REF)));
	json_object_set_new(defs, "FeedbackLine", line);
	json_object_set_new(
		op, "requestBody",
		json_pack("{s:b, s:{s:{s:{s:[{s:s}, {s:s, s:{s:s}}]}}, s:{s:{s:s, s:s}}}}",
			  "required", 1, "content", "application/json", "schema", "oneOf",
			  "$ref", REF "FeedbackLine", "type", "array", "items", "$ref",
			  REF "FeedbackLine", "application/x-ndjson", "schema", "type",
			  "string", "description", "one FeedbackLine per line"));
	json_t *result = json_pack(
		"{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}}", "type", "object",
		"properties", "line", "type", "integer", "record_id", "type", "integer",
		"duplicate", "type", "boolean", "code", "type", "string", "message", "type",
		"string");
	json_object_set_new(defs, "RecordOutcome", result);
	json_object_set_new(defs, "PublishSummary",
			    json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:{s:s}}}}",
				      "type", "object", "properties", "accepted", "type",
				      "integer", "duplicates", "type", "integer", "refused",
				      "type", "integer", "results", "type", "array", "items",
				      "$ref", REF "RecordOutcome"));
	json_object_set_new(resp, "200",
			    s_response("a result per record (on disk when it has a "
				       "record_id)",
				       json_pack("{s:s}", "$ref", REF "PublishSummary")));
}

/* GET /v1/events: Server-Sent Events. */
static void s_own_events(json_t *op, json_t *resp, json_t *defs)
{
	(void)defs;
	json_t *params = json_object_get(op, "parameters");
	const char *q[4] = { "source", "topic", "last_event_id", "tail" };
	for (int k = 0; k < 4; k++)
		json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s}}", "name", q[k],
							"in", "query", "schema", "type",
							"string"));
	json_object_set_new(resp, "200",
			    json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
				      "events: id (a position per source), event (the type), "
				      "data (the Event)",
				      "content", "text/event-stream", "schema", "type",
				      "string"));
}

/* POST /v1/session: a token for a cookie. */
static void s_own_session_new(json_t *op, json_t *resp, json_t *defs)
{
	(void)defs;
	json_object_set_new(op, "requestBody",
			    s_json_body(json_pack("{s:s, s:{s:{s:s}}}", "type", "object",
						  "properties", "token", "type", "string")));
	json_object_set_new(resp, "200",
			    s_response("a session cookie (traction_session)",
				       json_pack("{s:s, s:{s:{s:s}, s:{s:s}}}", "type",
						 "object", "properties", "user", "type",
						 "string", "expires_in_s", "type",
						 "integer")));
}

/* DELETE /v1/session. */
static void s_own_session_end(json_t *op, json_t *resp, json_t *defs)
{
	(void)op;
	(void)defs;
	json_object_set_new(resp, "200",
			    s_response("the session ended",
				       json_pack("{s:s, s:{s:{s:s}}}", "type", "object",
						 "properties", "ended", "type",
						 "boolean")));
}

/* GET /v1/health. */
static void s_own_health(json_t *op, json_t *resp, json_t *defs)
{
	(void)op;
	(void)defs;
	json_object_set_new(resp, "200",
			    s_response("the gateway and the broker answer",
				       json_pack("{s:s, s:{s:{s:s}, s:{s:s}}}", "type",
						 "object", "properties", "gateway", "type",
						 "string", "broker", "type", "string")));
}

/* GET /v1/session: whom the request acts for. */
static void s_own_session_get(json_t *op, json_t *resp, json_t *defs)
{
	(void)op;
	(void)defs;
	json_t *names = json_pack("{s:s, s:{s:s}}", "type", "array", "items", "type", "string");
	json_object_set_new(
		resp, "200",
		s_response("the user (null with auth = 0), the role and the scope the bus applies",
			   json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:O, s:O, s:o}}", "type", "object",
				     "properties", "user", "type", "string", "role", "type",
				     "string", "scenarios", names, "enterprises", names,
				     "providers", names)));
}

/* The gateway's own handlers: what they take and answer. */
static const struct {
	gw_handler_fn handler;
	void (*describe)(json_t *op, json_t *resp, json_t *defs);
} s_own_docs[] = {
	{ gw_feedback_post, s_own_feedback },	{ gw_events, s_own_events },
	{ gw_session_new, s_own_session_new },	{ gw_session_end, s_own_session_end },
	{ gw_session_get, s_own_session_get },	{ gw_health, s_own_health },
};

static void s_own(const gw_route_t *r, json_t *op, json_t *defs)
{
	json_t *resp = json_object_get(op, "responses");
	for (size_t i = 0; i < sizeof(s_own_docs) / sizeof(s_own_docs[0]); i++)
		if (r->handler == s_own_docs[i].handler) {
			s_own_docs[i].describe(op, resp, defs);
			return;
		}
	json_object_set_new(resp, "200",
			    s_response("this document", json_pack("{s:s}", "type", "object")));
}

void gw_openapi(gw_request_t *rq, gw_answer_t *an)
{
	(void)rq;
	json_t *defs = json_object(), *paths = json_object();
	json_object_set_new(
		defs, "Error",
		json_pack("{s:s, s:{s:{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s, s:o}}}}}", "type",
			  "object", "properties", "error", "type", "object", "properties", "code",
			  "type", "string", "message", "type", "string", "details", "type",
			  "array", "items",
			  pbjson_schema(&traction__v1__error_detail__descriptor, defs, REF)));
	for (size_t i = 0; i < gw_n_routes; i++) {
		const gw_route_t *r = &gw_routes[i];
		json_t *item = json_object_get(paths, r->path);
		if (item == NULL) {
			item = json_object();
			json_object_set_new(paths, r->path, item);
		}
		char method[8], opid[96];
		size_t n = strnlen(r->http, sizeof(method) - 1);
		for (size_t k = 0; k < n; k++) /* "GET" -> "get" */
			method[k] = (char)tolower((unsigned char)r->http[k]);
		method[n] = '\0';
		json_t *params = json_array();
		s_path_params(r->path, params);
		json_t *responses = json_pack("{s:o}", "default",
					      s_response("an error: the bus code, its message and "
							 "details",
							 json_pack("{s:s}", "$ref", REF "Error")));
		snprintf(opid, sizeof(opid), "%s%s%s", r->service != NULL ? r->service : "gateway",
			 r->method != NULL ? "." : "", r->method != NULL ? r->method : r->path);
		json_t *op = json_pack("{s:s, s:s, s:o, s:o}", "summary", r->summary,
				       "operationId", opid, "parameters", params, "responses",
				       responses);
		if (r->flags & GW_R_PUBLIC)
			json_object_set_new(op, "security", json_array());
		if (r->handler != NULL) {
			s_own(r, op, defs);
		} else {
			const ProtobufCMethodDescriptor *md = trc_method_lookup(r->service, r->method);
			s_query_params(r, md->input, params, defs);
			if (r->body != NULL) {
				const ProtobufCMessageDescriptor *bd = md->input;
				if (r->body[0] != '\0')
					bd = protobuf_c_message_descriptor_get_field_by_name(md->input,
											     r->body)
						     ->descriptor;
				json_object_set_new(op, "requestBody",
						    s_json_body(pbjson_schema(bd, defs, REF)));
			}
			json_object_set_new(responses, (r->flags & GW_R_CREATED) ? "201" : "200",
					    s_response("the reply",
						       pbjson_schema(md->output, defs, REF)));
		}
		json_object_set_new(item, method, op);
	}
	an->status = 200;
	an->doc = json_pack(
		"{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:{s:o, s:{s:{s:s, s:s}, s:{s:s, s:s, "
		"s:s}}}, s:[{s:[]}, {s:[]}]}",
		"openapi", "3.0.3", "info", "title", "traction HTTP API", "version",
		TRACTION_VERSION, "description",
		"The traction bus over HTTP/JSON (docs/http.md): every route acts for the user "
		"its token names, with that user's role and scope.",
		"servers", "url", "/", "paths", paths, "components", "schemas", defs,
		"securitySchemes", "bearer", "type", "http", "scheme", "bearer", "session", "type",
		"apiKey", "in", "cookie", "name", "traction_session", "security", "bearer",
		"session");
}
