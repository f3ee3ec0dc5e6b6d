/*
 * The configuration of the whole daemon set: one INI file, read by every
 * daemon, every key with a compiled-in default so that no file is needed.
 *
 * The parser is our own (about 150 lines) rather than libinih: we need the
 * file, line and key of every error, strict refusal of unknown sections and
 * keys, no line-length cap, and a string entry point for the fuzzer.
 */
#ifndef TRC_CONFIG_H
#define TRC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define TRC_CONFIG_STR 256
#define TRC_CONFIG_PATH 1024

typedef struct {
	/* [bus] */
	char client_endpoint[TRC_CONFIG_STR];
	char service_endpoint[TRC_CONFIG_STR];
	char event_publish_endpoint[TRC_CONFIG_STR];
	char event_subscribe_endpoint[TRC_CONFIG_STR];
	unsigned heartbeat_ms;
	unsigned heartbeat_liveness;
	unsigned max_message_kb;
	unsigned request_timeout_ms;
	unsigned queue_limit;          /* ZeroMQ high-water marks, messages */
	/* [broker] */
	unsigned max_in_flight_per_client;
	unsigned max_mb_in_flight_per_client;
	unsigned max_mb_in_flight;     /* all clients together */
	unsigned max_subscriptions;    /* distinct topic prefixes on the event feed */
	unsigned max_subscriptions_per_peer;
	char endpoints_file[TRC_CONFIG_PATH];
	char services[TRC_CONFIG_PATH]; /* names known before they register */
	/* [store] */
	char state_dir[TRC_CONFIG_PATH];
	unsigned map_size_mb;
	unsigned batch_max;            /* requests applied in one group commit */
	unsigned batch_max_mb;         /* memory of one batch's requests, MiB */
	/* [events] */
	unsigned replay_interval_ms;
	unsigned replay_batch;
	/* [log] */
	int log_level;                 /* trc_log_level_t */
	/* [security] */
	unsigned curve;                /* 1: the client endpoint requires CurveZMQ */
	char server_key_file[TRC_CONFIG_PATH];
	char keys_dir[TRC_CONFIG_PATH];
	unsigned service_curve;        /* 1: service and event endpoints require CurveZMQ */
	char service_key_file[TRC_CONFIG_PATH];
	char server_public_key_file[TRC_CONFIG_PATH];
	/* [gates]: evidence a deployment needs to advance to a stage */
	unsigned gate_refinement_min_records;
	unsigned gate_pilot_min_metric_records;
	unsigned gate_pilot_max_open_critical;
	unsigned gate_service_min_value_verifications;
	unsigned gate_service_min_improvement_pct;
	unsigned gate_service_max_open_critical;
	unsigned gate_solution_min_scenarios;
	/* [gateway]: traction-gatewayd, the HTTP/JSON API (docs/http.md) */
	char gateway_address[TRC_CONFIG_STR];
	unsigned gateway_port;
	unsigned gateway_max_connections;
	unsigned gateway_max_body_mb;
	unsigned gateway_timeout_s;        /* idle connection, and a slow client */
	unsigned gateway_session_ttl_s;
	unsigned gateway_auth;             /* 0: every request acts as the gateway itself */
	char gateway_key_file[TRC_CONFIG_PATH];
	char gateway_address_file[TRC_CONFIG_PATH];
	char gateway_tls_cert_file[TRC_CONFIG_PATH];
	char gateway_tls_key_file[TRC_CONFIG_PATH];
	char gateway_web_dir[TRC_CONFIG_PATH];       /* the dashboard, at / */
	char gateway_web_vendor_dir[TRC_CONFIG_PATH]; /* /vendor/: Debian's libjs-* */
} trc_config_t;

/* Fill cfg with the compiled-in defaults. */
void trc_config_defaults(trc_config_t *cfg);

/* Defaults, then the file at path on top (path NULL: defaults only). On
 * error returns TRC_ECONFIG and writes "FILE:LINE: [section] key: why" to
 * err. */
int trc_config_load(trc_config_t *cfg, const char *path, char *err, size_t errlen);

/* Parse text (not NUL-terminated; len bytes) on top of cfg. name is used
 * in error messages in place of a file name. */
int trc_config_parse(trc_config_t *cfg, const char *name, const char *text,
		     size_t len, char *err, size_t errlen);

/* Write every key with its current value, as a valid config file. */
void trc_config_dump(const trc_config_t *cfg, void *stdio_file);

/* Each name of a list value (names separated by commas or blanks, such as
 * [broker] services) in turn, until fn returns non-zero: that is returned;
 * 0 after the last. A name of TRC_SLUG_MAX bytes or more is passed on cut
 * to TRC_SLUG_MAX bytes, for fn to refuse. */
int trc_config_names(const char *list, int (*fn)(const char *name, void *ud), void *ud);

#endif
