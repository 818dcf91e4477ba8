/* iam_entity.c -- what users, groups and roles share as holders of
 * policies: finding one by name, its ARN, inline policies (Put/Get/Delete/
 * List<Kind>Policy) and managed policy attachments (Attach/Detach/
 * ListAttached<Kind>Policies) for the three kinds; and the checks of policy
 * documents (characters, policy_parse(), sizes), their URL-encoded replies,
 * paths, paging and audit records of the policy actions. */
#include "common.h"
#include "iam/iam_int.h"

#include "auth/policy.h"
#include "crypto/hash.h"
#include "util/enc.h"
#include "util/log.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- entities ---------------------------------------------------------------- */

const char *
iam_kind_word(enum md_entity kind)
{
    return kind == MD_ENT_USER ? "user" : kind == MD_ENT_GROUP ? "group" : "role";
}

const char *
iam_kind_param(enum md_entity kind)
{
    return kind == MD_ENT_USER ? "UserName" : kind == MD_ENT_GROUP ? "GroupName" : "RoleName";
}

/* The name's field in validation messages and its longest length. */
static const char *
kind_field(enum md_entity kind)
{
    return kind == MD_ENT_USER ? "userName" : kind == MD_ENT_GROUP ? "groupName" : "roleName";
}

enum iam_err
iam_entity_get(struct iam *x, enum md_entity kind, struct iam_entity *out)
{
    struct str name = iam_arg(x, iam_kind_param(kind));
    struct md_conn *c = md_reader(x->r->md);
    enum iam_err err;
    int rc;

    err = iam_check_name(x, name, kind_field(kind), 128, true);
    if (err != IAM_E_OK)
        return err;
    out->kind = kind;
    if (kind == MD_ENT_USER) {
        struct md_user u;
        rc = md_user_get_by_name(c, x->r->account_id, name, x->a, &u);
        if (rc == 0) {
            struct principal p = {u.id, u.name, u.created_ms};
            out->id = u.id;
            out->name = u.name;
            out->path = STR_LIT("/");
            out->uid = str_c(iam_principal_id(x, &p));
            out->created_ms = u.created_ms;
        }
    } else if (kind == MD_ENT_GROUP) {
        struct md_group g;
        rc = md_group_get_by_name(c, x->r->account_id, name, x->a, &g);
        if (rc == 0) {
            out->id = g.id;
            out->name = g.name;
            out->path = g.path;
            out->uid = g.uid;
            out->created_ms = g.created_ms;
        }
    } else {
        struct md_role r;
        rc = md_role_get_by_name(c, x->r->account_id, name, x->a, &r);
        if (rc == 0) {
            out->id = r.id;
            out->name = r.name;
            out->path = r.path;
            out->uid = r.uid;
            out->created_ms = r.created_ms;
        }
    }
    if (rc == -ENOENT)
        return iam_fail(x, IAM_E_NO_SUCH_ENTITY, "The %s with name %s cannot be found.",
                        iam_kind_word(kind), iam_shown(x, name));
    return rc < 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

const char *
iam_entity_arn(struct iam *x, const struct iam_entity *e)
{
    return arena_printf(x->a, "arn:aws:iam::%s:%s%.*s%.*s", x->acct, iam_kind_word(e->kind),
                        STR_FMT(e->path), STR_FMT(e->name));
}

enum iam_err
iam_new_uid(struct iam *x, const char *prefix, struct str *out)
{
    char *s = arena_alloc(x->a, 22);

    memcpy(s, prefix, 4);
    if (rand_chars(s + 4, 17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") < 0)
        return IAM_E_INTERNAL;
    s[21] = '\0';
    *out = str_make(s, 21);
    return IAM_E_OK;
}

/* ---- documents ------------------------------------------------------------------ */

/* IAM documents: TAB, LF, CR and U+0020..U+00FF only [spec-authorization §2.6],
 * as UTF-8. */
static bool
doc_chars_ok(struct str d)
{
    for (size_t i = 0; i < d.n; i++) {
        unsigned char c = (unsigned char)d.p[i];
        if (c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c < 0x7f) || c == 0x7f)
            continue;
        /* U+0080..U+00FF: C2 or C3 and one continuation byte. */
        if ((c == 0xc2 || c == 0xc3) && i + 1 < d.n && ((unsigned char)d.p[i + 1] & 0xc0) == 0x80) {
            i++;
            continue;
        }
        return false;
    }
    return true;
}

enum iam_err
iam_get_doc(struct iam *x, const char *param, const char *field, const struct policy_opts *o,
            struct str *doc, size_t *size)
{
    struct policy *p = NULL;
    char msg[512];
    int rc;

    *doc = iam_arg(x, param);
    if (doc->p == NULL)
        return iam_invalid(x, field, *doc, "");
    if (doc->n == 0 || doc->n > IAM_DOC_MAX)
        return iam_fail(x, IAM_E_VALIDATION,
                        "1 validation error detected: Value at '%s' failed to satisfy "
                        "constraint: Member must have length between 1 and %d",
                        field, IAM_DOC_MAX);
    if (!doc_chars_ok(*doc))
        return iam_fail(x, IAM_E_VALIDATION,
                        "1 validation error detected: Value at '%s' failed to satisfy "
                        "constraint: Member must satisfy regular expression pattern: "
                        "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
                        field);
    msg[0] = '\0';
    rc = policy_parse(*doc, o, &p, msg, sizeof(msg));
    policy_free(p);
    if (rc == -EINVAL)
        return iam_fail(x, IAM_E_MALFORMED_POLICY, "%s",
                        msg[0] != '\0' ? msg : "Syntax errors in policy.");
    if (rc < 0)
        return IAM_E_INTERNAL;
    *size = policy_size(*doc);
    return IAM_E_OK;
}

int
iam_put_doc(struct buf *b, const char *tag, struct str doc)
{
    int rc = xml_open(b, tag);

    /* Percent-encoding leaves nothing XML would escape. */
    rc |= uri_encode(b, doc, 0);
    rc |= xml_close(b, tag);
    return rc;
}

struct str
iam_policy_arn_path(struct str arn)
{
    static const char mark[] = ":policy/";
    const char *p = memmem(arn.p, arn.n, mark, sizeof(mark) - 1), *last;

    if (arn.p == NULL || p == NULL || str_has_prefix(arn, IAM_AWS_POLICY_PREFIX))
        return STR_LIT("/");
    p += sizeof(mark) - 2; /* at the '/' */
    last = memrchr(p, '/', (size_t)(arn.p + arn.n - p));
    return str_make(p, (size_t)(last - p) + 1);
}

struct str
iam_policy_arn_name(struct str arn)
{
    const char *last = arn.p != NULL ? memrchr(arn.p, '/', arn.n) : NULL;

    if (last == NULL)
        return arn;
    return str_make(last + 1, (size_t)(arn.p + arn.n - last - 1));
}

enum iam_err
iam_get_path_prefix(struct iam *x, struct str *prefix)
{
    *prefix = iam_arg(x, "PathPrefix");
    if (prefix->p == NULL)
        return IAM_E_OK;
    if (prefix->n == 0 || prefix->n > 512)
        return iam_invalid(x, "pathPrefix", *prefix, "have length between 1 and 512");
    for (size_t i = 0; i < prefix->n; i++)
        if (prefix->p[i] < '!' || prefix->p[i] > '~' || prefix->p[0] != '/')
            return iam_invalid(x, "pathPrefix", *prefix,
                               "satisfy regular expression pattern: "
                               "\\u002F[\\u0021-\\u007F]*");
    return IAM_E_OK;
}

size_t
iam_page_index(struct str marker, size_t n)
{
    unsigned long long v;

    if (marker.p == NULL)
        return 0;
    if (str_to_u64(marker, &v) < 0 || v > n)
        return n;
    return (size_t)v;
}

int
iam_put_page_index(struct iam *x, struct buf *b, size_t end, size_t n)
{
    return iam_put_paging(b, end < n, str_c(arena_printf(x->a, "%zu", end)));
}

enum iam_err
iam_get_bool(struct iam *x, const char *param, const char *field, bool *out)
{
    struct str v = iam_arg(x, param);

    if (v.p == NULL)
        return IAM_E_OK;
    if (str_ieq_c(v, "true")) {
        *out = true;
        return IAM_E_OK;
    }
    if (str_ieq_c(v, "false")) {
        *out = false;
        return IAM_E_OK;
    }
    return iam_invalid(x, field, v, "be a boolean");
}

int
iam_audit_action(struct md_conn *c, struct iam *x, const char *fmt, ...)
{
    va_list ap;
    const char *detail;

    va_start(ap, fmt);
    detail = arena_vprintf(x->a, fmt, ap);
    va_end(ap);
    return iam_audit(c, x, arena_printf(x->a, "iam.%s", iam_action_name(x)), detail);
}

/* ---- inline policies ------------------------------------------------------------- */

static size_t
inline_max(enum md_entity kind)
{
    return kind == MD_ENT_USER    ? IAM_INLINE_USER_MAX
           : kind == MD_ENT_GROUP ? IAM_INLINE_GROUP_MAX
                                  : IAM_INLINE_ROLE_MAX;
}

struct pol_op {
    struct iam *x;
    struct iam_entity e;
    struct str name, doc, arn;
    size_t size;
    enum iam_err err;
};

static int
put_fn(struct md_conn *c, void *arg)
{
    struct pol_op *op = arg;
    struct md_inline_policy *ips;
    size_t n, total = op->size;
    int rc;

    op->err = IAM_E_OK;
    rc = md_inline_list(c, op->e.kind, op->e.id, op->x->a, &ips, &n);
    if (rc < 0)
        return rc;
    /* AWS: the limit is on all of an entity's inline policies together;
     * the one being replaced does not count [spec-authorization §2.6]. */
    for (size_t i = 0; i < n; i++)
        if (ips[i].name.n != op->name.n || strncasecmp(ips[i].name.p, op->name.p, op->name.n) != 0)
            total += policy_size(ips[i].document);
    if (total > inline_max(op->e.kind)) {
        op->err = iam_fail(op->x, IAM_E_LIMIT_EXCEEDED,
                           "Maximum policy size of %zu bytes exceeded for %s %.*s",
                           inline_max(op->e.kind), iam_kind_word(op->e.kind), STR_FMT(op->e.name));
        return -ECANCELED;
    }
    rc = md_inline_put(c, op->e.kind, op->e.id, op->name, op->doc);
    if (rc == -ENOENT) {
        op->err = iam_fail(op->x, IAM_E_NO_SUCH_ENTITY, "The %s with name %.*s cannot be found.",
                           iam_kind_word(op->e.kind), STR_FMT(op->e.name));
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "%s %.*s policy %.*s", iam_kind_word(op->e.kind),
                              STR_FMT(op->e.name), STR_FMT(op->name));
    return rc;
}

enum iam_err
iam_entity_put_policy(struct iam *x, enum md_entity kind)
{
    struct policy_opts o = {.kind = POLICY_IDENTITY};
    struct pol_op op = {.x = x, .name = iam_arg(x, "PolicyName")};
    enum iam_err err;

    err = iam_check_name(x, op.name, "policyName", 128, true);
    if (err == IAM_E_OK)
        err = iam_entity_get(x, kind, &op.e);
    if (err == IAM_E_OK)
        err = iam_get_doc(x, "PolicyDocument", "policyDocument", &o, &op.doc, &op.size);
    if (err != IAM_E_OK)
        return err;
    return iam_run_write(x, put_fn, &op, &op.err);
}

enum iam_err
iam_entity_get_policy(struct iam *x, enum md_entity kind, struct buf *res)
{
    struct str name = iam_arg(x, "PolicyName");
    struct md_inline_policy ip;
    struct iam_entity e;
    enum iam_err err;
    int rc;

    err = iam_check_name(x, name, "policyName", 128, true);
    if (err == IAM_E_OK)
        err = iam_entity_get(x, kind, &e);
    if (err != IAM_E_OK)
        return err;
    rc = md_inline_get(md_reader(x->r->md), kind, e.id, name, x->a, &ip);
    if (rc == -ENOENT)
        return iam_fail(x, IAM_E_NO_SUCH_ENTITY, "The %s policy with name %s cannot be found.",
                        iam_kind_word(kind), iam_shown(x, name));
    if (rc < 0)
        return IAM_E_INTERNAL;
    rc = xml_elem(res, iam_kind_param(kind), e.name);
    rc |= xml_elem(res, "PolicyName", ip.name);
    rc |= iam_put_doc(res, "PolicyDocument", ip.document);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

static int
delete_fn(struct md_conn *c, void *arg)
{
    struct pol_op *op = arg;
    int rc = md_inline_delete(c, op->e.kind, op->e.id, op->name);

    op->err = IAM_E_OK;
    if (rc == -ENOENT) {
        op->err =
            iam_fail(op->x, IAM_E_NO_SUCH_ENTITY, "The %s policy with name %s cannot be found.",
                     iam_kind_word(op->e.kind), iam_shown(op->x, op->name));
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "%s %.*s policy %.*s", iam_kind_word(op->e.kind),
                              STR_FMT(op->e.name), STR_FMT(op->name));
    return rc;
}

enum iam_err
iam_entity_delete_policy(struct iam *x, enum md_entity kind)
{
    struct pol_op op = {.x = x, .name = iam_arg(x, "PolicyName")};
    enum iam_err err;

    err = iam_check_name(x, op.name, "policyName", 128, true);
    if (err == IAM_E_OK)
        err = iam_entity_get(x, kind, &op.e);
    if (err != IAM_E_OK)
        return err;
    return iam_run_write(x, delete_fn, &op, &op.err);
}

enum iam_err
iam_entity_list_policies(struct iam *x, enum md_entity kind, struct buf *res)
{
    struct md_inline_policy *ips;
    struct iam_entity e;
    struct str marker;
    size_t n, max, start, i;
    enum iam_err err;
    int rc;

    err = iam_entity_get(x, kind, &e);
    if (err == IAM_E_OK)
        err = iam_get_paging(x, &max, &marker);
    if (err != IAM_E_OK)
        return err;
    rc = md_inline_list(md_reader(x->r->md), kind, e.id, x->a, &ips, &n);
    if (rc < 0)
        return IAM_E_INTERNAL;
    start = iam_page_index(marker, n);
    rc = xml_open(res, "PolicyNames");
    for (i = start; i < n && i - start < max; i++)
        rc |= xml_elem(res, "member", ips[i].name);
    rc |= xml_close(res, "PolicyNames");
    rc |= iam_put_page_index(x, res, i, n);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

/* ---- attachments --------------------------------------------------------------- */

static const char *
quota_name(enum md_entity kind)
{
    return kind == MD_ENT_USER    ? "PoliciesPerUser"
           : kind == MD_ENT_GROUP ? "PoliciesPerGroup"
                                  : "PoliciesPerRole";
}

/* 0 if arn names an attachable policy: an AWS managed one Coffer ships, or
 * a customer policy of the caller's account; -ENOENT if not; -errno. */
static int
policy_exists(struct md_conn *c, struct iam *x, struct str arn)
{
    struct md_policy p;
    int rc;

    if (str_has_prefix(arn, IAM_AWS_POLICY_PREFIX))
        return policy_aws_managed(arn) != NULL ? 0 : -ENOENT;
    rc = md_policy_get_by_arn(c, arn, x->a, &p);
    if (rc == 0 && p.account_id != x->r->account_id)
        rc = -ENOENT;
    return rc;
}

static int
attach_fn(struct md_conn *c, void *arg)
{
    struct pol_op *op = arg;
    struct str *arns;
    size_t n;
    int rc;

    op->err = IAM_E_OK;
    rc = policy_exists(c, op->x, op->arn);
    if (rc == -ENOENT) {
        op->err =
            iam_fail(op->x, IAM_E_NO_SUCH_ENTITY, "Policy %s does not exist or is not attachable.",
                     iam_shown(op->x, op->arn));
        return -ECANCELED;
    }
    if (rc < 0)
        return rc;
    rc = md_attached_list(c, op->e.kind, op->e.id, op->x->a, &arns, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (str_eq(arns[i], op->arn))
            return -ECANCELED; /* AWS: attaching again is a success that changes nothing */
    if (n >= IAM_MAX_ATTACHED) {
        op->err = iam_fail(op->x, IAM_E_LIMIT_EXCEEDED, "Cannot exceed quota for %s: %d",
                           quota_name(op->e.kind), IAM_MAX_ATTACHED);
        return -ECANCELED;
    }
    rc = md_attach(c, op->e.kind, op->e.id, op->arn);
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "%s %.*s policy %.*s", iam_kind_word(op->e.kind),
                              STR_FMT(op->e.name), STR_FMT(op->arn));
    return rc;
}

static int
detach_fn(struct md_conn *c, void *arg)
{
    struct pol_op *op = arg;
    int rc = md_detach(c, op->e.kind, op->e.id, op->arn);

    op->err = IAM_E_OK;
    if (rc == -ENOENT) {
        op->err = iam_fail(op->x, IAM_E_NO_SUCH_ENTITY, "Policy %s was not found.",
                           iam_shown(op->x, op->arn));
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "%s %.*s policy %.*s", iam_kind_word(op->e.kind),
                              STR_FMT(op->e.name), STR_FMT(op->arn));
    return rc;
}

/* PolicyArn: 20..2048 bytes. */
static enum iam_err
get_arn(struct iam *x, struct str *arn)
{
    *arn = iam_arg(x, "PolicyArn");
    if (arn->p == NULL)
        return iam_invalid(x, "policyArn", *arn, "");
    if (arn->n < 20 || arn->n > 2048)
        return iam_invalid(x, "policyArn", *arn, "have length between 20 and 2048");
    return IAM_E_OK;
}

static enum iam_err
attach_or_detach(struct iam *x, enum md_entity kind, md_write_fn fn)
{
    struct pol_op op = {.x = x};
    enum iam_err err;

    err = iam_entity_get(x, kind, &op.e);
    if (err == IAM_E_OK)
        err = get_arn(x, &op.arn);
    if (err != IAM_E_OK)
        return err;
    return iam_run_write(x, fn, &op, &op.err);
}

enum iam_err
iam_entity_attach(struct iam *x, enum md_entity kind)
{
    return attach_or_detach(x, kind, attach_fn);
}

enum iam_err
iam_entity_detach(struct iam *x, enum md_entity kind)
{
    return attach_or_detach(x, kind, detach_fn);
}

enum iam_err
iam_entity_list_attached(struct iam *x, enum md_entity kind, struct buf *res)
{
    struct iam_entity e;
    struct str marker, prefix, *arns;
    size_t n, k = 0, max, start, i;
    enum iam_err err;
    int rc;

    err = iam_entity_get(x, kind, &e);
    if (err == IAM_E_OK)
        err = iam_get_paging(x, &max, &marker);
    if (err == IAM_E_OK)
        err = iam_get_path_prefix(x, &prefix);
    if (err != IAM_E_OK)
        return err;
    rc = md_attached_list(md_reader(x->r->md), kind, e.id, x->a, &arns, &n);
    if (rc < 0)
        return IAM_E_INTERNAL;
    for (i = 0; i < n; i++) {
        struct str path = iam_policy_arn_path(arns[i]);
        if (prefix.p == NULL || (path.n >= prefix.n && memcmp(path.p, prefix.p, prefix.n) == 0))
            arns[k++] = arns[i];
    }
    start = iam_page_index(marker, k);
    rc = xml_open(res, "AttachedPolicies");
    for (i = start; i < k && i - start < max; i++) {
        rc |= xml_open(res, "member");
        rc |= xml_elem(res, "PolicyName", iam_policy_arn_name(arns[i]));
        rc |= xml_elem(res, "PolicyArn", arns[i]);
        rc |= xml_close(res, "member");
    }
    rc |= xml_close(res, "AttachedPolicies");
    rc |= iam_put_page_index(x, res, i, k);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}
