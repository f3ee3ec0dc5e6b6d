/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sparkplug B (docs/mqtt.md, "Sparkplug B"): what the messages of an edge
 * node on spBv1.0/GROUP/TYPE/EDGE[/DEVICE] do to traction-mqttd's picture
 * of that node, and which feedback records their metrics become. A pure
 * function of the node table, the bindings and the message: no bus, no
 * sockets; the caller sends the records and, when asked, the rebirth
 * request (NCMD) to the node.
 *
 * A node is born by its NBIRTH (its bdSeq, seq 0, the aliases of its
 * metrics), dies by its NDEATH (the MQTT will its connection left, with
 * the same bdSeq: an older bdSeq's NDEATH is stale and ignored). Every
 * message after NBIRTH carries seq one more than the last, modulo 256: a
 * gap, a message from a node not born (traction-mqttd restarted, say) or
 * an alias never born asks for a rebirth. Metrics of a node or device
 * are feedback of the deployment it is bound to (the bindings file), at
 * the metric's timestamp, under a key made of the node, device, bdSeq,
 * timestamp and metric name: the same measurement sent twice (a bridge,
 * a resend) is stored once.
 */
#include "mqttd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uthash.h>

#include "sparkplug_payload.pb-c.h"
#include "util.h"

#define PREFIX "spBv1.0/"
#define REBIRTH_AGAIN_MS 5000 /* a rebirth not come: asked again after this */

typedef Traction__Sparkplug__Payload spb_payload_t;
typedef Traction__Sparkplug__Payload__Metric spb_metric_t;

typedef struct {
	uint64_t alias;
	char *name;
	UT_hash_handle hh;
} spb_alias_t;

typedef struct {
	char id[MQD_SPB_ID_MAX * 2 + 2]; /* GROUP/EDGE */
	bool born;
	int64_t bd_seq;
	unsigned seq;
	int64_t rebirth_ms;              /* when a rebirth was last asked; 0: none */
	spb_alias_t *aliases;
	UT_hash_handle hh;
} spb_node_t;

typedef struct {
	char id[MQD_SPB_ID_MAX * 3 + 3]; /* GROUP/EDGE or GROUP/EDGE/DEVICE */
	char scenario[TRC_SLUG_MAX + 1], supply[TRC_SLUG_MAX + 1], version[TRC_SLUG_MAX + 1];
	UT_hash_handle hh;
} spb_bind_t;

struct mqd_spb {
	spb_node_t *nodes;
	spb_bind_t *binds;
};

int mqd_spb_new(mqd_spb_t **spb_p)
{
	*spb_p = calloc(1, sizeof(**spb_p));
	return *spb_p != NULL ? 0 : -1;
}

static void s_aliases_free(spb_node_t *n)
{
	spb_alias_t *a, *tmp;
	HASH_ITER(hh, n->aliases, a, tmp) {
		HASH_DEL(n->aliases, a);
		free(a->name);
		free(a);
	}
}

static void s_binds_free(spb_bind_t **binds)
{
	spb_bind_t *b, *tmp;
	HASH_ITER(hh, *binds, b, tmp) {
		HASH_DEL(*binds, b);
		free(b);
	}
}

void mqd_spb_destroy(mqd_spb_t **spb_p)
{
	mqd_spb_t *s = *spb_p;
	if (s == NULL)
		return;
	spb_node_t *n, *tmp;
	HASH_ITER(hh, s->nodes, n, tmp) {
		HASH_DEL(s->nodes, n);
		s_aliases_free(n);
		free(n);
	}
	s_binds_free(&s->binds);
	free(s);
	*spb_p = NULL;
}

/* ---- the bindings file ------------------------------------------------------------- */

/* An id of a topic level: 1..MQD_SPB_ID_MAX bytes of UTF-8 without / + #. */
static bool s_id_ok(const char *p, size_t n)
{
	return n > 0 && n <= MQD_SPB_ID_MAX && trc_is_utf8(p, n) && memchr(p, '/', n) == NULL &&
	       memchr(p, '+', n) == NULL && memchr(p, '#', n) == NULL && memchr(p, '\0', n) == NULL;
}

/* "GROUP/EDGE[/DEVICE] = SCENARIO SUPPLY@VERSION" into b; NULL or why not. */
static const char *s_bind_line(char *line, spb_bind_t *b)
{
	char *eq = strrchr(line, '=');
	if (eq == NULL)
		return "expected GROUP/EDGE_NODE[/DEVICE] = SCENARIO SUPPLY@VERSION";
	*eq = '\0';
	char *id = trc_trim(line), *rhs = trc_trim(eq + 1);
	int levels = 0;
	for (const char *p = id;; levels++) {
		const char *sl = strchr(p, '/');
		size_t n = sl != NULL ? (size_t)(sl - p) : strlen(p);
		if (!s_id_ok(p, n))
			return "GROUP, EDGE_NODE and DEVICE: 1 to 64 bytes of UTF-8 without / + #";
		if (sl == NULL)
			break;
		p = sl + 1;
	}
	if (levels < 1 || levels > 2 || strlen(id) >= sizeof(b->id))
		return "expected GROUP/EDGE_NODE or GROUP/EDGE_NODE/DEVICE before =";
	char *sp = strchr(rhs, ' '), *at = strrchr(rhs, '@');
	if (sp == NULL || at == NULL || at < sp)
		return "expected SCENARIO SUPPLY@VERSION after =";
	*sp = *at = '\0';
	char *supply = trc_trim(sp + 1);
	if (!trc_is_slug(rhs) || !trc_is_slug(supply) || !trc_is_slug(at + 1))
		return "SCENARIO, SUPPLY and VERSION: ids (letters, digits, . _ -)";
	snprintf(b->id, sizeof(b->id), "%s", id);
	snprintf(b->scenario, sizeof(b->scenario), "%s", rhs);
	snprintf(b->supply, sizeof(b->supply), "%s", supply);
	snprintf(b->version, sizeof(b->version), "%s", at + 1);
	return NULL;
}

int mqd_spb_load(mqd_spb_t *s, const char *path, size_t *count, char *err, size_t errlen)
{
	spb_bind_t *binds = NULL;
	*count = 0;
	if (path[0] != '\0') {
		FILE *f = fopen(path, "r");
		if (f == NULL)
			return trc_errf(-1, err, errlen, "%s: %s", path, strerror(errno));
		char line[1024];
		unsigned no = 0;
		while (fgets(line, sizeof(line), f) != NULL) {
			no++;
			char *t = trc_trim(line);
			if (t[0] == '\0' || t[0] == ';' || t[0] == '#')
				continue;
			spb_bind_t *b = calloc(1, sizeof(*b)), *old = NULL;
			const char *why = b == NULL ? "out of memory" : s_bind_line(t, b);
			if (why == NULL)
				HASH_FIND_STR(binds, b->id, old);
			if (why == NULL && old != NULL)
				why = "this node or device is bound twice";
			if (why != NULL) {
				free(b);
				fclose(f);
				s_binds_free(&binds);
				return trc_errf(-1, err, errlen, "%s:%u: %s", path, no, why);
			}
			HASH_ADD_STR(binds, id, b);
			(*count)++;
		}
		fclose(f);
	}
	s_binds_free(&s->binds);
	s->binds = binds;
	return 0;
}

/* ---- the topic ----------------------------------------------------------------------- */

typedef struct {
	char group[MQD_SPB_ID_MAX + 1], type[8], edge[MQD_SPB_ID_MAX + 1];
	char device[MQD_SPB_ID_MAX + 1]; /* "" for the node's own messages */
} spb_topic_t;

bool mqd_spb_is_topic(const char *topic, size_t n)
{
	return n >= strlen(PREFIX) && memcmp(topic, PREFIX, strlen(PREFIX)) == 0;
}

static int s_topic(const char *t, size_t n, spb_topic_t *tp)
{
	char *parts[4] = { tp->group, tp->type, tp->edge, tp->device };
	size_t caps[4] = { sizeof(tp->group), sizeof(tp->type), sizeof(tp->edge), sizeof(tp->device) };
	memset(tp, 0, sizeof(*tp));
	if (!mqd_spb_is_topic(t, n))
		return -1;
	const char *p = t + strlen(PREFIX), *end = t + n;
	int k = 0;
	for (; k < 4; k++) {
		const char *sl = memchr(p, '/', (size_t)(end - p));
		size_t len = (size_t)((sl != NULL ? sl : end) - p);
		if (!s_id_ok(p, len) || len >= caps[k])
			return -1;
		memcpy(parts[k], p, len);
		if (sl == NULL)
			break;
		p = sl + 1;
	}
	if (k == 4 || k < 2)
		return -1;
	bool dev = tp->type[0] == 'D';
	return (dev && k == 3) || (!dev && k == 2) ? 0 : -1;
}

int mqd_spb_node_of(const char *topic, size_t n, const char *type, char *node, size_t cap)
{
	spb_topic_t tp;
	if (!mqd_spb_is_topic(topic, n) || s_topic(topic, n, &tp) != 0 || strcmp(tp.type, type) != 0)
		return -1;
	return snprintf(node, cap, "%s/%s", tp.group, tp.edge) < (int)cap ? 0 : -1;
}

/* ---- metrics into records ----------------------------------------------------------- */

/* The metric's value as a number, if it has one traction keeps. */
static bool s_value(const spb_metric_t *m, double *v)
{
	if (m->has_is_null && m->is_null)
		return false;
	uint32_t dt = m->has_datatype ? m->datatype : 0;
	switch (m->value_case) {
	case TRACTION__SPARKPLUG__PAYLOAD__METRIC__VALUE_INT_VALUE:
		*v = dt == 1 ? (double)(int8_t)m->int_value
		   : dt == 2 ? (double)(int16_t)m->int_value
		   : dt == 3 ? (double)(int32_t)m->int_value : (double)m->int_value;
		return true;
	case TRACTION__SPARKPLUG__PAYLOAD__METRIC__VALUE_LONG_VALUE:
		if (dt == 13) /* DateTime: a time, not a measurement */
			return false;
		*v = dt == 4 ? (double)(int64_t)m->long_value : (double)m->long_value;
		return true;
	case TRACTION__SPARKPLUG__PAYLOAD__METRIC__VALUE_FLOAT_VALUE:
		*v = m->float_value;
		return isfinite(*v);
	case TRACTION__SPARKPLUG__PAYLOAD__METRIC__VALUE_DOUBLE_VALUE:
		*v = m->double_value;
		return isfinite(*v);
	case TRACTION__SPARKPLUG__PAYLOAD__METRIC__VALUE_BOOLEAN_VALUE:
		*v = m->boolean_value ? 1 : 0;
		return true;
	default:
		return false;
	}
}

/* A Sparkplug name as a traction metric name: '/' becomes '.', any other
 * byte outside [A-Za-z0-9._-] '_', leading ones dropped. */
static bool s_slug(const char *name, char out[TRC_SLUG_MAX + 1])
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		unsigned char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '-';
		char r = ok ? (char)c : c == '/' ? '.' : '_';
		if (o == 0 && !((r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')))
			continue;
		if (o == TRC_SLUG_MAX)
			return false;
		out[o++] = r;
	}
	out[o] = '\0';
	return o > 0;
}

/* The idempotency key: readable while it fits, else its SHA-256. */
static char *s_key(const spb_topic_t *tp, int64_t bd_seq, int64_t ts, const char *name)
{
	char full[1024], hex[crypto_hash_sha256_BYTES * 2 + 1];
	int n = snprintf(full, sizeof(full), "spb/%s/%s%s%s/%lld/%lld/%s", tp->group, tp->edge,
			 tp->device[0] ? "/" : "", tp->device, (long long)bd_seq, (long long)ts, name);
	if (n > 0 && (size_t)n <= MQD_SPB_KEY_MAX)
		return strdup(full);
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)full, strlen(full));
	trc_hex(hex, h, sizeof(h));
	char key[8 + sizeof(hex)];
	snprintf(key, sizeof(key), "spb/h/%s", hex);
	return strdup(key);
}

