/* iam_int.h -- shared by the files of iam/ only: the call as the actions see
 * it, AWS's limits, the actions (one per IAM/STS operation, in iam_mfa.c,
 * iam_users.c and iam_sts.c) and the helpers they share (iam_util.c). */
#ifndef COFFER_IAM_IAM_INT_H
#define COFFER_IAM_IAM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/totp.h"
#include "iam/iam.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"

#define IAM_MAX_PARAMS 512              /* form and query parameters together */
#define IAM_MAX_DEVICES_PER_PRINCIPAL 8 /* AWS: up to 8 MFA devices per user [§7.4] */
#define IAM_MAX_DEVICES_PER_ACCOUNT 256 /* created but not yet enabled ones included */
#define IAM_MAX_KEYS_PER_PRINCIPAL 2    /* AWS AccessKeysPerUser */
#define IAM_MAX_USERS 5000              /* AWS UsersPerAccount */
#define IAM_MAX_TAGS 50
#define IAM_SEED_BYTES 20 /* 160-bit seeds, as AWS issues */
#define IAM_TOKEN_BYTES 48 /* 64 base64url characters */
#define IAM_QR_SCALE 6
#define IAM_QR_BORDER 4

/* A principal of the caller's account: its root (user_id 0) or an IAM user. */
struct principal {
    int64_t user_id;
    /* IAM user name; for root, the account name. AWS lists root's devices
     * with the root ARN and no user name; Coffer shows the account name
     * instead, because MFADevice.UserName is a required member and because
     * the account name (or "root") is how these APIs address root. */
    struct str name;
    int64_t created_ms;
};

struct iam_action;

/* One IAM/STS call. */
struct iam {
    const struct iam_req *r;
    struct arena *a;
    bool is_sts;
    int64_t now_ms;
    struct iam_param *params; /* body parameters first, then the query's */
    size_t n_params;
    const char *msg; /* error detail; overrides the table text */
    char acct[24];   /* the 12-digit account number */
    struct principal caller;
    const char *label; /* audit principal: "account:A" or "account:A/user:U" */
    const struct iam_action *act;
};

/* ---- actions: the result's content into res ------------------------------ */

/* iam_mfa.c */
enum iam_err iam_create_virtual_mfa_device(struct iam *x, struct buf *res);
enum iam_err iam_enable_mfa_device(struct iam *x, struct buf *res);
enum iam_err iam_resync_mfa_device(struct iam *x, struct buf *res);
enum iam_err iam_deactivate_mfa_device(struct iam *x, struct buf *res);
enum iam_err iam_delete_virtual_mfa_device(struct iam *x, struct buf *res);
enum iam_err iam_list_mfa_devices(struct iam *x, struct buf *res);
enum iam_err iam_list_virtual_mfa_devices(struct iam *x, struct buf *res);
/* iam_users.c */
enum iam_err iam_create_user(struct iam *x, struct buf *res);
enum iam_err iam_get_user(struct iam *x, struct buf *res);
enum iam_err iam_list_users(struct iam *x, struct buf *res);
enum iam_err iam_delete_user(struct iam *x, struct buf *res);
enum iam_err iam_create_access_key(struct iam *x, struct buf *res);
enum iam_err iam_list_access_keys(struct iam *x, struct buf *res);
enum iam_err iam_delete_access_key(struct iam *x, struct buf *res);
/* iam_sts.c */
enum iam_err iam_get_session_token(struct iam *x, struct buf *res);
enum iam_err iam_get_caller_identity(struct iam *x, struct buf *res);

/* ---- parameters (iam_util.c) ----------------------------------------------
 * The checks return IAM_E_OK or an error whose message (AWS's wording,
 * client values shown through iam_shown()) is set on x. */

/* Parameter by exact name: its value or STR_NULL. Borrowed from x. */
struct str iam_arg(const struct iam *x, const char *name);
/* A client value safe to quote in a message: at most 128 bytes, controls and
 * non-ASCII bytes as '?'. In the arena. */
