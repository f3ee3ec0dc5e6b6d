/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: traction-mqttd's packet decoder (mqtt/codec.h) over whatever a
 * socket may bring, as each state of a connection reads it (before its
 * CONNECT, 3.1.1, 5.0), and the topic and payload mapping of a PUBLISH
 * that decodes, and Sparkplug B's (mqtt/spb.c) over the same bytes as a
 * payload of each message type, with one node and one device bound and
 * their state kept from input to input. A decoded string must lie inside
 * the packet. The same bytes as the JSON payload of a record topic go
 * through the direct scan (mqtt/scan.c) and through jansson's path alone:
 * the same records or the same refusal (tests/mqtt_same.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "mqtt_same.h"
#include "mqttd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_inside(const mq_str_t *s, const uint8_t *data, size_t size)
{
	if (s->n > 0 && (s->p < data || s->p + s->n > data + size))
		__builtin_trap();
}

static mqd_spb_t *s_spb(void)
{
	static mqd_spb_t *spb;
	if (spb == NULL) {
		char path[] = "/tmp/fuzz-spb-XXXXXX", err[256];
		size_t n;
		FILE *f = fdopen(mkstemp(path), "w");
		fputs("g/e = a b@1\ng/e/d = c d@2\n", f);
		fclose(f);
		if (mqd_spb_new(&spb) != 0 || mqd_spb_load(spb, path, &n, err, sizeof(err)) != 0)
			abort();
		unlink(path);
	}
	return spb;
}

static void s_sparkplug(const char *topic, size_t tlen, const uint8_t *data, size_t size)
{
	mqd_records_t rs;
	mqd_spb_out_t o;
	if (mqd_spb_message(s_spb(), topic, tlen, data, size, 1, &rs, &o) == 0)
		mqd_records_free(&rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool scanned;
	if (!mqtt_same("traction/v1/feedback/line-1/vision/1.0", data, size, "k", &scanned))
		__builtin_trap();
	static const char *const topics[] = { "spBv1.0/g/NBIRTH/e", "spBv1.0/g/NDATA/e",
					      "spBv1.0/g/DBIRTH/e/d", "spBv1.0/g/DDATA/e/d",
					      "spBv1.0/g/NDEATH/e" };
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		s_sparkplug(topics[i], strlen(topics[i]), data, size);
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
			s_sparkplug((const char *)pk.u.publish.topic.p, pk.u.publish.topic.n,
				    pk.u.publish.payload, pk.u.publish.payload_len);
		}
	}
	return 0;
}
