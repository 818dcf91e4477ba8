/* iam_util.c -- what the IAM/STS actions share: parameter checks with
 * AWS's validation messages, paging, principals and their ARNs, the
 * caller's rights, audit records, store writes and random key material. */
#include "common.h"
#include "iam/iam_int.h"

#include "crypto/hash.h"
#include "util/log.h"
#include "util/tm.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <string.h>

struct str
iam_arg(const struct iam *x, const char *name)
{
    for (size_t i = 0; i < x->n_params; i++)
        if (str_eq_c(x->params[i].name, name))
            return x->params[i].value;
    return STR_NULL;
}

/* A client value safe to quote in a message: at most 128 bytes, controls
 * and non-ASCII bytes shown as '?', so the error document always parses. */
const char *
iam_shown(struct iam *x, struct str v)
{
    size_t n = v.n < 128 ? v.n : 128;
    char *s = arena_alloc(x->a, n + 1);

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v.p[i];
        s[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    s[n] = '\0';
    return s;
}

/* AWS's wording for a parameter that breaks its model constraint. */
enum iam_err
iam_invalid(struct iam *x, const char *field, struct str v, const char *constraint)
{
    if (v.p == NULL)
        return iam_fail(x, IAM_E_VALIDATION,
                        "1 validation error detected: Value null at '%s' failed to satisfy "
                        "constraint: Member must not be null",
                        field);
    return iam_fail(x, IAM_E_VALIDATION,
                    "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: "
                    "Member must %s",
                    iam_shown(x, v), field, constraint);
}

/* IAM names: [\w+=,.@-]{1,max}. */
static bool
name_ok(struct str s, size_t max)
{
    if (s.n == 0 || s.n > max)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("_+=,.@-", c) != NULL))
            return false;
    }
    return true;
}

enum iam_err
iam_check_name(struct iam *x, struct str v, const char *field, size_t max, bool required)
{
    if (v.p == NULL)
        return required ? iam_invalid(x, field, v, "") : IAM_E_OK;
    if (v.n == 0 || v.n > max)
        return iam_invalid(x, field, v, arena_printf(x->a, "have length between 1 and %zu", max));
    if (!name_ok(v, max))
        return iam_invalid(x, field, v, "satisfy regular expression pattern: [\\w+=,.@-]+");
    return IAM_E_OK;
}

/* Serial numbers: [\w+=/:,.@-]{1,256}. IAM's minimum is 9, but S3's own
 * example hardware serial has 8 characters [spec-mfa-delete §1.1]. */
enum iam_err
iam_check_serial(struct iam *x, struct str v)
{
    if (v.p == NULL)
        return iam_invalid(x, "serialNumber", v, "");
    if (v.n == 0 || v.n > 256)
        return iam_invalid(x, "serialNumber", v, "have length between 9 and 256");
    for (size_t i = 0; i < v.n; i++) {
        char c = v.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("_+=/:,.@-", c) != NULL))
            return iam_invalid(x, "serialNumber", v,
                               "satisfy regular expression pattern: [\\w+=/:,.@-]+");
    }
    return IAM_E_OK;
}

/* Paths: "/" or "/" [!-~]+ "/", at most 512 bytes. */
enum iam_err
iam_check_path(struct iam *x, struct str v)
{
    if (v.n == 0 || v.n > 512)
        return iam_invalid(x, "path", v, "have length between 1 and 512");
    for (size_t i = 0; i < v.n; i++)
        if (v.p[i] < '!' || v.p[i] > '~')
            return iam_invalid(x, "path", v,
                               "satisfy regular expression pattern: "
                               "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)");
    if (v.p[0] != '/' || v.p[v.n - 1] != '/')
        return iam_invalid(x, "path", v,
                           "satisfy regular expression pattern: "
                           "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)");
    return IAM_E_OK;
}

/* Codes: exactly six ASCII digits. Never quoted back. */
enum iam_err
iam_get_code(struct iam *x, const char *param, const char *field, uint32_t *code)
{
    struct str v = iam_arg(x, param);

    if (v.p == NULL)
        return iam_invalid(x, field, v, "");
    if (totp_parse_code(v.p, v.n, code) < 0)
        return iam_fail(x, IAM_E_VALIDATION,
                        "1 validation error detected: Value at '%s' failed to satisfy constraint: "
                        "Member must be exactly six digits",
                        field);
    return IAM_E_OK;
}

