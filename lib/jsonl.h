/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Feedback records in the JSON Lines format of docs/cli.md (one object per
 * line: scenario, supply, version, key, observed_at, labels, and exactly
 * one of metric, problem, value, demand), and RFC 3339 times: shared by
 * tractionctl and the HTTP gateway so that both read the same records the
 * same way.
 */
#ifndef TRC_JSONL_H
#define TRC_JSONL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "traction/v1/feedback.pb-c.h"

/* RFC 3339 UTC ("2026-11-28T10:15:00Z", fractions allowed) or ms since
 * the epoch, into *ms. 0, or -1 if it is neither (or a number too large). */
int trc_time_parse(const char *s, int64_t *ms);

/* One record object into r (initialised; its strings malloc'd: free with
 * pbjson_free). 0, or -1 with err naming the field and why. */
int trc_record_from_json(json_t *o, Traction__V1__FeedbackRecord *r, char *err, size_t elen);


#endif
