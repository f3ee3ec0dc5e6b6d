/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-mqttd's packet codec and topic mapping (mqtt/codec.h,
 * mqtt/mqttd.h): the spec's normative statements as cases, golden bytes
 * for what the server sends, and the refusals of ingest.
 */
#include <string.h>

#include "check.h"
#include "codec.h"
#include "mqttd.h"
#include "mqtt_same.h"

/* Decodes a packet written as a string, its one-byte remaining length set
 * from the string's (the cases are read more easily without counting).
 * The decoded packet points into the bytes: they stay until the next call
 * (a local buffer left it pointing at a dead stack frame, which the TSan
 * build's optimisation showed). */
static int s_dec(const char *bytes, size_t n, uint8_t ver, mq_packet_t *pk)
{
	static uint8_t b[512];
	memcpy(b, bytes, n);
	if (n >= 2 && n - 2 < 128)
		b[1] = (uint8_t)(n - 2);
	return mq_decode(b, n, ver, pk);
}
#define DEC(bytes, ver, pk) s_dec(bytes, sizeof(bytes) - 1, ver, pk)

TEST(framing)
{
	size_t total = 0;
	CHECK_EQ_INT(mq_frame((const uint8_t *)"\x30", 1, 4, 100, &total), 1);
	CHECK_EQ_INT(mq_frame((const uint8_t *)"\x30\x02", 2, 4, 100, &total), 0);
	CHECK_EQ_INT(total, 4);
	/* five length bytes [MQTT-1.5.5] */
	CHECK_EQ_INT(mq_frame((const uint8_t *)"\x30\xff\xff\xff\xff\x01", 6, 4, 1u << 30, &total),
		     MQ_RC_MALFORMED);
	/* not minimal in 5.0 */
	CHECK_EQ_INT(mq_frame((const uint8_t *)"\x30\x80\x00", 3, 5, 100, &total), MQ_RC_MALFORMED);
	CHECK_EQ_INT(mq_frame((const uint8_t *)"\x30\x80\x01", 3, 4, 100, &total), MQ_RC_TOO_LARGE);
}

TEST(connect)
{
	mq_packet_t pk;
	/* 3.1.1, clean, keepalive 60, client "c1", user "u", password "p" */
	static const char v4[] = "\x10\x15\x00\x04MQTT\x04\xc2\x00\x3c\x00\x02" "c1\x00\x01u\x00\x01p";
	CHECK_EQ_INT(DEC(v4, 0, &pk), 0);
	CHECK_EQ_INT(pk.u.connect.version, 4);
	CHECK(pk.u.connect.clean && pk.u.connect.has_username && pk.u.connect.has_password);
	CHECK_EQ_INT(pk.u.connect.keepalive, 60);
	CHECK(pk.u.connect.client_id.n == 2 && memcmp(pk.u.connect.client_id.p, "c1", 2) == 0);
	/* CONNECT twice: a protocol error [MQTT-3.1.0-2] */
	CHECK_EQ_INT(DEC(v4, 4, &pk), MQ_RC_PROTOCOL);
	/* reserved flag [MQTT-3.1.2-3] */
	static const char resv[] = "\x10\x0f\x00\x04MQTT\x04\x03\x00\x3c\x00\x03" "abc";
	CHECK_EQ_INT(DEC(resv, 0, &pk), MQ_RC_MALFORMED);
	/* protocol level 6 */
	static const char lvl[] = "\x10\x0f\x00\x04MQTT\x06\x02\x00\x3c\x00\x03" "abc";
	CHECK_EQ_INT(DEC(lvl, 0, &pk), MQ_RC_BAD_VERSION);
	/* 5.0 with session expiry 3600 and receive maximum 10 */
	static const char v5[] = "\x10\x18\x00\x04MQTT\x05\x00\x00\x3c\x08\x11\x00\x00\x0e\x10\x21\x00\x0a"
				 "\x00\x03" "abc";
	CHECK_EQ_INT(DEC(v5, 0, &pk), 0);
	CHECK(pk.u.connect.props.has_session_expiry && pk.u.connect.props.session_expiry == 3600);
	CHECK_EQ_INT(pk.u.connect.props.receive_maximum, 10);
	/* the same property twice; receive maximum 0; a PUBLISH-only property */
	static const char dup[] = "\x10\x18\x00\x04MQTT\x05\x00\x00\x3c\x08\x21\x00\x01\x21\x00\x02\x00\x00"
				  "\x00\x03" "abc";
	CHECK_EQ_INT(DEC(dup, 0, &pk), MQ_RC_PROTOCOL);
	static const char rm0[] = "\x10\x13\x00\x04MQTT\x05\x00\x00\x3c\x03\x21\x00\x00\x00\x03" "abc";
	CHECK_EQ_INT(DEC(rm0, 0, &pk), MQ_RC_PROTOCOL);
	static const char wrong[] = "\x10\x13\x00\x04MQTT\x05\x00\x00\x3c\x03\x23\x00\x01\x00\x03" "abc";
	CHECK_EQ_INT(DEC(wrong, 0, &pk), MQ_RC_PROTOCOL);
	/* a property list longer than the packet */
	static const char longp[] = "\x10\x10\x00\x04MQTT\x05\x00\x00\x3c\x7f\x00\x03" "abc";
	CHECK_EQ_INT(DEC(longp, 0, &pk), MQ_RC_MALFORMED);
}

