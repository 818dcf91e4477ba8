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
#define IAM_SEED_BYTES 20  /* 160-bit seeds, as AWS issues */
#define IAM_TOKEN_BYTES 48 /* 64 base64url characters */
#define IAM_QR_SCALE 6
#define IAM_QR_BORDER 4
/* Policies [spec-authorization §2.6, §5.1]. Inline sizes are per entity, all
 * of its inline policies together, counted by policy_size(). */
#define IAM_INLINE_USER_MAX 2048
#define IAM_INLINE_GROUP_MAX 5120
#define IAM_INLINE_ROLE_MAX 10240
#define IAM_MANAGED_MAX 6144
#define IAM_TRUST_MAX 2048
#define IAM_DOC_MAX 131072  /* the API model's bound on a document parameter */
#define IAM_MAX_ATTACHED 10 /* PoliciesPerUser / PerGroup / PerRole */
#define IAM_MAX_GROUPS_PER_USER 10
#define IAM_MAX_GROUPS 300    /* GroupsPerAccount */
#define IAM_MAX_ROLES 1000    /* RolesPerAccount */
#define IAM_MAX_POLICIES 1500 /* customer managed PoliciesPerAccount */
#define IAM_AWS_POLICY_PREFIX "arn:aws:iam::aws:policy/"

/* What an action is authorized on (iam.c's table): the ARN its parameters
 * name. IAM_RES_NONE: no permission needed (GetSessionToken,
 * GetCallerIdentity [spec-authorization §5.2]). */
enum iam_res {
    IAM_RES_NONE = 0,
    IAM_RES_USER,   /* UserName; without it the caller itself */
    IAM_RES_GROUP,  /* GroupName (Path for CreateGroup) */
    IAM_RES_ROLE,   /* RoleName (Path for CreateRole) */
    IAM_RES_POLICY, /* PolicyArn; CreatePolicy: Path and PolicyName */
    IAM_RES_MFA,    /* SerialNumber; CreateVirtualMFADevice: Path and VirtualMFADeviceName */
    IAM_RES_USERS,  /* listings: the kind's ARN prefix */
    IAM_RES_GROUPS,
    IAM_RES_ROLES,
    IAM_RES_POLICIES,
    IAM_RES_MFAS,
    IAM_RES_SOURCE, /* PolicySourceArn (SimulatePrincipalPolicy) */
    IAM_RES_ANY,    /* "*" */
};

