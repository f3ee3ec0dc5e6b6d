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
 */
#ifndef TRACTION_TRACTION_H
#define TRACTION_TRACTION_H

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
 * opts may be NULL. Returns 0, or a negative errno-style value. */
TRACTION_API int traction_client_new(traction_client_t **client_p, const char *endpoint,
				     const traction_options_t *opts);
TRACTION_API void traction_client_destroy(traction_client_t **client_p);

TRACTION_API void traction_client_set_timeout(traction_client_t *client, int timeout_ms);

/* One request, one reply. On OK, *reply is the decoded reply (free it with
 * traction_reply_free) and 0 is returned; otherwise the status code is
 * returned, st (may be NULL) says why, and *reply is NULL. */
TRACTION_API int traction_call(traction_client_t *client, const char *service,
			       const char *method, const ProtobufCMessage *request,
			       const ProtobufCMessageDescriptor *reply_type,
			       ProtobufCMessage **reply, traction_status_t *st);

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
 * positions; source NULL clears them all. */
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

#ifdef __cplusplus
}
#endif

#endif
