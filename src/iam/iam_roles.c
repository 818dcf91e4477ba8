/* iam_roles.c -- IAM roles: CreateRole with its trust policy (who may
 * assume it: a POLICY_TRUST document), GetRole, DeleteRole, ListRoles,
 * UpdateAssumeRolePolicy, and a role's inline and attached policies (the
 * work is iam_entity.c's). Assuming a role (STS AssumeRole) is not here. */
#include "common.h"
#include "iam/iam_int.h"

#include "auth/policy.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ROLE_SESSION_MIN_S 3600
#define ROLE_SESSION_MAX_S 43200

static int
put_role(struct iam *x, struct buf *b, const char *tag, const struct md_role *r)
{
    struct iam_entity e = {MD_ENT_ROLE, r->id, r->name, r->path, r->uid, r->created_ms};
    int rc = xml_open(b, tag);

    rc |= xml_elem(b, "Path", r->path);
    rc |= xml_elem(b, "RoleName", r->name);
    rc |= xml_elem(b, "RoleId", r->uid);
    rc |= xml_elem_c(b, "Arn", iam_entity_arn(x, &e));
    rc |= xml_elem_c(b, "CreateDate", iam_iso(x, r->created_ms));
    rc |= iam_put_doc(b, "AssumeRolePolicyDocument", r->trust_policy);
    if (r->description.n > 0)
        rc |= xml_elem(b, "Description", r->description);
    rc |= xml_elem_i64(b, "MaxSessionDuration", r->max_session_s);
    rc |= xml_close(b, tag);
    return rc;
}

/* policy_parse()'s principal check for trust policies: an ARN of the
 * caller's account must name one of its users or roles [spec-authorization
 * §2.2 decision]; other accounts' and STS session ARNs are accepted. */
static bool
principal_exists(void *arg, struct str arn)
{
    static const char iam[] = "arn:aws:iam::";
    struct iam *x = arg;
    struct md_conn *c = md_reader(x->r->md);
    struct str rest, acct, res, kind, name;
    struct md_user u;
    struct md_role r;
    const char *slash;

    if (!str_has_prefix(arn, iam))
        return true;
    rest = str_make(arn.p + sizeof(iam) - 1, arn.n - (sizeof(iam) - 1));
    if (!str_split(rest, ':', &acct, &res) || !str_eq_c(acct, x->acct))
        return true;
    if (!str_split(res, '/', &kind, &name))
        return false;
    slash = memrchr(res.p, '/', res.n);
    name = str_make(slash + 1, (size_t)(res.p + res.n - slash - 1));
    if (str_eq_c(kind, "user"))
        return md_user_get_by_name(c, x->r->account_id, name, x->a, &u) == 0;
    if (str_eq_c(kind, "role"))
        return md_role_get_by_name(c, x->r->account_id, name, x->a, &r) == 0;
    return false;
}

/* Parameter param as a trust policy: IAM_E_OK or the error. */
static enum iam_err
get_trust(struct iam *x, const char *param, const char *field, struct str *doc)
{
    struct policy_opts o = {.kind = POLICY_TRUST, .principal_exists = principal_exists, .arg = x};
    size_t size = 0;
    enum iam_err err = iam_get_doc(x, param, field, &o, doc, &size);

    if (err == IAM_E_OK && size > IAM_TRUST_MAX)
        err = iam_fail(x, IAM_E_LIMIT_EXCEEDED, "Cannot exceed quota for ACLSizePerRole: %d",
                       IAM_TRUST_MAX);
    return err;
}

struct role_op {
    struct iam *x;
    struct md_role r;
    struct str doc;
    enum iam_err err;
};

