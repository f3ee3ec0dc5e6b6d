/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client key files and key pair files. See keys.h.
 */
#include "keys.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "util.h"
#include "traction/v1/bus.pb-c.h"

struct trc_keys {
	trc_key_t *k;
	size_t n;
};

#define s_fail(err, len, ...) trc_errf(TRC_ECONFIG, err, len, __VA_ARGS__)

typedef int (*line_fn)(void *ud, const char *key, char *val, char *err, size_t errlen);

/* "key = value" lines; ';' and '#' start comments. */
static int s_parse(const char *path, line_fn fn, void *ud, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return s_fail(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	char line[1024];
	unsigned lineno = 0;
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		char *s = trc_trim(line);
		if (*s == '\0' || *s == ';' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			rc = s_fail(err, errlen, "%s:%u: expected 'key = value'", path, lineno);
			break;
		}
		*eq = '\0';
		char why[160] = "";
		if (fn(ud, trc_trim(s), trc_trim(eq + 1), why, sizeof(why)) != 0)
			rc = s_fail(err, errlen, "%s:%u: %s", path, lineno, why);
	}
	fclose(f);
	return rc;
}

static bool s_z85_key(const char *v)
{
	static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  ".-:+=^!/*?&<>()[]{}@%$#";
	if (strlen(v) != TRC_Z85_KEY)
		return false;
	for (const char *p = v; *p; p++)
		if (strchr(z85, *p) == NULL)
			return false;
	return true;
}

static int s_add(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, sizeof(char *) * (*n + 1));
	if (nv == NULL)
		return -1;
	*v = nv;
	(*v)[*n] = strdup(s);
	return (*v)[(*n)++] != NULL ? 0 : -1;
}

static int s_key_line(void *ud, const char *key, char *val, char *err, size_t errlen)
{
	trc_key_t *k = ud;
	if (strcmp(key, "public") == 0 && k->user) {
		return snprintf(err, errlen, "public: a user has no key (the edge acts for it)"), -1;
	} else if (strcmp(key, "public") == 0) {
		if (!s_z85_key(val))
			return snprintf(err, errlen, "public: expected a 40-character Z85 key"), -1;
		memcpy(k->public_key, val, TRC_Z85_KEY + 1);
	} else if (strcmp(key, "role") == 0) {
		if (strcmp(val, "publisher") == 0)
			k->role = TRACTION__V1__ROLE__ROLE_PUBLISHER;
		else if (strcmp(val, "reader") == 0)
			k->role = TRACTION__V1__ROLE__ROLE_READER;
		else if (strcmp(val, "admin") == 0)
			k->role = TRACTION__V1__ROLE__ROLE_ADMIN;
		else if (strcmp(val, "service") == 0 && !k->user)
			k->role = TRACTION__V1__ROLE__ROLE_SERVICE;
		else if (strcmp(val, "edge") == 0 && !k->user)
			k->role = TRACTION__V1__ROLE__ROLE_EDGE;
		else if (k->user)
			return snprintf(err, errlen, "role: expected publisher, reader or admin"), -1;
		else
			return snprintf(err, errlen,
					"role: expected publisher, reader, admin, service or edge"),
			       -1;
	} else if (strcmp(key, "scenarios") == 0) {
		for (char *tok = strtok(val, ", "); tok != NULL; tok = strtok(NULL, ", ")) {
			if (!trc_is_slug(tok))
				return snprintf(err, errlen, "scenarios: '%s' is not a scenario id", tok), -1;
			if (s_add(&k->scenarios, &k->n_scenarios, tok) != 0)
				return snprintf(err, errlen, "out of memory"), -1;
		}
	} else if (strcmp(key, "enterprises") == 0) {
		/* enterprise names are free text (spaces too): commas only */
		for (char *tok = strtok(val, ","); tok != NULL; tok = strtok(NULL, ",")) {
			tok = trc_trim(tok);
			if (*tok == '\0' || strlen(tok) > 200)
				return snprintf(err, errlen, "enterprises: an empty or too long name"), -1;
			if (s_add(&k->enterprises, &k->n_enterprises, tok) != 0)
				return snprintf(err, errlen, "out of memory"), -1;
		}
	} else if (strcmp(key, "providers") == 0) {
		for (char *tok = strtok(val, ", "); tok != NULL; tok = strtok(NULL, ", ")) {
			if (!trc_is_slug(tok))
				return snprintf(err, errlen, "providers: '%s' is not a provider id", tok), -1;
			if (s_add(&k->providers, &k->n_providers, tok) != 0)
				return snprintf(err, errlen, "out of memory"), -1;
		}
	} else if (strcmp(key, "tokens") == 0 && k->user) {
		for (char *tok = strtok(val, ", "); tok != NULL; tok = strtok(NULL, ", ")) {
			bool hex = strlen(tok) == 64;
			for (const char *p = tok; hex && *p; p++)
				hex = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f');
			if (!hex)
				return snprintf(err, errlen, "tokens: expected SHA-256s in lower-case hex "
							     "(tractionctl token)"),
				       -1;
			if (s_add(&k->tokens, &k->n_tokens, tok) != 0)
				return snprintf(err, errlen, "out of memory"), -1;
		}
	} else {
		return snprintf(err, errlen,
				"%s: unknown key (public, role, scenarios, enterprises, providers%s)",
				key, k->user ? ", tokens" : ""),
		       -1;
	}
	return 0;
}