TEST(publish)
{
	mq_packet_t pk;
	static const char q1[] = "\x32\x08\x00\x03" "a/b\x00\x07" "1";
	CHECK_EQ_INT(DEC(q1, 4, &pk), 0);
	CHECK_EQ_INT(pk.u.publish.qos, 1);
	CHECK_EQ_INT(pk.u.publish.pid, 7);
	CHECK(pk.u.publish.payload_len == 1 && pk.u.publish.payload[0] == '1');
	static const char q3[] = "\x36\x08\x00\x03" "a/b\x00\x07" "1";
	CHECK_EQ_INT(DEC(q3, 4, &pk), MQ_RC_MALFORMED);          /* [MQTT-3.3.1-4] */
	static const char dup0[] = "\x38\x06\x00\x03" "a/b" "1";
	CHECK_EQ_INT(DEC(dup0, 4, &pk), MQ_RC_PROTOCOL);          /* [MQTT-3.3.1-2] */
	static const char pid0[] = "\x32\x08\x00\x03" "a/b\x00\x00" "1";
	CHECK_EQ_INT(DEC(pid0, 4, &pk), MQ_RC_PROTOCOL);
	static const char wild[] = "\x30\x06\x00\x03" "a/+" "1";
	CHECK_EQ_INT(DEC(wild, 4, &pk), MQ_RC_TOPIC_INVALID);     /* [MQTT-3.3.2-2] */
	static const char nul[] = "\x30\x06\x00\x03" "a\x00" "b1";
	CHECK_EQ_INT(DEC(nul, 4, &pk), MQ_RC_MALFORMED);          /* [MQTT-1.5.4-2] */
	static const char utf[] = "\x30\x06\x00\x03" "a\xc0\xaf" "1";
	CHECK_EQ_INT(DEC(utf, 4, &pk), MQ_RC_MALFORMED);          /* overlong */
	/* 5.0: a topic alias, and an empty property list */
	static const char v5[] = "\x32\x0c\x00\x03" "a/b\x00\x07\x03\x23\x00\x01" "1";
	CHECK_EQ_INT(DEC(v5, 5, &pk), 0);
	CHECK_EQ_INT(pk.u.publish.props.topic_alias, 1);
	static const char pubrel_flags[] = "\x60\x02\x00\x01";
	CHECK_EQ_INT(DEC(pubrel_flags, 4, &pk), MQ_RC_MALFORMED); /* [MQTT-3.6.1-1] */
	static const char pubrel[] = "\x62\x02\x00\x01";
	CHECK_EQ_INT(DEC(pubrel, 4, &pk), 0);
	CHECK_EQ_INT(pk.u.ack.pid, 1);
	static const char extra[] = "\xc0\x01\x00";               /* PINGREQ with a body */
	CHECK_EQ_INT(DEC(extra, 4, &pk), MQ_RC_MALFORMED);
	static const char connack[] = "\x20\x02\x00\x00";         /* the server's own */
	CHECK_EQ_INT(DEC(connack, 4, &pk), MQ_RC_PROTOCOL);
}

