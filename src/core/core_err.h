/* core_err.h -- enum core_err: how core/ refuses an operation or reports a
 * store failure. CORE_E_OK == 0. Each member names the S3 error it becomes
 * (the second column): s3_err_from_core() (s3/s3_err.c) is the one mapping,
 * built from CORE_ERRORS. Members that share an S3 code tell s3/ which
 * detail (message, extra elements) to render beside it. */
#ifndef COFFER_CORE_CORE_ERR_H
#define COFFER_CORE_CORE_ERR_H

#define CORE_ERRORS(X)                                                                             \
    X(NO_SUCH_BUCKET, NO_SUCH_BUCKET)                                                              \
    X(INTERNAL, INTERNAL)                 /* any other store failure */                            \
    X(STORAGE_FULL, STORAGE_FULL)         /* store: -ENOSPC, -EDQUOT */                            \
    X(SLOW_DOWN, SLOW_DOWN)               /* store: -EBUSY (meta.db locked by another process) */  \
    X(ENTITY_TOO_LARGE, ENTITY_TOO_LARGE) /* store: -E2BIG */                                      \
    X(NO_SUCH_KEY, NO_SUCH_KEY)           /* no current version, or a delete marker */             \
    X(NO_SUCH_VERSION, NO_SUCH_VERSION)   /* no such version id (or a malformed one) */            \
    X(PRECONDITION_FAILED, PRECONDITION_FAILED) /* If-Match / If-None-Match of a write */          \
    X(MFA_REQUIRED, OPERATION_ABORTED) /* MFA delete turned on after the request's check */        \
    X(NO_SUCH_UPLOAD, NO_SUCH_UPLOAD)                                                              \
    X(INVALID_PART, INVALID_PART)             /* a part missing, or its ETag/checksum differs */   \
    X(INVALID_PART_ORDER, INVALID_PART_ORDER) /* part numbers not strictly ascending */            \
    X(ENTITY_TOO_SMALL, ENTITY_TOO_SMALL)     /* a part but the last under 5 MiB */                \
    X(PART_CHECKSUM_MISSING, INVALID_REQUEST) /* COMPOSITE upload: a part without its checksum */  \
    X(OBJECT_SIZE_MISMATCH, INVALID_REQUEST)  /* x-amz-mp-object-size differs from the parts' */   \
    X(CHECKSUM_ALGO_MISMATCH, INVALID_REQUEST) /* whole-object checksum of another algorithm */    \
    X(BAD_CHECKSUM, BAD_CHECKSUM)              /* whole-object checksum differs */

enum core_err {
    CORE_E_OK = 0,
#define CORE_ERR_ENUM(name, s3) CORE_E_##name,
    CORE_ERRORS(CORE_ERR_ENUM)
#undef CORE_ERR_ENUM
};

#endif