static Traction__V1__KeyValue *s_label(const char *k, const char *v)
{
	Traction__V1__KeyValue *kv = malloc(sizeof(*kv));
	if (kv == NULL)
		return NULL;
	traction__v1__key_value__init(kv);
	kv->key = strdup(k);
	kv->value = strdup(v);
	return kv;
}

/* One record of metric name = v into rs->v[rs->n]. */
static int s_record(mqd_records_t *rs, const spb_bind_t *b, const spb_topic_t *tp,
		    const char *slug, double v, int64_t ts, char *key)
{
	Traction__V1__FeedbackRecord *r = &rs->v[rs->n++];
	traction__v1__feedback_record__init(r);
	Traction__V1__Metric *m = malloc(sizeof(*m));
	r->labels = calloc(2, sizeof(*r->labels));
	if (m != NULL)
		traction__v1__metric__init(m);
	r->metric = m;
	r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r->idempotency_key = key;
	r->scenario_id = strdup(b->scenario);
	r->supply_id = strdup(b->supply);
	r->version = strdup(b->version);
	r->observed_at_ms = ts;
	char node[MQD_SPB_ID_MAX * 2 + 2];
	snprintf(node, sizeof(node), "%s/%s", tp->group, tp->edge);
	if (r->labels != NULL) {
		r->labels[r->n_labels++] = s_label("sparkplug_edge_node", node);
		if (tp->device[0] != '\0')
			r->labels[r->n_labels++] = s_label("sparkplug_device", tp->device);
	}
	if (m == NULL || key == NULL || r->labels == NULL || r->scenario_id == NULL ||
	    r->supply_id == NULL || r->version == NULL || r->labels[0] == NULL ||
	    r->labels[r->n_labels - 1] == NULL)
		return -1;
	m->name = strdup(slug);
	m->value = v;
	return m->name != NULL ? 0 : -1;
}

