/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The error enum's strings and its mappings to and from the libraries'
 * codes. One place, so that e.g. MDB_MAP_FULL means "no space" everywhere.
 */
#include "error.h"

#include <errno.h>
#include <lmdb.h>
#include <stddef.h>
#include <zmq.h>

#include "traction/v1/common.pb-c.h"

const char *trc_strerror(int err)
{
	switch ((trc_err_t)err) {
	case TRC_OK: return "ok";
	case TRC_EINVAL: return "invalid argument";
	case TRC_ENOENT: return "not found";
	case TRC_EEXIST: return "already exists";
	case TRC_EPRECOND: return "failed precondition";
	case TRC_EPERM: return "permission denied";
	case TRC_EAUTH: return "unauthenticated";
	case TRC_ENOSPC: return "no space left in the store";
	case TRC_EBUSY: return "too busy, try again";
	case TRC_EUNAVAIL: return "unavailable";
	case TRC_ETIMEOUT: return "deadline exceeded";
	case TRC_ENOMEM: return "out of memory";
	case TRC_EIO: return "input/output error";
	case TRC_EPROTO: return "malformed message";
	case TRC_ECORRUPT: return "stored data is corrupt";
	case TRC_ECONFIG: return "configuration error";
	case TRC_ENOTSUP: return "not supported";
	case TRC_EINTERNAL: return "internal error";
	case TRC_ESTOPPED: return "shutting down";
	case TRC_ERANGE: return "out of range";
	case TRC_EDISKFULL: return "no space left on the disk";
	}
	return "unknown error";
}

int trc_err_from_mdb(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return TRC_OK;
	case MDB_NOTFOUND: return TRC_ENOENT;
	case MDB_KEYEXIST: return TRC_EEXIST;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_DBS_FULL:
	case MDB_READERS_FULL:
		return TRC_ENOSPC;
	case ENOSPC:
	case EDQUOT:
		return TRC_EDISKFULL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return TRC_ECORRUPT;
	case MDB_BAD_VALSIZE:
	case EINVAL:
		return TRC_EINVAL;
	case ENOMEM: return TRC_ENOMEM;
	case EIO: return TRC_EIO;
	case EACCES:
	case EPERM:
		return TRC_EPERM;
	case ENOENT: return TRC_ENOENT;
	default: return TRC_EINTERNAL;
	}
}

int trc_err_from_errno(int errnum)
{
	switch (errnum) {
	case 0: return TRC_OK;
	case EAGAIN: return TRC_EBUSY;
	case EHOSTUNREACH: return TRC_EUNAVAIL;
	case ETERM: return TRC_ESTOPPED;
	case EINTR: return TRC_ESTOPPED;
	case ENOMEM: return TRC_ENOMEM;
	case EINVAL: return TRC_EINVAL;
	case EPROTO: return TRC_EPROTO;
	case EADDRINUSE:
	case EADDRNOTAVAIL:
	case ENODEV:
		return TRC_ECONFIG;
	case ENOENT: return TRC_ENOENT;
	case EACCES:
	case EPERM:
		return TRC_EPERM;
	case ENOSPC: return TRC_ENOSPC;
	default: return TRC_EIO;
	}
}

int trc_err_to_code(int err)
{
	switch ((trc_err_t)err) {
	case TRC_OK: return TRACTION__V1__CODE__OK;
	case TRC_EINVAL:
	case TRC_EPROTO:
		return TRACTION__V1__CODE__INVALID_ARGUMENT;
	case TRC_ENOENT: return TRACTION__V1__CODE__NOT_FOUND;
	case TRC_EEXIST: return TRACTION__V1__CODE__ALREADY_EXISTS;
	case TRC_EPRECOND: return TRACTION__V1__CODE__FAILED_PRECONDITION;
	case TRC_EPERM: return TRACTION__V1__CODE__PERMISSION_DENIED;
	case TRC_EAUTH: return TRACTION__V1__CODE__UNAUTHENTICATED;
	case TRC_ENOSPC:
	case TRC_EDISKFULL:
	case TRC_EBUSY:
	case TRC_ENOMEM:
		return TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
	case TRC_EUNAVAIL:
	case TRC_ESTOPPED:
		return TRACTION__V1__CODE__UNAVAILABLE;
	case TRC_ETIMEOUT: return TRACTION__V1__CODE__DEADLINE_EXCEEDED;
	case TRC_ECORRUPT: return TRACTION__V1__CODE__DATA_LOSS;
	case TRC_ENOTSUP: return TRACTION__V1__CODE__UNIMPLEMENTED;
	case TRC_ERANGE: return TRACTION__V1__CODE__OUT_OF_RANGE;
	case TRC_EIO:
	case TRC_ECONFIG:
	case TRC_EINTERNAL:
		return TRACTION__V1__CODE__INTERNAL;
	}
	return TRACTION__V1__CODE__UNKNOWN;
}

int trc_err_from_code(int code)
{
	switch (code) {
	case TRACTION__V1__CODE__OK: return TRC_OK;
	case TRACTION__V1__CODE__INVALID_ARGUMENT: return TRC_EINVAL;
	case TRACTION__V1__CODE__NOT_FOUND: return TRC_ENOENT;
	case TRACTION__V1__CODE__ALREADY_EXISTS: return TRC_EEXIST;
	case TRACTION__V1__CODE__FAILED_PRECONDITION: return TRC_EPRECOND;
	case TRACTION__V1__CODE__PERMISSION_DENIED: return TRC_EPERM;
	case TRACTION__V1__CODE__UNAUTHENTICATED: return TRC_EAUTH;
	case TRACTION__V1__CODE__RESOURCE_EXHAUSTED: return TRC_EBUSY;
	case TRACTION__V1__CODE__UNAVAILABLE: return TRC_EUNAVAIL;
	case TRACTION__V1__CODE__DEADLINE_EXCEEDED: return TRC_ETIMEOUT;
	case TRACTION__V1__CODE__DATA_LOSS: return TRC_ECORRUPT;
	case TRACTION__V1__CODE__UNIMPLEMENTED: return TRC_ENOTSUP;
	case TRACTION__V1__CODE__OUT_OF_RANGE: return TRC_ERANGE;
	default: return TRC_EINTERNAL;
	}
}

const char *trc_code_name(int code)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&traction__v1__code__descriptor, code);
	return v != NULL ? v->name : "UNKNOWN";
}
