/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl's shared pieces: the command table entry, parsed arguments,
 * and helpers every command uses (call a method and print the reply as a
 * human form or JSON, split SUPPLY@VERSION, parse enums and times).
 */
#ifndef TRC_CTL_H
#define TRC_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <signal.h>

#include "pbjson.h"
#include "textout.h"
#include "traction/v1/events.pb-c.h"
#include "traction/traction.h"

#define CTL_MAX_POS 8
#define CTL_MAX_FLAGS 24
#define CTL_MAX_VALUES 64

typedef struct {
	traction_client_t *client;
	bool json;
	const char *endpoint;
	int timeout_ms;
	/* CurveZMQ: the broker's public key and this client's key pair */
	const char *server_key;
	char public_key[41];
	char secret_key[41];
	const char *as_user;     /* --as */
} ctl_t;

typedef struct {
	int npos;
	char *pos[CTL_MAX_POS];
	int nf;
	struct {
		const char *name;
		char *vals[CTL_MAX_VALUES];
		int n;
	} f[CTL_MAX_FLAGS];
} args_t;

typedef int (*cmd_fn)(ctl_t *ctl, args_t *a);

typedef struct {
	const char *noun;
	const char *verb;        /* NULL: the noun alone */
	cmd_fn fn;
	const char *flags;       /* "name,name*,flag!": * repeats, ! takes no value */
	int min_pos, max_pos;
	const char *usage;
	const char *help;
	const char *example;
} cmd_t;

/* A client of one endpoint (list) with ctl's keys, --as and timeout_ms
 * (0: ctl's); ctl->client is the one of --endpoint. 0, or non-zero having
 * said why. */
int ctl_client_new(ctl_t *ctl, const char *endpoint, int timeout_ms, traction_client_t **c);

/* The value of a flag (the last one given), or NULL. */
const char *arg(const args_t *a, const char *name);
/* Every value of a repeated flag. */
int args_all(const args_t *a, const char *name, char ***vals);
bool arg_set(const args_t *a, const char *name);
/* A required flag; prints an error naming it when missing. */
const char *arg_req(const args_t *a, const char *name);

/* Calls service.method; on success prints the reply (JSON, or human with
 * print_human when given, else the generic form) and returns 0; on error
 * prints "tractionctl: CODE: message" to stderr and returns 1. */
typedef void (*print_fn)(const ProtobufCMessage *rep);
int ctl_call(ctl_t *ctl, const char *service, const char *method, const ProtobufCMessage *req,
	     const ProtobufCMessageDescriptor *rep_desc, print_fn print_human);
/* The same, handing the reply back instead (free with traction_reply_free). */
int ctl_call_rep(ctl_t *ctl, const char *service, const char *method, const ProtobufCMessage *req,
		 const ProtobufCMessageDescriptor *rep_desc, ProtobufCMessage **rep);

/* Numbers from the command line, checked: 0 and *out, or 1 after an error
 * naming the flag (--flag: 'VALUE' is not ...). ctl_uint takes digits
 * only (no sign, no spaces, nothing after them) up to max; ctl_double a
 * finite decimal number. ctl_arg_u32 and ctl_arg_time read an optional
 * flag of a, leaving *out as it is when the flag is not given. */
int ctl_uint(const char *flag, const char *s, uint64_t max, uint64_t *out);
int ctl_double(const char *flag, const char *s, double *out);
int ctl_arg_u32(const args_t *a, const char *flag, uint32_t *out);
int ctl_arg_time(const args_t *a, const char *flag, int64_t *ms);
/* A list's page from --cursor and --limit: 0, or 1 after an error. */
int ctl_arg_page(const args_t *a, Traction__V1__PageRequest *page);

/* "defect-vision@1.0" into supply and version (version NULL if no '@'). */
int ctl_split_version(const char *s, char *supply, size_t slen, char *version, size_t vlen);
/* An enum flag's value; prints the labels it accepts when it is none. */
int ctl_enum(const ProtobufCEnumDescriptor *d, const char *flag, const char *label, int *out);
/* "key=value" into malloc'd KeyValue pairs. */
int ctl_pairs(const char *flag, char **vals, int n, void ***out);
/* Frees what ctl_pairs made. */
void ctl_pairs_free(void **kv, int n);

/* A time in ms since the epoch as ISO 8601 UTC to the millisecond
 * (pbjson_time: "2026-12-04T05:30:12.345Z", "-" for 0), into buf. */
