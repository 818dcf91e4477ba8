/* s3_err.c -- the error table. Only s3_route.c renders errors as XML. */
#include "common.h"
#include "s3/s3_err.h"

#include <errno.h>

static const struct {
    int status;
    const char *code, *msg;
} err_info[] = {
    [S3E_OK] = {200, "OK", "OK"},
#define S3_ERR(name, status, code, msg) [S3E_##name] = {status, code, msg},
#include "s3/s3_errors.def"
#undef S3_ERR
};

int
s3_err_status(enum s3_err e)
{
    ASSERT(e < S3E__COUNT);
    return err_info[e].status;
}

const char *
s3_err_code(enum s3_err e)
{
    ASSERT(e < S3E__COUNT);
    return err_info[e].code;
}

const char *
s3_err_msg(enum s3_err e)
{
    ASSERT(e < S3E__COUNT);
    return err_info[e].msg;
}

enum s3_err
s3_err_from_errno(int rc)
{
    switch (rc) {
    case 0:
        return S3E_OK;
    case -ENOSPC:
    case -EDQUOT:
        return S3E_STORAGE_FULL;
    case -EBUSY: /* meta.db write-locked by another process past the wait */
    case -EAGAIN: /* a conflict with another gateway's transaction, not run again */
    case -ETIMEDOUT: /* the data backend (RADOS) did not answer within its timeout */
        return S3E_SLOW_DOWN;
    case -E2BIG:
        return S3E_ENTITY_TOO_LARGE;
    default:
        return S3E_INTERNAL;
    }
}

/* Each auth/ error is named after the S3 error it becomes; each core/
 * error names it in its second column. */
static const enum s3_err from_auth[] = {[AUTH_E_OK] = S3E_OK,
#define AUTH_ERR_MAP(name) [AUTH_E_##name] = S3E_##name,
                                        AUTH_ERRORS(AUTH_ERR_MAP)
#undef AUTH_ERR_MAP
};

static const enum s3_err from_core[] = {[CORE_E_OK] = S3E_OK,
#define CORE_ERR_MAP(name, s3) [CORE_E_##name] = S3E_##s3,
                                        CORE_ERRORS(CORE_ERR_MAP)
#undef CORE_ERR_MAP
};

enum s3_err
s3_err_from_auth(enum auth_err e)
{
    ASSERT((size_t)e < ARRAY_LEN(from_auth));
    return from_auth[e];
}

enum s3_err
s3_err_from_core(enum core_err e)
{
    ASSERT((size_t)e < ARRAY_LEN(from_core));
    return from_core[e];
}
