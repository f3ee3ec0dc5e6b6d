/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration of the whole daemon set: one INI file, read by every
 * daemon, every key with a compiled-in default so that no file is needed.
 *
 * lib/ declares the shared sections ([bus], [store], [events], [log],
 * [security], [metrics], [cluster]), whose values every daemon's runtime reads from
 * trc_config_t. A daemon declares its own sections (trc_conf_section_t:
 * names, types, bounds, defaults, help) in its definition and reads their
 * values as a struct of its own (trc_config_section). A section that is
 * neither is refused as unknown, unless it is one of the set's other
 * sections, which a daemon passes over unread (their owner checks them):
 * so a typo in a section's name stops every daemon, as one in a key stops
 * the section's owner.
 *
 * The parser is our own (about 150 lines) rather than libinih: we need the
 * file, line and key of every error, strict refusal of unknown sections and
 * keys, no line-length cap, and a string entry point for the fuzzer.
 */
#ifndef TRC_CONFIG_H
#define TRC_CONFIG_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRC_CONFIG_STR 256
#define TRC_CONFIG_PATH 1024
/* A daemon's own sections: how many, and how large their structs together. */
#define TRC_CONFIG_OWN_MAX 8
#define TRC_CONFIG_OWN_BYTES 16384

typedef enum {
	TRC_CONF_STR,       /* char[]: any text */
	TRC_CONF_ENDPOINT,  /* char[]: tcp://HOST:PORT, ipc://PATH or inproc://NAME */
	TRC_CONF_PATH,      /* char[]: a file or directory */
	TRC_CONF_UINT,      /* unsigned, from min to max */
	TRC_CONF_LOGLEVEL,  /* int: a trc_log_level_t */
	TRC_CONF_NAMES,     /* char[]: names separated by commas (trc_config_names) */
} trc_conf_type_t;

/* One key: its value goes to the member at offset (of size bytes) of its
 * section's struct. TRC_CONF_AT(type, member) gives both. */
typedef struct {
	const char *key;
	trc_conf_type_t type;
	size_t offset;
	size_t size;
	unsigned min, max;      /* TRC_CONF_UINT */
	const char *def;        /* the default, as written in the file */
	const char *help;       /* one line: the sample's comment */
} trc_conf_key_t;

#define TRC_CONF_AT(type, member) offsetof(type, member), sizeof(((type *)0)->member)
/* A key of the shared sections, kept in trc_config_t's member `field`. */
#define TRC_CONF_KEY(field, name, type, min, max, def, help) \
	{ name, TRC_CONF_##type, TRC_CONF_AT(trc_config_t, field), min, max, def, help }

/* A section of the file and the struct (size bytes) its values fill. */
typedef struct {
	const char *name;
	const trc_conf_key_t *keys;
	size_t n_keys;
	size_t size;
} trc_conf_section_t;

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
	/* [store] */
	char state_dir[TRC_CONFIG_PATH];
	unsigned map_size_mb;
	unsigned batch_max;            /* requests applied in one group commit */
	unsigned batch_max_mb;         /* memory of one batch's requests, MiB */
	/* [events] */
	unsigned replay_interval_ms;
	unsigned replay_batch;
	unsigned events_keep_days;     /* the event log's retention (evlog.h) */
	unsigned events_keep_max;
	unsigned events_trim_per_tick;
	/* [log] */
	int log_level;                 /* trc_log_level_t */
	/* [security] */
	unsigned curve;                /* 1: the client endpoint requires CurveZMQ */
	char server_key_file[TRC_CONFIG_PATH];
	char keys_dir[TRC_CONFIG_PATH];
	unsigned service_curve;        /* 1: service and event endpoints require CurveZMQ */
	char service_key_file[TRC_CONFIG_PATH];
	char server_public_key_file[TRC_CONFIG_PATH];
	/* [metrics] */
	char metrics_address[TRC_CONFIG_STR];
	unsigned metrics_base_port;    /* 0: no metrics listener */
	/* [cluster] (docs/scale-out.md): empty node, a single host */
	char cluster_node[64];         /* this host's name in members */
	char cluster_members[1024];    /* name=host[:port], ...: the same on every host */
	unsigned cluster_base_port;    /* a daemon's raft port: base_port + its offset */
	unsigned cluster_election_ms;
	unsigned cluster_heartbeat_ms;
	unsigned cluster_pre_vote;
	unsigned cluster_snapshot_threshold;
	unsigned cluster_snapshot_trailing;
	unsigned cluster_plain_ok;     /* 1: raft's plain TCP beyond loopback */
	unsigned cluster_join;         /* 1: added to a running cluster: never bootstraps */

	/* What this configuration was made for (trc_config_init); read them
	 * through the functions below. */
	const trc_conf_section_t *const *own;  /* the daemon's sections, or NULL */
	const char *others;                    /* the set's section names, or NULL */
	size_t own_at[TRC_CONFIG_OWN_MAX];     /* where each own section's struct is */
	/* The own sections' values: in the configuration, so that a copy of
	 * it (a reload's, a module's) carries them. */
	alignas(max_align_t) unsigned char own_values[TRC_CONFIG_OWN_BYTES];
} trc_config_t;