const char *ctl_when(int64_t ms, char *buf, size_t len);
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads a key pair file (lines "public = Z85", "secret = Z85"). */
int ctl_keypair(const char *path, char public_key[41], char secret_key[41]);
/* Reads the public key of a key file (a line "public = Z85"). */
int ctl_public_key(const char *path, char public_key[41]);
void ctl_print_json(json_t *doc);

/* An event: "source #seq type", or with --json one object per line. */
void ctl_print_event(ctl_t *ctl, const Traction__V1__Event *ev);
/* SIGINT and SIGTERM set ctl_stop (for commands that follow a stream). */
extern volatile sig_atomic_t ctl_stop;
void ctl_stop_on_signals(void);

/* Appends a restore's entry (store.restore: the backup's directory, when
 * it was taken, who ran it) to the audit log of the store in directory
 * target, offline, before a daemon opens it (cmd_audit.c). 0 or an LMDB
 * error. */
int ctl_audit_restore(const char *target, const char *dir, int64_t taken_ms);

/* The command table: every command, in the order of --help and of the
 * manual page (commands.c gathers the groups below). */
size_t ctl_n_cmds(void);
const cmd_t *ctl_cmd(size_t i);
/* The command of noun and verb (verb may be NULL or not a verb: a
 * command of the noun alone), or NULL; *noun_known says whether any
 * command has that noun. */
const cmd_t *ctl_find(const char *noun, const char *verb, bool *noun_known);
/* Whether noun's commands take a verb. */
bool ctl_noun_has_verbs(const char *noun);

/* The options before the command word, with their help (each with a
 * letter): getopt's table, --help's list, the manual page's OPTIONS and
 * completion come from it. */
extern const trc_opt_t ctl_opts[];
extern const size_t ctl_n_opts;

/* One option of a command's flag spec ("name,name*,flag!"): at s, its
 * name's length, whether it repeats and whether it takes a value; the
 * next one's start in *next. 0 at the end. */
size_t ctl_flag_next(const char *s, bool *repeats, bool *takes_value, const char **next);
/* The name of flag's value (nlen bytes of name) as the command's usage
 * writes it ("KIND", "pending|done|dead"), else a common one ("N" for
 * --limit) or "VALUE", into buf. */
const char *ctl_flag_metavar(const cmd_t *c, const char *name, size_t nlen, char *buf,
			     size_t len);

/* help.c: the help of tractionctl (wrapped at the terminal's width) and
 * its manual page, from the command table. */
void ctl_usage(FILE *out);
int ctl_cmd_help(const cmd_t *c);
/* noun's commands' usages, for a noun given without a known verb. */
void ctl_noun_usage(FILE *out, const char *noun);
/* The manual page tractionctl(1), as roff. */
void ctl_man(FILE *out);
/* complete.c: `tractionctl __complete WORD...`, the shell's completion:
 * the candidates for the last word (which may be empty), one a line. */
int ctl_complete(ctl_t *ctl, int nwords, char **words);
/* `tractionctl __commands`: "noun verb" of every command, one a line. */
void ctl_commands_list(FILE *out);
/* main.c: the global options among words in force and ctl connected, for
 * the completion's queries. 0, or non-zero having said why. */
int ctl_connect_words(ctl_t *ctl, int nwords, char **words);

/* The command groups. */
extern const cmd_t ctl_catalogue_cmds[];
extern const int ctl_n_catalogue_cmds;
extern const cmd_t ctl_feedback_cmds[];
extern const int ctl_n_feedback_cmds;
extern const cmd_t ctl_iteration_cmds[];
extern const int ctl_n_iteration_cmds;
extern const cmd_t ctl_audit_cmds[];
extern const int ctl_n_audit_cmds;
extern const cmd_t ctl_alert_cmds[];
extern const int ctl_n_alert_cmds;
extern const cmd_t ctl_retention_cmds[];
extern const int ctl_n_retention_cmds;
extern const cmd_t ctl_misc_cmds[];
extern const int ctl_n_misc_cmds;
extern const cmd_t ctl_backup_cmds[];
extern const int ctl_n_backup_cmds;
extern const cmd_t ctl_cluster_cmds[];
extern const int ctl_n_cluster_cmds;
extern const cmd_t ctl_webhook_cmds[];
extern const int ctl_n_webhook_cmds;
extern const cmd_t ctl_call_cmds[];
extern const int ctl_n_call_cmds;

#endif
