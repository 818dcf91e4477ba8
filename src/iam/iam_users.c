/* iam_users.c -- IAM users (CreateUser, GetUser, ListUsers, DeleteUser)
 * and long-term access keys (CreateAccessKey, ListAccessKeys,
 * DeleteAccessKey). Secrets leave only in the CreateAccessKey reply. */
#include "common.h"
#include "iam/iam_int.h"

#include "auth/keys.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- users ------------------------------------------------------------- */

struct user_op {
    struct iam *x;
    struct str name;
    int64_t id;
    enum iam_err err;
};

static int
create_user_fn(struct md_conn *c, void *arg)
{
    struct user_op *op = arg;
    struct md_user *users;
    size_t n;
    int rc;

    rc = md_user_list(c, op->x->r->account_id, op->x->a, &users, &n);
    if (rc < 0)
        return rc;
    if (n >= IAM_MAX_USERS) {
        op->err = iam_fail(op->x, IAM_E_LIMIT_EXCEEDED,
                           "Cannot exceed quota for UsersPerAccount: %d", IAM_MAX_USERS);
        return -ECANCELED;
    }
    rc = md_user_create(c, op->x->r->account_id, op->name, op->x->now_ms, &op->id);
    if (rc == -EEXIST) {
        op->err = iam_fail(op->x, IAM_E_ENTITY_EXISTS, "User with name %s already exists.",
                           iam_shown(op->x, op->name));
        return -ECANCELED;
    }
    return rc;
}