/* ---- the messages ------------------------------------------------------------------------ */

typedef struct {
	mqd_spb_t *s;
	spb_topic_t tp;
	const spb_bind_t *bind;
	spb_node_t *node;
	const spb_payload_t *pl;
	int64_t now_ms;
	mqd_records_t *rs;
	mqd_spb_out_t *out;
} spb_msg_t;

static int s_refuse(mqd_records_t *rs, uint8_t reason, const char *why)
{
	mqd_records_free(rs);
	rs->reason = reason;
	snprintf(rs->err, sizeof(rs->err), "%s", why);
	return -1;
}

static void s_rebirth(spb_msg_t *m, const char *why)
{
	if (m->node->rebirth_ms != 0 && m->now_ms - m->node->rebirth_ms < REBIRTH_AGAIN_MS)
		return;
	m->node->rebirth_ms = m->now_ms;
	m->out->rebirth = true;
	snprintf(m->out->why, sizeof(m->out->why), "%s", why);
}

static const char *s_alias_name(spb_node_t *n, uint64_t alias)
{
	spb_alias_t *a = NULL;
	HASH_FIND(hh, n->aliases, &alias, sizeof(alias), a);
	return a != NULL ? a->name : NULL;
}

static int s_alias_add(spb_node_t *n, uint64_t alias, const char *name)
{
	spb_alias_t *a = NULL;
	HASH_FIND(hh, n->aliases, &alias, sizeof(alias), a);
	if (a == NULL) {
		a = calloc(1, sizeof(*a));
		if (a == NULL)
			return -1;
		a->alias = alias;
		HASH_ADD(hh, n->aliases, alias, sizeof(a->alias), a);
	}
	free(a->name);
	a->name = strdup(name);
	return a->name != NULL ? 0 : -1;
}

