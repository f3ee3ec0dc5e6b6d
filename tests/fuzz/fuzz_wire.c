/*
 * libFuzzer: the Header frame decoder (every message's first frame) and the
 * Route frame, as the broker and the services decode them.
 */
#include <stddef.h>
#include <stdint.h>

#include "wire.h"
#include "traction/v1/bus.pb-c.h"

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
	return 0;
}
