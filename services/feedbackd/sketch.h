/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A mergeable, log-bucketed quantile sketch with bounded relative error
 * (after DDSketch): a value x > 0 falls in bucket ceil(log_gamma(x)) with
 * gamma = (1 + a) / (1 - a), and the bucket's midpoint 2 gamma^k / (gamma
 * + 1) is within a relative error a of every value in it. a = 1%.
 * Negative values mirror positive ones; magnitudes below 1e-9 count as 0.
 *
 * The sketch is a flat, sorted array of buckets so that it can live
 * inside an LMDB value and be updated by copying; merging two sketches is
 * adding their counts, so roll-ups are exact merges of their parts.
 */
#ifndef TRC_SKETCH_H
#define TRC_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SKETCH_ALPHA 0.01
#define SKETCH_MAX_BUCKETS 4096
#define SKETCH_ZERO_BELOW 1e-9   /* magnitudes below count as 0 */

typedef struct {
	int32_t key;      /* order key: negatives below positives, see sketch.c */
	uint32_t count;
} sketch_bucket_t;

typedef struct {
	uint64_t zero;            /* values with |x| < 1e-9 */
	uint32_t n;               /* buckets in use */
	uint32_t cap;
	sketch_bucket_t *b;       /* sorted by key */
} sketch_t;

/* The order key of a value's bucket (not for zeros). */
int32_t sketch_key(double x);
/* A value that represents the bucket of key (within SKETCH_ALPHA). */
double sketch_value(int32_t key);

/* Adds n occurrences of x; the array grows with realloc (sketch owns b). */
int sketch_add(sketch_t *s, double x, uint32_t n);
/* Adds n occurrences to the bucket of key (sketch_key of a value whose
 * magnitude is at least SKETCH_ZERO_BELOW): one log() for many sketches. */
int sketch_add_key(sketch_t *s, int32_t key, uint32_t n);
/* A value with its bucket found once for every sketch it goes into (a
 * record's four aggregates and its alert windows: one log() in all). */
typedef struct {
	double x;
	int32_t key;  /* sketch_key(x), unless zero */
	bool zero;    /* |x| below SKETCH_ZERO_BELOW */
} sketch_point_t;

sketch_point_t sketch_point(double x);
/* Adds one occurrence of p (a finite value). */
int sketch_add_point(sketch_t *s, const sketch_point_t *p);
/* Adds every bucket of o into s. */
int sketch_merge(sketch_t *s, const sketch_t *o);
/* The q-quantile (0..1) of the count values added: the value of rank
 * floor(q (count - 1)) in sorted order, within SKETCH_ALPHA. */
double sketch_quantile(const sketch_t *s, double q);
uint64_t sketch_count(const sketch_t *s);
void sketch_free(sketch_t *s);

#endif
