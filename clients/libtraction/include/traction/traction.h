/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libtraction: the C client API of traction.
 *
 * Messages are the protobuf-c types generated from proto/traction/v1
 * (installed under <traction/v1/>, e.g. <traction/v1/feedback.pb-c.h>). A call names a service and a
 * method, sends one request message and waits for its reply; many
 * requests may be in flight on one client. Errors come back as the status
 * code of the reply (the gRPC numbers of traction.v1.Code) with its
 * message; a timeout is DEADLINE_EXCEEDED, never a hang.
 *
 * A traction_client_t is not thread-safe: use one per thread.
 *
 * Errors: one convention for every function of libtraction (this file
 * and publisher.h).
 *  - A function that returns int returns 0 on success and anything else
 *    on failure, so `rc != 0` is always the test. The sign says what the
 *    value is:
 *      > 0  a status code of traction.v1.Code (traction_code_name): the
 *           functions that work with the bus (traction_call,
 *           traction_publish, traction_publisher_flush); the reply's, or
 *           the one a service would give: INVALID_ARGUMENT for a bad
 *           argument, RESOURCE_EXHAUSTED when out of memory or a queue is
 *           full, UNAVAILABLE, DEADLINE_EXCEEDED;
 *      < 0  a negative errno (-EINVAL, -ENOMEM, -ENOSPC, ...): the
 *           functions that make or set up a client or a publisher
 *           (traction_client_new, _new_in, _after, _on_behalf_of,
 *           traction_publisher_new).
 *    traction_publisher_poll returns a count instead (never negative);
 *    functions returning a pointer or size_t say what theirs means.
 *  - errno is not how a failure is told: read the return value. A call
 *    may leave errno changed (libzmq, libc), success or not.
 *  - On failure nothing is handed out: an output pointer (*client_p,
 *    *pub_p, *reply) is set to NULL. traction_call fills its
 *    traction_status_t (when not NULL) on every return, code 0 and ""
 *    on success.
 *  - Who frees what: what the library hands out, the caller gives back
 *    with the function named for it (traction_client_destroy,
 *    traction_publisher_destroy, traction_reply_free); these take NULL,
 *    and a destroy sets the caller's pointer to NULL. Pointers the
 *    library returns into its own memory (traction_last_header,
 *    traction_last_details, traction_ack_t.message) are valid until the
 *    next call on the same client or publisher (or the callback's end);
 *    traction_code_name and traction_version return static strings.
 *    Strings, messages and options passed in are copied or used during
 *    the call only: the caller may free them when it returns.
 *  - A NULL where a client, publisher or required argument belongs is a
 *    failure (-EINVAL or INVALID_ARGUMENT), not a crash.
 *  - Out of memory is a failure (-ENOMEM or RESOURCE_EXHAUSTED), never a
 *    success with less done.
 */
#ifndef TRACTION_TRACTION_H
#define TRACTION_TRACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRACTION_API __attribute__((visibility("default")))

typedef struct traction_client traction_client_t;

/* The status of a reply: code 0 is OK; message says what went wrong. */
typedef struct {
	int code;
	char message[512];
} traction_status_t;

typedef struct {
	int timeout_ms;           /* per call; 0: 10000 */
	const char *client_name;  /* shown in the broker's logs; may be NULL */
	/* CurveZMQ: the broker's public key and this client's key pair, Z85
	 * (40 characters each). All NULL: plain TCP. */
	const char *server_public_key;
	const char *public_key;
	const char *secret_key;
} traction_options_t;

/* Connects to a broker's client endpoint ("tcp://127.0.0.1:7400").
 * opts may be NULL; with server_public_key, public_key and secret_key
 * must be set too, each 40 characters (else -EINVAL). Returns 0, or a
 * negative errno (*client_p NULL). The connection itself is made in the
 * background: a broker that is not there shows as calls that time out. */
TRACTION_API int traction_client_new(traction_client_t **client_p, const char *endpoint,
				     const traction_options_t *opts);
TRACTION_API void traction_client_destroy(traction_client_t **client_p);

TRACTION_API void traction_client_set_timeout(traction_client_t *client, int timeout_ms);

/* One request, one reply (request may be NULL: an empty message). On OK,
 * *reply is the decoded reply (free it with traction_reply_free) and 0
 * is returned; otherwise the status code is returned, st (may be NULL)
 * says why, and *reply is NULL. A call refused UNAVAILABLE during an
 * election of a replicated daemon (a detail reason "no_leader" or
 * "leadership_changed") goes again, same request id, through the same
 * broker, with a short backoff, until the call's timeout; when the next
 * attempt's answer could not come in time, the last refusal is returned
 * (UNAVAILABLE, its details in traction_last_details). */
TRACTION_API int traction_call(traction_client_t *client, const char *service,
			       const char *method, const ProtobufCMessage *request,
			       const ProtobufCMessageDescriptor *reply_type,
			       ProtobufCMessage **reply, traction_status_t *st);

/* Frees a reply of traction_call, whole: a reply is decoded into memory
 * of its own (a few blocks freed together, not a malloc per field), so
 * free it only this way, never with protobuf_c_message_free_unpacked, and
 * do not free or keep a part of it past this call. */
TRACTION_API void traction_reply_free(ProtobufCMessage *reply);

/* "NOT_FOUND" for 5, and so on. */
TRACTION_API const char *traction_code_name(int code);

/* The library's version, "0.1.0". */
TRACTION_API const char *traction_version(void);

/* ---- protocol v1.1 (docs/protocol.md) ---------------------------------------
 * What the last reply on a client said besides its status and body, and
 * what the next calls ask for. traction_status_t stays as it was (its size
 * is part of the ABI); these are separate calls. */

/* The last reply's structured error details (for a refused advance, one
 * per evidence criterion not met), or NULL if it had none. Valid until
 * the next call on the client. */
struct Traction__V1__ErrorDetails;
TRACTION_API const struct Traction__V1__ErrorDetails *
traction_last_details(const traction_client_t *client);

/* The last reply's Header: `committed` (a write's position) and `applied`
 * (what the daemon had applied when it answered), or NULL if there was no
 * reply. Valid until the next call on the client. */
struct Traction__V1__Header;
TRACTION_API const struct Traction__V1__Header *
traction_last_header(const traction_client_t *client);

/* The next calls are served only once the daemon has applied source up to
 * seq (read-your-writes: pass the `committed` of a write). Up to 8
 * positions (-ENOSPC past them); source NULL clears them all. */
TRACTION_API int traction_client_after(traction_client_t *client, const char *source,
				       uint64_t seq);

/* As traction_client_new, with its socket in zmq_context (a void * from
 * zmq_ctx_new, which must outlive the client; NULL: one of its own): a
 * process with many clients (a gateway's connections) then has one set
 * of ZeroMQ I/O threads rather than one per client. */
TRACTION_API int traction_client_new_in(traction_client_t **client_p, const char *endpoint,
					const traction_options_t *opts, void *zmq_context);

/* An edge (role edge): the end user the next calls act for; NULL: none. */
TRACTION_API int traction_client_on_behalf_of(traction_client_t *client, const char *user);

/* With stale true, the next calls are reads that any replica of a
 * replicated daemon may answer, a follower too, as of what it has applied
 * (Header.consistency STALE; the reply's `applied` says as of what); with
 * false (the default), the leader answers (docs/scale-out.md). A daemon
 * that is not replicated answers both alike. */
TRACTION_API void traction_client_stale(traction_client_t *client, bool stale);

#ifdef __cplusplus
}
#endif

#endif
