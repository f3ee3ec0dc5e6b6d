/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Framing and validation of untrusted input: the Header frame's checks,
 * multipart receive with too many frames, slugs and UTF-8, error mapping.
 */
#include <errno.h>
#include <lmdb.h>
#include <zmq.h>

#include "arena.h"
#include "check.h"
#include "error.h"
#include "util.h"
#include "wire.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/common.pb-c.h"

TEST(header_round_trip_and_checks)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	uint8_t buf[TRC_HEADER_MAX];
	const char *why = NULL;
	h.version = 1;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)"feedback";
	h.method = (char *)"publish";
	h.request_id = 0xfedcba9876543210ull;
	size_t n = trc_header_pack(&h, buf, sizeof(buf));
	CHECK(n > 0);
	Traction__V1__Header *d = trc_header_unpack(NULL, buf, n, &why);
	CHECK(d != NULL);
	CHECK_STR(d->service, "feedback");
	CHECK_EQ_INT(d->request_id == 0xfedcba9876543210ull, 1);
	protobuf_c_message_free_unpacked(&d->base, NULL);

	/* v1.1 is version 2; both are spoken, nothing else */
	h.version = 2;
	n = trc_header_pack(&h, buf, sizeof(buf));
	d = trc_header_unpack(NULL, buf, n, &why);
	CHECK(d != NULL);
	protobuf_c_message_free_unpacked(&d->base, NULL);
	CHECK_EQ_INT(trc_header_version(buf, n), 2);
	for (unsigned v = 0; v < 4; v += 3) {
		h.version = v;
		n = trc_header_pack(&h, buf, sizeof(buf));
		CHECK(trc_header_unpack(NULL, buf, n, &why) == NULL);
		CHECK_CONTAINS(why, "unsupported protocol version");
		CHECK_CONTAINS(why, "speaks versions 1 to 2");
		/* a refusal is in the oldest version: every client decodes it */
		CHECK_EQ_INT(trc_header_version(buf, n), 1);
	}

	h.version = 1;
	h.kind = 99;
	n = trc_header_pack(&h, buf, sizeof(buf));
	CHECK(trc_header_unpack(NULL, buf, n, &why) == NULL);
	CHECK_CONTAINS(why, "unknown frame kind");

	CHECK(trc_header_unpack(NULL, "\xff\xff\xff", 3, &why) == NULL);
	CHECK_CONTAINS(why, "not a traction.v1.Header");
	CHECK(trc_header_unpack(NULL, buf, TRC_HEADER_MAX + 1, &why) == NULL);
	CHECK_CONTAINS(why, "too large");
	CHECK_EQ_INT(trc_header_pack(&h, buf, 2), 0); /* does not fit */
}

/* v1.1's replica fields: a READY that says SINGLE at term 0 (a service
 * that never calls trc_service_set_replica) is the same bytes as one
 * without them, a first wave's; a role said reads back. */
TEST(replica_fields)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	uint8_t plain[TRC_HEADER_MAX], said[TRC_HEADER_MAX];
	const char *why = NULL;
	h.version = 2;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_READY;
	h.service = (char *)"note";
	size_t n = trc_header_pack(&h, plain, sizeof(plain));
	h.replica_role = TRACTION__V1__REPLICA_ROLE__REPLICA_SINGLE;
	h.term = 0;
	h.consistency = TRACTION__V1__CONSISTENCY__CONSISTENCY_LINEARIZABLE;
	CHECK_EQ_INT(trc_header_pack(&h, said, sizeof(said)), n);
	CHECK(memcmp(plain, said, n) == 0);
	h.replica_role = TRACTION__V1__REPLICA_ROLE__REPLICA_LEADER;
	h.term = 1ull << 40;
	size_t m = trc_header_pack(&h, said, sizeof(said));
	CHECK(m > n);
	Traction__V1__Header *d = trc_header_unpack(NULL, said, m, &why);
	CHECK(d != NULL);
	CHECK_EQ_INT(d->replica_role, TRACTION__V1__REPLICA_ROLE__REPLICA_LEADER);
	CHECK(d->term == 1ull << 40);
	protobuf_c_message_free_unpacked(&d->base, NULL);
	CHECK_STR(trc_replica_role_name(TRACTION__V1__REPLICA_ROLE__REPLICA_CANDIDATE),
		  "candidate");
	CHECK_STR(trc_replica_role_name(9), "unknown");
}

