/* s3_err.h -- enum s3_err, generated from s3_errors.def, and its table.
 * S3E_OK == 0. s3/ speaks it; auth/ and core/ have their own enums, mapped
 * here at the s3 edge. */
#ifndef COFFER_S3_S3_ERR_H
#define COFFER_S3_S3_ERR_H

#include "auth/auth_err.h"
#include "core/core_err.h"

enum s3_err {
    S3E_OK = 0,
#define S3_ERR(name, status, code, msg) S3E_##name,
#include "s3/s3_errors.def"
#undef S3_ERR
    S3E__COUNT
};

int s3_err_status(enum s3_err e);
const char *s3_err_code(enum s3_err e);
const char *s3_err_msg(enum s3_err e);
/* The only errno-to-S3 mapping: -ENOENT etc. from store/ to an S3 code. */
enum s3_err s3_err_from_errno(int rc);
/* The only auth-to-S3 and core-to-S3 mappings: each member becomes the S3
 * error of its name. Detail (err_msg, ArgumentName/Value) is the caller's
 * to carry over. */
enum s3_err s3_err_from_auth(enum auth_err e);
enum s3_err s3_err_from_core(enum core_err e);

#endif
