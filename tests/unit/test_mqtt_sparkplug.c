/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sparkplug B in traction-mqttd (mqtt/spb.c, a pure function of the node
 * table, the bindings and a message): bindings files, births, seq gaps,
 * aliases, stale deaths, values and names into traction metrics, keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "mqttd.h"
#include "sparkplug_payload.pb-c.h"

typedef Traction__Sparkplug__Payload__Metric metric_t;

/* A payload of up to 4 metrics, packed into b. */
static size_t s_pack(uint8_t *b, int seq, metric_t *ms, size_t n)
{
	Traction__Sparkplug__Payload p = TRACTION__SPARKPLUG__PAYLOAD__INIT;
	metric_t *mp[4];
	for (size_t i = 0; i < n; i++)
		mp[i] = &ms[i];
	p.has_timestamp = true;
	p.timestamp = 1000;
	p.has_seq = seq >= 0;
	p.seq = seq >= 0 ? (uint64_t)seq : 0;
	p.metrics = mp;
	p.n_metrics = n;
	return traction__sparkplug__payload__pack(&p, b);
}

static metric_t s_long(const char *name, uint64_t v)
{
	metric_t m = TRACTION__SPARKPLUG__PAYLOAD__METRIC__INIT;
	m.name = (char *)name;
	m.has_datatype = true;
	m.datatype = 4;
	m.value_case = TRACTION__SPARKPLUG__PAYLOAD__METRIC__VALUE_LONG_VALUE;
	m.long_value = v;
	return m;
}

static metric_t s_int(const char *name, uint64_t alias, uint32_t dt, uint32_t v, uint64_t ts)
{
	metric_t m = TRACTION__SPARKPLUG__PAYLOAD__METRIC__INIT;
	m.name = (char *)name;
	m.has_alias = alias != 0;
	m.alias = alias;
	m.has_datatype = true;
	m.datatype = dt;
	m.has_timestamp = ts != 0;
	m.timestamp = ts;
	m.value_case = TRACTION__SPARKPLUG__PAYLOAD__METRIC__VALUE_INT_VALUE;
	m.int_value = v;
	return m;
}

static int s_msg(mqd_spb_t *s, const char *topic, const uint8_t *b, size_t n, mqd_records_t *rs,
		 mqd_spb_out_t *o)
{
	return mqd_spb_message(s, topic, strlen(topic), b, n, 5000, rs, o);
}

static mqd_spb_t *s_bound(const char *text)
{
	char path[] = "/tmp/trc-spb-XXXXXX", err[300];
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	mqd_spb_t *s = NULL;
	size_t n = 0;
	CHECK(mqd_spb_new(&s) == 0);
	int rc = mqd_spb_load(s, path, &n, err, sizeof(err));
	unlink(path);
	if (rc != 0) {
		mqd_spb_destroy(&s);
		return NULL;
	}
	return s;
}

