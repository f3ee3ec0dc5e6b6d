/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Traction-Signature: what lets a receiver trust that a POST comes from
 * us and was not replayed much later. HMAC-SHA256 with the webhook's
 * secret over "<t>.<body>", t the unix time of the attempt in seconds:
 * the time is inside the MAC, so a receiver that refuses an old t
 * refuses a replay, and the body is signed as the bytes sent (no JSON
 * canonicalisation to agree on). The scheme is Stripe's, which receivers
 * already know how to check (docs/operations.md has five lines of Python).
 */
#include <inttypes.h>
#include <stdio.h>

#include <sodium.h>

#include "notifyd.h"
#include "util.h"

void nt_sign(const uint8_t *secret, size_t secret_len, int64_t t, const void *body,
	     size_t body_len, char out[NT_SIG_MAX])
{
	char ts[24];
	int n = snprintf(ts, sizeof(ts), "%" PRId64, t);
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&st, secret, secret_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)n);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, body, body_len);
	crypto_auth_hmacsha256_final(&st, mac);
	char hex[2 * sizeof(mac) + 1];
	trc_hex(hex, mac, sizeof(mac));
	snprintf(out, NT_SIG_MAX, "t=%s,v1=%s", ts, hex);
	sodium_memzero(&st, sizeof(st));
}

void nt_fingerprint(const uint8_t *secret, size_t len, char out[24])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, secret, len);
	char hex[2 * sizeof(h) + 1];
	trc_hex(hex, h, sizeof(h));
	snprintf(out, 24, "sha256:%.16s", hex);
}
