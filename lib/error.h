/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one error enum of traction, and the mappings into it from LMDB,
 * ZeroMQ (errno) and protobuf-c, and out of it to the wire's status codes.
 *
 * Functions return 0 (TRC_OK) on success and a negative trc_err on failure,
 * so "if (rc < 0)" reads the same everywhere.
 */
#ifndef TRC_ERROR_H
#define TRC_ERROR_H

typedef enum {
	TRC_OK = 0,
	TRC_EINVAL = -1,      /* bad input: INVALID_ARGUMENT */
	TRC_ENOENT = -2,      /* NOT_FOUND */
	TRC_EEXIST = -3,      /* ALREADY_EXISTS */
	TRC_EPRECOND = -4,    /* FAILED_PRECONDITION */
	TRC_EPERM = -5,       /* PERMISSION_DENIED */
	TRC_EAUTH = -6,       /* UNAUTHENTICATED */
	TRC_ENOSPC = -7,      /* map or disk full: RESOURCE_EXHAUSTED */
	TRC_EBUSY = -8,       /* queue full, too many in flight: RESOURCE_EXHAUSTED */
	TRC_EUNAVAIL = -9,    /* no live instance, peer gone: UNAVAILABLE */
	TRC_ETIMEOUT = -10,   /* DEADLINE_EXCEEDED */
	TRC_ENOMEM = -11,     /* out of memory: RESOURCE_EXHAUSTED */
	TRC_EIO = -12,        /* disk or socket I/O: INTERNAL */
	TRC_EPROTO = -13,     /* malformed frame or message: INVALID_ARGUMENT */
	TRC_ECORRUPT = -14,   /* stored data does not decode: DATA_LOSS */
	TRC_ECONFIG = -15,    /* configuration error */
	TRC_ENOTSUP = -16,    /* unknown method, unsupported version: UNIMPLEMENTED */
	TRC_EINTERNAL = -17,  /* a bug: INTERNAL */
	TRC_ESTOPPED = -18,   /* shutting down: UNAVAILABLE */
	TRC_ERANGE = -19,     /* value out of range: OUT_OF_RANGE */
	TRC_EDISKFULL = -20,  /* the disk under the store is full: RESOURCE_EXHAUSTED */
} trc_err_t;

/* A short, static, human description of err. */
const char *trc_strerror(int err);

/* From an LMDB return code (MDB_NOTFOUND, MDB_MAP_FULL, errno values...). */
int trc_err_from_mdb(int mdb_rc);

/* From an errno as ZeroMQ leaves it after a failed call. */
int trc_err_from_errno(int errnum);

/* To and from the wire's status code (traction.v1.Code, the gRPC numbers). */
int trc_err_to_code(int err);
int trc_err_from_code(int code);

/* The name of a wire status code, "NOT_FOUND"; "UNKNOWN" for others. */
const char *trc_code_name(int code);

#endif
