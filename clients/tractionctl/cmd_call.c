/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl methods|call|events follow: what derives from proto/'s
 * service blocks alone. `methods` lists every method on the wire with its
 * request and reply; `call` sends any of them with a JSON request and
 * prints the reply, so a method needs no command of its own to be usable
 * from a shell; `events follow` reads a daemon's event log with
 * events.read, the readers' feed (scoped, resumable, long-polled).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "ctl.h"
#include "traction/v1/events.pb-c.h"

static int cmd_methods(ctl_t *ctl, args_t *a)
{
	(void)a;
	json_t *doc = json_array();
	char svc[64], method[128];
	for (size_t i = 0; i < trc_n_blocks; i++) {
		const ProtobufCServiceDescriptor *sd = trc_blocks[i];
		trc_service_wire_name(sd->short_name, svc, sizeof(svc));
		for (unsigned m = 0; m < sd->n_methods; m++) {
			const ProtobufCMethodDescriptor *md = &sd->methods[m];
			trc_method_wire_name(md->name, method, sizeof(method));
			if (ctl->json)
				json_array_append_new(doc, json_pack("{s:s, s:s, s:s, s:s}", "service",
								     svc, "method", method, "request",
								     md->input->name, "reply",
								     md->output->name));
			else
				printf("%-11s %-18s %s -> %s\n", svc, method, md->input->short_name,
				       md->output->short_name);
		}
	}
	if (ctl->json)
		ctl_print_json(doc);
	else
		json_decref(doc);
	return 0;
}

/* The request as JSON: the argument, or stdin with "-", or {} if none. */
static json_t *s_request_json(const char *text)
{
	json_error_t e;
	json_t *j = text == NULL	      ? json_object()
		    : strcmp(text, "-") == 0 ? json_loadf(stdin, 0, &e)
					      : json_loads(text, 0, &e);
	if (j == NULL)
		ctl_fail("the request is not JSON: %s (line %d)", e.text, e.line);
	else if (!json_is_object(j)) {
		ctl_fail("the request must be a JSON object");
		json_decref(j);
		j = NULL;
	}
	return j;
}

static int cmd_call(ctl_t *ctl, args_t *a)
{
	const char *service = a->pos[0], *method = a->pos[1];
	const ProtobufCMethodDescriptor *md = trc_method_lookup(service, method);
	if (md == NULL)
		return ctl_fail("%s.%s: no such method ('tractionctl methods' lists them)", service,
				method);
	json_t *j = s_request_json(a->npos > 2 ? a->pos[2] : NULL);
	if (j == NULL)
		return 1;
	ProtobufCMessage *req = calloc(1, md->input->sizeof_message);
	char err[256];
	int rc = 1;
	if (req == NULL) {
		json_decref(j);
		return ctl_fail("out of memory");
	}
	protobuf_c_message_init(md->input, req);
	if (pbjson_to_message(j, req, err, sizeof(err)) != 0)
		ctl_fail("%s: %s", md->input->name, err);
	else
		rc = ctl_call(ctl, service, method, req, md->output, NULL);
	pbjson_free(req);
	free(req);
	json_decref(j);
	return rc;
}

static int cmd_follow(ctl_t *ctl, args_t *a)
{
	const char *source = a->pos[0];
	uint64_t count = UINT64_MAX; /* no end */
	char **topics;
	int ntopics = args_all(a, "topic", &topics);
	Traction__V1__EventsReadRequest req = TRACTION__V1__EVENTS_READ_REQUEST__INIT;
	req.from_seq = 1;
	if ((arg(a, "count") && ctl_uint("count", arg(a, "count"), UINT64_MAX - 1, &count) != 0) ||
	    (arg(a, "from") && ctl_uint("from", arg(a, "from"), UINT64_MAX, &req.from_seq) != 0))
		return 1;
	req.topics = topics;
	req.n_topics = (size_t)ntopics;
	req.wait_ms = ctl->timeout_ms > 2000 ? (uint32_t)ctl->timeout_ms - 1000 : 1000;
	ctl_stop_on_signals();
	uint64_t seen = 0;
	while (!ctl_stop && seen < count) {
		Traction__V1__EventsReadReply *rep = NULL;
		if (ctl_call_rep(ctl, source, "events.read", &req.base,
				 &traction__v1__events_read_reply__descriptor,
				 (ProtobufCMessage **)&rep) != 0)
			return 1;
		for (size_t i = 0; i < rep->n_events && seen < count; i++, seen++)
			ctl_print_event(ctl, rep->events[i]);
		req.from_seq = rep->next_seq;
		traction_reply_free(&rep->base);
	}
	return 0;
}

const cmd_t ctl_call_cmds[] = {
	{ "methods", NULL, cmd_methods, "", 0, 0, "methods",
	  "List every method on the wire, with its request and reply messages (from proto/'s\n"
	  "service blocks; 'daemon' methods are answered by every service).",
	  "tractionctl methods" },
	{ "call", NULL, cmd_call, "", 2, 3, "call SERVICE METHOD [JSON|-]",
	  "Call any method with its request as a JSON object (field names as in proto/, enums\n"
	  "by label; '-' reads it from stdin; none: {}), and print the reply.",
	  "tractionctl call scenario gaps '{\"limit\": 5}'" },
	{ "events", "follow", cmd_follow, "topic*,from,count", 1, 1,
	  "events follow SOURCE [--topic PREFIX]... [--from SEQ] [--count N]",
	  "Print a daemon's events from sequence --from (default 1) on and wait for more, with\n"
	  "events.read: what the caller's role and scope may see, nothing lost, resumable\n"
	  "(SOURCE: supply, scenario, feedback, iteration).",
	  "tractionctl events follow feedback --topic feedback.problem --from 120" },
};
const int ctl_n_call_cmds = sizeof(ctl_call_cmds) / sizeof(ctl_call_cmds[0]);