TEST(recv_caps_frames)
{
	void *ctx = zmq_ctx_new();
	void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
	CHECK(zmq_bind(a, "inproc://wire") == 0);
	CHECK(zmq_connect(b, "inproc://wire") == 0);
	trc_frame_t f[6] = { { "1", 1 }, { "2", 1 }, { "3", 1 }, { "4", 1 }, { "5", 1 }, { "6", 1 } };
	CHECK_EQ_INT(trc_send(b, f, 6, 0), 0);
	CHECK_EQ_INT(trc_send(b, f, 2, 0), 0);
	trc_msg_t m;
	CHECK_EQ_INT(trc_msg_recv(a, &m, 0), 0);
	CHECK_EQ_INT(m.n, TRC_MAX_FRAMES);
	CHECK_EQ_INT(m.total, 6);
	trc_msg_close(&m);
	/* the next message is whole and separate */
	CHECK_EQ_INT(trc_msg_recv(a, &m, 0), 0);
	CHECK_EQ_INT(m.n, 2);
	CHECK_EQ_INT(m.total, 2);
	CHECK(memcmp(trc_msg_data(&m, 1), "2", 1) == 0);
	trc_msg_close(&m);
	CHECK_EQ_INT(trc_msg_recv(a, &m, ZMQ_DONTWAIT), TRC_EBUSY);
	zmq_close(a);
	zmq_close(b);
	zmq_ctx_term(ctx);
}

TEST(slugs_and_text)
{
	CHECK(trc_is_slug("defect-vision"));
	CHECK(trc_is_slug("1.0"));
	CHECK(trc_is_slug("a_b.c-9"));
	CHECK(!trc_is_slug(""));
	CHECK(!trc_is_slug("-lead"));
	CHECK(!trc_is_slug(".hidden"));
	CHECK(!trc_is_slug("sp ace"));
	CHECK(!trc_is_slug("slash/x"));
	CHECK(!trc_is_slug("ünï"));
	char long64[65], long65[66];
	memset(long64, 'a', 64);
	long64[64] = '\0';
	memset(long65, 'a', 65);
	long65[65] = '\0';
	CHECK(trc_is_slug(long64));
	CHECK(!trc_is_slug(long65));

	CHECK(trc_is_text("Weld seam inspection — 焊缝检测", 100));
	CHECK(!trc_is_text("abc", 2));
	CHECK(!trc_is_text("\xc3", 10));             /* truncated */
	CHECK(!trc_is_text("\xc0\xaf", 10));         /* overlong */
	CHECK(!trc_is_text("\xed\xa0\x80", 10));     /* surrogate */
	/* past the eight-bytes-at-a-time ASCII path */
	CHECK(trc_is_text("sixteen ascii ch 焊缝 and more ascii after it", 100));
	CHECK(!trc_is_text("sixteen ascii ch\xc3", 100));
	CHECK(!trc_is_text("sixteen ascii chars\xed\xa0\x80 tail", 100));
	CHECK(!trc_is_text("0123456789abcdef0", 16));
	CHECK(!trc_is_text("\xf4\x90\x80\x80", 10)); /* > U+10FFFF */
	CHECK(!trc_is_text("\xff", 10));
}

/* The raw fields of a packed message: what feedbackd stores records from. */
TEST(varints_and_raw_fields)
{
	uint8_t b[16];
	uint64_t v;
	size_t off = 0;
	CHECK_EQ_INT(trc_varint_put(b, 0), 1);
	CHECK_EQ_INT(trc_varint_put(b, 300), 2);
	CHECK(b[0] == 0xAC && b[1] == 0x02);
	CHECK_EQ_INT(trc_varint_put(b, UINT64_MAX), 10);
	CHECK_EQ_INT(trc_varint_get(b, 10, &off, &v), 0);
	CHECK(v == UINT64_MAX && off == 10);
	off = 0;
	CHECK_EQ_INT(trc_varint_get(b, 9, &off, &v), -1); /* truncated */

	/* PublishRequest{records: [r1, r2]} with unknown fields around them */
	Traction__V1__FeedbackRecord r1 = TRACTION__V1__FEEDBACK_RECORD__INIT, r2 = r1, *rp[2];
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	r1.scenario_id = (char *)"weld-line-3";
	r2.supply_id = (char *)"defect-vision";
	r2.observed_at_ms = 1764325000000;
	rp[0] = &r1;
	rp[1] = &r2;
	req.records = rp;
	req.n_records = 2;
	uint8_t msg[256];
	size_t n = 0;
	msg[n++] = 7 << 3 | 0; /* an unknown varint field */
	n += trc_varint_put(msg + n, 123456);
	n += traction__v1__publish_request__pack(&req, msg + n);
	msg[n++] = 9 << 3 | 1; /* an unknown 64-bit field */
	memset(msg + n, 0xff, 8);
	n += 8;
	trc_frame_t f[4];
	CHECK_EQ_INT(trc_wire_fields(msg, n, 1, f, 4), 2);
	Traction__V1__FeedbackRecord *got =
		traction__v1__feedback_record__unpack(NULL, f[1].len, f[1].data);
	CHECK(got != NULL && strcmp(got->supply_id, "defect-vision") == 0 &&
	      got->observed_at_ms == 1764325000000);
	traction__v1__feedback_record__free_unpacked(got, NULL);
	CHECK_EQ_INT(trc_wire_fields(msg, n, 1, f, 1), -1);     /* more than cap */
	CHECK_EQ_INT(trc_wire_fields(msg, n - 1, 1, f, 4), -1); /* cut short */
	uint8_t bad[] = { 1 << 3 | 2, 50, 'x' };                /* length beyond the end */
	CHECK_EQ_INT(trc_wire_fields(bad, sizeof(bad), 1, f, 4), -1);
	uint8_t group[] = { 1 << 3 | 3 };                       /* groups: not ours */
	CHECK_EQ_INT(trc_wire_fields(group, sizeof(group), 1, f, 4), -1);
}

