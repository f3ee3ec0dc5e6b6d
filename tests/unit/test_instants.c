/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Times for people (lib/pbjson.c): every field of the wire named *_ms is
 * an instant, printed as ISO 8601 UTC in the human form, or one of the
 * durations pbjson knows, printed as a number. A new *_ms field that is a
 * duration and not in that list would print as a date: this walks every
 * message of proto/'s service blocks and says which.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "blocks.h"
#include "check.h"
#include "jsonl.h"
#include "pbjson.h"
#include "traction/v1/supply.pb-c.h"

/* Every *_ms field of d and of the messages it holds: a uint32 one is a
 * duration (it cannot hold a time since the epoch); an int64 one an
 * instant unless pbjson lists it. n counts them. */
static void s_walk(const ProtobufCMessageDescriptor *d, const ProtobufCMessageDescriptor **seen,
		   size_t *nseen, int *n)
{
	for (size_t i = 0; i < *nseen; i++)
		if (seen[i] == d)
			return;
	CHECK(*nseen < 512);
	seen[(*nseen)++] = d;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			s_walk(f->descriptor, seen, nseen, n);
			continue;
		}
		size_t len = strlen(f->name);
		if (len < 3 || strcmp(f->name + len - 3, "_ms") != 0)
			continue;
		(*n)++;
		if (f->type == PROTOBUF_C_TYPE_UINT32)
			CHECK_MSG(!pbjson_is_instant(f->name),
				  "%s.%s is a uint32, a duration, but pbjson prints it as a time", d->name,
				  f->name);
		else
			CHECK_MSG(f->type == PROTOBUF_C_TYPE_INT64, "%s.%s: an _ms field of another type",
				  d->name, f->name);
	}
}

TEST(every_ms_field_is_an_instant_or_a_known_duration)
{
	static const ProtobufCMessageDescriptor *seen[512];
	size_t nseen = 0;
	int n = 0;
	for (size_t b = 0; b < trc_n_blocks; b++)
		for (unsigned m = 0; m < trc_blocks[b]->n_methods; m++) {
			s_walk(trc_blocks[b]->methods[m].input, seen, &nseen, &n);
			s_walk(trc_blocks[b]->methods[m].output, seen, &nseen, &n);
		}
	CHECK(n > 30);
	/* the durations of the wire's int64 fields, and instants */
	CHECK(!pbjson_is_instant("uptime_ms"));
	CHECK(!pbjson_is_instant("idle_ms"));
	CHECK(pbjson_is_instant("created_ms"));
	CHECK(pbjson_is_instant("observed_at_ms"));
	CHECK(!pbjson_is_instant("name"));
}

TEST(iso_8601_utc_to_the_millisecond)
{
	char buf[40];
	CHECK_STR(pbjson_time(1796283929894, buf, sizeof(buf)), "2026-12-03T07:45:29.894Z");
	CHECK_STR(pbjson_time(1000, buf, sizeof(buf)), "1970-01-01T00:00:01.000Z");
	CHECK_STR(pbjson_time(0, buf, sizeof(buf)), "-");
	/* what is printed reads back as itself (--from, --observed-at) */
	for (int64_t ms = 1796283929000; ms < 1796283930000; ms += 7) {
		int64_t back = 0;
		CHECK(trc_time_parse(pbjson_time(ms, buf, sizeof(buf)), &back) == 0);
		CHECK_MSG(back == ms, "%s read back as %lld, not %lld", buf, (long long)back,
			  (long long)ms);
	}
	/* a fraction is digits, any number of them, and nothing else (the
	 * fuzzer's ".5e25700" was inf, then undefined as a long) */
	int64_t t = 0;
	CHECK(trc_time_parse("2026-11-28T10:15:00.123456789Z", &t) == 0);
	CHECK_EQ_INT(t % 1000, 123);
	CHECK(trc_time_parse("2026-11-28T10:15:00.5e25700Z", &t) == -1);
	CHECK(trc_time_parse("2026-11-28T10:15:00.5e2Z", &t) == -1);
	CHECK(trc_time_parse("2026-11-28T10:15:00.Z", &t) == -1);
	CHECK(trc_time_parse("2026-11-28T10:15:00.-5Z", &t) == -1);
}

/* The human form of a reply: the instant as a time, its key without _ms;
 * JSON keeps the number. */
TEST(human_form_prints_times)
{
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	s.id = (char *)"vision";
	s.created_ms = 1796283929894;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	CHECK(f != NULL);
	FILE *saved = stdout;
	stdout = f;
	pbjson_print_human(&s.base, 0);
	stdout = saved;
	fclose(f);
	CHECK_CONTAINS(out, "created: 2026-12-03T07:45:29.894Z\n");
	CHECK(strstr(out, "1796283929894") == NULL);
	free(out);
	json_t *j = pbjson_from_message(&s.base);
	CHECK(json_integer_value(json_object_get(j, "created_ms")) == 1796283929894);
	json_decref(j);
}

int main(void)
{
	RUN(every_ms_field_is_an_instant_or_a_known_duration);
	RUN(iso_8601_utc_to_the_millisecond);
	RUN(human_form_prints_times);
	DONE();
}