/* Tags.member.N.Key / .Value: counted and checked, not stored. */
enum iam_err
iam_check_tags(struct iam *x)
{
    size_t n = 0;

    for (size_t i = 0; i < x->n_params; i++) {
        struct str name = x->params[i].name;
        if (!str_has_prefix(name, "Tags.member.") || name.n < 4 ||
            memcmp(name.p + name.n - 4, ".Key", 4) != 0)
            continue;
        n++;
        if (x->params[i].value.n == 0 || x->params[i].value.n > 128)
            return iam_invalid(x, "tags.member.key", x->params[i].value,
                               "have length between 1 and 128");
    }
    if (n > IAM_MAX_TAGS)
        return iam_fail(
            x, IAM_E_VALIDATION,
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: "
            "Member must have length less than or equal to 50");
    return IAM_E_OK;
}

/* MaxItems (1..1000, default 100) and Marker (1..320 bytes). */
enum iam_err
iam_get_paging(struct iam *x, size_t *max_items, struct str *marker)
{
    struct str v = iam_arg(x, "MaxItems");
    unsigned long long n;

    *max_items = 100;
    if (v.p != NULL) {
        if (str_to_u64(v, &n) < 0 || n < 1 || n > 1000)
            return iam_invalid(x, "maxItems", v, "have value between 1 and 1000");
        *max_items = (size_t)n;
    }
    *marker = iam_arg(x, "Marker");
    if (marker->p != NULL && (marker->n == 0 || marker->n > 320))
        return iam_invalid(x, "marker", *marker, "have length between 1 and 320");
    return IAM_E_OK;
}

/* Index of the first item after marker, in a list sorted by key. */
size_t
iam_page_start(const void *items, size_t n, size_t size, size_t key_off, struct str marker)
{
    if (marker.p == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const struct str *k = (const struct str *)((const char *)items + i * size + key_off);
        if (str_cmp(*k, marker) > 0)
            return i;
    }
    return n;
}

const char *
iam_iso(struct iam *x, int64_t ms)
{
    char *s = arena_alloc(x->a, 32);

    tm_iso8601(ms, s);
    return s;
}

const char *
iam_principal_arn(struct iam *x, const struct principal *p)
{
    if (p->user_id < 0)
        return arena_printf(x->a, "arn:aws:sts::%s:assumed-role/%.*s/%.*s", x->acct,
                            STR_FMT(x->role.name), STR_FMT(x->session));
    if (p->user_id == 0)
        return arena_printf(x->a, "arn:aws:iam::%s:root", x->acct);
    return arena_printf(x->a, "arn:aws:iam::%s:user/%.*s", x->acct, STR_FMT(p->name));
}

/* AWS: root's UserId is the account number; IAM users get an "AIDA" id;
 * a role session is "ROLEID:SESSION" [spec-authorization §4.1]. */
const char *
iam_principal_id(struct iam *x, const struct principal *p)
{
    if (p->user_id < 0)
        return arena_printf(x->a, "%.*s:%.*s", STR_FMT(x->role.uid), STR_FMT(x->session));
    if (p->user_id == 0)
        return x->acct;
    return arena_printf(x->a, "AIDA%017lld", (long long)p->user_id);
}

const char *
iam_principal_label(struct iam *x, const struct principal *p)
{
    if (p->user_id < 0)
        return arena_printf(x->a, "account:%.*s/role:%.*s/session:%.*s",
                            STR_FMT(x->r->account->name), STR_FMT(x->role.name),
                            STR_FMT(x->session));
    if (p->user_id == 0)
        return arena_printf(x->a, "account:%.*s", STR_FMT(x->r->account->name));
    return arena_printf(x->a, "account:%.*s/user:%.*s", STR_FMT(x->r->account->name),
                        STR_FMT(p->name));
}

static void
root_principal(struct iam *x, struct principal *p)
{
    p->user_id = 0;
    p->name = x->r->account->name;
    p->created_ms = x->r->account->created_ms;
}

