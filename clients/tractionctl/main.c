/*
 * tractionctl: every capability of the traction daemon set from the shell.
 * Commands are dispatched from one table with their help beside them
 * (after knotc). Human-readable tables by default, --json for scripts.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "traction/traction.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"

typedef struct {
	traction_client_t *client;
	bool json;
	const char *endpoint;
} ctl_t;

typedef int (*cmd_fn)(ctl_t *ctl, int argc, char **argv);

typedef struct {
	const char *noun;
	const char *verb;       /* NULL: the noun alone */
	cmd_fn fn;
	const char *usage;
	const char *help;
	const char *example;
} cmd_t;

static int s_fail_status(const char *what, const traction_status_t *st)
{
	fprintf(stderr, "tractionctl: %s: %s: %s\n", what, traction_code_name(st->code),
		st->message);
	return 1;
}

static void s_json_print(json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(doc);
}

/* ---- status ----------------------------------------------------------------- */

static const char *const s_services[] = { "supply", "scenario", "feedback", "iteration",
					  "deployment", NULL };

static int cmd_status(ctl_t *ctl, int argc, char **argv)
{
	traction_status_t st;
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__BrokerStatusReply *rep = NULL;
	if (traction_call(ctl->client, "broker", "status", &req.base,
			  &traction__v1__broker_status_reply__descriptor,
			  (ProtobufCMessage **)&rep, &st) != 0)
		return s_fail_status("broker status", &st);

	/* Ping every service too: live in the broker's table is one thing,
	 * answering is another. */
	json_t *doc = json_object();
	json_t *svcs = json_array();
	int down = 0;
	if (!ctl->json) {
		printf("broker %s  up %.1fs  routed %llu  replies %llu  errors %llu  "
		       "malformed %llu  events %llu\n\n",
		       rep->version, (double)rep->uptime_ms / 1000.0,
		       (unsigned long long)rep->counters->requests_routed,
		       (unsigned long long)rep->counters->replies_routed,
		       (unsigned long long)rep->counters->errors_replied,
		       (unsigned long long)rep->counters->dropped_malformed,
		       (unsigned long long)rep->counters->events_relayed);
		printf("%-12s %-6s %9s %10s %8s %9s  %s\n", "SERVICE", "STATE", "INSTANCES",
		       "REQUESTS", "ERRORS", "IN-FLIGHT", "PING");
	}
	for (size_t i = 0; i < rep->n_services; i++) {
		Traction__V1__ServiceStatus *s = rep->services[i];
		Traction__V1__PingReply *pong = NULL;
		traction_status_t pst = { 0 };
		char ping[128] = "-";
		if (s->n_instances > 0) {
			if (traction_call(ctl->client, s->name, "ping", &req.base,
					  &traction__v1__ping_reply__descriptor,
					  (ProtobufCMessage **)&pong, &pst) == 0)
				snprintf(ping, sizeof(ping), "%s pid %u up %.1fs", pong->daemon,
					 pong->pid, (double)pong->uptime_ms / 1000.0);
			else
				snprintf(ping, sizeof(ping), "%s", traction_code_name(pst.code));
		}
		bool live = s->n_instances > 0 && pong != NULL;
		if (!live)
			down++;
		if (ctl->json) {
			json_t *o = json_pack("{s:s, s:b, s:i, s:I, s:I, s:I, s:i}", "name", s->name,
					      "live", live, "instances", (int)s->n_instances,
					      "requests", (json_int_t)s->requests, "replies",
					      (json_int_t)s->replies, "errors", (json_int_t)s->errors,
					      "in_flight", (int)s->in_flight);
			if (pong != NULL) {
				json_object_set_new(o, "daemon", json_string(pong->daemon));
				json_object_set_new(o, "pid", json_integer(pong->pid));
				json_object_set_new(o, "uptime_ms", json_integer(pong->uptime_ms));
				json_object_set_new(o, "event_head", json_integer((json_int_t)pong->event_head));
			}
			json_array_append_new(svcs, o);
		} else {
			printf("%-12s %-6s %9zu %10llu %8llu %9u  %s\n", s->name, live ? "live" : "DOWN",
			       s->n_instances, (unsigned long long)s->requests,
			       (unsigned long long)s->errors, s->in_flight, ping);
		}
		traction_reply_free(&pong->base);
	}
	if (ctl->json) {
		json_object_set_new(doc, "broker_version", json_string(rep->version));
		json_object_set_new(doc, "uptime_ms", json_integer(rep->uptime_ms));
		json_object_set_new(doc, "services", svcs);
		json_t *c = json_object();
		json_object_set_new(c, "requests_routed", json_integer((json_int_t)rep->counters->requests_routed));
		json_object_set_new(c, "replies_routed", json_integer((json_int_t)rep->counters->replies_routed));
		json_object_set_new(c, "errors_replied", json_integer((json_int_t)rep->counters->errors_replied));
		json_object_set_new(c, "dropped_malformed", json_integer((json_int_t)rep->counters->dropped_malformed));
		json_object_set_new(c, "dropped_unroutable", json_integer((json_int_t)rep->counters->dropped_unroutable));
		json_object_set_new(c, "dropped_late", json_integer((json_int_t)rep->counters->dropped_late));
		json_object_set_new(c, "events_relayed", json_integer((json_int_t)rep->counters->events_relayed));
		json_object_set_new(c, "instances_expired", json_integer((json_int_t)rep->counters->instances_expired));
		json_object_set_new(doc, "counters", c);
		s_json_print(doc);
	} else {
		json_decref(svcs);
		json_decref(doc);
	}
	traction_reply_free(&rep->base);
	(void)s_services;
	return down == 0 ? 0 : 2;
}

