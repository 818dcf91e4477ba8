/* core_err.h -- enum core_err: how core/ refuses an operation or reports a
 * store failure. CORE_E_OK == 0. Each member is named after the S3 error it
 * becomes: s3_err_from_core() (s3/s3_err.c) is the one mapping, built from
 * CORE_ERRORS. */
#ifndef COFFER_CORE_CORE_ERR_H
#define COFFER_CORE_CORE_ERR_H

#define CORE_ERRORS(X)                                                                             \
    X(NO_SUCH_BUCKET)                                                                              \
    X(ACCESS_DENIED)    /* the bucket is another account's */                                      \
    X(INTERNAL)         /* any other store failure */                                              \
    X(STORAGE_FULL)     /* store: -ENOSPC, -EDQUOT */                                              \
    X(SLOW_DOWN)        /* store: -EBUSY (meta.db locked by another process) */                    \
    X(ENTITY_TOO_LARGE) /* store: -E2BIG */

enum core_err {
    CORE_E_OK = 0,
#define CORE_ERR_ENUM(name) CORE_E_##name,
    CORE_ERRORS(CORE_ERR_ENUM)
#undef CORE_ERR_ENUM
};

#endif