static int
create_fn(struct md_conn *c, void *arg)
{
    struct role_op *op = arg;
    struct md_role *rs;
    size_t n;
    int rc;

    op->err = IAM_E_OK;
    rc = md_role_list(c, op->x->r->account_id, op->x->a, &rs, &n);
    if (rc < 0)
        return rc;
    if (n >= IAM_MAX_ROLES) {
        op->err = iam_fail(op->x, IAM_E_LIMIT_EXCEEDED,
                           "Cannot exceed quota for RolesPerAccount: %d", IAM_MAX_ROLES);
        return -ECANCELED;
    }
    rc = md_role_create(c, &op->r);
    if (rc == -EEXIST) {
        op->err = iam_fail(op->x, IAM_E_ENTITY_EXISTS, "Role with name %.*s already exists.",
                           STR_FMT(op->r.name));
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "role %.*s", STR_FMT(op->r.name));
    return rc;
}

enum iam_err
iam_create_role(struct iam *x, struct buf *res)
{
    struct role_op op = {.x = x};
    struct str path = iam_arg(x, "Path"), max = iam_arg(x, "MaxSessionDuration");
    unsigned long long secs = ROLE_SESSION_MIN_S;
    enum iam_err err;

    op.r.name = iam_arg(x, "RoleName");
    op.r.description = iam_arg(x, "Description");
    err = iam_check_name(x, op.r.name, "roleName", 64, true);
    if (err == IAM_E_OK && path.p != NULL)
        err = iam_check_path(x, path);
    if (err == IAM_E_OK && op.r.description.n > 1000)
        err = iam_invalid(x, "description", op.r.description,
                          "have length less than or equal to 1000");
    if (err == IAM_E_OK && max.p != NULL &&
        (str_to_u64(max, &secs) < 0 || secs < ROLE_SESSION_MIN_S || secs > ROLE_SESSION_MAX_S))
        err = iam_invalid(x, "maxSessionDuration", max, "have value between 3600 and 43200");
    if (err == IAM_E_OK)
        err = iam_check_tags(x);
    if (err == IAM_E_OK)
        err = get_trust(x, "AssumeRolePolicyDocument", "assumeRolePolicyDocument",
                        &op.r.trust_policy);
    if (err == IAM_E_OK)
        err = iam_new_uid(x, "AROA", &op.r.uid);
    if (err != IAM_E_OK)
        return err;
    op.r.account_id = x->r->account_id;
    op.r.path = path.p != NULL ? path : STR_LIT("/");
    op.r.max_session_s = (int)secs;
    op.r.created_ms = x->now_ms;
    if (op.r.description.p == NULL)
        op.r.description = STR_LIT("");
    err = iam_run_write(x, create_fn, &op, &op.err);
    if (err != IAM_E_OK)
        return err;
    return put_role(x, res, "Role", &op.r) != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

/* The role RoleName names, as a store row (trust policy included). */
static enum iam_err
load_role(struct iam *x, struct md_role *r)
{
    struct iam_entity e;
    enum iam_err err = iam_entity_get(x, MD_ENT_ROLE, &e);

    if (err != IAM_E_OK)
        return err;
    return md_role_get(md_reader(x->r->md), e.id, x->a, r) < 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

enum iam_err
iam_get_role(struct iam *x, struct buf *res)
{
    struct md_role r;
    enum iam_err err = load_role(x, &r);

    if (err != IAM_E_OK)
        return err;
    return put_role(x, res, "Role", &r) != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

static int
delete_fn(struct md_conn *c, void *arg)
{
    struct role_op *op = arg;
    struct md_inline_policy *ips;
    struct str *arns;
    size_t n_inline, n_att;
    int rc;

    op->err = IAM_E_OK;
    rc = md_inline_list(c, MD_ENT_ROLE, op->r.id, op->x->a, &ips, &n_inline);
    if (rc == 0)
        rc = md_attached_list(c, MD_ENT_ROLE, op->r.id, op->x->a, &arns, &n_att);
    if (rc < 0)
        return rc;
    if (n_inline > 0 || n_att > 0) {
        op->err = iam_fail(op->x, IAM_E_DELETE_CONFLICT, "Cannot delete entity, must %s first.",
                           n_inline > 0 ? "delete policies" : "detach all policies");
        return -ECANCELED;
    }
    rc = md_role_delete(c, op->r.id);
    if (rc == -ENOENT) {
        op->err = iam_fail(op->x, IAM_E_NO_SUCH_ENTITY, "The role with name %.*s cannot be found.",
                           STR_FMT(op->r.name));
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "role %.*s", STR_FMT(op->r.name));
    return rc;
}

enum iam_err
iam_delete_role(struct iam *x, struct buf *res)
{
    struct role_op op = {.x = x};
    enum iam_err err = load_role(x, &op.r);

    (void)res;
    if (err != IAM_E_OK)
        return err;
    return iam_run_write(x, delete_fn, &op, &op.err);
}

static int
role_cmp(const void *a, const void *b)
{
    return str_cmp(((const struct md_role *)a)->name, ((const struct md_role *)b)->name);
}

enum iam_err
iam_list_roles(struct iam *x, struct buf *res)
{
    struct md_role *rs;
    struct str marker, prefix;
    size_t n, k = 0, max, start, i;
    enum iam_err err = iam_get_paging(x, &max, &marker);
    int rc;

    if (err == IAM_E_OK)
        err = iam_get_path_prefix(x, &prefix);
    if (err != IAM_E_OK)
        return err;
    if (md_role_list(md_reader(x->r->md), x->r->account_id, x->a, &rs, &n) < 0)
        return IAM_E_INTERNAL;
    for (i = 0; i < n; i++)
        if (prefix.p == NULL ||
            (rs[i].path.n >= prefix.n && memcmp(rs[i].path.p, prefix.p, prefix.n) == 0))
            rs[k++] = rs[i];
    if (k > 1)
        qsort(rs, k, sizeof(*rs), role_cmp);
    start = iam_page_index(marker, k);
    rc = xml_open(res, "Roles");
    for (i = start; i < k && i - start < max; i++)
        rc |= put_role(x, res, "member", &rs[i]);
    rc |= xml_close(res, "Roles");
    rc |= iam_put_page_index(x, res, i, k);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

static int
trust_fn(struct md_conn *c, void *arg)
{
    struct role_op *op = arg;
    int rc = md_role_set_trust(c, op->r.id, op->doc);

    op->err = IAM_E_OK;
    if (rc == -ENOENT) {
        op->err = iam_fail(op->x, IAM_E_NO_SUCH_ENTITY, "The role with name %.*s cannot be found.",
                           STR_FMT(op->r.name));
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "role %.*s", STR_FMT(op->r.name));
    return rc;
}

enum iam_err
iam_update_assume_role_policy(struct iam *x, struct buf *res)
{
    struct role_op op = {.x = x};
    enum iam_err err = load_role(x, &op.r);

    (void)res;
    if (err == IAM_E_OK)
        err = get_trust(x, "PolicyDocument", "policyDocument", &op.doc);
    if (err != IAM_E_OK)
        return err;
    return iam_run_write(x, trust_fn, &op, &op.err);
}

/* ---- a role's policies ------------------------------------------------------------- */

enum iam_err
iam_put_role_policy(struct iam *x, struct buf *res)
{
    (void)res;
    return iam_entity_put_policy(x, MD_ENT_ROLE);
}

enum iam_err
iam_get_role_policy(struct iam *x, struct buf *res)
{
    return iam_entity_get_policy(x, MD_ENT_ROLE, res);
}

enum iam_err
iam_delete_role_policy(struct iam *x, struct buf *res)
{
    (void)res;
    return iam_entity_delete_policy(x, MD_ENT_ROLE);
}

enum iam_err
iam_list_role_policies(struct iam *x, struct buf *res)
{
    return iam_entity_list_policies(x, MD_ENT_ROLE, res);
}

enum iam_err
iam_attach_role_policy(struct iam *x, struct buf *res)
{
    (void)res;
    return iam_entity_attach(x, MD_ENT_ROLE);
}

enum iam_err
iam_detach_role_policy(struct iam *x, struct buf *res)
{
    (void)res;
    return iam_entity_detach(x, MD_ENT_ROLE);
}

enum iam_err
iam_list_attached_role_policies(struct iam *x, struct buf *res)
{
    return iam_entity_list_attached(x, MD_ENT_ROLE, res);
}
