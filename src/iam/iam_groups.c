/* iam_groups.c -- IAM groups: CreateGroup, GetGroup (with its users),
 * DeleteGroup, ListGroups, membership (AddUserToGroup, RemoveUserFromGroup,
 * ListGroupsForUser) and a group's inline and attached policies (the work
 * is iam_entity.c's). A group is never a principal: its policies apply to
 * its members [spec-authorization §2.2]. */
#include "common.h"
#include "iam/iam_int.h"

#include "xml/xml_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int
put_group(struct iam *x, struct buf *b, const char *tag, const struct md_group *g)
{
    struct iam_entity e = {MD_ENT_GROUP, g->id, g->name, g->path, g->uid, g->created_ms};
    int rc = xml_open(b, tag);

    rc |= xml_elem(b, "Path", g->path);
    rc |= xml_elem(b, "GroupName", g->name);
    rc |= xml_elem(b, "GroupId", g->uid);
    rc |= xml_elem_c(b, "Arn", iam_entity_arn(x, &e));
    rc |= xml_elem_c(b, "CreateDate", iam_iso(x, g->created_ms));
    rc |= xml_close(b, tag);
    return rc;
}

/* The group GroupName names, as a store row. */
static enum iam_err
load_group(struct iam *x, struct md_group *g)
{
    struct iam_entity e;
    enum iam_err err = iam_entity_get(x, MD_ENT_GROUP, &e);

    if (err != IAM_E_OK)
        return err;
    *g = (struct md_group){e.id, x->r->account_id, e.name, e.path, e.uid, e.created_ms};
    return IAM_E_OK;
}

struct group_op {
    struct iam *x;
    struct md_group g;
    struct iam_entity user;
    enum iam_err err;
};

static int
create_fn(struct md_conn *c, void *arg)
{
    struct group_op *op = arg;
    struct md_group *gs;
    size_t n;
    int rc;

    op->err = IAM_E_OK;
    rc = md_group_list(c, op->x->r->account_id, op->x->a, &gs, &n);
    if (rc < 0)
        return rc;
    if (n >= IAM_MAX_GROUPS) {
        op->err = iam_fail(op->x, IAM_E_LIMIT_EXCEEDED,
                           "Cannot exceed quota for GroupsPerAccount: %d", IAM_MAX_GROUPS);
        return -ECANCELED;
    }
    rc = md_group_create(c, &op->g);
    if (rc == -EEXIST) {
        op->err = iam_fail(op->x, IAM_E_ENTITY_EXISTS, "Group with name %.*s already exists.",
                           STR_FMT(op->g.name));
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "group %.*s", STR_FMT(op->g.name));
    return rc;
}