static bool s_control(const char *name)
{
	return strcmp(name, "bdSeq") == 0 || strncmp(name, "Node Control/", 13) == 0 ||
	       strncmp(name, "Device Control/", 15) == 0;
}

/* The metrics of a birth or data message into records (a birth's aliases
 * learnt on the way). */
static int s_metrics(spb_msg_t *m, bool birth)
{
	const spb_payload_t *pl = m->pl;
	m->rs->v = calloc(pl->n_metrics > 0 ? pl->n_metrics : 1, sizeof(*m->rs->v));
	if (m->rs->v == NULL)
		return s_refuse(m->rs, MQ_RC_UNSPECIFIED, "out of memory");
	for (size_t i = 0; i < pl->n_metrics; i++) {
		const spb_metric_t *mt = pl->metrics[i];
		const char *name = mt->name;
		if (birth && name != NULL && name[0] != '\0' && mt->has_alias &&
		    s_alias_add(m->node, mt->alias, name) != 0)
			return s_refuse(m->rs, MQ_RC_UNSPECIFIED, "out of memory");
		if ((name == NULL || name[0] == '\0') && mt->has_alias)
			name = s_alias_name(m->node, mt->alias);
		if (name == NULL || name[0] == '\0') {
			s_rebirth(m, "a metric of an alias never born");
			continue;
		}
		double v;
		char slug[TRC_SLUG_MAX + 1];
		if (s_control(name) || !s_value(mt, &v))
			continue;
		if (!s_slug(name, slug)) {
			m->out->skipped++;
			continue;
		}
		int64_t ts = mt->has_timestamp ? (int64_t)mt->timestamp
			   : pl->has_timestamp ? (int64_t)pl->timestamp : m->now_ms;
		if (MQD_RECORDS_MAX <= m->rs->n)
			return s_refuse(m->rs, MQ_RC_PAYLOAD_INVALID, "more than 1000 metrics");
		if (s_record(m->rs, m->bind, &m->tp, slug, v, ts,
			     s_key(&m->tp, m->node->bd_seq, ts, name)) != 0)
			return s_refuse(m->rs, MQ_RC_UNSPECIFIED, "out of memory");
	}
	return 0;
}

