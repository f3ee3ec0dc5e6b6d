/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store keys (lib/dbkey.h): the builder writes the bytes the stores have
 * always held (each daemon's layouts, byte for byte), refuses a key past
 * LMDB's 511 bytes with a sticky overflow, and the splitter walks stored
 * keys back into their parts, refusing a part that is not there.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "dbkey.h"

/* k holds exactly the n bytes of want. */
#define CHECK_KEY(k, want, n) \
	CHECK_MSG((k)->len == (n) && memcmp((k)->buf, (want), (n)) == 0, "key of %zu bytes", \
		  (k)->len)

static void s_fill(char *s, size_t n)
{
	memset(s, 'x', n);
	s[n] = '\0';
}

TEST(string_parts_are_separated_not_terminated)
{
	trc_dbkey_t k;
	CHECK(trc_dbkey_of(&k, "defect-vision", "1.2"));
	CHECK_KEY(&k, "defect-vision\0" "1.2", 17);
	CHECK(trc_dbkey_of(&k, "a"));
	CHECK_KEY(&k, "a", 1);
	/* empty parts keep their separators: (s, "", "") is a roll-up key */
	CHECK(trc_dbkey_of(&k, "s", "", ""));
	CHECK_KEY(&k, "s\0\0", 3);
	CHECK(trc_dbkey_of(&k, ""));
	CHECK_EQ_INT(k.len, 0);
	/* of() starts afresh */
	trc_dbkey_str(&k, "zzz");
	trc_dbkey_of(&k, "a", "b", "c");
	CHECK_KEY(&k, "a\0b\0c", 5);
}

TEST(numbers_and_bytes_follow_the_separator)
{
	trc_dbkey_t k;
	/* exampled's notes: supply, be64 seq */
	trc_dbkey_init(&k);
	trc_dbkey_str(&k, "sup");
	CHECK(trc_dbkey_be64(&k, 0x0102030405060708ull));
	CHECK_KEY(&k, "sup\0\x01\x02\x03\x04\x05\x06\x07\x08", 12);
	/* feedbackd's trend rows: s, v, sc, metric, u8 granularity, be64 start */
	CHECK(trc_dbkey_of(&k, "s", "v", "", "m"));
	trc_dbkey_u8(&k, 2);
	trc_dbkey_be64(&k, 3600000);
	CHECK_KEY(&k, "s\0v\0\0m\0\x02\0\0\0\0\0\x36\xee\x80", 16);
	/* a record id alone; then raw bytes need no separator either */
	trc_dbkey_init(&k);
	trc_dbkey_be64(&k, 7);
	trc_dbkey_raw(&k, "ab", 2);
	trc_dbkey_u8(&k, 'c');
	CHECK_KEY(&k, "\0\0\0\0\0\0\0\x07" "abc", 11);
	/* strn takes a part's bytes without a NUL of their own */
	trc_dbkey_init(&k);
	trc_dbkey_strn(&k, "abcdef", 2);
	trc_dbkey_strn(&k, "cdef", 1);
	CHECK_KEY(&k, "ab\0c", 4);
}

TEST(bounds_of_a_range)
{
	trc_dbkey_t k;
	/* strictly after a cursor: "cursor\0" */
	trc_dbkey_of(&k, "prov", "sup-1");
	CHECK(trc_dbkey_sep(&k));
	CHECK_KEY(&k, "prov\0sup-1\0", 11);
	/* the keys "prefix\0..." end before "prefix\1" */
	trc_dbkey_of(&k, "prov");
	CHECK(trc_dbkey_past(&k));
	CHECK_KEY(&k, "prov\x01", 5);
	/* after a number, sep and past append their byte */
	trc_dbkey_init(&k);
	trc_dbkey_be64(&k, 1);
	trc_dbkey_sep(&k);
	CHECK_KEY(&k, "\0\0\0\0\0\0\0\x01\0", 9);
	trc_dbkey_init(&k);
	trc_dbkey_be64(&k, 1);
	trc_dbkey_past(&k);
	CHECK_KEY(&k, "\0\0\0\0\0\0\0\x01\x01", 9);
	/* (prefix, "") then sep: the lower bound "prefix\0\0" */
	trc_dbkey_of(&k, "p", "");
	trc_dbkey_sep(&k);
	CHECK_KEY(&k, "p\0\0", 3);
}

TEST(overflow_is_sticky_and_empties_the_key)
{
	static char big[TRC_DBKEY_MAX + 2];
	trc_dbkey_t k;
	/* 511 bytes fit exactly */
	s_fill(big, TRC_DBKEY_MAX);
	trc_dbkey_init(&k);
	CHECK(trc_dbkey_str(&k, big));
	CHECK(trc_dbkey_ok(&k));
	CHECK_EQ_INT(k.len, TRC_DBKEY_MAX);
	/* the separator a further part owes does not */
	CHECK(!trc_dbkey_str(&k, ""));
	CHECK(!trc_dbkey_ok(&k));
	CHECK_EQ_INT(k.len, 0); /* LMDB refuses an empty key: no other record is named */
	CHECK(!trc_dbkey_u8(&k, 1)); /* sticky */
	CHECK(!trc_dbkey_sep(&k));
	CHECK(!trc_dbkey_past(&k));
	CHECK_EQ_INT(k.len, 0);
	/* 512 bytes in one part */
	s_fill(big, TRC_DBKEY_MAX + 1);
	trc_dbkey_init(&k);
	CHECK(trc_dbkey_ok(&k));
	CHECK(!trc_dbkey_str(&k, big));
	CHECK(!trc_dbkey_ok(&k));
	/* a number at the edge: 503 + 8 fits, 503 + separator + 8 does not */
	s_fill(big, TRC_DBKEY_MAX - 8);
	trc_dbkey_init(&k);
	trc_dbkey_raw(&k, big, TRC_DBKEY_MAX - 8);
	CHECK(trc_dbkey_be64(&k, 1));
	CHECK_EQ_INT(k.len, TRC_DBKEY_MAX);
	trc_dbkey_init(&k);
	trc_dbkey_str(&k, big);
	CHECK(!trc_dbkey_be64(&k, 1));
	/* of() says so, and sep after a full key */
	s_fill(big, 300);
	CHECK(!trc_dbkey_of(&k, big, big));
	CHECK(!trc_dbkey_ok(&k));
	s_fill(big, TRC_DBKEY_MAX);
	trc_dbkey_of(&k, big);
	CHECK(!trc_dbkey_sep(&k));
	/* a huge raw length does not wrap around */
	trc_dbkey_init(&k);
	trc_dbkey_u8(&k, 1);
	CHECK(!trc_dbkey_raw(&k, big, SIZE_MAX));
}

TEST(split_walks_the_parts_back)
{
	trc_dbsplit_t sp;
	size_t n;
	const char *p;
	/* (capability, supply) */
	trc_dbsplit_bytes(&sp, "cap\0sup-1", 9);
	p = trc_dbsplit_str(&sp, &n);
	CHECK(n == 3 && memcmp(p, "cap", 3) == 0);
	CHECK(!trc_dbsplit_done(&sp));
	p = trc_dbsplit_str(&sp, &n);
	CHECK(n == 5 && memcmp(p, "sup-1", 5) == 0);
	CHECK(trc_dbsplit_done(&sp));
	/* (s, v, "") : a part may be empty, even the last */
	char s[8], v[8], sc[8];
	trc_dbsplit_bytes(&sp, "s\0v\0", 4);
	CHECK(trc_dbsplit_cstr(&sp, s, sizeof(s)));
	CHECK(trc_dbsplit_cstr(&sp, v, sizeof(v)));
	CHECK(!trc_dbsplit_done(&sp)); /* an empty part is still to read */
	CHECK(trc_dbsplit_cstr(&sp, sc, sizeof(sc)));
	CHECK_STR(s, "s");
	CHECK_STR(v, "v");
	CHECK_STR(sc, "");
	CHECK(trc_dbsplit_done(&sp));
	/* (deployment, be64 n) through an MDB_val */
	MDB_val key = { 12, (void *)"d-1\0\0\0\0\0\0\0\x01\x02" };
	trc_dbsplit_init(&sp, &key);
	trc_dbsplit_str(&sp, &n);
	CHECK(trc_dbsplit_be64(&sp) == 0x0102);
	CHECK(trc_dbsplit_done(&sp));
	/* u8 */
	trc_dbsplit_bytes(&sp, "m\0\x02", 3);
	trc_dbsplit_str(&sp, &n);
	CHECK_EQ_INT(trc_dbsplit_u8(&sp), 2);
	CHECK(trc_dbsplit_done(&sp));
}

TEST(split_refuses_what_is_not_there)
{
	trc_dbsplit_t sp;
	size_t n = 99;
	char out[4];
	/* one part where two are read */
	trc_dbsplit_bytes(&sp, "abc", 3);
	trc_dbsplit_str(&sp, &n);
	CHECK(trc_dbsplit_done(&sp));
	const char *p = trc_dbsplit_str(&sp, &n);
	CHECK(p != NULL && n == 0 && !trc_dbsplit_ok(&sp) && !trc_dbsplit_done(&sp));
	/* bad is sticky: nothing reads after it */
	CHECK(trc_dbsplit_be64(&sp) == 0);
	CHECK(trc_dbsplit_u8(&sp) == 0);
	/* a number cut short */
	trc_dbsplit_bytes(&sp, "id\0\0\0\0\0\0\0\x07", 9);
	trc_dbsplit_str(&sp, &n);
	CHECK(trc_dbsplit_be64(&sp) == 0);
	CHECK(!trc_dbsplit_ok(&sp));
	/* a number where a key ends */
	trc_dbsplit_bytes(&sp, "id", 2);
	trc_dbsplit_str(&sp, &n);
	CHECK(trc_dbsplit_be64(&sp) == 0 && !trc_dbsplit_ok(&sp));
	/* more than the parts read: not done */
	trc_dbsplit_bytes(&sp, "a\0b\0c", 5);
	trc_dbsplit_str(&sp, &n);
	trc_dbsplit_str(&sp, &n);
	CHECK(trc_dbsplit_ok(&sp) && !trc_dbsplit_done(&sp));
	/* a part too long for the caller's buffer */
	trc_dbsplit_bytes(&sp, "abcd\0e", 6);
	CHECK(!trc_dbsplit_cstr(&sp, out, sizeof(out)));
	CHECK_STR(out, "");
	CHECK(!trc_dbsplit_ok(&sp));
	trc_dbsplit_bytes(&sp, "abc\0e", 5);
	CHECK(trc_dbsplit_cstr(&sp, out, sizeof(out)));
	CHECK_STR(out, "abc");
	/* an empty key has no part at all; nor has a NULL one */
	trc_dbsplit_bytes(&sp, "", 0);
	CHECK(trc_dbsplit_done(&sp));
	trc_dbsplit_str(&sp, &n);
	CHECK(!trc_dbsplit_ok(&sp));
	MDB_val none = { 0, NULL };
	trc_dbsplit_init(&sp, &none);
	trc_dbsplit_str(&sp, &n);
	CHECK(!trc_dbsplit_ok(&sp) && n == 0);
}

TEST(built_keys_split_back)
{
	static const char *const parts[] = { "", "a", "supply-7", "x.y_z", "" };
	char big[TRC_DBKEY_MAX + 1];
	for (size_t i = 0; i < 5; i++) {
		for (size_t j = 0; j < 5; j++) {
			trc_dbkey_t k;
			trc_dbkey_of(&k, parts[i], parts[j]);
			trc_dbkey_be64(&k, i * 1000 + j);
			trc_dbsplit_t sp;
			trc_dbsplit_bytes(&sp, k.buf, k.len);
			char a[16], b[16];
			CHECK(trc_dbsplit_cstr(&sp, a, sizeof(a)));
			CHECK(trc_dbsplit_cstr(&sp, b, sizeof(b)));
			CHECK_STR(a, parts[i]);
			CHECK_STR(b, parts[j]);
			CHECK(trc_dbsplit_be64(&sp) == i * 1000 + j);
			CHECK(trc_dbsplit_done(&sp));
		}
	}
	/* the longest key splits back whole */
	trc_dbkey_t k;
	s_fill(big, TRC_DBKEY_MAX - 2);
	CHECK(trc_dbkey_of(&k, "a", big));
	trc_dbsplit_t sp;
	trc_dbsplit_bytes(&sp, k.buf, k.len);
	CHECK(trc_dbsplit_cstr(&sp, big, 2));
	CHECK(trc_dbsplit_cstr(&sp, big, sizeof(big)));
	CHECK_EQ_INT(strlen(big), TRC_DBKEY_MAX - 2);
	CHECK(trc_dbsplit_done(&sp));
}

int main(void)
{
	RUN(string_parts_are_separated_not_terminated);
	RUN(numbers_and_bytes_follow_the_separator);
	RUN(bounds_of_a_range);
	RUN(overflow_is_sticky_and_empties_the_key);
	RUN(split_walks_the_parts_back);
	RUN(split_refuses_what_is_not_there);
	RUN(built_keys_split_back);
	DONE();
}
