/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT over TLS (docs/mqtt.md, "TLS"): GnuTLS, the library the HTTP
 * gateway already serves HTTPS with (through libmicrohttpd), driven
 * non-blocking from traction-mqttd's one epoll loop. The server's
 * certificate chain and key, and, for client certificates, the CAs that
 * sign them: a client certificate is verified during the handshake (one
 * that does not verify ends the handshake with an alert), and its
 * subject's common name is then the MQTT user it authenticates as.
 */
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "log.h"

#define RECORD_MAX 16384 /* what one record carries: a write's size */

struct mqd_tls {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	bool client_certs, required;
};

struct mqd_tls_conn {
	gnutls_session_t s;
	bool done;     /* handshake over */
	size_t wlen;   /* a record write that said "again": its size */
};

/* A client certificate, if any, that does not verify against the CAs ends
 * the handshake; with none, required says (GNUTLS_CERT_REQUIRE). */
static int s_verify(gnutls_session_t s)
{
	unsigned status = 0;
	/* signed by a CA of tls_ca_file, in its time, and meant for a client
	 * (an extended key usage, if it has one, that allows TLS clients) */
	gnutls_typed_vdata_st purpose = { .type = GNUTLS_DT_KEY_PURPOSE_OID,
					  .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT };
	int rc = gnutls_certificate_verify_peers(s, &purpose, 1, &status);
	if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND)
		return 0;
	if (rc < 0 || status != 0) {
		gnutls_datum_t out = { NULL, 0 };
		if (rc >= 0 && gnutls_certificate_verification_status_print(
				       status, GNUTLS_CRT_X509, &out, 0) == 0)
			trc_info("tls: a client certificate refused: %s", (const char *)out.data);
		gnutls_free(out.data);
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	return 0;
}

int mqd_tls_new(mqd_tls_t **tls_p, const mqd_conf_t *mc)
{
	mqd_tls_t *t = calloc(1, sizeof(*t));
	*tls_p = t;
	if (t == NULL || gnutls_certificate_allocate_credentials(&t->cred) < 0)
		return -1;
	int rc = gnutls_certificate_set_x509_key_file(t->cred, mc->tls_cert_file, mc->tls_key_file,
						      GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		trc_err("[mqtt] tls_cert_file %s, tls_key_file %s: %s", mc->tls_cert_file,
			mc->tls_key_file, gnutls_strerror(rc));
		return -1;
	}
	if (mc->tls_ca_file[0] != '\0') {
		rc = gnutls_certificate_set_x509_trust_file(t->cred, mc->tls_ca_file,
							    GNUTLS_X509_FMT_PEM);
		if (rc <= 0) {
			trc_err("[mqtt] tls_ca_file %s: %s", mc->tls_ca_file,
				rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
			return -1;
		}
		gnutls_certificate_set_verify_function(t->cred, s_verify);
		t->client_certs = true;
		t->required = mc->tls_client_cert != 0;
	}
	const char *where = NULL;
	rc = gnutls_priority_init(&t->prio, mc->tls_priority, &where);
	if (rc < 0) {
		t->prio = NULL;
		trc_err("[mqtt] tls_priority '%s': %s (at '%s')", mc->tls_priority, gnutls_strerror(rc),
			where ? where : "");
		return -1;
	}
	return 0;
}

void mqd_tls_destroy(mqd_tls_t **tls_p)
{
	mqd_tls_t *t = *tls_p;
	if (t == NULL)
		return;
	if (t->prio != NULL)
		gnutls_priority_deinit(t->prio);
	if (t->cred != NULL)
		gnutls_certificate_free_credentials(t->cred);
	free(t);
	*tls_p = NULL;
}

mqd_tls_conn_t *mqd_tls_accept(mqd_tls_t *t, int fd)
{
	mqd_tls_conn_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	if (gnutls_init(&c->s, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0) {
		free(c);
		return NULL;
	}
	if (gnutls_priority_set(c->s, t->prio) < 0 ||
	    gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, t->cred) < 0) {
		mqd_tls_free(&c);
		return NULL;
	}
	if (t->client_certs)
		gnutls_certificate_server_set_request(c->s, t->required ? GNUTLS_CERT_REQUIRE
									: GNUTLS_CERT_REQUEST);
	gnutls_transport_set_int(c->s, fd);
	gnutls_handshake_set_timeout(c->s, 0); /* the loop's connect timeout bounds it */
	return c;
}

void mqd_tls_free(mqd_tls_conn_t **c_p)
{
	mqd_tls_conn_t *c = *c_p;
	if (c == NULL)
		return;
	if (c->done)
		gnutls_bye(c->s, GNUTLS_SHUT_WR); /* best effort: the socket is non-blocking */
	gnutls_deinit(c->s);
	free(c);
	*c_p = NULL;
}

bool mqd_tls_ready(const mqd_tls_conn_t *c)
{
	return c->done;
}

int mqd_tls_handshake(mqd_tls_conn_t *c, char *why, size_t cap)
{
	int rc = gnutls_handshake(c->s);
	if (rc == GNUTLS_E_SUCCESS) {
		c->done = true;
		return 0;
	}
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED ||
	    (rc < 0 && !gnutls_error_is_fatal(rc)))
		return gnutls_record_get_direction(c->s) == 1 ? 2 : 1;
	snprintf(why, cap, "TLS handshake: %s", gnutls_strerror(rc));
	return -1;
}

ssize_t mqd_tls_recv(mqd_tls_conn_t *c, void *buf, size_t n)
{
	for (;;) {
		ssize_t r = gnutls_record_recv(c->s, buf, n);
		if (r >= 0)
			return r;
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_REHANDSHAKE)
			return MQD_TLS_AGAIN; /* a renegotiation asked for: not given */
		return MQD_TLS_ERROR;
	}
}

ssize_t mqd_tls_send(mqd_tls_conn_t *c, const void *buf, size_t n)
{
	/* after "again", the very same call [gnutls_record_send(3)] */
	size_t len = c->wlen != 0 ? c->wlen : n < RECORD_MAX ? n : RECORD_MAX;
	ssize_t w = gnutls_record_send(c->s, buf, len);
	if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
		c->wlen = len;
		return MQD_TLS_AGAIN;
	}
	c->wlen = 0;
	return w < 0 ? MQD_TLS_ERROR : w;
}

bool mqd_tls_pending(const mqd_tls_conn_t *c)
{
	return c->done && gnutls_record_check_pending(c->s) > 0;
}

int mqd_tls_peer_cn(mqd_tls_conn_t *c, char *cn, size_t cap)
{
	unsigned n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(c->s, &n);
	gnutls_x509_crt_t crt;
	if (certs == NULL || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return -1;
	size_t size = cap;
	int rc = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
	if (rc >= 0)
		rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &size);
	gnutls_x509_crt_deinit(crt);
	return rc >= 0 && size > 0 && strlen(cn) == size ? 0 : -1;
}