enum iam_err
iam_principal_by_id(struct iam *x, int64_t user_id, struct principal *p)
{
    struct md_user u;
    int rc;

    if (user_id == 0) {
        root_principal(x, p);
        return IAM_E_OK;
    }
    rc = md_user_get(md_reader(x->r->md), user_id, x->a, &u);
    if (rc < 0 || u.account_id != x->r->account_id) {
        /* A device assigned to a deleted user cannot exist (DeleteConflict),
         * so this is a store problem. */
        return IAM_E_INTERNAL;
    }
    p->user_id = u.id;
    p->name = u.name;
    p->created_ms = u.created_ms;
    return IAM_E_OK;
}

/* UserName -> principal of the caller's account. Absent: the caller. An IAM
 * user of that name wins; otherwise "root" or the account name address the
 * root principal (IAM's EnableMFADevice requires a UserName, which root
 * does not have on AWS). */
enum iam_err
iam_resolve_user(struct iam *x, struct str name, bool required, struct principal *out)
{
    struct md_user u;
    enum iam_err err;
    int rc;

    if (name.p == NULL && !required) {
        if (x->caller.user_id < 0)
            return iam_fail(x, IAM_E_VALIDATION,
                            "Must specify userName when calling with non-User credentials");
        *out = x->caller;
        return IAM_E_OK;
    }
    err = iam_check_name(x, name, "userName", 128, true);
    if (err != IAM_E_OK)
        return err;
    rc = md_user_get_by_name(md_reader(x->r->md), x->r->account_id, name, x->a, &u);
    if (rc == 0) {
        out->user_id = u.id;
        out->name = u.name;
        out->created_ms = u.created_ms;
        return IAM_E_OK;
    }
    if (rc != -ENOENT)
        return IAM_E_INTERNAL;
    if (str_eq_c(name, "root") || str_eq(name, x->r->account->name)) {
        root_principal(x, out);
        return IAM_E_OK;
    }
    return iam_fail(x, IAM_E_NO_SUCH_ENTITY, "The user with name %s cannot be found.",
                    iam_shown(x, name));
}

enum iam_err
iam_denied(struct iam *x, const char *action, const char *resource)
{
    return iam_fail(x, IAM_E_ACCESS_DENIED,
                    "User: %s is not authorized to perform: iam:%s on resource: %s",
                    iam_principal_arn(x, &x->caller), action, resource);
}

/* Root manages every principal of its account; an IAM user only itself. */
enum iam_err
iam_may_manage(struct iam *x, const char *action, const struct principal *target)
{
    if (x->caller.user_id == 0 || x->caller.user_id == target->user_id)
        return IAM_E_OK;
    return iam_denied(x, action, iam_principal_arn(x, target));
}


int
iam_audit(struct md_conn *c, struct iam *x, const char *event, const char *detail)
{
    return md_audit_add(c, x->now_ms, event, str_c(x->label), str_c(x->r->source), detail);
}

/* md_write() closures return 0 to commit, -ECANCELED to keep nothing (the
 * reason in their err field), or another -errno for a store failure. */
enum iam_err
iam_run_write(struct iam *x, md_write_fn fn, void *arg, const enum iam_err *err)
{
    int rc = md_write(x->r->md, fn, arg);

    if (rc == -ECANCELED || rc == 0)
        return *err;
    log_error("iam: store write failed (%d), request %s", rc, x->r->request_id);
    return IAM_E_INTERNAL;
}

/* ---- XML pieces -------------------------------------------------------- */

int
iam_put_user(struct iam *x, struct buf *b, const char *tag, const struct principal *p)
{
    int rc = xml_open(b, tag);

    rc |= xml_elem_c(b, "Path", "/");
    rc |= xml_elem(b, "UserName", p->name);
    rc |= xml_elem_c(b, "UserId", iam_principal_id(x, p));
    rc |= xml_elem_c(b, "Arn", iam_principal_arn(x, p));
    rc |= xml_elem_c(b, "CreateDate", iam_iso(x, p->created_ms));
    rc |= xml_close(b, tag);
    return rc;
}

int
iam_put_paging(struct buf *b, bool truncated, struct str marker)
{
    int rc = xml_elem_bool(b, "IsTruncated", truncated);

    if (truncated)
        rc |= xml_elem(b, "Marker", marker);
    return rc;
}
