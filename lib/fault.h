/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault injection, for tests only. lib's allocations on a request's path
 * (the arena's, which protobuf-c's unpacking goes through too; the work
 * lists, parking and the event log's queue) ask trc_fault() first and
 * fail as if out of memory when it says so. A test defines
 * trc_fault_alloc (tests/unit/test_fault.c fails the Nth call); nothing
 * in the daemons does, so the weak, hidden reference stays NULL and the
 * check is one compare. Hidden: it is settled when a binary is linked,
 * never looked up at run time (libtraction.so imports no such symbol).
 */
#ifndef TRC_FAULT_H
#define TRC_FAULT_H

#include <stdbool.h>
#include <stddef.h>

bool trc_fault_alloc(void) __attribute__((weak, visibility("hidden")));

/* Whether this allocation is to fail. */
static inline bool trc_fault(void)
{
	return trc_fault_alloc != NULL && trc_fault_alloc();
}

#endif