static bool s_bd_seq(const spb_payload_t *pl, int64_t *bd)
{
	for (size_t i = 0; i < pl->n_metrics; i++) {
		const spb_metric_t *mt = pl->metrics[i];
		if (mt->name == NULL || strcmp(mt->name, "bdSeq") != 0)
			continue;
		if (mt->value_case == TRACTION__SPARKPLUG__PAYLOAD__METRIC__VALUE_LONG_VALUE)
			*bd = (int64_t)mt->long_value;
		else if (mt->value_case == TRACTION__SPARKPLUG__PAYLOAD__METRIC__VALUE_INT_VALUE)
			*bd = mt->int_value;
		else
			return false;
		return true;
	}
	return false;
}

static spb_node_t *s_node(mqd_spb_t *s, const spb_topic_t *tp, bool make)
{
	char id[sizeof(((spb_node_t *)0)->id)];
	spb_node_t *n = NULL;
	snprintf(id, sizeof(id), "%s/%s", tp->group, tp->edge);
	HASH_FIND_STR(s->nodes, id, n);
	if (n == NULL && make && (n = calloc(1, sizeof(*n))) != NULL) {
		memcpy(n->id, id, sizeof(id));
		HASH_ADD_STR(s->nodes, id, n);
	}
	return n;
}

static int s_nbirth(spb_msg_t *m)
{
	int64_t bd;
	if (!s_bd_seq(m->pl, &bd))
		return s_refuse(m->rs, MQ_RC_PAYLOAD_INVALID, "NBIRTH: no bdSeq metric");
	spb_node_t *n = m->node;
	s_aliases_free(n);
	n->born = true;
	n->bd_seq = bd;
	n->seq = m->pl->has_seq ? (unsigned)(m->pl->seq & 0xff) : 0;
	n->rebirth_ms = 0;
	m->out->event = "born";
	return s_metrics(m, true);
}

static int s_ndeath(spb_msg_t *m)
{
	int64_t bd;
	spb_node_t *n = m->node;
	if (!s_bd_seq(m->pl, &bd))
		return s_refuse(m->rs, MQ_RC_PAYLOAD_INVALID, "NDEATH: no bdSeq metric");
	if (!n->born || n->bd_seq != bd) {
		m->out->event = "stale NDEATH ignored (another bdSeq)";
		return 0;
	}
	n->born = false;
	n->rebirth_ms = 0; /* its next connection is asked again at once */
	s_aliases_free(n);
	m->out->event = "dead";
	return 0;
}

/* Every message after NBIRTH: the node born, its seq the next. */
static int s_after_birth(spb_msg_t *m, bool birth, bool metrics)
{
	spb_node_t *n = m->node;
	if (!n->born) {
		s_rebirth(m, "a message of a node not born");
		m->out->event = "not born: its metrics dropped";
		return 0;
	}
	unsigned seq = m->pl->has_seq ? (unsigned)(m->pl->seq & 0xff) : 256;
	if (seq != ((n->seq + 1) & 0xff)) {
		snprintf(m->out->gap, sizeof(m->out->gap), "seq %u after %u", seq, n->seq);
		s_rebirth(m, "a gap in seq");
	}
	if (seq < 256)
		n->seq = seq;
	return metrics ? s_metrics(m, birth) : 0;
}

