/* iam_policy.c -- users' inline and attached policies (the shared work is
 * iam_entity.c's) and managed policies: customer ones (CreatePolicy and
 * versions, at most five, the default never deleted) and the AWS managed
 * ones Coffer ships (auth/policy.h), which are listed, read and attached
 * like the others but never changed [spec-authorization §5.1, §5.4]. */
#include "common.h"
#include "iam/iam_int.h"

#include "auth/policy.h"
#include "crypto/hash.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* AWS managed policies carry AWS's dates; Coffer shows one fixed date. */
#define AWS_MANAGED_MS 1423248058000LL /* 2015-02-06T18:40:58Z */

/* ---- users' policies ------------------------------------------------------------ */

enum iam_err
iam_put_user_policy(struct iam *x, struct buf *res)
{
    (void)res;
    return iam_entity_put_policy(x, MD_ENT_USER);
}

enum iam_err
iam_get_user_policy(struct iam *x, struct buf *res)
{
    return iam_entity_get_policy(x, MD_ENT_USER, res);
}

enum iam_err
iam_delete_user_policy(struct iam *x, struct buf *res)
{
    (void)res;
    return iam_entity_delete_policy(x, MD_ENT_USER);
}

enum iam_err
iam_list_user_policies(struct iam *x, struct buf *res)
{
    return iam_entity_list_policies(x, MD_ENT_USER, res);
}

enum iam_err
iam_attach_user_policy(struct iam *x, struct buf *res)
{
    (void)res;
    return iam_entity_attach(x, MD_ENT_USER);
}

enum iam_err
iam_detach_user_policy(struct iam *x, struct buf *res)
{
    (void)res;
    return iam_entity_detach(x, MD_ENT_USER);
}

enum iam_err
iam_list_attached_user_policies(struct iam *x, struct buf *res)
{
    return iam_entity_list_attached(x, MD_ENT_USER, res);
}

/* ---- one managed policy, customer or AWS -------------------------------------- */

struct pol_view {
    bool is_aws;
    int64_t id; /* customer: the row */
    struct str name, uid, arn, path, description;
    const char *aws_version; /* AWS: its only version, "v2" */
    const char *aws_doc;
    int default_version; /* customer */
    int64_t attachments, created_ms, updated_ms;
};

/* AWS managed ids: "ANPA" and 17 characters from the ARN's hash, stable. */
static struct str
aws_uid(struct iam *x, const char *arn)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    unsigned char h[32];
    char *s = arena_alloc(x->a, 22);

    sha256(arn, strlen(arn), h);
    memcpy(s, "ANPA", 4);
    for (int i = 0; i < 17; i++)
        s[4 + i] = alphabet[h[i] & 31];
    s[21] = '\0';
    return str_make(s, 21);
}

static int
view_aws(struct iam *x, struct md_conn *c, const struct policy_managed *m, struct pol_view *v)
{
    memset(v, 0, sizeof(*v));
    v->is_aws = true;
    v->name = str_c(m->name);
    v->uid = aws_uid(x, m->arn);
    v->arn = str_c(m->arn);
    v->path = STR_LIT("/");
    v->description = STR_LIT("");
    v->aws_version = m->version;
    v->aws_doc = m->doc;
    v->created_ms = v->updated_ms = AWS_MANAGED_MS;
    return md_policy_attachment_count(c, x->r->account_id, v->arn, &v->attachments);
}

static void
view_local(const struct md_policy *p, struct pol_view *v)
{
    memset(v, 0, sizeof(*v));
    v->id = p->id;
    v->name = p->name;
    v->uid = p->uid;
    v->arn = p->arn;
    v->path = p->path;
    v->description = p->description;
    v->default_version = p->default_version;
    v->attachments = p->attachment_count;
    v->created_ms = p->created_ms;
    v->updated_ms = p->updated_ms;
}