TEST(subscribe)
{
	mq_packet_t pk;
	static const char s4[] = "\x82\x08\x00\x05\x00\x03" "a/#\x01";
	CHECK_EQ_INT(DEC(s4, 4, &pk), 0);
	CHECK(pk.u.subscribe.n == 1 && pk.u.subscribe.pid == 5);
	static const char none[] = "\x82\x02\x00\x05";
	CHECK_EQ_INT(DEC(none, 4, &pk), MQ_RC_PROTOCOL);          /* [MQTT-3.8.3-3] */
	static const char q3[] = "\x82\x08\x00\x05\x00\x03" "a/#\x03";
	CHECK_EQ_INT(DEC(q3, 4, &pk), MQ_RC_MALFORMED);
}

TEST(encoders)
{
	uint8_t b[256];
	CHECK_EQ_INT(mq_encode_ack(b, sizeof(b), 4, MQ_PUBACK, 0x1234, 0, NULL), 4);
	CHECK(memcmp(b, "\x40\x02\x12\x34", 4) == 0);
	CHECK_EQ_INT(mq_encode_ack(b, sizeof(b), 5, MQ_PUBREC, 1, 0x99, NULL), 5);
	CHECK(memcmp(b, "\x50\x03\x00\x01\x99", 5) == 0);
	CHECK_EQ_INT(mq_encode_ack(b, sizeof(b), 5, MQ_PUBACK, 1, 0x87, "no"), 11);
	CHECK(memcmp(b, "\x40\x09\x00\x01\x87\x05\x1f\x00\x02no", 11) == 0);
	CHECK_EQ_INT(mq_encode_ack(b, 4, 5, MQ_PUBACK, 1, 0x87, "too long for four bytes"), 0);
	CHECK_EQ_INT(mq_encode_connack(b, sizeof(b), 4, true, 0, NULL), 4);
	CHECK(memcmp(b, "\x20\x02\x01\x00", 4) == 0);
	size_t n = mq_encode_connack(b, sizeof(b), 5, false, 0x86, NULL);
	CHECK(n == 5 && memcmp(b, "\x20\x03\x00\x86\x00", 5) == 0);
	uint8_t codes[2] = { 0x87, 0x87 };
	CHECK_EQ_INT(mq_encode_suback(b, sizeof(b), 5, MQ_SUBACK, 9, codes, 2), 7);
	CHECK(memcmp(b, "\x90\x05\x00\x09\x00\x87\x87", 7) == 0);
	CHECK_EQ_INT(mq_encode_disconnect(b, sizeof(b), 0x8e, NULL), 4);
	CHECK(memcmp(b, "\xe0\x02\x8e\x00", 4) == 0);
	/* what the encoder makes, the decoder of a peer would frame */
	size_t total;
	n = mq_encode_connack(b, sizeof(b), 5, false, 0, &(mq_connack_t){ .receive_maximum = 64,
									  .assigned_client_id = "x" });
	CHECK(mq_frame(b, n, 5, 1024, &total) == 0 && total == n);
}