/* The compiled-in defaults of the shared sections and of own (the
 * daemon's sections, NULL-terminated; NULL: none). others names, separated
 * by blanks, the sections of the daemon set that are none of these (NULL:
 * none): the parser passes over them. TRC_ECONFIG, with why in err, when
 * own is not a valid declaration (a name taken, too large, a default out
 * of its bounds): a build that must not run. */
int trc_config_init(trc_config_t *cfg, const trc_conf_section_t *const *own,
		    const char *others, char *err, size_t errlen);

/* trc_config_init of the shared sections alone (cannot fail). */
void trc_config_defaults(trc_config_t *cfg);

/* The file at path on top of cfg (as trc_config_init left it, or an
 * earlier file). On error returns TRC_ECONFIG and writes
 * "FILE:LINE: [section] key: why" to err. */
int trc_config_read(trc_config_t *cfg, const char *path, char *err, size_t errlen);

/* Parse text (not NUL-terminated; len bytes) on top of cfg. name is used
 * in error messages in place of a file name. */
int trc_config_parse(trc_config_t *cfg, const char *name, const char *text,
		     size_t len, char *err, size_t errlen);

/* The values of one of cfg's own sections, as its owner's struct; NULL if
 * cfg was not made for it. A daemon wraps it in a typed accessor. */
const void *trc_config_section(const trc_config_t *cfg, const trc_conf_section_t *sec);

/* What no single key can check: each [bus] endpoint key names as many
 * brokers as the others (one endpoint per broker, in the same order).
 * TRC_ECONFIG with why in err. Run after the file and any overrides. */
int trc_config_check(const trc_config_t *cfg, char *err, size_t errlen);

/* How many brokers the set has: the endpoints of [bus] client_endpoint
 * (each [bus] key lists one per broker: trc_endpoint_at). */
size_t trc_config_brokers(const trc_config_t *cfg);

/* The digest of what a service's apply depends on (docs/architecture.md,
 * "Entries"): [events] keep_days, keep_max and trim_per_tick, and every
 * key of the daemon's own sections (a conservative choice: each of them
 * may change what a handler writes). Replicas of one daemon must agree
 * on it; [store], [bus] and the like are each host's own. */
uint64_t trc_config_digest(const trc_config_t *cfg);

/* Write every key with its current value, as a valid config file: the
 * shared sections, then the own ones. */
void trc_config_dump(const trc_config_t *cfg, void *stdio_file);

/* The keys of the shared sections and/or of the own ones as a manual
 * page's roff (a .SS for each section, a .TP for each key: its help, what
 * it takes, its default): traction.conf(5) and each daemon's page. */
void trc_config_man(const trc_config_t *cfg, void *stdio_file, bool shared, bool own);
/* "[bus], [store], ..." of the same sections. */
void trc_config_man_names(const trc_config_t *cfg, void *stdio_file, bool shared, bool own);

/* Each name of a list value (names separated by commas or blanks, such as
 * [broker] services) in turn, until fn returns non-zero: that is returned;
 * 0 after the last. A name of TRC_SLUG_MAX bytes or more is passed on cut
 * to TRC_SLUG_MAX bytes, for fn to refuse. */
int trc_config_names(const char *list, int (*fn)(const char *name, void *ud), void *ud);

#endif