int mqd_spb_message(mqd_spb_t *s, const char *topic, size_t tlen, const uint8_t *payload,
		    size_t plen, int64_t now_ms, mqd_records_t *rs, mqd_spb_out_t *out)
{
	spb_msg_t m = { .s = s, .now_ms = now_ms, .rs = rs, .out = out };
	memset(rs, 0, sizeof(*rs));
	memset(out, 0, sizeof(*out));
	out->event = "";
	if (s_topic(topic, tlen, &m.tp) != 0)
		return s_refuse(rs, MQ_RC_TOPIC_INVALID, "topic: expected spBv1.0/GROUP/TYPE/EDGE_NODE[/DEVICE]");
	const char *t = m.tp.type;
	bool data = strcmp(t, "NDATA") == 0 || strcmp(t, "DDATA") == 0;
	bool birth = strcmp(t, "NBIRTH") == 0 || strcmp(t, "DBIRTH") == 0;
	bool death = strcmp(t, "NDEATH") == 0 || strcmp(t, "DDEATH") == 0;
	if (!data && !birth && !death)
		return s_refuse(rs, MQ_RC_NOT_AUTHORIZED, "only edge node messages: [ND]BIRTH, [ND]DATA, [ND]DEATH");
	snprintf(out->node, sizeof(out->node), "%s/%s", m.tp.group, m.tp.edge);
	char id[sizeof(((spb_bind_t *)0)->id)];
	snprintf(id, sizeof(id), "%s/%s/%s", m.tp.group, m.tp.edge, m.tp.device);
	spb_bind_t *b = NULL;
	if (m.tp.device[0] != '\0')
		HASH_FIND_STR(s->binds, id, b);
	if (b == NULL)
		HASH_FIND_STR(s->binds, out->node, b);
	if (b == NULL && !death)
		return s_refuse(rs, MQ_RC_TOPIC_INVALID, "this edge node is bound to no deployment "
							 "([mqtt] sparkplug_bindings)");
	m.bind = b;
	m.node = s_node(s, &m.tp, true);
	m.pl = traction__sparkplug__payload__unpack(NULL, plen, payload);
	if (m.node == NULL || m.pl == NULL) {
		if (m.pl != NULL)
			traction__sparkplug__payload__free_unpacked((spb_payload_t *)m.pl, NULL);
		return s_refuse(rs, m.node == NULL ? MQ_RC_UNSPECIFIED : MQ_RC_PAYLOAD_INVALID,
				m.node == NULL ? "out of memory" : "not a Sparkplug B payload");
	}
	int rc;
	if (strcmp(t, "NBIRTH") == 0)
		rc = s_nbirth(&m);
	else if (strcmp(t, "NDEATH") == 0)
		rc = s_ndeath(&m);
	else
		rc = s_after_birth(&m, birth, !death);
	traction__sparkplug__payload__free_unpacked((spb_payload_t *)m.pl, NULL);
	return rc;
}

size_t mqd_spb_rebirth(uint8_t *buf, size_t cap, int64_t now_ms)
{
	spb_payload_t pl = TRACTION__SPARKPLUG__PAYLOAD__INIT;
	spb_metric_t m = TRACTION__SPARKPLUG__PAYLOAD__METRIC__INIT, *mp = &m;
	m.name = "Node Control/Rebirth";
	m.has_timestamp = m.has_datatype = true;
	m.timestamp = (uint64_t)now_ms;
	m.datatype = TRACTION__SPARKPLUG__PAYLOAD__DATA_TYPE__Boolean;
	m.value_case = TRACTION__SPARKPLUG__PAYLOAD__METRIC__VALUE_BOOLEAN_VALUE;
	m.boolean_value = true;
	pl.has_timestamp = true;
	pl.timestamp = (uint64_t)now_ms;
	pl.metrics = &mp;
	pl.n_metrics = 1;
	size_t n = traction__sparkplug__payload__get_packed_size(&pl);
	return n <= cap ? traction__sparkplug__payload__pack(&pl, buf) : 0;
}
