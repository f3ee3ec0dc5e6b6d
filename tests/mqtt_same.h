/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-mqttd's two ways of making records from a JSON payload (the
 * direct scan, mqtt/scan.c, and jansson's path, mqd_records_json) held to
 * one answer: both refused with the same reason and message, or both made
 * the same records, byte for byte as they go on the wire. Shared by the
 * unit test (tests/unit/test_mqtt_codec.c) and the fuzzer
 * (tests/fuzz/fuzz_mqtt.c).
 */
#ifndef TRC_MQTT_SAME_H
#define TRC_MQTT_SAME_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttd.h"

/* The wire bytes of a record (malloc'd), their length in *n. */
static uint8_t *mqtt_same_pack_(const Traction__V1__FeedbackRecord *r, size_t *n)
{
	*n = protobuf_c_message_get_packed_size(&r->base);
	uint8_t *b = malloc(*n > 0 ? *n : 1);
	if (b != NULL)
		protobuf_c_message_pack(&r->base, b);
	return b;
}

/* Whether topic + payload comes out the same both ways; what differs on
 * stderr. *scanned: whether the direct scan made the records. */
static bool mqtt_same(const char *topic, const uint8_t *payload, size_t plen,
		      const char *key_base, bool *scanned)
{
	mqd_records_t a, b;
	int ra = mqd_records(topic, strlen(topic), payload, plen, key_base, &a);
	int rb = mqd_records_json(topic, strlen(topic), payload, plen, key_base, &b);
	bool same = ra == rb;
	*scanned = ra == 0 && a.block != NULL;
	if (same && ra != 0)
		same = a.reason == b.reason && strcmp(a.err, b.err) == 0;
	if (same && ra == 0)
		same = a.n == b.n && a.array == b.array;
	for (size_t i = 0; same && ra == 0 && i < a.n; i++) {
		size_t na, nb;
		uint8_t *pa = mqtt_same_pack_(&a.v[i], &na), *pb = mqtt_same_pack_(&b.v[i], &nb);
		same = pa != NULL && pb != NULL && na == nb && memcmp(pa, pb, na) == 0 &&
		       a.v[i].n_labels == b.v[i].n_labels &&
		       strcmp(a.v[i].idempotency_key, b.v[i].idempotency_key) == 0;
		free(pa);
		free(pb);
	}
	if (!same)
		fprintf(stderr, "mqtt_same: %.*s: scan %d (%s), jansson %d (%s)\n", (int)plen,
			(const char *)payload, ra, ra != 0 ? a.err : "made", rb,
			rb != 0 ? b.err : "made");
	if (ra == 0)
		mqd_records_free(&a);
	if (rb == 0)
		mqd_records_free(&b);
	return same;
}

#endif