static void s_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void s_key_free(trc_key_t *k)
{
	s_strv_free(k->scenarios, k->n_scenarios);
	s_strv_free(k->enterprises, k->n_enterprises);
	s_strv_free(k->providers, k->n_providers);
	s_strv_free(k->tokens, k->n_tokens);
}

/* What a loaded key or user file must hold beyond its lines. */
static int s_key_check(const trc_keys_t *ks, const trc_key_t *k, const char *path, char *err,
		       size_t errlen)
{
	bool scoped = k->n_enterprises > 0 || k->n_providers > 0;
	if ((!k->user && k->public_key[0] == '\0') || k->role == 0)
		return s_fail(err, errlen, "%s: needs %s", path, k->user ? "role" : "public and role");
	if (k->role == TRACTION__V1__ROLE__ROLE_PUBLISHER && k->n_scenarios == 0)
		return s_fail(err, errlen, "%s: a publisher needs its scenarios", path);
	if (k->role != TRACTION__V1__ROLE__ROLE_PUBLISHER && k->n_scenarios > 0)
		return s_fail(err, errlen, "%s: only a publisher has scenarios", path);
	if (scoped && k->role != TRACTION__V1__ROLE__ROLE_READER)
		return s_fail(err, errlen,
			      "%s: only a reader is scoped by enterprises or providers", path);
	if (!k->user && trc_keys_by_public(ks, k->public_key) != NULL)
		return s_fail(err, errlen, "%s: this public key is already in %s.key", path,
			      trc_keys_by_public(ks, k->public_key)->name);
	const trc_key_t *same = trc_keys_by_name(ks, k->name);
	if (same != NULL)
		return s_fail(err, errlen, "%s: the name is already taken by %s.%s", path,
			      same->name, same->user ? "user" : "key");
	return 0;
}

void trc_keys_destroy(trc_keys_t **keys_p)
{
	if (keys_p == NULL || *keys_p == NULL)
		return;
	for (size_t i = 0; i < (*keys_p)->n; i++)
		s_key_free(&(*keys_p)->k[i]);
	free((*keys_p)->k);
	free(*keys_p);
	*keys_p = NULL;
}

