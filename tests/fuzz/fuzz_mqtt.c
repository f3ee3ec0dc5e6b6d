/*
 * libFuzzer: traction-mqttd's packet decoder (mqtt/codec.h) over whatever a
 * socket may bring, as each state of a connection reads it (before its
 * CONNECT, 3.1.1, 5.0), and the topic and payload mapping of a PUBLISH
 * that decodes. A decoded string must lie inside the packet.
 */
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "mqttd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_inside(const mq_str_t *s, const uint8_t *data, size_t size)
{
	if (s->n > 0 && (s->p < data || s->p + s->n > data + size))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t versions[] = { 0, 4, 5 };
	size_t total = 0;
	for (size_t v = 0; v < sizeof(versions); v++) {
		if (mq_frame(data, size, versions[v] ? versions[v] : 4, 1u << 20, &total) != 0 ||
		    total > size)
			continue;
		mq_packet_t pk;
		if (mq_decode(data, total, versions[v], &pk) != 0)
			continue;
		if (pk.type == MQ_CONNECT) {
			s_inside(&pk.u.connect.client_id, data, total);
			s_inside(&pk.u.connect.password, data, total);
		} else if (pk.type == MQ_PUBLISH) {
			s_inside(&pk.u.publish.topic, data, total);
			mqd_records_t rs;
			if (mqd_records((const char *)pk.u.publish.topic.p, pk.u.publish.topic.n,
					pk.u.publish.payload, pk.u.publish.payload_len, "k", &rs) == 0)
				mqd_records_free(&rs);
		}
	}
	return 0;
}