enum iam_err
iam_create_group(struct iam *x, struct buf *res)
{
    struct group_op op = {.x = x};
    struct str path = iam_arg(x, "Path");
    enum iam_err err;

    op.g.name = iam_arg(x, "GroupName");
    err = iam_check_name(x, op.g.name, "groupName", 128, true);
    if (err == IAM_E_OK && path.p != NULL)
        err = iam_check_path(x, path);
    if (err == IAM_E_OK)
        err = iam_new_uid(x, "AGPA", &op.g.uid);
    if (err != IAM_E_OK)
        return err;
    op.g.account_id = x->r->account_id;
    op.g.path = path.p != NULL ? path : STR_LIT("/");
    op.g.created_ms = x->now_ms;
    err = iam_run_write(x, create_fn, &op, &op.err);
    if (err != IAM_E_OK)
        return err;
    return put_group(x, res, "Group", &op.g) != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

static int
user_cmp(const void *a, const void *b)
{
    return str_cmp(((const struct md_user *)a)->name, ((const struct md_user *)b)->name);
}

enum iam_err
iam_get_group(struct iam *x, struct buf *res)
{
    struct md_group g;
    struct md_user *us;
    struct str marker;
    size_t n, max, start, i;
    enum iam_err err = load_group(x, &g);
    int rc;

    if (err == IAM_E_OK)
        err = iam_get_paging(x, &max, &marker);
    if (err != IAM_E_OK)
        return err;
    if (md_group_members(md_reader(x->r->md), g.id, x->a, &us, &n) < 0)
        return IAM_E_INTERNAL;
    if (n > 1)
        qsort(us, n, sizeof(*us), user_cmp);
    start = iam_page_index(marker, n);
    rc = put_group(x, res, "Group", &g);
    rc |= xml_open(res, "Users");
    for (i = start; i < n && i - start < max; i++) {
        struct principal p = {us[i].id, us[i].name, us[i].created_ms};
        rc |= iam_put_user(x, res, "member", &p);
    }
    rc |= xml_close(res, "Users");
    rc |= iam_put_page_index(x, res, i, n);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

static int
delete_fn(struct md_conn *c, void *arg)
{
    struct group_op *op = arg;
    struct md_inline_policy *ips;
    struct md_user *us;
    struct str *arns;
    size_t n_users, n_inline, n_att;
    int rc;

    op->err = IAM_E_OK;
    /* AWS names what is in the way: members, inline, then attached. */
    rc = md_group_members(c, op->g.id, op->x->a, &us, &n_users);
    if (rc == 0)
        rc = md_inline_list(c, MD_ENT_GROUP, op->g.id, op->x->a, &ips, &n_inline);
    if (rc == 0)
        rc = md_attached_list(c, MD_ENT_GROUP, op->g.id, op->x->a, &arns, &n_att);
    if (rc < 0)
        return rc;
    if (n_users > 0 || n_inline > 0 || n_att > 0) {
        op->err = iam_fail(op->x, IAM_E_DELETE_CONFLICT, "Cannot delete entity, must %s first.",
                           n_users > 0    ? "remove users from group"
                           : n_inline > 0 ? "delete policies"
                                          : "detach all policies");
        return -ECANCELED;
    }
    rc = md_group_delete(c, op->g.id);
    if (rc == -ENOENT) {
        op->err = iam_fail(op->x, IAM_E_NO_SUCH_ENTITY, "The group with name %.*s cannot be found.",
                           STR_FMT(op->g.name));
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "group %.*s", STR_FMT(op->g.name));
    return rc;
}

enum iam_err
iam_delete_group(struct iam *x, struct buf *res)
{
    struct group_op op = {.x = x};
    enum iam_err err = load_group(x, &op.g);

    (void)res;
    if (err != IAM_E_OK)
        return err;
    return iam_run_write(x, delete_fn, &op, &op.err);
}

/* Groups gs[0..n) whose path starts with prefix (STR_NULL: all), in
 * place; the new count. */
static size_t
by_prefix(struct md_group *gs, size_t n, struct str prefix)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        if (prefix.p == NULL ||
            (gs[i].path.n >= prefix.n && memcmp(gs[i].path.p, prefix.p, prefix.n) == 0))
            gs[k++] = gs[i];
    return k;
}

static int
group_cmp(const void *a, const void *b)
{
    return str_cmp(((const struct md_group *)a)->name, ((const struct md_group *)b)->name);
}

/* <Groups> of gs[start, start + max), then the paging elements. */
static enum iam_err
put_groups(struct iam *x, struct buf *res, struct md_group *gs, size_t n, size_t max,
           struct str marker)
{
    size_t start, i;
    int rc;

    if (n > 1)
        qsort(gs, n, sizeof(*gs), group_cmp);
    start = iam_page_index(marker, n);
    rc = xml_open(res, "Groups");
    for (i = start; i < n && i - start < max; i++)
        rc |= put_group(x, res, "member", &gs[i]);
    rc |= xml_close(res, "Groups");
    rc |= iam_put_page_index(x, res, i, n);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

enum iam_err
iam_list_groups(struct iam *x, struct buf *res)
{
    struct md_group *gs;
    struct str marker, prefix;
    size_t n, max;
    enum iam_err err = iam_get_paging(x, &max, &marker);

    if (err == IAM_E_OK)
        err = iam_get_path_prefix(x, &prefix);
    if (err != IAM_E_OK)
        return err;
    if (md_group_list(md_reader(x->r->md), x->r->account_id, x->a, &gs, &n) < 0)
        return IAM_E_INTERNAL;
    return put_groups(x, res, gs, by_prefix(gs, n, prefix), max, marker);
}

enum iam_err
iam_list_groups_for_user(struct iam *x, struct buf *res)
{
    struct iam_entity u;
    struct md_group *gs;
    struct str marker;
    size_t n, max;
    enum iam_err err = iam_entity_get(x, MD_ENT_USER, &u);

    if (err == IAM_E_OK)
        err = iam_get_paging(x, &max, &marker);
    if (err != IAM_E_OK)
        return err;
    if (md_user_groups(md_reader(x->r->md), u.id, x->a, &gs, &n) < 0)
        return IAM_E_INTERNAL;
    return put_groups(x, res, gs, n, max, marker);
}

/* ---- membership -------------------------------------------------------------------- */

static int
add_fn(struct md_conn *c, void *arg)
{
    struct group_op *op = arg;
    struct md_group *gs;
    size_t n;
    int rc;

    op->err = IAM_E_OK;
    rc = md_user_groups(c, op->user.id, op->x->a, &gs, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (gs[i].id == op->g.id)
            return -ECANCELED; /* AWS: already a member is a success that changes nothing */
    if (n >= IAM_MAX_GROUPS_PER_USER) {
        op->err = iam_fail(op->x, IAM_E_LIMIT_EXCEEDED, "Cannot exceed quota for GroupsPerUser: %d",
                           IAM_MAX_GROUPS_PER_USER);
        return -ECANCELED;
    }
    rc = md_group_add_user(c, op->g.id, op->user.id);
    if (rc == -ENOENT) {
        op->err = iam_fail(op->x, IAM_E_NO_SUCH_ENTITY, "The group with name %.*s cannot be found.",
                           STR_FMT(op->g.name));
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "group %.*s user %.*s", STR_FMT(op->g.name),
                              STR_FMT(op->user.name));
    return rc;
}

static int
remove_fn(struct md_conn *c, void *arg)
{
    struct group_op *op = arg;
    int rc = md_group_remove_user(c, op->g.id, op->user.id);

    op->err = IAM_E_OK;
    if (rc == -ENOENT) {
        op->err = iam_fail(op->x, IAM_E_NO_SUCH_ENTITY,
                           "The user with name %.*s is not a member of group %.*s.",
                           STR_FMT(op->user.name), STR_FMT(op->g.name));
        return -ECANCELED;
    }
    if (rc == 0)
        rc = iam_audit_action(c, op->x, "group %.*s user %.*s", STR_FMT(op->g.name),
                              STR_FMT(op->user.name));
    return rc;
}

static enum iam_err
membership(struct iam *x, md_write_fn fn)
{
    struct group_op op = {.x = x};
    enum iam_err err = load_group(x, &op.g);

    if (err == IAM_E_OK)
        err = iam_entity_get(x, MD_ENT_USER, &op.user);
    if (err != IAM_E_OK)
        return err;
    return iam_run_write(x, fn, &op, &op.err);
}

enum iam_err
iam_add_user_to_group(struct iam *x, struct buf *res)
{
    (void)res;
    return membership(x, add_fn);
}

enum iam_err
iam_remove_user_from_group(struct iam *x, struct buf *res)
{
    (void)res;
    return membership(x, remove_fn);
}

/* ---- a group's policies ------------------------------------------------------------ */

enum iam_err
iam_put_group_policy(struct iam *x, struct buf *res)
{
    (void)res;
    return iam_entity_put_policy(x, MD_ENT_GROUP);
}

enum iam_err
iam_get_group_policy(struct iam *x, struct buf *res)
{
    return iam_entity_get_policy(x, MD_ENT_GROUP, res);
}

enum iam_err
iam_delete_group_policy(struct iam *x, struct buf *res)
{
    (void)res;
    return iam_entity_delete_policy(x, MD_ENT_GROUP);
}

enum iam_err
iam_list_group_policies(struct iam *x, struct buf *res)
{
    return iam_entity_list_policies(x, MD_ENT_GROUP, res);
}

enum iam_err
iam_attach_group_policy(struct iam *x, struct buf *res)
{
    (void)res;
    return iam_entity_attach(x, MD_ENT_GROUP);
}

enum iam_err
iam_detach_group_policy(struct iam *x, struct buf *res)
{
    (void)res;
    return iam_entity_detach(x, MD_ENT_GROUP);
}

enum iam_err
iam_list_attached_group_policies(struct iam *x, struct buf *res)
{
    return iam_entity_list_attached(x, MD_ENT_GROUP, res);
}