/* The arena: zeroed allocations, arrays that grow in it keeping what they
 * held, and blocks reused across resets. */
TEST(arena_arrays_and_reuse)
{
	trc_arena_t *a = trc_arena_new();
	CHECK(a != NULL);
	for (int round = 0; round < 3; round++) {
		uint64_t *v = NULL;
		size_t n = 0, cap = 4;
		for (uint64_t i = 0; i < 100000; i++) {
			v = trc_arena_grow(a, v, n, &cap, sizeof(*v));
			CHECK(v != NULL && cap > n);
			v[n++] = i * 7;
		}
		for (size_t i = 0; i < n; i++)
			CHECK(v[i] == i * 7);
		CHECK(cap >= n && cap < 2 * n + 8);
		uint8_t *z = trc_arena_alloc(a, 70000); /* bigger than a block */
		CHECK(z != NULL);
		for (size_t i = 0; i < 70000; i++)
			CHECK(z[i] == 0);
		memset(z, 0xff, 70000);
		trc_arena_reset(a);
		CHECK_EQ_INT(trc_arena_used(a), 0);
	}
	size_t cap = 0;
	void *p = trc_arena_grow(a, NULL, 0, &cap, 8);
	CHECK(p != NULL && cap == 16);
	cap = SIZE_MAX / 4;
	CHECK(trc_arena_grow(a, p, SIZE_MAX / 4, &cap, 8) == NULL); /* would overflow */
	trc_arena_destroy(&a);
	CHECK(a == NULL);
}