/* A principal of the caller's account: its root (user_id 0) or an IAM user;
 * user_id -1: the caller's role session (struct iam's role, session). */
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
    /* A role session caller (caller.user_id -1): its role and session name. */
    struct md_role role;
    struct str session;
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
/* iam_policy.c: users' inline and attached policies; managed policies */
enum iam_err iam_put_user_policy(struct iam *x, struct buf *res);
enum iam_err iam_get_user_policy(struct iam *x, struct buf *res);
enum iam_err iam_delete_user_policy(struct iam *x, struct buf *res);
enum iam_err iam_list_user_policies(struct iam *x, struct buf *res);
enum iam_err iam_attach_user_policy(struct iam *x, struct buf *res);
enum iam_err iam_detach_user_policy(struct iam *x, struct buf *res);
enum iam_err iam_list_attached_user_policies(struct iam *x, struct buf *res);
enum iam_err iam_create_policy(struct iam *x, struct buf *res);
enum iam_err iam_get_policy(struct iam *x, struct buf *res);
enum iam_err iam_list_policies(struct iam *x, struct buf *res);
enum iam_err iam_delete_policy(struct iam *x, struct buf *res);
enum iam_err iam_create_policy_version(struct iam *x, struct buf *res);
enum iam_err iam_get_policy_version(struct iam *x, struct buf *res);
enum iam_err iam_list_policy_versions(struct iam *x, struct buf *res);
enum iam_err iam_delete_policy_version(struct iam *x, struct buf *res);
enum iam_err iam_set_default_policy_version(struct iam *x, struct buf *res);
enum iam_err iam_list_entities_for_policy(struct iam *x, struct buf *res);
/* iam_groups.c */
enum iam_err iam_create_group(struct iam *x, struct buf *res);
enum iam_err iam_get_group(struct iam *x, struct buf *res);
enum iam_err iam_delete_group(struct iam *x, struct buf *res);
enum iam_err iam_list_groups(struct iam *x, struct buf *res);
enum iam_err iam_add_user_to_group(struct iam *x, struct buf *res);
enum iam_err iam_remove_user_from_group(struct iam *x, struct buf *res);
enum iam_err iam_list_groups_for_user(struct iam *x, struct buf *res);
enum iam_err iam_put_group_policy(struct iam *x, struct buf *res);
enum iam_err iam_get_group_policy(struct iam *x, struct buf *res);
enum iam_err iam_delete_group_policy(struct iam *x, struct buf *res);
enum iam_err iam_list_group_policies(struct iam *x, struct buf *res);
enum iam_err iam_attach_group_policy(struct iam *x, struct buf *res);
enum iam_err iam_detach_group_policy(struct iam *x, struct buf *res);
enum iam_err iam_list_attached_group_policies(struct iam *x, struct buf *res);
/* iam_roles.c */
enum iam_err iam_create_role(struct iam *x, struct buf *res);
enum iam_err iam_get_role(struct iam *x, struct buf *res);
enum iam_err iam_delete_role(struct iam *x, struct buf *res);
enum iam_err iam_list_roles(struct iam *x, struct buf *res);
enum iam_err iam_update_assume_role_policy(struct iam *x, struct buf *res);
enum iam_err iam_put_role_policy(struct iam *x, struct buf *res);
enum iam_err iam_get_role_policy(struct iam *x, struct buf *res);
enum iam_err iam_delete_role_policy(struct iam *x, struct buf *res);
enum iam_err iam_list_role_policies(struct iam *x, struct buf *res);
enum iam_err iam_attach_role_policy(struct iam *x, struct buf *res);
enum iam_err iam_detach_role_policy(struct iam *x, struct buf *res);
enum iam_err iam_list_attached_role_policies(struct iam *x, struct buf *res);
/* iam_sim.c */
enum iam_err iam_simulate_principal_policy(struct iam *x, struct buf *res);
enum iam_err iam_simulate_custom_policy(struct iam *x, struct buf *res);
/* iam_sts.c */
enum iam_err iam_get_session_token(struct iam *x, struct buf *res);
enum iam_err iam_get_caller_identity(struct iam *x, struct buf *res);
/* iam_assume.c */
enum iam_err iam_assume_role(struct iam *x, struct buf *res);

/* ---- session credentials (iam_sts.c) --------------------------------------- */

/* New temporary credentials: k's access_key_id, secret and
 * session_token_sha256 point into c, created_ms and is_active are set; the
 * caller fills the rest and stores k with iam_session_write(). */
struct iam_creds {
    char id[24], secret[48], hex[65];
    char token[72]; /* base64url of IAM_TOKEN_BYTES random bytes */
};
enum iam_err iam_session_new(struct iam *x, struct iam_creds *c, struct md_key *k);
/* <Credentials> of c expiring at k->expires_ms into res. 0 or -E2BIG. */
int iam_put_credentials(struct iam *x, struct buf *res, const struct iam_creds *c,
                        const struct md_key *k);
void iam_creds_wipe(struct iam_creds *c);
/* The md_write() closure storing k, first verifying code against the
 * caller's device serial when with_mfa (a good code stamps
 * k->mfa_auth_ms; a bad one burns, counts toward the throttle and fails
 * with err set), as GetSessionToken does it. */
struct iam_session_op {
    struct iam *x;
    bool with_mfa;
    struct str serial;
    uint32_t code;
    struct md_key k;
    enum iam_err err;
    const char *mfa_result; /* with_mfa: the check's outcome, for mfa_count() */
};
int iam_session_write(struct md_conn *c, void *arg);

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
/* MFA devices stay their owners' whatever a policy allows: root manages
 * every principal's, an IAM user only its own (iam_mfa.c). */
enum iam_err iam_may_manage(struct iam *x, const char *action, const struct principal *target);

/* ---- users, groups and roles holding policies (iam_entity.c) --------------
 * The actions shared by the three kinds (inline policies, attachments) take
 * the kind; each kind's file names its own actions. */