enum iam_err
iam_create_user(struct iam *x, struct buf *res)
{
    struct user_op op = {.x = x, .name = iam_arg(x, "UserName")};
    struct str path = iam_arg(x, "Path");
    struct principal p;
    enum iam_err err;

    err = iam_check_name(x, op.name, "userName", 64, true);
    if (err == IAM_E_OK && path.p != NULL)
        err = iam_check_path(x, path);
    /* Users have no stored path: refuse one rather than drop it. */
    if (err == IAM_E_OK && path.p != NULL && !str_eq_c(path, "/"))
        err = iam_fail(x, IAM_E_INVALID_INPUT, "Coffer supports only the path / for users.");
    if (err == IAM_E_OK)
        err = iam_check_tags(x);
    if (err == IAM_E_OK)
        err = iam_run_write(x, create_user_fn, &op, &op.err);
    if (err != IAM_E_OK)
        return err;
    p.user_id = op.id;
    p.name = op.name;
    p.created_ms = x->now_ms;
    return iam_put_user(x, res, "User", &p) != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

enum iam_err
iam_get_user(struct iam *x, struct buf *res)
{
    struct principal p;
    enum iam_err err;

    err = iam_resolve_user(x, iam_arg(x, "UserName"), false, &p);
    if (err != IAM_E_OK)
        return err;
    return iam_put_user(x, res, "User", &p) != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

static int
user_cmp(const void *a, const void *b)
{
    return str_cmp(((const struct md_user *)a)->name, ((const struct md_user *)b)->name);
}

enum iam_err
iam_list_users(struct iam *x, struct buf *res)
{
    struct md_user *users;
    struct str marker, prefix = iam_arg(x, "PathPrefix");
    size_t n, max, start, i;
    enum iam_err err;
    int rc;

    err = iam_get_paging(x, &max, &marker);
    if (err != IAM_E_OK)
        return err;
    rc = md_user_list(md_reader(x->r->md), x->r->account_id, x->a, &users, &n);
    if (rc < 0)
        return IAM_E_INTERNAL;
    /* Every user's path is "/": a longer prefix matches none. */
    if (prefix.p != NULL && !str_eq_c(prefix, "/"))
        n = 0;
    if (n > 1)
        qsort(users, n, sizeof(*users), user_cmp);
    start = iam_page_start(users, n, sizeof(*users), offsetof(struct md_user, name), marker);
    rc = xml_open(res, "Users");
    for (i = start; i < n && i - start < max; i++) {
        struct principal p = {users[i].id, users[i].name, users[i].created_ms};
        rc |= iam_put_user(x, res, "member", &p);
    }
    rc |= xml_close(res, "Users");
    rc |= iam_put_paging(res, i<n, i> 0 ? users[i - 1].name : STR_NULL);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

static int
delete_user_fn(struct md_conn *c, void *arg)
{
    struct user_op *op = arg;
    struct md_inline_policy *ips;
    struct md_group *gs;
    struct str *arns;
    size_t n_inline, n_att, n_groups;
    int rc;

    op->err = IAM_E_OK;
    /* AWS: IAM refuses while policies or groups hold on to the user
     * (DeleteConflict); the store would drop them with it. */
    rc = md_inline_list(c, MD_ENT_USER, op->id, op->x->a, &ips, &n_inline);
    if (rc == 0)
        rc = md_attached_list(c, MD_ENT_USER, op->id, op->x->a, &arns, &n_att);
    if (rc == 0)
        rc = md_user_groups(c, op->id, op->x->a, &gs, &n_groups);
    if (rc < 0)
        return rc;
    if (n_inline > 0 || n_att > 0 || n_groups > 0) {
        op->err = iam_fail(op->x, IAM_E_DELETE_CONFLICT, "Cannot delete entity, must %s first.",
                           n_inline > 0 ? "delete policies"
                           : n_att > 0  ? "detach all policies"
                                        : "remove user from all groups");
        return -ECANCELED;
    }
    rc = md_user_delete(c, op->id);
    if (rc == -ENOTEMPTY) {
        op->err = iam_fail(op->x, IAM_E_DELETE_CONFLICT,
                           "Cannot delete entity, must remove MFA device first.");
        return -ECANCELED;
    }
    if (rc == -ENOENT) {
        op->err = iam_fail(op->x, IAM_E_NO_SUCH_ENTITY, "The user with name %s cannot be found.",
                           iam_shown(op->x, op->name));
        return -ECANCELED;
    }
    return rc;
}

enum iam_err
iam_delete_user(struct iam *x, struct buf *res)
{
    struct user_op op = {.x = x, .name = iam_arg(x, "UserName")};
    struct md_user u;
    enum iam_err err;
    int rc;

    (void)res;
    err = iam_check_name(x, op.name, "userName", 128, true);
    if (err != IAM_E_OK)
        return err;
    rc = md_user_get_by_name(md_reader(x->r->md), x->r->account_id, op.name, x->a, &u);
    if (rc == -ENOENT)
        return iam_fail(x, IAM_E_NO_SUCH_ENTITY, "The user with name %s cannot be found.",
                        iam_shown(x, op.name));
    if (rc < 0)
        return IAM_E_INTERNAL;
    op.id = u.id;
    return iam_run_write(x, delete_user_fn, &op, &op.err);
}

/* ---- access keys ------------------------------------------------------- */

struct key_op {
    struct iam *x;
    struct md_key k;
    struct principal target;
    enum iam_err err;
};

static int
create_key_fn(struct md_conn *c, void *arg)
{
    struct key_op *op = arg;
    struct md_key *keys;
    size_t n, mine = 0;
    int rc;

    rc = md_key_list(c, op->x->r->account_id, op->x->a, &keys, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        mine += keys[i].user_id == op->k.user_id && keys[i].expires_ms == 0;
    if (mine >= IAM_MAX_KEYS_PER_PRINCIPAL) {
        op->err =
            iam_fail(op->x, IAM_E_LIMIT_EXCEEDED, "Cannot exceed quota for AccessKeysPerUser: %d",
                     IAM_MAX_KEYS_PER_PRINCIPAL);
        return -ECANCELED;
    }
    return md_key_create(c, &op->k);
}

enum iam_err
iam_create_access_key(struct iam *x, struct buf *res)
{
    struct key_op op = {.x = x};
    char id[AUTH_KEY_ID_LEN + 1], secret[AUTH_SECRET_LEN + 1];
    enum iam_err err;
    int rc;

    err = iam_resolve_user(x, iam_arg(x, "UserName"), false, &op.target);
    if (err != IAM_E_OK)
        return err;
    rc = auth_key_new("CK", id, secret);
    if (rc < 0) {
        err = IAM_E_INTERNAL;
        goto out;
    }
    op.k.access_key_id = str_c(id);
    op.k.account_id = x->r->account_id;
    op.k.user_id = op.target.user_id;
    op.k.secret = str_c(secret);
    op.k.created_ms = x->now_ms;
    op.k.is_active = true;
    op.k.session_token_sha256 = STR_LIT("");
    err = iam_run_write(x, create_key_fn, &op, &op.err);
    if (err != IAM_E_OK)
        goto out;
    rc = xml_open(res, "AccessKey");
    rc |= xml_elem(res, "UserName", op.target.name);
    rc |= xml_elem_c(res, "AccessKeyId", id);
    rc |= xml_elem_c(res, "Status", "Active");
    rc |= xml_elem_c(res, "SecretAccessKey", secret);
    rc |= xml_elem_c(res, "CreateDate", iam_iso(x, x->now_ms));
    rc |= xml_close(res, "AccessKey");
    if (rc != 0)
        err = IAM_E_INTERNAL;
out:
    explicit_bzero(secret, sizeof(secret));
    return err;
}

static int
key_cmp(const void *a, const void *b)
{
    return str_cmp(((const struct md_key *)a)->access_key_id,
                       ((const struct md_key *)b)->access_key_id);
}

enum iam_err
iam_list_access_keys(struct iam *x, struct buf *res)
{
    struct principal target;
    struct md_key *keys;
    struct str marker;
    size_t n, n_mine = 0, max, start, i;
    enum iam_err err;
    int rc;

    err = iam_resolve_user(x, iam_arg(x, "UserName"), false, &target);
    if (err == IAM_E_OK)
        err = iam_get_paging(x, &max, &marker);
    if (err != IAM_E_OK)
        return err;
    rc = md_key_list(md_reader(x->r->md), x->r->account_id, x->a, &keys, &n);
    if (rc < 0)
        return IAM_E_INTERNAL;
    /* Long-term keys of the target only: session keys are not IAM's. */
    for (i = 0; i < n; i++)
        if (keys[i].user_id == target.user_id && keys[i].expires_ms == 0)
            keys[n_mine++] = keys[i];
    if (n_mine > 1)
        qsort(keys, n_mine, sizeof(*keys), key_cmp);
    start =
        iam_page_start(keys, n_mine, sizeof(*keys), offsetof(struct md_key, access_key_id), marker);
    rc = xml_open(res, "AccessKeyMetadata");
    for (i = start; i < n_mine && i - start < max; i++) {
        rc |= xml_open(res, "member");
        rc |= xml_elem(res, "UserName", target.name);
        rc |= xml_elem(res, "AccessKeyId", keys[i].access_key_id);
        rc |= xml_elem_c(res, "Status", keys[i].is_active ? "Active" : "Inactive");
        rc |= xml_elem_c(res, "CreateDate", iam_iso(x, keys[i].created_ms));
        rc |= xml_close(res, "member");
    }
    rc |= xml_close(res, "AccessKeyMetadata");
    rc |= iam_put_paging(res, i<n_mine, i> 0 ? keys[i - 1].access_key_id : STR_NULL);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

static int
delete_key_fn(struct md_conn *c, void *arg)
{
    struct key_op *op = arg;
    struct md_key k;
    int rc;

    rc = md_key_get(c, op->k.access_key_id, op->x->a, &k);
    if (rc == 0 && k.secret.p != NULL)
        explicit_bzero((void *)k.secret.p, k.secret.n);
    if (rc == -ENOENT || (rc == 0 && (k.account_id != op->x->r->account_id ||
                                      k.user_id != op->target.user_id || k.expires_ms != 0))) {
        op->err =
            iam_fail(op->x, IAM_E_NO_SUCH_ENTITY, "The Access Key with id %s cannot be found.",
                     iam_shown(op->x, op->k.access_key_id));
        return -ECANCELED;
    }
    if (rc < 0)
        return rc;
    return md_key_delete(c, k.access_key_id);
}

enum iam_err
iam_delete_access_key(struct iam *x, struct buf *res)
{
    struct key_op op = {.x = x};
    struct str id = iam_arg(x, "AccessKeyId");
    enum iam_err err;

    (void)res;
    err = iam_resolve_user(x, iam_arg(x, "UserName"), false, &op.target);
    if (err == IAM_E_OK && (id.p == NULL || id.n < 16 || id.n > 128))
        err = iam_invalid(x, "accessKeyId", id, "have length between 16 and 128");
    if (err != IAM_E_OK)
        return err;
    op.k.access_key_id = id;
    return iam_run_write(x, delete_key_fn, &op, &op.err);
}
