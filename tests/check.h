/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The few assertions traction's tests use. A failed CHECK prints where and
 * what, then exits non-zero; exit handlers (see integration/harness.c) stop
 * daemons and remove temp dirs even then.
 */
#ifndef TRC_CHECK_H
#define TRC_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_count_; /* atomic: a test may check from several threads */

#define CHECK(cond) \
	do { \
		__atomic_add_fetch(&check_count_, 1, __ATOMIC_RELAXED); \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1); \
		} \
	} while (0)

#define CHECK_MSG(cond, ...) \
	do { \
		__atomic_add_fetch(&check_count_, 1, __ATOMIC_RELAXED); \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			exit(1); \
		} \
	} while (0)

#define CHECK_EQ_INT(a, b) \
	do { \
		long long a_ = (long long)(a), b_ = (long long)(b); \
		CHECK_MSG(a_ == b_, "%s == %lld, expected %lld", #a, a_, b_); \
	} while (0)

#define CHECK_STR(a, b) \
	do { \
		const char *a_ = (a), *b_ = (b); \
		CHECK_MSG(a_ != NULL && strcmp(a_, b_) == 0, "%s == \"%s\", expected \"%s\"", #a, \
			  a_ ? a_ : "(null)", b_); \
	} while (0)

#define CHECK_CONTAINS(hay, needle) \
	do { \
		const char *h_ = (hay), *n_ = (needle); \
		CHECK_MSG(h_ != NULL && strstr(h_, n_) != NULL, "\"%s\" does not contain \"%s\"", \
			  h_ ? h_ : "(null)", n_); \
	} while (0)

/* A temp dir removed at exit, whether the test passes or fails. */
/* The temp dirs a test made, removed at exit: every one, not only the last
 * (a test that makes two used to leave the first behind in /tmp). */
#define CHECK_TMPDIRS_MAX 16
static char check_tmpdirs_[CHECK_TMPDIRS_MAX][128];
static int check_ntmpdirs_;
static char *check_tmpdir_; /* the last one made */

static void check_rm_tmpdir_(void)
{
	char cmd[160];
	for (int i = 0; i < check_ntmpdirs_; i++) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%.127s'", check_tmpdirs_[i]);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", check_tmpdirs_[i]);
	}
	check_ntmpdirs_ = 0;
}

static inline const char *check_tmpdir(const char *prefix)
{
	if (check_ntmpdirs_ == CHECK_TMPDIRS_MAX) {
		fprintf(stderr, "check_tmpdir: more than %d temp dirs\n", CHECK_TMPDIRS_MAX);
		exit(1);
	}
	char *d = check_tmpdirs_[check_ntmpdirs_];
	snprintf(d, sizeof(check_tmpdirs_[0]), "/tmp/%s-XXXXXX", prefix);
	if (mkdtemp(d) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	if (check_ntmpdirs_++ == 0)
		atexit(check_rm_tmpdir_);
	check_tmpdir_ = d;
	return d;
}

#define TEST(name) static void name(void)
#define RUN(name) \
	do { \
		fprintf(stderr, "-- %s\n", #name); \
		name(); \
	} while (0)

#define DONE() \
	do { \
		fprintf(stderr, "ok: %d checks\n", check_count_); \
		return 0; \
	} while (0)

#endif
