/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which figures of the wire's messages stand on which counts (figures.h):
 * one table, read by the JSON dialect and tractionctl's printers.
 */
#include "figures.h"

#include <string.h>

#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"

/* A figure of a message: the field (NULL: every number of it but the
 * counts), the counts it stands on (all must be above 0), and a field that
 * must not be 0 (a percentage of it). */
typedef struct {
	const ProtobufCMessageDescriptor *msg;
	const char *field;
	const char *counts[2];
	const char *nonzero;
} figure_t;

static const figure_t s_figures[] = {
	{ &traction__v1__metric_delta__descriptor, "from_mean", { "from_count", NULL }, NULL },
	{ &traction__v1__metric_delta__descriptor, "to_mean", { "to_count", NULL }, NULL },
	{ &traction__v1__metric_delta__descriptor, "abs_delta", { "from_count", "to_count" }, NULL },
	{ &traction__v1__metric_delta__descriptor, "pct_delta", { "from_count", "to_count" },
	  "from_mean" },
	{ &traction__v1__value_summary__descriptor, "mean_improvement_pct", { "count", NULL },
	  NULL },
	{ &traction__v1__match_evidence__descriptor, "mean_improvement_pct",
	  { "value_verifications", NULL }, NULL },
	{ &traction__v1__metric_stats__descriptor, NULL, { "count", NULL }, NULL },
	{ &traction__v1__metric_summary__descriptor, NULL, { "count", NULL }, NULL },
	{ &traction__v1__trend_bucket__descriptor, NULL, { "count", NULL }, NULL },
	{ &traction__v1__alert__descriptor, "value", { "count", NULL }, NULL },
};

#define S_N (sizeof(s_figures) / sizeof(s_figures[0]))

static const void *s_at(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	return (const char *)msg + f->offset;
}

/* The value of a number field as a double (a count, or the field a
 * percentage is of); 0 for a name msg lacks. */
static double s_number(const ProtobufCMessage *msg, const char *name)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
	if (f == NULL || f->label == PROTOBUF_C_LABEL_REPEATED)
		return 0;
	switch (f->type) {
	case PROTOBUF_C_TYPE_UINT64:
		return (double)*(const uint64_t *)s_at(msg, f);
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)s_at(msg, f);
	default:
		return 0;
	}
}

static bool s_is_count(const figure_t *fg, const char *name)
{
	return (fg->counts[0] != NULL && strcmp(fg->counts[0], name) == 0) ||
	       (fg->counts[1] != NULL && strcmp(fg->counts[1], name) == 0);
}

bool trc_figure_absent(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return false;
	for (size_t i = 0; i < S_N; i++) {
		const figure_t *fg = &s_figures[i];
		if (fg->msg != msg->descriptor)
			continue;
		if (fg->field != NULL ? strcmp(fg->field, f->name) != 0
				      : (f->type != PROTOBUF_C_TYPE_DOUBLE &&
					 f->type != PROTOBUF_C_TYPE_INT64) ||
						s_is_count(fg, f->name))
			continue;
		for (int k = 0; k < 2; k++)
			if (fg->counts[k] != NULL && s_number(msg, fg->counts[k]) <= 0)
				return true;
		return fg->nonzero != NULL && s_number(msg, fg->nonzero) == 0;
	}
	return false;
}

bool trc_figure_absent_named(const ProtobufCMessage *msg, const char *field)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, field);
	return f != NULL && trc_figure_absent(msg, f);
}