TEST(error_mappings)
{
	CHECK_EQ_INT(trc_err_from_mdb(MDB_MAP_FULL), TRC_ENOSPC);
	CHECK_EQ_INT(trc_err_from_mdb(ENOSPC), TRC_EDISKFULL);
	CHECK_EQ_INT(trc_err_to_code(TRC_EDISKFULL), TRACTION__V1__CODE__RESOURCE_EXHAUSTED);
	CHECK_EQ_INT(trc_err_from_mdb(MDB_NOTFOUND), TRC_ENOENT);
	CHECK_EQ_INT(trc_err_from_mdb(MDB_CORRUPTED), TRC_ECORRUPT);
	CHECK_EQ_INT(trc_err_to_code(TRC_ENOSPC), TRACTION__V1__CODE__RESOURCE_EXHAUSTED);
	CHECK_EQ_INT(trc_err_to_code(TRC_EINVAL), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_EQ_INT(trc_err_to_code(TRC_ETIMEOUT), TRACTION__V1__CODE__DEADLINE_EXCEEDED);
	CHECK_EQ_INT(trc_err_from_code(TRACTION__V1__CODE__NOT_FOUND), TRC_ENOENT);
	CHECK_STR(trc_code_name(TRACTION__V1__CODE__FAILED_PRECONDITION), "FAILED_PRECONDITION");
	for (int e = 0; e >= -20; e--) {
		CHECK(strcmp(trc_strerror(e), "unknown error") != 0);
		CHECK_EQ_INT(trc_err_from_code(trc_err_to_code(e)) <= 0, 1);
	}
}

/* What goes into a log line or a status message: well-formed UTF-8, no
 * control characters, cut at whole characters. */
TEST(escape)
{
	char out[64];
	CHECK_EQ_INT(trc_escape(out, sizeof(out), "plain caf\xc3\xa9", 11), 11);
	CHECK_STR(out, "plain caf\xc3\xa9");
	trc_escape(out, sizeof(out), "a\nb\0c\x7f", 6);
	CHECK_STR(out, "a\\x0ab\\x00c\\x7f");
	trc_escape(out, sizeof(out), "\xc3\x28 \xff \xed\xa0\x80", 8);
	CHECK_STR(out, "\\xc3( \\xff \\xed\\xa0\\x80");
	/* room for "ab" and not for the whole of the next character */
	CHECK_EQ_INT(trc_escape(out, 4, "ab\xc3\xa9", 4), 2);
	CHECK_STR(out, "ab");
	CHECK_EQ_INT(trc_escape(out, 5, "a\n", 2), 1);
	CHECK_STR(out, "a");
	CHECK(trc_is_utf8("", 0));
	CHECK(!trc_is_utf8("\xc0\x80", 2)); /* overlong NUL */
}

/* A string's bytes, checked eight at a time while they are ASCII: a NUL
 * or a byte past ASCII at every place of strings from 0 to 24 bytes
 * (both sides of each eight-byte word), a NUL named before bad UTF-8
 * wherever each is, and good UTF-8 taken. */
TEST(strings_at_every_place)
{
	Traction__V1__KeyValue kv = TRACTION__V1__KEY_VALUE__INIT;
	uint8_t buf[128];
	char err[128], s[32];
	const ProtobufCMessageDescriptor *d = &traction__v1__key_value__descriptor;
	kv.key = s;
	for (size_t len = 0; len <= 24; len++) {
		memset(s, 'a', len);
		s[len] = '\0';
		size_t n = traction__v1__key_value__pack(&kv, buf);
		uint8_t *v = len > 0 ? memchr(buf, 'a', n) : NULL;
		CHECK_EQ_INT(trc_wire_check_strings(d, buf, n, err, sizeof(err)), 0);
		for (size_t i = 0; i < len; i++) {
			v[i] = '\0';
			CHECK_EQ_INT(trc_wire_check_strings(d, buf, n, err, sizeof(err)), TRC_EINVAL);
			CHECK_STR(err, "key: contains a NUL byte");
			v[i] = 0xff;
			CHECK_EQ_INT(trc_wire_check_strings(d, buf, n, err, sizeof(err)), TRC_EINVAL);
			CHECK_STR(err, "key: not valid UTF-8");
			for (size_t j = 0; j < len; j++) { /* bad UTF-8 and a NUL: the NUL */
				if (j == i)
					continue;
				v[j] = '\0';
				CHECK_EQ_INT(trc_wire_check_strings(d, buf, n, err, sizeof(err)),
					     TRC_EINVAL);
				CHECK_STR(err, "key: contains a NUL byte");
				v[j] = 'a';
			}
			v[i] = 'a';
		}
		for (size_t i = 0; i + 2 <= len; i++) { /* a two-byte character anywhere */
			v[i] = 0xc3;
			v[i + 1] = 0xa9;
			CHECK_EQ_INT(trc_wire_check_strings(d, buf, n, err, sizeof(err)), 0);
			v[i + 1] = 'a'; /* cut short */
			CHECK_EQ_INT(trc_wire_check_strings(d, buf, n, err, sizeof(err)), TRC_EINVAL);
			v[i] = 'a';
		}
	}
}

/* Strings are checked in the bytes, nested and repeated ones too, and
 * the failure names the field's path. */
TEST(strings_in_the_bytes)
{
	Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT;
	Traction__V1__KeyValue l0 = TRACTION__V1__KEY_VALUE__INIT, l1 = l0, *ls[2] = { &l0, &l1 };
	Traction__V1__PublishRequest p = TRACTION__V1__PUBLISH_REQUEST__INIT;
	Traction__V1__FeedbackRecord *recs[2] = { &r, &r };
	r.scenario_id = (char *)"weld-line-3";
	r.idempotency_key = (char *)"K#a";
	l0.key = (char *)"line";
	l0.value = (char *)"3";
	l1.key = (char *)"shift";
	l1.value = (char *)"ni@ht";
	r.labels = ls;
	r.n_labels = 2;
	p.records = recs;
	p.n_records = 2;
	uint8_t buf[512];
	char err[128];
	size_t n = traction__v1__publish_request__pack(&p, buf);
	CHECK_EQ_INT(trc_wire_check_strings(&traction__v1__publish_request__descriptor, buf, n, err,
					    sizeof(err)),
		     0);
	/* the second record's key holds a NUL */
	uint8_t *hash = memchr(buf, '#', n);
	hash = memchr(hash + 1, '#', n - (size_t)(hash + 1 - buf));
	*hash = '\0';
	CHECK_EQ_INT(trc_wire_check_strings(&traction__v1__publish_request__descriptor, buf, n, err,
					    sizeof(err)),
		     TRC_EINVAL);
	CHECK_STR(err, "records[1].idempotency_key: contains a NUL byte");
	*hash = '#';
	uint8_t *at = memchr(buf, '@', n);
	*at = 0xe2; /* a character cut short */
	CHECK_EQ_INT(trc_wire_check_strings(&traction__v1__publish_request__descriptor, buf, n, err,
					    sizeof(err)),
		     TRC_EINVAL);
	CHECK_STR(err, "records[0].labels[1].value: not valid UTF-8");
	*at = '@';
	/* not protobuf: the decoder's to say */
	CHECK_EQ_INT(trc_wire_check_strings(&traction__v1__publish_request__descriptor, buf, n - 3,
					    err, sizeof(err)),
		     TRC_EPROTO);
	/* bytes fields may hold anything */
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	h.version = 1;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)"s";
	h.method = (char *)"m";
	h.request_id = 300;
	h.client_name = (char *)"abc";
	n = trc_header_pack(&h, buf, sizeof(buf));
	CHECK_EQ_INT(trc_header_request_id(buf, n), 300);
	/* read even where the rest is not a Header of this version */
	buf[1] = 9;
	const char *why;
	CHECK(trc_header_unpack(NULL, buf, n, &why) == NULL);
	CHECK_EQ_INT(trc_header_request_id(buf, n), 300);
	CHECK_EQ_INT(trc_header_request_id(buf, 3), 0);
}

