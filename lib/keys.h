/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client keys for CurveZMQ: a directory with one file per client, each
 * naming its public key, its role, and (for publishers) the scenarios it
 * may write to; and key pair files (the broker's, a client's). The file
 * name without ".key" is the client's identity, recorded with its feedback.
 *
 *   ; keys/site7.key
 *   public = Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID
 *   role = publisher
 *   scenarios = weld-line-3, paint-shop
 *
 * A reader may be scoped to enterprises (the Scenario.enterprise values,
 * comma-separated: names may hold spaces) or to providers (ids):
 *
 *   ; keys/northern-qa.key
 *   public = ...
 *   role = reader
 *   enterprises = Northern Steel
 *
 * The same directory holds the end users an edge daemon (role = edge: the
 * HTTP gateway, the MQTT daemon) may act for, one "NAME.user" file each,
 * with no public key: the edge authenticates them (token, MQTT password)
 * and names them in Header.on_behalf_of; they get their own role and scope.
 * A user and a key may not share a name (both are identities in records).
 *
 *   ; keys/alice.user
 *   role = reader
 *   providers = acme
 *   tokens = 9f86d08...   ; SHA-256 of her API tokens (tractionctl token)
 */
#ifndef TRC_KEYS_H
#define TRC_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define TRC_Z85_KEY 40

typedef struct {
	char name[65];
	char public_key[TRC_Z85_KEY + 1];
	int role;                   /* Traction__V1__Role */
	char **scenarios;
	size_t n_scenarios;
	char **enterprises;         /* reader scope (none: unscoped) */
	size_t n_enterprises;
	char **providers;
	size_t n_providers;
	bool user;                  /* a NAME.user file: acted for by an edge */
	char **tokens;              /* a user's API tokens, as SHA-256 in hex */
	size_t n_tokens;
} trc_key_t;

typedef struct trc_keys trc_keys_t;

/* Loads every *.key and *.user file of dir; an unreadable dir or a bad file is an
 * error naming the file and line (nothing is half-loaded). */
int trc_keys_load(trc_keys_t **keys_p, const char *dir, char *err, size_t errlen);
void trc_keys_destroy(trc_keys_t **keys_p);
size_t trc_keys_count(const trc_keys_t *keys);
/* The i-th key or user (i < trc_keys_count), in no particular order. */
const trc_key_t *trc_keys_at(const trc_keys_t *keys, size_t i);
/* Keys only (a user has no public key). */
const trc_key_t *trc_keys_by_public(const trc_keys_t *keys, const char *z85);
/* A key or a user. */
const trc_key_t *trc_keys_by_name(const trc_keys_t *keys, const char *name);
/* The user one of whose tokens has this SHA-256 (64 hex digits), or NULL. */
const trc_key_t *trc_keys_by_token(const trc_keys_t *keys, const char *sha256_hex);
/* The user one of whose tokens is secret[0..len) (an API token, an MQTT
 * password): its SHA-256 looked up as trc_keys_by_token does; or NULL. */
const trc_key_t *trc_keys_by_secret(const trc_keys_t *keys, const void *secret, size_t len);

/* A key pair file: lines "public = Z85" and "secret = Z85". With
 * secret_key NULL only the public key is read (a secret line, if any, is
 * checked and dropped): how a daemon reads the broker's public key. */
int trc_keypair_load(const char *path, char public_key[TRC_Z85_KEY + 1],
		     char secret_key[TRC_Z85_KEY + 1], char *err, size_t errlen);

#endif
