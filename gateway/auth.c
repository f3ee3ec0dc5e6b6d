/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who an HTTP request acts for. A user is a NAME.user file in keys_dir
 * (docs/security.md) whose `tokens` line holds the SHA-256 of its API
 * tokens: the gateway hashes the bearer token it is given and looks the
 * hash up, so keys_dir never holds a token itself. A browser trades a token
 * for a session cookie (EventSource cannot send an Authorization header);
 * sessions live in memory and end with their TTL or the gateway.
 *
 * libsodium (already under libzmq's CurveZMQ) does the hashing and makes
 * the session ids.
 */
#include "gateway.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "pbjson.h"
#include "util.h"
#include "traction/v1/bus.pb-c.h"

static pthread_rwlock_t s_lock = PTHREAD_RWLOCK_INITIALIZER;
static trc_keys_t *s_keys;

#define SESSIONS_MAX 4096
#define SESSION_ID_BYTES 32

typedef struct {
	char id[SESSION_ID_BYTES * 2 + 1];   /* hex, the cookie's value */
	char user[65];
	int64_t expires;                     /* monotonic ms */
} session_t;

static session_t s_sessions[SESSIONS_MAX];

int gw_auth_load(const trc_config_t *cfg)
{
	char err[512];
	trc_keys_t *keys = NULL;
	if (sodium_init() < 0) {
		trc_err("libsodium does not start");
		return -1;
	}
	if (trc_keys_load(&keys, cfg->keys_dir, err, sizeof(err)) != 0) {
		trc_err("%s", err);
		return -1;
	}
	size_t n = trc_keys_count(keys);
	pthread_rwlock_wrlock(&s_lock);
	trc_keys_destroy(&s_keys);
	s_keys = keys;
	pthread_rwlock_unlock(&s_lock);
	trc_info("users and keys from %s: %zu", cfg->keys_dir, n);
	return 0;
}

void gw_auth_free(void)
{
	pthread_rwlock_wrlock(&s_lock);
	trc_keys_destroy(&s_keys);
	pthread_rwlock_unlock(&s_lock);
}

static int s_user_of_token(const char *token, size_t len, char user[65])
{
	int rc = -1;
	pthread_rwlock_rdlock(&s_lock);
	const trc_key_t *k = trc_keys_by_secret(s_keys, token, len);
	if (k != NULL) {
		snprintf(user, 65, "%s", k->name);
		rc = 0;
	}
	pthread_rwlock_unlock(&s_lock);
	return rc;
}

static int s_user_of_session(const char *id, char user[65])
{
	int64_t now = trc_mono_ms();
	int rc = -1;
	if (strlen(id) != SESSION_ID_BYTES * 2)
		return -1;
	pthread_rwlock_rdlock(&s_lock);
	for (size_t i = 0; i < SESSIONS_MAX && rc != 0; i++)
		if (s_sessions[i].id[0] != '\0' && s_sessions[i].expires > now &&
		    sodium_memcmp(s_sessions[i].id, id, SESSION_ID_BYTES * 2) == 0) {
			snprintf(user, 65, "%s", s_sessions[i].user);
			rc = 0;
		}
	pthread_rwlock_unlock(&s_lock);
	/* the user may have been removed since: it must still be there */
	if (rc == 0) {
		pthread_rwlock_rdlock(&s_lock);
		const trc_key_t *k = trc_keys_by_name(s_keys, user);
		rc = k != NULL && k->user ? 0 : -1;
		pthread_rwlock_unlock(&s_lock);
	}
	return rc;
}

int gw_auth_user(const char *authorization, const char *cookie, char user[65])
{
	if (authorization != NULL && strncasecmp(authorization, "Bearer ", 7) == 0) {
		const char *t = authorization + 7;
		while (*t == ' ')
			t++;
		return *t != '\0' ? s_user_of_token(t, strlen(t), user) : -1;
	}
	if (cookie != NULL)
		return s_user_of_session(cookie, user);
	return -1;
}

/* POST /v1/session {"token": "..."}: a cookie for browsers. */
void gw_session_new(gw_request_t *rq, gw_answer_t *an)
{
	json_error_t je;
	json_t *doc = json_loadb(rq->body, rq->body_len, 0, &je);
	const char *token = json_string_value(json_object_get(doc, "token"));
	char user[65];
	if (token == NULL || s_user_of_token(token, strlen(token), user) != 0) {
		json_decref(doc);
		gw_error(an, 401, "UNAUTHENTICATED", "expected {\"token\": a user's API token}");
		return;
	}
	json_decref(doc);
	unsigned char raw[SESSION_ID_BYTES];
	randombytes_buf(raw, sizeof(raw));
	session_t s = { .expires = trc_mono_ms() + (int64_t)gw_conf(gw_cfg)->session_ttl_s * 1000 };
	sodium_bin2hex(s.id, sizeof(s.id), raw, sizeof(raw));
	snprintf(s.user, sizeof(s.user), "%s", user);
	/* the first free or expired slot; if none, the one that ends first */
	pthread_rwlock_wrlock(&s_lock);
	size_t at = 0;
	int64_t now = trc_mono_ms();
	for (size_t i = 0; i < SESSIONS_MAX; i++) {
		if (s_sessions[i].id[0] == '\0' || s_sessions[i].expires <= now) {
			at = i;
			break;
		}
		if (s_sessions[i].expires < s_sessions[at].expires)
			at = i;
	}
	s_sessions[at] = s;
	pthread_rwlock_unlock(&s_lock);
	static __thread char cookie[160];
	snprintf(cookie, sizeof(cookie),
		 "traction_session=%s; Path=/v1; HttpOnly; SameSite=Strict; Max-Age=%u", s.id,
		 gw_conf(gw_cfg)->session_ttl_s);
	an->status = 200;
	an->set_cookie = cookie;
	an->doc = json_pack("{s:s, s:I}", "user", user, "expires_in_s",
			    (json_int_t)gw_conf(gw_cfg)->session_ttl_s);
}

static json_t *s_strings(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* GET /v1/session: who the request acts for, with the role and scope the
 * bus will apply (a page shows the actions the user may take). With
 * auth = 0, the gateway itself: no user, every role. */
void gw_session_get(gw_request_t *rq, gw_answer_t *an)
{
	char role[32] = "admin";
	json_t *doc = json_object();
	if (rq->user == NULL) {
		json_object_set_new(doc, "user", json_null());
	} else {
		pthread_rwlock_rdlock(&s_lock);
		const trc_key_t *k = trc_keys_by_name(s_keys, rq->user);
		if (k != NULL) {
			pbjson_enum_label(&traction__v1__role__descriptor, k->role, role, sizeof(role));
			json_object_set_new(doc, "scenarios", s_strings(k->scenarios, k->n_scenarios));
			json_object_set_new(doc, "enterprises",
					    s_strings(k->enterprises, k->n_enterprises));
			json_object_set_new(doc, "providers", s_strings(k->providers, k->n_providers));
		}
		pthread_rwlock_unlock(&s_lock);
		json_object_set_new(doc, "user", json_string(rq->user));
	}
	json_object_set_new(doc, "role", json_string(role));
	an->status = 200;
	an->doc = doc;
}

void gw_session_end(gw_request_t *rq, gw_answer_t *an)
{
	bool ended = false;
	if (rq->session != NULL && strlen(rq->session) == SESSION_ID_BYTES * 2) {
		pthread_rwlock_wrlock(&s_lock);
		for (size_t i = 0; i < SESSIONS_MAX; i++)
			if (sodium_memcmp(s_sessions[i].id, rq->session, SESSION_ID_BYTES * 2) == 0) {
				memset(&s_sessions[i], 0, sizeof(s_sessions[i]));
				ended = true;
			}
		pthread_rwlock_unlock(&s_lock);
	}
	an->status = 200;
	an->set_cookie = "traction_session=; Path=/v1; HttpOnly; SameSite=Strict; Max-Age=0";
	an->doc = json_pack("{s:b}", "ended", ended);
}