static int cmd_ping(ctl_t *ctl, int argc, char **argv)
{
	if (argc < 1) {
		fprintf(stderr, "tractionctl: ping needs a service name\n");
		return 1;
	}
	traction_status_t st;
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *pong = NULL;
	if (traction_call(ctl->client, argv[0], "ping", &req.base,
			  &traction__v1__ping_reply__descriptor, (ProtobufCMessage **)&pong, &st) != 0)
		return s_fail_status(argv[0], &st);
	if (ctl->json) {
		json_t *pos = json_object();
		for (size_t i = 0; i < pong->n_positions; i++)
			json_object_set_new(pos, pong->positions[i]->source,
					    json_integer((json_int_t)pong->positions[i]->applied_seq));
		s_json_print(json_pack("{s:s, s:s, s:i, s:I, s:I, s:o}", "daemon", pong->daemon,
				       "version", pong->version, "pid", (int)pong->pid, "uptime_ms",
				       (json_int_t)pong->uptime_ms, "event_head",
				       (json_int_t)pong->event_head, "positions", pos));
	} else {
		printf("%s %s pid %u up %.1fs event_head %llu\n", pong->daemon, pong->version,
		       pong->pid, (double)pong->uptime_ms / 1000.0,
		       (unsigned long long)pong->event_head);
		for (size_t i = 0; i < pong->n_positions; i++)
			printf("  applied %s events up to %llu\n", pong->positions[i]->source,
			       (unsigned long long)pong->positions[i]->applied_seq);
	}
	traction_reply_free(&pong->base);
	return 0;
}

static const cmd_t s_cmds[] = {
	{ "status", NULL, cmd_status, "status",
	  "Show every service, its live instances and the broker's counters; ping each.\n"
	  "Exit status 2 when a service has no live instance.",
	  "tractionctl status --json" },
	{ "ping", NULL, cmd_ping, "ping SERVICE",
	  "Ask one service (or 'broker') for its health, version and event positions.",
	  "tractionctl ping feedback" },
};
#define N_CMDS (sizeof(s_cmds) / sizeof(s_cmds[0]))

static void s_usage(FILE *out)
{
	fprintf(out, "Usage: tractionctl [--endpoint URL] [--json] [--timeout MS] COMMAND ...\n\n"
		     "Options:\n"
		     "  -e, --endpoint URL  broker client endpoint (default: $TRACTION_ENDPOINT,\n"
		     "                      else tcp://127.0.0.1:7400)\n"
		     "  -j, --json          one JSON document per command\n"
		     "  -t, --timeout MS    per request (default 10000)\n"
		     "  -h, --help          this help; COMMAND --help for a command's\n"
		     "  -V, --version\n\nCommands:\n");
	for (size_t i = 0; i < N_CMDS; i++)
		fprintf(out, "  %-34s %.*s\n", s_cmds[i].usage,
			(int)strcspn(s_cmds[i].help, "\n"), s_cmds[i].help);
}

static int s_cmd_help(const cmd_t *c)
{
	printf("Usage: tractionctl %s\n\n%s\n\nExample:\n  %s\n", c->usage, c->help, c->example);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	ctl_t ctl = { 0 };
	int timeout = 10000;
	int c;
	ctl.endpoint = getenv("TRACTION_ENDPOINT");
	if (ctl.endpoint == NULL || ctl.endpoint[0] == '\0')
		ctl.endpoint = "tcp://127.0.0.1:7400";
	/* '+': stop at the first command word; its options are its own. */
	while ((c = getopt_long(argc, argv, "+e:jt:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			ctl.endpoint = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'h':
			s_usage(stdout);
			return 0;
		case 'V':
			printf("tractionctl %s\n", traction_version());
			return 0;
		default:
			s_usage(stderr);
			return 1;
		}
	}
	if (optind >= argc) {
		s_usage(stderr);
		return 1;
	}
	const char *noun = argv[optind];
	const char *verb = optind + 1 < argc ? argv[optind + 1] : NULL;
	const cmd_t *cmd = NULL;
	for (size_t i = 0; i < N_CMDS; i++) {
		if (strcmp(s_cmds[i].noun, noun) != 0)
			continue;
		if (s_cmds[i].verb == NULL || (verb != NULL && strcmp(s_cmds[i].verb, verb) == 0)) {
			cmd = &s_cmds[i];
			break;
		}
	}
	if (cmd == NULL) {
		fprintf(stderr, "tractionctl: unknown command '%s%s%s'\n", noun, verb ? " " : "",
			verb ? verb : "");
		s_usage(stderr);
		return 1;
	}
	int first = optind + (cmd->verb != NULL ? 2 : 1);
	for (int i = first; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return s_cmd_help(cmd);
	if (strcmp(argv[argc - 1], "--json") == 0) {
		ctl.json = true;
		argc--;
	}
	traction_options_t o = { .timeout_ms = timeout, .client_name = "tractionctl" };
	int rc = traction_client_new(&ctl.client, ctl.endpoint, &o);
	if (rc != 0) {
		fprintf(stderr, "tractionctl: cannot connect to %s\n", ctl.endpoint);
		return 1;
	}
	rc = cmd->fn(&ctl, argc - first, argv + first);
	traction_client_destroy(&ctl.client);
	return rc;
}
