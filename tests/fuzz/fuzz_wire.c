/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: the Header frame decoder (every message's first frame) and the
 * Route frame, as the broker and the services decode them; the walk that
 * checks every string of a message in its bytes, over the deepest message
 * of the wire (a publish request); the request id read from a header that
 * may not decode; and the escaping of what replies and logs quote.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util.h"
#include "wire.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/feedback.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	Traction__V1__Header *h = trc_header_unpack(NULL, data, size, &why);
	if (h != NULL) {
		uint8_t buf[TRC_HEADER_MAX * 2];
		trc_header_pack(h, buf, sizeof(buf));
		protobuf_c_message_free_unpacked(&h->base, NULL);
	}
	Traction__V1__Route *r = traction__v1__route__unpack(NULL, size, data);
	if (r != NULL)
		traction__v1__route__free_unpacked(r, NULL);
	char err[256];
	int rc = trc_wire_check_strings(&traction__v1__publish_request__descriptor, data, size, err,
					sizeof(err));
	if (rc != 0 && memchr(err, '\0', sizeof(err)) == NULL)
		__builtin_trap(); /* the message must be a C string */
	(void)trc_header_request_id(data, size);
	char esc[64];
	size_t n = trc_escape(esc, sizeof(esc), data, size);
	if (n >= sizeof(esc) || esc[n] != '\0' || !trc_is_utf8(esc, n))
		__builtin_trap(); /* escaped text is well-formed and fits */
	return 0;
}