/* A read's memory given back (the service runtime's reads beside the
 * batch): what was allocated after the mark is reused, what came before
 * stays, across blocks too. */
TEST(arena_mark_and_rewind)
{
	trc_arena_t *a = trc_arena_new();
	char *keep = trc_arena_strdup(a, "the batch's write");
	size_t used = trc_arena_used(a);
	for (int round = 0; round < 3; round++) {
		trc_arena_mark_t m = trc_arena_mark(a);
		char *first = trc_arena_alloc(a, 100);
		CHECK(first != NULL);
		for (int i = 0; i < 50; i++) /* past several 64 KiB blocks */
			CHECK(trc_arena_alloc(a, 10000) != NULL);
		CHECK(trc_arena_used(a) > used + 500000);
		trc_arena_rewind(a, m);
		CHECK_EQ_INT(trc_arena_used(a), used);
		CHECK(trc_arena_alloc(a, 100) == first); /* the same memory again */
		trc_arena_rewind(a, m);
	}
	CHECK_STR(keep, "the batch's write");
	trc_arena_destroy(&a);
}

/* The lane reads a request's service and method from its header's bytes,
 * without decoding it. */
TEST(header_names_without_decoding)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	uint8_t buf[TRC_HEADER_MAX];
	char svc[16], method[16];
	h.version = 2;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)"feedback";
	h.method = (char *)"publish";
	h.request_id = 7;
	size_t n = trc_header_pack(&h, buf, sizeof(buf));
	CHECK(trc_header_names(buf, n, svc, sizeof(svc), method, sizeof(method)));
	CHECK_STR(svc, "feedback");
	CHECK_STR(method, "publish");
	/* a name past the room is "", not cut short */
	h.method = (char *)"a-method-name-too-long";
	n = trc_header_pack(&h, buf, sizeof(buf));
	CHECK(trc_header_names(buf, n, svc, sizeof(svc), method, sizeof(method)));
	CHECK_STR(method, "");
	/* no wire data at all */
	CHECK(!trc_header_names(buf, n - 3, svc, sizeof(svc), method, sizeof(method)));
	CHECK(trc_header_names(buf, 0, svc, sizeof(svc), method, sizeof(method)));
	CHECK_STR(svc, "");
}

int main(void)
{
	RUN(header_round_trip_and_checks);
	RUN(arena_mark_and_rewind);
	RUN(header_names_without_decoding);
	RUN(replica_fields);
	RUN(recv_caps_frames);
	RUN(slugs_and_text);
	RUN(error_mappings);
	RUN(escape);
	RUN(strings_at_every_place);
	RUN(strings_in_the_bytes);
	RUN(varints_and_raw_fields);
	RUN(arena_arrays_and_reuse);
	DONE();
}