/* The policy PolicyArn names: IAM_E_OK, ValidationError, NoSuchEntity. */
static enum iam_err
load_policy(struct iam *x, struct md_conn *c, struct pol_view *v)
{
    struct str arn = iam_arg(x, "PolicyArn");
    struct md_policy p;
    size_t n;
    int rc;

    if (arn.p == NULL)
        return iam_invalid(x, "policyArn", arn, "");
    if (arn.n < 20 || arn.n > 2048)
        return iam_invalid(x, "policyArn", arn, "have length between 20 and 2048");
    if (str_has_prefix(arn, IAM_AWS_POLICY_PREFIX)) {
        const struct policy_managed *m = policy_aws_managed_list(&n);
        for (size_t i = 0; i < n; i++)
            if (str_eq_c(arn, m[i].arn))
                return view_aws(x, c, &m[i], v) < 0 ? IAM_E_INTERNAL : IAM_E_OK;
        rc = -ENOENT;
    } else {
        rc = md_policy_get_by_arn(c, arn, x->a, &p);
        if (rc == 0 && p.account_id != x->r->account_id)
            rc = -ENOENT;
        if (rc == 0)
            view_local(&p, v);
    }
    if (rc == -ENOENT)
        return iam_fail(x, IAM_E_NO_SUCH_ENTITY, "Policy %s does not exist or is not attachable.",
                        iam_shown(x, arn));
    return rc < 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

static const char *
version_id(struct iam *x, const struct pol_view *v)
{
    return v->is_aws ? v->aws_version : arena_printf(x->a, "v%d", v->default_version);
}

static int
put_policy(struct iam *x, struct buf *b, const char *tag, const struct pol_view *v, bool full)
{
    int rc = xml_open(b, tag);

    rc |= xml_elem(b, "PolicyName", v->name);
    rc |= xml_elem(b, "PolicyId", v->uid);
    rc |= xml_elem(b, "Arn", v->arn);
    rc |= xml_elem(b, "Path", v->path);
    rc |= xml_elem_c(b, "DefaultVersionId", version_id(x, v));
    rc |= xml_elem_i64(b, "AttachmentCount", v->attachments);
    rc |= xml_elem_i64(b, "PermissionsBoundaryUsageCount", 0);
    rc |= xml_elem_bool(b, "IsAttachable", true);
    if (full && v->description.n > 0)
        rc |= xml_elem(b, "Description", v->description);
    rc |= xml_elem_c(b, "CreateDate", iam_iso(x, v->created_ms));
    rc |= xml_elem_c(b, "UpdateDate", iam_iso(x, v->updated_ms));
    rc |= xml_close(b, tag);
    return rc;
}

/* AWS: the AWS managed policies belong to AWS's account; changing them is
 * not the caller's to do. */
static enum iam_err
refuse_aws(struct iam *x, const struct pol_view *v)
{
    return iam_fail(x, IAM_E_ACCESS_DENIED,
                    "User: %s is not authorized to perform: iam:%s on resource: policy %.*s",
                    iam_principal_arn(x, &x->caller), iam_action_name(x), STR_FMT(v->arn));
}

/* VersionId: v[1-9][0-9]* (Coffer makes no other). */
static enum iam_err
get_version(struct iam *x, struct str *raw, int *version)
{
    unsigned long long n;

    *raw = iam_arg(x, "VersionId");
    if (raw->p == NULL)
        return iam_invalid(x, "versionId", *raw, "");
    if (raw->n < 2 || raw->n > 12 || raw->p[0] != 'v' || raw->p[1] == '0' ||
        str_to_u64(str_make(raw->p + 1, raw->n - 1), &n) < 0 || n > 1000000000)
        return iam_invalid(x, "versionId", *raw,
                           "satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?");
    *version = (int)n;
    return IAM_E_OK;
}

/* ---- CreatePolicy, GetPolicy, ListPolicies, DeletePolicy --------------------- */

struct mp_op {
    struct iam *x;
    struct md_policy p;
    struct pol_view v;
    struct str doc, vid;
    int version;
    bool set_default;
    enum iam_err err;
};

static int
create_policy_fn(struct md_conn *c, void *arg)
{
    struct mp_op *op = arg;
    struct md_policy *ps;
    size_t n;
    int rc;

    op->err = IAM_E_OK;
    rc = md_policy_list(c, op->x->r->account_id, op->x->a, &ps, &n);
    if (rc < 0)
        return rc;
    if (n >= IAM_MAX_POLICIES) {
        op->err = iam_fail(op->x, IAM_E_LIMIT_EXCEEDED,
                           "Cannot exceed quota for PoliciesPerAccount: %d", IAM_MAX_POLICIES);
        return -ECANCELED;
    }
    rc = md_policy_create(c, &op->p, op->doc);
    if (rc == -EEXIST) {
        op->err = iam_fail(op->x, IAM_E_ENTITY_EXISTS,
                           "A policy called %.*s already exists. Duplicate names are not allowed.",
                           STR_FMT(op->p.name));
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "policy %.*s", STR_FMT(op->p.arn));
    return rc;
}

enum iam_err
iam_create_policy(struct iam *x, struct buf *res)
{
    struct policy_opts o = {.kind = POLICY_IDENTITY};
    struct mp_op op = {.x = x};
    struct str path = iam_arg(x, "Path");
    size_t size = 0;
    enum iam_err err;

    op.p.name = iam_arg(x, "PolicyName");
    op.p.description = iam_arg(x, "Description");
    err = iam_check_name(x, op.p.name, "policyName", 128, true);
    if (err == IAM_E_OK && path.p != NULL)
        err = iam_check_path(x, path);
    if (err == IAM_E_OK && op.p.description.n > 1000)
        err = iam_invalid(x, "description", op.p.description,
                          "have length less than or equal to 1000");
    if (err == IAM_E_OK)
        err = iam_check_tags(x);
    if (err == IAM_E_OK)
        err = iam_get_doc(x, "PolicyDocument", "policyDocument", &o, &op.doc, &size);
    if (err == IAM_E_OK && size > IAM_MANAGED_MAX)
        err = iam_fail(x, IAM_E_LIMIT_EXCEEDED, "Cannot exceed quota for PolicySize: %d",
                       IAM_MANAGED_MAX);
    if (err == IAM_E_OK)
        err = iam_new_uid(x, "ANPA", &op.p.uid);
    if (err != IAM_E_OK)
        return err;
    op.p.account_id = x->r->account_id;
    op.p.path = path.p != NULL ? path : STR_LIT("/");
    op.p.arn = str_c(arena_printf(x->a, "arn:aws:iam::%s:policy%.*s%.*s", x->acct,
                                  STR_FMT(op.p.path), STR_FMT(op.p.name)));
    op.p.created_ms = x->now_ms;
    if (op.p.description.p == NULL)
        op.p.description = STR_LIT("");
    err = iam_run_write(x, create_policy_fn, &op, &op.err);
    if (err != IAM_E_OK)
        return err;
    view_local(&op.p, &op.v);
    return put_policy(x, res, "Policy", &op.v, true) != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

enum iam_err
iam_get_policy(struct iam *x, struct buf *res)
{
    struct pol_view v;
    enum iam_err err = load_policy(x, md_reader(x->r->md), &v);

    if (err != IAM_E_OK)
        return err;
    return put_policy(x, res, "Policy", &v, true) != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

enum iam_err
iam_list_policies(struct iam *x, struct buf *res)
{
    struct md_conn *c = md_reader(x->r->md);
    struct str scope = iam_arg(x, "Scope"), prefix, marker;
    const struct policy_managed *m;
    struct md_policy *ps;
    struct pol_view *vs;
    size_t n_aws, n_local = 0, n = 0, k = 0, max, start, i;
    bool only_attached = false, aws = true, local = true;
    enum iam_err err;
    int rc;

    if (scope.p != NULL && !str_eq_c(scope, "All") && !str_eq_c(scope, "AWS") &&
        !str_eq_c(scope, "Local"))
        return iam_invalid(x, "scope", scope, "satisfy enum value set: [All, AWS, Local]");
    if (scope.p != NULL) {
        aws = !str_eq_c(scope, "Local");
        local = !str_eq_c(scope, "AWS");
    }
    err = iam_get_bool(x, "OnlyAttached", "onlyAttached", &only_attached);
    if (err == IAM_E_OK)
        err = iam_get_path_prefix(x, &prefix);
    if (err == IAM_E_OK)
        err = iam_get_paging(x, &max, &marker);
    if (err != IAM_E_OK)
        return err;
    m = policy_aws_managed_list(&n_aws);
    if (local && md_policy_list(c, x->r->account_id, x->a, &ps, &n_local) < 0)
        return IAM_E_INTERNAL;
    vs = arena_alloc(x->a, (n_aws + n_local + 1) * sizeof(*vs));
    /* The account's own first (by name), then AWS's: a stable order for
     * index markers. */
    for (i = 0; i < n_local; i++)
        view_local(&ps[i], &vs[n++]);
    for (i = 0; aws && i < n_aws; i++)
        if (view_aws(x, c, &m[i], &vs[n++]) < 0)
            return IAM_E_INTERNAL;
    for (i = 0; i < n; i++) {
        if ((only_attached && vs[i].attachments == 0) ||
            (prefix.p != NULL &&
             (vs[i].path.n < prefix.n || memcmp(vs[i].path.p, prefix.p, prefix.n) != 0)))
            continue;
        vs[k++] = vs[i];
    }
    n = k;
    start = iam_page_index(marker, n);
    rc = xml_open(res, "Policies");
    for (i = start; i < n && i - start < max; i++)
        rc |= put_policy(x, res, "member", &vs[i], false);
    rc |= xml_close(res, "Policies");
    rc |= iam_put_page_index(x, res, i, n);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

static int
delete_policy_fn(struct md_conn *c, void *arg)
{
    struct mp_op *op = arg;
    struct md_policy_version *vs;
    struct md_policy p;
    size_t n;
    int rc;

    op->err = IAM_E_OK;
    rc = md_policy_get(c, op->v.id, op->x->a, &p);
    if (rc == -ENOENT) {
        op->err = iam_fail(op->x, IAM_E_NO_SUCH_ENTITY,
                           "Policy %.*s does not exist or is not attachable.", STR_FMT(op->v.arn));
        return -ECANCELED;
    }
    if (rc < 0)
        return rc;
    if (p.attachment_count > 0) {
        op->err =
            iam_fail(op->x, IAM_E_DELETE_CONFLICT, "Cannot delete a policy attached to entities.");
        return -ECANCELED;
    }
    rc = md_policy_version_list(c, p.id, false, op->x->a, &vs, &n);
    if (rc < 0)
        return rc;
    if (n > 1) {
        op->err = iam_fail(op->x, IAM_E_DELETE_CONFLICT,
                           "This policy has more than one version. Before you delete a policy, "
                           "you must delete the policy's versions. The default version is "
                           "deleted with the policy.");
        return -ECANCELED;
    }
    rc = md_policy_delete(c, p.id);
    if (rc == -ENOTEMPTY) {
        op->err =
            iam_fail(op->x, IAM_E_DELETE_CONFLICT, "Cannot delete a policy attached to entities.");
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "policy %.*s", STR_FMT(op->v.arn));
    return rc;
}

enum iam_err
iam_delete_policy(struct iam *x, struct buf *res)
{
    struct mp_op op = {.x = x};
    enum iam_err err = load_policy(x, md_reader(x->r->md), &op.v);

    (void)res;
    if (err != IAM_E_OK)
        return err;
    if (op.v.is_aws)
        return refuse_aws(x, &op.v);
    return iam_run_write(x, delete_policy_fn, &op, &op.err);
}

/* ---- versions ---------------------------------------------------------------------- */

static int
put_version(struct iam *x, struct buf *b, const char *tag, const char *vid, bool is_default,
            int64_t created_ms, struct str doc)
{
    int rc = xml_open(b, tag);

    if (doc.p != NULL)
        rc |= iam_put_doc(b, "Document", doc);
    rc |= xml_elem_c(b, "VersionId", vid);
    rc |= xml_elem_bool(b, "IsDefaultVersion", is_default);
    rc |= xml_elem_c(b, "CreateDate", iam_iso(x, created_ms));
    rc |= xml_close(b, tag);
    return rc;
}

static int
create_version_fn(struct md_conn *c, void *arg)
{
    struct mp_op *op = arg;
    int rc =
        md_policy_version_add(c, op->v.id, op->doc, op->set_default, op->x->now_ms, &op->version);

    op->err = IAM_E_OK;
    if (rc == -EMLINK) {
        /* AWS: five versions at most [spec-authorization §5.1]. */
        op->err = iam_fail(op->x, IAM_E_LIMIT_EXCEEDED,
                           "A managed policy can have up to %d versions. Before you create a new "
                           "version, you must delete an existing version.",
                           MD_POLICY_VERSIONS_MAX);
        return -ECANCELED;
    }
    if (rc == -ENOENT) {
        op->err = iam_fail(op->x, IAM_E_NO_SUCH_ENTITY,
                           "Policy %.*s does not exist or is not attachable.", STR_FMT(op->v.arn));
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "policy %.*s version v%d%s", STR_FMT(op->v.arn),
                              op->version, op->set_default ? " (default)" : "");
    return rc;
}

enum iam_err
iam_create_policy_version(struct iam *x, struct buf *res)
{
    struct policy_opts o = {.kind = POLICY_IDENTITY};
    struct mp_op op = {.x = x};
    size_t size = 0;
    enum iam_err err = load_policy(x, md_reader(x->r->md), &op.v);

    if (err == IAM_E_OK && op.v.is_aws)
        return refuse_aws(x, &op.v);
    if (err == IAM_E_OK)
        err = iam_get_bool(x, "SetAsDefault", "setAsDefault", &op.set_default);
    if (err == IAM_E_OK)
        err = iam_get_doc(x, "PolicyDocument", "policyDocument", &o, &op.doc, &size);
    if (err == IAM_E_OK && size > IAM_MANAGED_MAX)
        err = iam_fail(x, IAM_E_LIMIT_EXCEEDED, "Cannot exceed quota for PolicySize: %d",
                       IAM_MANAGED_MAX);
    if (err == IAM_E_OK)
        err = iam_run_write(x, create_version_fn, &op, &op.err);
    if (err != IAM_E_OK)
        return err;
    return put_version(x, res, "PolicyVersion", arena_printf(x->a, "v%d", op.version),
                       op.set_default, x->now_ms, STR_NULL) != 0
               ? IAM_E_INTERNAL
               : IAM_E_OK;
}

static enum iam_err
no_version(struct iam *x, const struct pol_view *v, struct str vid)
{
    return iam_fail(x, IAM_E_NO_SUCH_ENTITY, "Policy %.*s version %s does not exist.",
                    STR_FMT(v->arn), iam_shown(x, vid));
}

enum iam_err
iam_get_policy_version(struct iam *x, struct buf *res)
{
    struct md_conn *c = md_reader(x->r->md);
    struct md_policy_version pv;
    struct pol_view v;
    struct str vid;
    int version, rc;
    enum iam_err err = load_policy(x, c, &v);

    if (err == IAM_E_OK)
        err = get_version(x, &vid, &version);
    if (err != IAM_E_OK)
        return err;
    if (v.is_aws) {
        if (!str_eq_c(vid, v.aws_version))
            return no_version(x, &v, vid);
        rc = put_version(x, res, "PolicyVersion", v.aws_version, true, v.created_ms,
                         str_c(v.aws_doc));
        return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
    }
    rc = md_policy_version_get(c, v.id, version, x->a, &pv);
    if (rc == -ENOENT)
        return no_version(x, &v, vid);
    if (rc < 0)
        return IAM_E_INTERNAL;
    rc = put_version(x, res, "PolicyVersion", arena_printf(x->a, "v%d", pv.version), pv.is_default,
                     pv.created_ms, pv.document);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

enum iam_err
iam_list_policy_versions(struct iam *x, struct buf *res)
{
    struct md_conn *c = md_reader(x->r->md);
    struct md_policy_version *vs, one;
    struct pol_view v;
    struct str marker;
    size_t n, max, start, i;
    int rc;
    enum iam_err err = load_policy(x, c, &v);

    if (err == IAM_E_OK)
        err = iam_get_paging(x, &max, &marker);
    if (err != IAM_E_OK)
        return err;
    if (v.is_aws) {
        one = (struct md_policy_version){.is_default = true, .created_ms = v.created_ms};
        vs = &one;
        n = 1;
    } else if (md_policy_version_list(c, v.id, false, x->a, &vs, &n) < 0) {
        return IAM_E_INTERNAL;
    }
    start = iam_page_index(marker, n);
    rc = xml_open(res, "Versions");
    for (i = start; i < n && i - start < max; i++)
        rc |= put_version(x, res, "member",
                          v.is_aws ? v.aws_version : arena_printf(x->a, "v%d", vs[i].version),
                          vs[i].is_default, vs[i].created_ms, STR_NULL);
    rc |= xml_close(res, "Versions");
    rc |= iam_put_page_index(x, res, i, n);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

static int
delete_version_fn(struct md_conn *c, void *arg)
{
    struct mp_op *op = arg;
    int rc = md_policy_version_delete(c, op->v.id, op->version);

    op->err = IAM_E_OK;
    if (rc == -EBUSY) {
        op->err = iam_fail(op->x, IAM_E_DELETE_CONFLICT,
                           "Cannot delete the default version of a policy.");
        return -ECANCELED;
    }
    if (rc == -ENOENT) {
        op->err = no_version(op->x, &op->v, op->vid);
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "policy %.*s version v%d", STR_FMT(op->v.arn), op->version);
    return rc;
}

static int
set_default_fn(struct md_conn *c, void *arg)
{
    struct mp_op *op = arg;
    int rc = md_policy_set_default(c, op->v.id, op->version, op->x->now_ms);

    op->err = IAM_E_OK;
    if (rc == -ENOENT) {
        op->err = no_version(op->x, &op->v, op->vid);
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "policy %.*s version v%d", STR_FMT(op->v.arn), op->version);
    return rc;
}

static enum iam_err
version_write(struct iam *x, md_write_fn fn)
{
    struct mp_op op = {.x = x};
    enum iam_err err = load_policy(x, md_reader(x->r->md), &op.v);

    if (err == IAM_E_OK)
        err = get_version(x, &op.vid, &op.version);
    if (err == IAM_E_OK && op.v.is_aws)
        err = refuse_aws(x, &op.v);
    if (err != IAM_E_OK)
        return err;
    return iam_run_write(x, fn, &op, &op.err);
}

enum iam_err
iam_delete_policy_version(struct iam *x, struct buf *res)
{
    (void)res;
    return version_write(x, delete_version_fn);
}

enum iam_err
iam_set_default_policy_version(struct iam *x, struct buf *res)
{
    (void)res;
    return version_write(x, set_default_fn);
}

/* ---- ListEntitiesForPolicy ------------------------------------------------------------- */

enum iam_err
iam_list_entities_for_policy(struct iam *x, struct buf *res)
{
    static const struct {
        enum md_entity kind;
        const char *list, *name, *id, *filter;
    } kinds[] = {
        {MD_ENT_GROUP, "PolicyGroups", "GroupName", "GroupId", "Group"},
        {MD_ENT_USER, "PolicyUsers", "UserName", "UserId", "User"},
        {MD_ENT_ROLE, "PolicyRoles", "RoleName", "RoleId", "Role"},
    };
    struct md_conn *c = md_reader(x->r->md);
    struct str filter = iam_arg(x, "EntityFilter"), prefix, marker;
    struct md_attachment *es;
    struct iam_entity *ents;
    struct pol_view v;
    size_t n, k = 0, max, start, end, i;
    enum iam_err err = load_policy(x, c, &v);
    int rc;

    if (err == IAM_E_OK && filter.p != NULL && !str_eq_c(filter, "User") &&
        !str_eq_c(filter, "Role") && !str_eq_c(filter, "Group") &&
        !str_eq_c(filter, "LocalManagedPolicy") && !str_eq_c(filter, "AWSManagedPolicy"))
        err = iam_invalid(x, "entityFilter", filter,
                          "satisfy enum value set: [User, Role, Group, LocalManagedPolicy, "
                          "AWSManagedPolicy]");
    if (err == IAM_E_OK)
        err = iam_get_path_prefix(x, &prefix);
    if (err == IAM_E_OK)
        err = iam_get_paging(x, &max, &marker);
    if (err != IAM_E_OK)
        return err;
    if (md_policy_entities(c, x->r->account_id, v.arn, x->a, &es, &n) < 0)
        return IAM_E_INTERNAL;
    /* Every entity of the policy with its path and id, in the reply's
     * order (groups, users, roles), filtered; then one page of them. */
    ents = arena_alloc(x->a, (n + 1) * sizeof(*ents));
    for (size_t g = 0; g < ARRAY_LEN(kinds); g++) {
        if (filter.p != NULL &&
            (str_eq_c(filter, "LocalManagedPolicy") ? v.is_aws
             : str_eq_c(filter, "AWSManagedPolicy") ? !v.is_aws
                                                    : !str_eq_c(filter, kinds[g].filter)))
            continue;
        for (i = 0; i < n; i++) {
            struct iam_entity *e = &ents[k];
            struct md_group gr;
            struct md_role ro;
            if (es[i].kind != kinds[g].kind)
                continue;
            e->kind = es[i].kind;
            e->id = es[i].entity_id;
            e->name = es[i].entity_name;
            e->path = STR_LIT("/");
            if (e->kind == MD_ENT_USER) {
                struct principal p = {e->id, e->name, 0};
                e->uid = str_c(iam_principal_id(x, &p));
            } else if (e->kind == MD_ENT_GROUP) {
                if (md_group_get(c, e->id, x->a, &gr) < 0)
                    continue;
                e->path = gr.path;
                e->uid = gr.uid;
            } else {
                if (md_role_get(c, e->id, x->a, &ro) < 0)
                    continue;
                e->path = ro.path;
                e->uid = ro.uid;
            }
            if (prefix.p != NULL &&
                (e->path.n < prefix.n || memcmp(e->path.p, prefix.p, prefix.n) != 0))
                continue;
            k++;
        }
    }
    start = iam_page_index(marker, k);
    end = start + max < k ? start + max : k;
    rc = 0;
    for (size_t g = 0; g < ARRAY_LEN(kinds); g++) {
        rc |= xml_open(res, kinds[g].list);
        for (i = start; i < end; i++) {
            if (ents[i].kind != kinds[g].kind)
                continue;
            rc |= xml_open(res, "member");
            rc |= xml_elem(res, kinds[g].name, ents[i].name);
            rc |= xml_elem(res, kinds[g].id, ents[i].uid);
            rc |= xml_close(res, "member");
        }
        rc |= xml_close(res, kinds[g].list);
    }
    rc |= iam_put_page_index(x, res, end, k);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}
