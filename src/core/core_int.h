/* core_int.h -- shared by the files of core/ only. */
#ifndef COFFER_CORE_CORE_INT_H
#define COFFER_CORE_CORE_INT_H

#include <errno.h>

#include "core/core_err.h"

/* A store result as core/ reports it (the classes of s3_err_from_errno()). */
static inline enum core_err
core_store_err(int rc)
{
    switch (rc) {
    case 0:
        return CORE_E_OK;
    case -ENOSPC:
    case -EDQUOT:
        return CORE_E_STORAGE_FULL;
    case -EBUSY: /* meta.db write-locked by another process past the wait */
    case -EAGAIN: /* a conflict with another gateway's transaction (PostgreSQL):
                   * the group runs again, and if this was its last try md_write()
                   * says -EBUSY; either way a 503 SlowDown, not a 500 */
        return CORE_E_SLOW_DOWN;
    case -E2BIG:
        return CORE_E_ENTITY_TOO_LARGE;
    default:
        return CORE_E_INTERNAL;
    }
}

#endif