TEST(ingest)
{
	mqd_records_t rs;
	const char *t = "traction/v1/feedback/weld-line-3/defect-vision/1.0/metric/seam_mm";
	CHECK_EQ_INT(mqd_records(t, strlen(t), (const uint8_t *)"1.25", 4, "k/1", &rs), 0);
	CHECK(rs.n == 1 && rs.v[0].metric->value == 1.25);
	CHECK(strcmp(rs.v[0].scenario_id, "weld-line-3") == 0 && strcmp(rs.v[0].version, "1.0") == 0);
	CHECK(strcmp(rs.v[0].idempotency_key, "k/1") == 0);
	mqd_records_free(&rs);
	CHECK(mqd_records(t, strlen(t), (const uint8_t *)"nan", 3, "k", &rs) != 0);
	CHECK_EQ_INT(rs.reason, MQ_RC_PAYLOAD_INVALID);
	const char *j = "traction/v1/feedback/weld-line-3/defect-vision/1.0";
	const char *arr = "[{\"metric\":{\"name\":\"a\",\"value\":1}},"
			  "{\"key\":\"mine\",\"metric\":{\"name\":\"b\",\"value\":2}}]";
	CHECK_EQ_INT(mqd_records(j, strlen(j), (const uint8_t *)arr, strlen(arr), "k", &rs), 0);
	CHECK(rs.n == 2 && strcmp(rs.v[0].idempotency_key, "k/0") == 0 &&
	      strcmp(rs.v[1].idempotency_key, "mine") == 0);
	mqd_records_free(&rs);
	const char *other = "{\"scenario\":\"paint\",\"metric\":{\"name\":\"a\",\"value\":1}}";
	CHECK(mqd_records(j, strlen(j), (const uint8_t *)other, strlen(other), "k", &rs) != 0);
	CHECK(strstr(rs.err, "scenario") != NULL);
	static const char *const bad[] = { "traction/v1/feedback/a/b", "traction/v1/feedback/a/b/c/",
					   "traction/v1/feedback/a/b/c/metric",
					   "traction/v1/feedback/a/b/c/other/x", "x/y", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(mqd_records(bad[i], strlen(bad[i]), (const uint8_t *)"1", 1, "k", &rs) != 0);
		CHECK_EQ_INT(rs.reason, MQ_RC_TOPIC_INVALID);
	}
}

/* A job: raw messages made into records by the worker, a refused one
 * answered with its reason, and made ones kept, all in the messages' order
 * (the order proto.c meets them with the acknowledgements). */
TEST(job)
{
	const char *t = "traction/v1/feedback/weld-line-3/defect-vision/1.0";
	const char *arr = "[{\"metric\":{\"name\":\"a\",\"value\":1}},"
			  "{\"metric\":{\"name\":\"b\",\"value\":2}}]";
	mqd_job_t *j = mqd_job_new(7, "u", "gw", 0xab);
	CHECK(j != NULL);
	CHECK_EQ_INT(mqd_job_add_raw(j, 1, 41, (const uint8_t *)t, strlen(t), (const uint8_t *)arr,
				     strlen(arr)), 0);
	CHECK_EQ_INT(mqd_job_add_raw(j, 2, 42, (const uint8_t *)t, strlen(t),
				     (const uint8_t *)"{nope", 5), 0);
	mqd_records_t rs;
	const char *m = "traction/v1/feedback/weld-line-3/defect-vision/1.0/metric/seam_mm";
	CHECK_EQ_INT(mqd_records(m, strlen(m), (const uint8_t *)"3", 1, "spb-like", &rs), 0);
	CHECK_EQ_INT(mqd_job_add_made(j, 3, &rs), 0);
	CHECK(rs.v == NULL && rs.n == 0); /* moved */
	CHECK_EQ_INT(mqd_job_add_raw(j, 5, 43, (const uint8_t *)m, strlen(m), (const uint8_t *)"4",
				     1), 0);
	CHECK_EQ_INT(mqd_job_make(j), 0);
	CHECK_EQ_INT(j->n, 4);
	CHECK(j->msgs[0].first == 0 && j->msgs[0].nv == 2 && j->msgs[0].reason == 0);
	CHECK(strcmp(j->recs[0]->idempotency_key, "mqtt/gw/00000000000000ab/41/0") == 0);
	CHECK(strcmp(j->recs[1]->metric->name, "b") == 0);
	CHECK(j->msgs[1].nv == 0 && j->msgs[1].reason == MQ_RC_PAYLOAD_INVALID &&
	      strstr(j->msgs[1].why, "JSON") != NULL);
	CHECK(j->msgs[2].first == 2 && strcmp(j->recs[2]->idempotency_key, "spb-like") == 0);
	CHECK(j->msgs[3].first == 3 && j->recs[3]->metric->value == 4.0 &&
	      strcmp(j->recs[3]->idempotency_key, "mqtt/gw/00000000000000ab/43") == 0);
	CHECK_EQ_INT(mqd_job_make(j), 0); /* again, as after a failed try: the same */
	CHECK(j->n == 4 && j->recs[3]->metric->value == 4.0);
	mqd_job_free(j);
}

