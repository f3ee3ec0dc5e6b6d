/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sliding window of one metric alert rule: the records of the last
 * window_ms of the service's clock, kept as FB_WIN_SLOTS slots of a tenth
 * of the window each (count, sum and, for a quantile rule, a sketch), so a
 * record costs one slot's update and a figure one pass over ten slots:
 * nothing is ever read back from the raw records. The window slides in
 * steps of a slot: the figure covers the slot now filling and the nine
 * before it.
 *
 * The row stored for a rule (FB_DB_ALERT_WIN) is this struct's bytes in
 * host order, the slots' sketch buckets after it, and the ids of the
 * latest records (the evidence an alert carries).
 */
#ifndef TRC_FB_WINDOW_H
#define TRC_FB_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sketch.h"

#define FB_WIN_SLOTS 10
#define FB_WIN_IDS 10 /* the latest record ids kept */

typedef struct {
	int64_t start;  /* the slot's start on the service's clock; 0: empty */
	uint64_t count;
	double sum;
	sketch_t sketch; /* quantile rules only */
} fb_slot_t;

typedef struct {
	int64_t slot_ms;
	bool quantile;
	fb_slot_t slot[FB_WIN_SLOTS];
	uint64_t ids[FB_WIN_IDS]; /* a ring: ids[n_ids % FB_WIN_IDS] is the next */
	uint64_t n_ids;
} fb_window_t;

/* An empty window of window_ms (at least FB_WIN_SLOTS ms). */
void fb_window_init(fb_window_t *w, int64_t window_ms, bool quantile);
void fb_window_free(fb_window_t *w);
/* Adds the value v of record id received at now_ms (v's bucket found
 * once for the record's aggregates and windows: sketch.h). */
int fb_window_add(fb_window_t *w, int64_t now_ms, const sketch_point_t *v, uint64_t id);
/* The figure at now_ms: the mean (q == 0) or the q-quantile of the
 * records in the window, and their count (*value is left alone when the
 * count is 0). 0, or TRC_ENOMEM: out of memory is not "no records". */
int fb_window_figure(const fb_window_t *w, int64_t now_ms, double q, double *value,
		     uint64_t *count);
/* The latest record ids in the window's ring, newest first, into out
 * (FB_WIN_IDS at most): how many. */
size_t fb_window_ids(const fb_window_t *w, uint64_t *out);

/* The stored row: its size, and the row written into buf of that size. */
size_t fb_window_size(const fb_window_t *w);
void fb_window_encode(const fb_window_t *w, uint8_t *buf);
/* The row read back (w owns its sketches): 0 or TRC_ECORRUPT/TRC_ENOMEM. */
int fb_window_decode(fb_window_t *w, const void *data, size_t len);

#endif
