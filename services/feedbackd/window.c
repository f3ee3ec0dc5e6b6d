/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sliding window of a metric alert rule. See window.h.
 */
#include "window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void fb_window_init(fb_window_t *w, int64_t window_ms, bool quantile)
{
	memset(w, 0, sizeof(*w));
	w->slot_ms = window_ms / FB_WIN_SLOTS > 0 ? window_ms / FB_WIN_SLOTS : 1;
	w->quantile = quantile;
}

void fb_window_free(fb_window_t *w)
{
	for (int i = 0; i < FB_WIN_SLOTS; i++)
		sketch_free(&w->slot[i].sketch);
}

/* The slot that holds time t; emptied if it last held an older one. */
static fb_slot_t *s_slot(fb_window_t *w, int64_t t)
{
	int64_t n = t / w->slot_ms;
	fb_slot_t *s = &w->slot[(size_t)(n % FB_WIN_SLOTS)];
	if (s->start != n * w->slot_ms || s->count == 0) {
		sketch_free(&s->sketch);
		memset(s, 0, sizeof(*s));
		s->start = n * w->slot_ms;
	}
	return s;
}

/* Whether slot s is inside the window that ends at now. */
static bool s_live(const fb_window_t *w, const fb_slot_t *s, int64_t now)
{
	return s->count > 0 && s->start > now - (int64_t)FB_WIN_SLOTS * w->slot_ms &&
	       s->start <= now;
}

int fb_window_add(fb_window_t *w, int64_t now, const sketch_point_t *v, uint64_t id)
{
	if (now < 0)
		now = 0;
	fb_slot_t *s = s_slot(w, now);
	if (w->quantile && sketch_add_point(&s->sketch, v) != 0)
		return TRC_ENOMEM;
	s->count++;
	s->sum += v->x;
	w->ids[w->n_ids++ % FB_WIN_IDS] = id;
	return 0;
}

int fb_window_figure(const fb_window_t *w, int64_t now, double q, double *value,
		     uint64_t *count)
{
	uint64_t n = 0;
	double sum = 0;
	for (int i = 0; i < FB_WIN_SLOTS; i++) {
		if (!s_live(w, &w->slot[i], now))
			continue;
		n += w->slot[i].count;
		sum += w->slot[i].sum;
	}
	*count = n;
	if (n == 0)
		return 0;
	if (q <= 0 || !w->quantile) {
		*value = sum / (double)n;
		return 0;
	}
	/* the quantile of the merged slots: merging is adding counts */
	sketch_t all = { 0 };
	bool ok = true;
	for (int i = 0; ok && i < FB_WIN_SLOTS; i++)
		if (s_live(w, &w->slot[i], now))
			ok = sketch_merge(&all, &w->slot[i].sketch) == 0;
	if (ok)
		*value = sketch_quantile(&all, q);
	sketch_free(&all);
	return ok ? 0 : TRC_ENOMEM;
}

size_t fb_window_ids(const fb_window_t *w, uint64_t *out)
{
	size_t n = w->n_ids < FB_WIN_IDS ? (size_t)w->n_ids : FB_WIN_IDS;
	for (size_t i = 0; i < n; i++)
		out[i] = w->ids[(w->n_ids - 1 - i) % FB_WIN_IDS];
	return n;
}

/* The row: the struct with its sketch pointers cleared, then each slot's
 * buckets in slot order (their counts are the structs' sketch.n). */
size_t fb_window_size(const fb_window_t *w)
{
	size_t n = sizeof(*w);
	for (int i = 0; i < FB_WIN_SLOTS; i++)
		n += sizeof(sketch_bucket_t) * w->slot[i].sketch.n;
	return n;
}

void fb_window_encode(const fb_window_t *w, uint8_t *buf)
{
	fb_window_t head = *w;
	for (int i = 0; i < FB_WIN_SLOTS; i++) {
		head.slot[i].sketch.b = NULL;
		head.slot[i].sketch.cap = head.slot[i].sketch.n;
	}
	memcpy(buf, &head, sizeof(head));
	size_t at = sizeof(head);
	for (int i = 0; i < FB_WIN_SLOTS; i++) {
		size_t l = sizeof(sketch_bucket_t) * w->slot[i].sketch.n;
		if (l > 0)
			memcpy(buf + at, w->slot[i].sketch.b, l);
		at += l;
	}
}

int fb_window_decode(fb_window_t *w, const void *data, size_t len)
{
	if (len < sizeof(*w))
		return TRC_ECORRUPT;
	memcpy(w, data, sizeof(*w));
	size_t at = sizeof(*w), need = at;
	for (int i = 0; i < FB_WIN_SLOTS; i++) {
		w->slot[i].sketch.b = NULL;
		if (w->slot[i].sketch.n > SKETCH_MAX_BUCKETS)
			w->slot[i].sketch.n = SKETCH_MAX_BUCKETS + 1; /* refused below */
		need += sizeof(sketch_bucket_t) * w->slot[i].sketch.n;
	}
	if (need != len || w->slot_ms <= 0) {
		memset(w, 0, sizeof(*w));
		return TRC_ECORRUPT;
	}
	for (int i = 0; i < FB_WIN_SLOTS; i++) {
		sketch_t *s = &w->slot[i].sketch;
		size_t l = sizeof(sketch_bucket_t) * s->n;
		s->cap = s->n;
		if (l > 0 && (s->b = malloc(l)) == NULL) {
			for (int j = 0; j < i; j++)
				sketch_free(&w->slot[j].sketch);
			memset(w, 0, sizeof(*w));
			return TRC_ENOMEM;
		}
		if (l > 0)
			memcpy(s->b, (const uint8_t *)data + at, l);
		at += l;
	}
	return 0;
}