const char *iam_shown(struct iam *x, struct str v);
/* IAM_E_VALIDATION: "1 validation error detected: Value 'v' at 'field'
 * failed to satisfy constraint: Member must <constraint>" (or "Value null"). */
enum iam_err iam_invalid(struct iam *x, const char *field, struct str v, const char *constraint);
/* Names: [\w+=,.@-]{1,max}; absent is fine unless required. */
enum iam_err iam_check_name(struct iam *x, struct str v, const char *field, size_t max,
                            bool required);
/* Serial numbers: [\w+=/:,.@-]{1,256}; required. */
enum iam_err iam_check_serial(struct iam *x, struct str v);
/* Paths: "/" or "/" [!-~]+ "/", at most 512 bytes. */
enum iam_err iam_check_path(struct iam *x, struct str v);
/* Parameter param as a six-digit code (never quoted back); field names it
 * in messages. */
enum iam_err iam_get_code(struct iam *x, const char *param, const char *field, uint32_t *code);
/* Tags.member.N.Key / .Value: counted and checked, not stored. */
enum iam_err iam_check_tags(struct iam *x);
/* MaxItems (1..1000, default 100) and Marker (1..320 bytes, STR_NULL if absent). */
enum iam_err iam_get_paging(struct iam *x, size_t *max_items, struct str *marker);

/* ---- listings (iam_util.c) ------------------------------------------------ */

/* Index of the first of n items (each size bytes, sorted by the struct str
 * at key_off) after marker; 0 without a marker. */
size_t iam_page_start(const void *items, size_t n, size_t size, size_t key_off, struct str marker);
/* <IsTruncated>, and <Marker> when truncated. 0 or -E2BIG. */
int iam_put_paging(struct buf *b, bool truncated, struct str marker);
/* A <tag> element of the User shape. 0 or -E2BIG. */
int iam_put_user(struct iam *x, struct buf *b, const char *tag, const struct principal *p);
/* ISO 8601 time of ms, in the arena. */
const char *iam_iso(struct iam *x, int64_t ms);

/* ---- principals (iam_util.c) ---------------------------------------------- */

/* ARN, UserId (root: the account number; users: "AIDA" ids) and audit label
 * of p, in the arena. */
const char *iam_principal_arn(struct iam *x, const struct principal *p);
const char *iam_principal_id(struct iam *x, const struct principal *p);
const char *iam_principal_label(struct iam *x, const struct principal *p);
/* The principal of the caller's account with that user id (0: root).
 * IAM_E_INTERNAL if there is none. */
enum iam_err iam_principal_by_id(struct iam *x, int64_t user_id, struct principal *p);
/* UserName -> principal of the caller's account. Absent and not required:
 * the caller. An IAM user of that name wins; otherwise "root" or the account
 * name address the root principal. IAM_E_NO_SUCH_ENTITY. */
enum iam_err iam_resolve_user(struct iam *x, struct str name, bool required, struct principal *out);
/* IAM_E_ACCESS_DENIED "User: ARN is not authorized to perform: iam:ACTION
 * on resource: RESOURCE". */
enum iam_err iam_denied(struct iam *x, const char *action, const char *resource);
/* Root manages every principal of its account; an IAM user only itself. */
enum iam_err iam_may_manage(struct iam *x, const char *action, const struct principal *target);
enum iam_err iam_require_root(struct iam *x, const char *action, const char *resource);

/* ---- store (iam_util.c) --------------------------------------------------- */

/* Appends an audit record of the caller on c. detail must not contain codes
 * or seeds. 0 or -errno. */
int iam_audit(struct md_conn *c, struct iam *x, const char *event, const char *detail);
/* Runs fn in md_write(). Closures return 0 to commit, -ECANCELED to keep
 * nothing (the reason in *err), or another -errno for a store failure
 * (logged; IAM_E_INTERNAL). Otherwise returns *err. */
enum iam_err iam_run_write(struct iam *x, md_write_fn fn, void *arg, const enum iam_err *err);

#endif