TEST(bindings)
{
	mqd_spb_t *s = s_bound("; a comment\n\nplant 7/edge 1 = weld-line-3 defect-vision@1.0\n"
			       "plant 7/edge 1/cam = paint defect-vision@2.0\n");
	CHECK(s != NULL);
	mqd_spb_destroy(&s);
	static const char *const bad[] = { "g = a b@1\n", "g/e/d/x = a b@1\n", "g/e = a\n",
					   "g/e = a b\n", "g/e = a b@1\ng/e = a b@2\n",
					   "g/e+ = a b@1\n", "g/e = a! b@1\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(s_bound(bad[i]) == NULL, "accepted: %s", bad[i]);
}

TEST(births_gaps_aliases)
{
	mqd_spb_t *s = s_bound("g/e = weld-line-3 defect-vision@1.0\n");
	uint8_t b[512];
	mqd_records_t rs;
	mqd_spb_out_t o;
	metric_t birth[3] = { s_long("bdSeq", 7), s_int("Line/Count", 1, 3, (uint32_t)-3, 900),
			      s_int("Node Control/Rebirth", 0, 11, 0, 0) };
	birth[2].value_case = TRACTION__SPARKPLUG__PAYLOAD__METRIC__VALUE_BOOLEAN_VALUE;
	CHECK_EQ_INT(s_msg(s, "spBv1.0/g/NBIRTH/e", b, s_pack(b, 0, birth, 3), &rs, &o), 0);
	CHECK(rs.n == 1 && rs.v[0].metric->value == -3 && rs.v[0].observed_at_ms == 900);
	CHECK_STR(rs.v[0].metric->name, "Line.Count");
	CHECK_STR(rs.v[0].idempotency_key, "spb/g/e/7/900/Line/Count");
	CHECK_STR(rs.v[0].scenario_id, "weld-line-3");
	CHECK(!o.rebirth && strcmp(o.event, "born") == 0);
	mqd_records_free(&rs);
	/* by alias, the next seq; then a gap */
	metric_t d = s_int(NULL, 1, 7, 4000000000u, 0);
	CHECK_EQ_INT(s_msg(s, "spBv1.0/g/NDATA/e", b, s_pack(b, 1, &d, 1), &rs, &o), 0);
	CHECK(rs.n == 1 && rs.v[0].metric->value == 4e9 && rs.v[0].observed_at_ms == 1000);
	CHECK(!o.rebirth);
	mqd_records_free(&rs);
	CHECK_EQ_INT(s_msg(s, "spBv1.0/g/NDATA/e", b, s_pack(b, 3, &d, 1), &rs, &o), 0);
	CHECK(o.rebirth && rs.n == 1);
	CHECK_STR(o.gap, "seq 3 after 1");
	mqd_records_free(&rs);
	/* asked once: the next gap within 5 s asks nothing more */
	CHECK_EQ_INT(s_msg(s, "spBv1.0/g/NDATA/e", b, s_pack(b, 9, &d, 1), &rs, &o), 0);
	CHECK(!o.rebirth);
	mqd_records_free(&rs);
	/* an alias never born */
	metric_t u = s_int(NULL, 99, 7, 1, 0);
	CHECK_EQ_INT(s_msg(s, "spBv1.0/g/NDATA/e", b, s_pack(b, 10, &u, 1), &rs, &o), 0);
	CHECK(rs.n == 0);
	mqd_records_free(&rs);
	/* a stale death (another bdSeq) is ignored, its own kills the node */
	metric_t old = s_long("bdSeq", 6), own = s_long("bdSeq", 7);
	CHECK_EQ_INT(s_msg(s, "spBv1.0/g/NDEATH/e", b, s_pack(b, -1, &old, 1), &rs, &o), 0);
	CHECK(strstr(o.event, "stale") != NULL);
	CHECK_EQ_INT(s_msg(s, "spBv1.0/g/NDEATH/e", b, s_pack(b, -1, &own, 1), &rs, &o), 0);
	CHECK_STR(o.event, "dead");
	CHECK_EQ_INT(s_msg(s, "spBv1.0/g/NDATA/e", b, s_pack(b, 11, &d, 1), &rs, &o), 0);
	CHECK(rs.n == 0 && o.rebirth);
	mqd_spb_destroy(&s);
}

TEST(refusals)
{
	mqd_spb_t *s = s_bound("g/e = weld-line-3 defect-vision@1.0\n");
	uint8_t b[512];
	mqd_records_t rs;
	mqd_spb_out_t o;
	metric_t bd = s_long("bdSeq", 1);
	size_t n = s_pack(b, 0, &bd, 1);
	static const char *const topics[] = { "spBv1.0/g/NBIRTH", "spBv1.0/g/NBIRTH/e/x",
					      "spBv1.0/g/DDATA/e", "spBv1.0/g/NBIRTH/e+",
					      "spBv1.0/g/NCMD/e", "spBv1.0/STATE/x", "spBv1.0//NBIRTH/e",
					      "spBv1.0", "x", "" };
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		CHECK_MSG(s_msg(s, topics[i], b, n, &rs, &o) != 0, "accepted: %s", topics[i]);
		CHECK(rs.reason >= 0x80);
	}
	CHECK(s_msg(s, "spBv1.0/g/NBIRTH/other", b, n, &rs, &o) != 0);
	CHECK(strstr(rs.err, "bound") != NULL);
	CHECK(s_msg(s, "spBv1.0/g/NBIRTH/e", (const uint8_t *)"\xff\xff", 2, &rs, &o) != 0);
	CHECK_EQ_INT(rs.reason, MQ_RC_PAYLOAD_INVALID);
	metric_t none = s_int("x", 0, 7, 1, 0);
	CHECK(s_msg(s, "spBv1.0/g/NBIRTH/e", b, s_pack(b, 0, &none, 1), &rs, &o) != 0);
	CHECK(strstr(rs.err, "bdSeq") != NULL);
	/* a long name: the key becomes its hash */
	char name[200];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	metric_t birth[2] = { bd, s_int(name, 0, 7, 1, 0) };
	CHECK_EQ_INT(s_msg(s, "spBv1.0/g/NBIRTH/e", b, s_pack(b, 0, birth, 2), &rs, &o), 0);
	CHECK(rs.n == 0 && o.skipped == 1); /* longer than a traction metric name */
	mqd_records_free(&rs);
	uint8_t r[128];
	size_t rn = mqd_spb_rebirth(r, sizeof(r), 42);
	Traction__Sparkplug__Payload *p = traction__sparkplug__payload__unpack(NULL, rn, r);
	CHECK(p != NULL && p->n_metrics == 1 && p->metrics[0]->boolean_value);
	CHECK_STR(p->metrics[0]->name, "Node Control/Rebirth");
	traction__sparkplug__payload__free_unpacked(p, NULL);
	mqd_spb_destroy(&s);
}

int main(void)
{
	RUN(bindings);
	RUN(births_gaps_aliases);
	RUN(refusals);
	DONE();
}