/* The direct scan of a JSON payload (mqtt/scan.c) against jansson's path:
 * the same records or the same refusal for each payload here, those in
 * the common form made by the scan, and every one-byte change of a full
 * record (each byte made each of a set of characters that matter to JSON)
 * answered the same both ways. */
TEST(scan)
{
	const char *t = "traction/v1/feedback/weld-line-3/defect-vision/1.0";
	static const char *const common[] = {
		"{\"key\":\"mb-1-7\",\"metric\":{\"name\":\"mqttbench\",\"value\":7},\"labels\":{\"pad\":\"xx\"}}",
		"{\"metric\":{\"name\":\"a\",\"value\":-0.5e-3}}",
		" \t\r\n{ \"metric\" : { \"value\" : -0 , \"name\" : \"a\" } } \n",
		"{\"scenario\":\"weld-line-3\",\"supply\":\"\",\"version\":\"1.0\",\"key\":\"\","
		"\"observed_at\":\"2026-11-28T10:15:00.250Z\",\"labels\":{},\"metric\":{}}",
		"{\"observed_at\":-1764324900000,\"labels\":{\"le\":\"x\"},\"metric\":{\"name\":\"a\",\"value\":1}}",
		"{\"labels\":{\"site\":\"M\xc3\xbcnchen \xe2\x82\xac \xf0\x9f\x98\x80\",\"\":\"\"},\"metric\":{\"name\":\"a\",\"value\":123456789012345678}}",
		"[{\"metric\":{\"name\":\"a\",\"value\":1}},{\"key\":\"k2\",\"metric\":{\"name\":\"b\",\"value\":2.5}}]",
		"[{\"metric\":{\"name\":\"a\",\"value\":1E+2}}]",
	};
	static const char *const other[] = {
		"", " ", "{}", "[]", "[1]", "null", "7", "\"x\"", "{\"metric\":{}} x", "{\"metric\":{}}}",
		"{\"metric\":{\"name\":\"a\\n\",\"value\":1}}",
		"{\"metric\":{\"name\":\"a\",\"value\":1},\"metric\":{}}",
		"{\"metric\":{\"name\":\"a\",\"name\":\"b\"}}",
		"{\"metric\":{\"name\":\"a\",\"unit\":\"b\"}}",
		"{\"metric\":{\"name\":\"a\",\"value\":01}}",
		"{\"metric\":{\"name\":\"a\",\"value\":1.}}",
		"{\"metric\":{\"name\":\"a\",\"value\":.5}}",
		"{\"metric\":{\"name\":\"a\",\"value\":1e400}}",
		"{\"metric\":{\"name\":\"a\",\"value\":1e-400}}",
		"{\"metric\":{\"name\":\"a\",\"value\":12345678901234567890123}}",
		"{\"metric\":{\"name\":\"a\",\"value\":\"1\"}}",
		"{\"metric\":{\"name\":\"a\",\"value\":true}}",
		"{\"metric\":{\"name\":7}}",
		"{\"metric\":null}",
		"{\"metric\":{},\"problem\":{\"title\":\"t\"}}",
		"{\"problem\":{\"severity\":\"critical\",\"title\":\"t\"}}",
		"{\"scenario\":\"paint\",\"metric\":{}}",
		"{\"supply\":7,\"metric\":{}}",
		"{\"key\":\"a\",\"key\":\"b\",\"metric\":{}}",
		"{\"id\":1,\"metric\":{}}",
		"{\"observed_at\":1.5,\"metric\":{}}",
		"{\"observed_at\":\"yesterday\",\"metric\":{}}",
		"{\"observed_at\":99999999999999999999,\"metric\":{}}",
		"{\"labels\":{\"a\":\"1\",\"a\":\"2\"},\"metric\":{}}",
		"{\"labels\":{\"a\":1},\"metric\":{}}",
		"{\"labels\":{\"l\\u00e9\":\"x\"},\"metric\":{}}",
		"{\"labels\":[],\"metric\":{}}",
		"{\"labels\":{\"a\":\"\xc3\"},\"metric\":{}}",
		"{\"labels\":{\"a\":\"\xed\xa0\x80\"},\"metric\":{}}",
		"{\"labels\":{\"a\":\"\xc0\xaf\"},\"metric\":{}}",
		"{\"labels\":{\"a\":\"\x7f\x01\"},\"metric\":{}}",
		"[{\"metric\":{}},]", "[{\"metric\":{}}", "{\"metric\":{}",
		"\xef\xbb\xbf{\"metric\":{}}",
	};
	bool scanned;
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
		CHECK_MSG(mqtt_same(t, (const uint8_t *)common[i], strlen(common[i]), "k", &scanned),
			  "common %zu", i);
		CHECK_MSG(scanned, "common %zu: not made by the scan", i);
	}
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		CHECK_MSG(mqtt_same(t, (const uint8_t *)other[i], strlen(other[i]), "k", &scanned),
			  "other %zu", i);
	/* an array past MQD_RECORDS_MAX, and one at it */
	static char big[40 * 1001 + 2];
	for (int n = 1000; n <= 1001; n++) {
		size_t o = 0;
		big[o++] = '[';
		for (int i = 0; i < n; i++)
			o += (size_t)snprintf(big + o, sizeof(big) - o, "%s{\"metric\":{\"value\":%d}}",
					      i ? "," : "", i);
		big[o++] = ']';
		CHECK(mqtt_same(t, (const uint8_t *)big, o, "k", &scanned));
		CHECK(scanned == (n == 1000));
	}
	/* a key_base whose derived keys would be cut */
	char base[MQD_KEY_MAX + 20];
	memset(base, 'b', sizeof(base) - 1);
	base[sizeof(base) - 1] = '\0';
	CHECK(mqtt_same(t, (const uint8_t *)common[1], strlen(common[1]), base, &scanned));
	/* every byte of a full record made each of these (a long string among
	 * them: the scan reads 8 bytes at a time there) */
	static const char full[] =
		"{\"scenario\":\"weld-line-3\",\"key\":\"k-1\",\"observed_at\":1764324900000,"
		"\"labels\":{\"a\":\"b\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxx\"},\"metric\":{\"name\":\"m\",\"value\":-1.25e2}}";
	static const char subst[] = "\"\\{}[]:, 0-1.eE+x\x01\x80\xc3";
	char buf[sizeof(full)];
	size_t n_scanned = 0;
	for (size_t i = 0; i < sizeof(full) - 1; i++)
		for (size_t k = 0; k < sizeof(subst) - 1; k++) {
			memcpy(buf, full, sizeof(full));
			buf[i] = subst[k];
			CHECK_MSG(mqtt_same(t, (const uint8_t *)buf, sizeof(full) - 1, "k", &scanned),
				  "byte %zu as 0x%02x", i, (unsigned)(uint8_t)subst[k]);
			n_scanned += scanned;
		}
	CHECK(n_scanned > 100); /* the scan took many of them, not only the full one */
}

int main(void)
{
	RUN(framing);
	RUN(connect);
	RUN(publish);
	RUN(job);
	RUN(subscribe);
	RUN(encoders);
	RUN(ingest);
	RUN(scan);
	DONE();
}