int trc_keys_load(trc_keys_t **keys_p, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return s_fail(err, errlen, "%s: cannot read the keys directory: %s", dir, strerror(errno));
	trc_keys_t *ks = calloc(1, sizeof(*ks));
	int rc = ks != NULL ? 0 : TRC_ENOMEM;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		trc_key_t k = { 0 };
		if (n > 4 && strcmp(e->d_name + n - 4, ".key") == 0)
			snprintf(k.name, sizeof(k.name), "%.*s", (int)(n - 4), e->d_name);
		else if (n > 5 && strcmp(e->d_name + n - 5, ".user") == 0)
			snprintf(k.name, sizeof(k.name), "%.*s", (int)(n - 5), e->d_name);
		else
			continue;
		k.user = e->d_name[n - 1] == 'r';
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!trc_is_slug(k.name)) {
			rc = s_fail(err, errlen, "%s: the name must be a slug ([A-Za-z0-9._-])", path);
			break;
		}
		rc = s_parse(path, s_key_line, &k, err, errlen);
		if (rc == 0)
			rc = s_key_check(ks, &k, path, err, errlen);
		if (rc == 0) {
			trc_key_t *nk = realloc(ks->k, sizeof(*nk) * (ks->n + 1));
			if (nk == NULL)
				rc = TRC_ENOMEM;
			else {
				ks->k = nk;
				ks->k[ks->n++] = k;
				continue;
			}
		}
		s_key_free(&k);
	}
	closedir(d);
	if (rc != 0) {
		trc_keys_destroy(&ks);
		return rc;
	}
	*keys_p = ks;
	return 0;
}

size_t trc_keys_count(const trc_keys_t *keys)
{
	return keys != NULL ? keys->n : 0;
}

const trc_key_t *trc_keys_at(const trc_keys_t *keys, size_t i)
{
	return keys != NULL && i < keys->n ? &keys->k[i] : NULL;
}

const trc_key_t *trc_keys_by_public(const trc_keys_t *keys, const char *z85)
{
	for (size_t i = 0; keys != NULL && i < keys->n; i++)
		if (!keys->k[i].user && strcmp(keys->k[i].public_key, z85) == 0)
			return &keys->k[i];
	return NULL;
}

const trc_key_t *trc_keys_by_name(const trc_keys_t *keys, const char *name)
{
	for (size_t i = 0; keys != NULL && i < keys->n; i++)
		if (strcmp(keys->k[i].name, name) == 0)
			return &keys->k[i];
	return NULL;
}

const trc_key_t *trc_keys_by_token(const trc_keys_t *keys, const char *sha256_hex)
{
	for (size_t i = 0; keys != NULL && i < keys->n; i++)
		for (size_t j = 0; j < keys->k[i].n_tokens; j++)
			if (strcmp(keys->k[i].tokens[j], sha256_hex) == 0)
				return &keys->k[i];
	return NULL;
}

const trc_key_t *trc_keys_by_secret(const trc_keys_t *keys, const void *secret, size_t len)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];
	if (sodium_init() < 0)
		return NULL;
	crypto_hash_sha256(h, secret, len);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	return trc_keys_by_token(keys, hex);
}

typedef struct {
	char *pub;
	char *sec;
} pair_t;

static int s_pair_line(void *ud, const char *key, char *val, char *err, size_t errlen)
{
	pair_t *p = ud;
	bool pub = strcmp(key, "public") == 0, sec = strcmp(key, "secret") == 0;
	if (!pub && !sec)
		return snprintf(err, errlen, "%s: unknown key (public, secret)", key), -1;
	if (!s_z85_key(val))
		return snprintf(err, errlen, "%s: expected a 40-character Z85 key", key), -1;
	char *dst = pub ? p->pub : p->sec;
	if (dst != NULL) /* no place for the secret: only the public key is wanted */
		memcpy(dst, val, TRC_Z85_KEY + 1);
	return 0;
}

int trc_keypair_load(const char *path, char public_key[TRC_Z85_KEY + 1],
		     char secret_key[TRC_Z85_KEY + 1], char *err, size_t errlen)
{
	pair_t p = { public_key, secret_key };
	public_key[0] = '\0';
	if (secret_key != NULL)
		secret_key[0] = '\0';
	int rc = s_parse(path, s_pair_line, &p, err, errlen);
	if (rc == 0 && public_key[0] == '\0')
		rc = s_fail(err, errlen, "%s: needs public", path);
	if (rc == 0 && secret_key != NULL && secret_key[0] == '\0')
		rc = s_fail(err, errlen, "%s: needs public and secret", path);
	return rc;
}