struct iam_entity {
    enum md_entity kind;
    int64_t id;
    struct str name, path; /* users: path "/" */
    struct str uid;        /* GroupId / RoleId; users: iam_principal_id() */
    int64_t created_ms;
};
/* The kind's word ("user", "group", "role"), its name parameter
 * ("UserName", ...). */
const char *iam_kind_word(enum md_entity kind);
const char *iam_kind_param(enum md_entity kind);
/* The entity of the caller's account the kind's name parameter names:
 * IAM_E_OK, ValidationError, NoSuchEntity ("The user with name N cannot be
 * found."). Users are IAM users only (not root). */
enum iam_err iam_entity_get(struct iam *x, enum md_entity kind, struct iam_entity *out);
/* arn:aws:iam::ACCOUNT:KIND/PATH/NAME, in the arena. */
const char *iam_entity_arn(struct iam *x, const struct iam_entity *e);
/* A fresh unique id: prefix ("AGPA", "AROA", "ANPA") and 17 of [A-Z0-9],
 * from the crypto generator. IAM_E_INTERNAL if it fails. */
enum iam_err iam_new_uid(struct iam *x, const char *prefix, struct str *out);
/* Put/Get/Delete/List<Kind>Policy(ies), Attach/Detach/ListAttached<Kind>Policies. */
enum iam_err iam_entity_put_policy(struct iam *x, enum md_entity kind);
enum iam_err iam_entity_get_policy(struct iam *x, enum md_entity kind, struct buf *res);
enum iam_err iam_entity_delete_policy(struct iam *x, enum md_entity kind);
enum iam_err iam_entity_list_policies(struct iam *x, enum md_entity kind, struct buf *res);
enum iam_err iam_entity_attach(struct iam *x, enum md_entity kind);
enum iam_err iam_entity_detach(struct iam *x, enum md_entity kind);
enum iam_err iam_entity_list_attached(struct iam *x, enum md_entity kind, struct buf *res);

/* ---- policy documents (iam_entity.c) ---------------------------------------- */

/* Parameter param as a policy document for o: present, 1..IAM_DOC_MAX bytes
 * of TAB, LF, CR and U+0020..U+00FF (ValidationError naming field), and
 * accepted by policy_parse() (MalformedPolicyDocument with the parser's
 * message). *size: policy_size(). */
struct policy_opts;
enum iam_err iam_get_doc(struct iam *x, const char *param, const char *field,
                         const struct policy_opts *o, struct str *doc, size_t *size);
/* <tag> with doc URL-encoded, as IAM returns documents. 0 or -E2BIG. */
int iam_put_doc(struct buf *b, const char *tag, struct str doc);
/* Path of a policy ARN ("/" for AWS managed and malformed ones) and its
 * name (after the last '/'). */
struct str iam_policy_arn_path(struct str arn);
struct str iam_policy_arn_name(struct str arn);
/* PathPrefix: absent (STR_NULL) or "/" [!-~]* up to 512 bytes. */
enum iam_err iam_get_path_prefix(struct iam *x, struct str *prefix);
/* Index-based paging for the listings added with policies: the first item
 * of this page from Marker (a decimal index; past the end when it is not
 * one), and the reply's <IsTruncated>/<Marker> for items [start, end) of n. */
size_t iam_page_index(struct str marker, size_t n);
int iam_put_page_index(struct iam *x, struct buf *b, size_t end, size_t n);
/* Optional boolean parameter ("true"/"false", any case): ValidationError. */
enum iam_err iam_get_bool(struct iam *x, const char *param, const char *field, bool *out);
/* Audit record "iam.<Action>" of the caller with detail (printf). */
int iam_audit_action(struct md_conn *c, struct iam *x, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- store (iam_util.c) --------------------------------------------------- */

/* Appends an audit record of the caller on c. detail must not contain codes
 * or seeds. 0 or -errno. */
int iam_audit(struct md_conn *c, struct iam *x, const char *event, const char *detail);
/* Runs fn in md_write(). Closures return 0 to commit, -ECANCELED to keep
 * nothing (the reason in *err), or another -errno for a store failure
 * (logged; IAM_E_INTERNAL). Otherwise returns *err. */
enum iam_err iam_run_write(struct iam *x, md_write_fn fn, void *arg, const enum iam_err *err);

#endif
