/* md_iam.c -- IAM groups and their members, roles, inline policies, managed
 * policy attachments, the gathering of one principal's policies, and the
 * policy generation counter. Rows only: names, ARNs and limits are the
 * callers' (iam/); managed policies and their versions are in md_iam_pol.c.
 * Inline policies and attachments name their entity by (kind, id) without a
 * foreign key, so the entity's deletion removes them here. */
#include "common.h"
#include "store/md.h"
#include "store/md_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- the policy generation ------------------------------------------------ */

int
md_policy_gen_bump(struct md_conn *c)
{
    int rc = exec_id(c, ST_GEN_BUMP);

    if (rc == 0 && changes(c) == 0) {
        snprintf(c->err, sizeof(c->err), "the policy_gen counter row is missing");
        rc = -EIO;
    }
    return rc;
}

int
md_policy_gen(struct md_conn *c, int64_t *gen)
{
    struct stmt *s = get(c, ST_GEN_GET);
    int rc;

    if (s == NULL)
        return get_fail(c);
    rc = step(c, s);
    if (rc > 0)
        *gen = col_i64(s, 0);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -EIO : rc;
}

/* The account of entity (kind, id): 0, -ENOENT, -EINVAL for a bad kind. */
static int
entity_account(struct md_conn *c, enum md_entity kind, int64_t id, int64_t *account_id)
{
    struct stmt *s;
    int rc;

    switch (kind) {
    case MD_ENT_USER:
        s = get(c, ST_ENT_USER_ACCT);
        break;
    case MD_ENT_GROUP:
        s = get(c, ST_ENT_GROUP_ACCT);
        break;
    case MD_ENT_ROLE:
        s = get(c, ST_ENT_ROLE_ACCT);
        break;
    default:
        return -EINVAL;
    }
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        *account_id = col_i64(s, 0);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

/* 1 if the entity has inline or attached policies, 0 if not, -errno. */
static int
has_policies(struct md_conn *c, enum md_entity kind, int64_t id)
{
    int rc = exists2(c, ST_ENT_HAS_INLINE, kind, id);

    if (rc == 0)
        rc = exists2(c, ST_ENT_HAS_ATT, kind, id);
    return rc;
}

/* Runs id (a write with one int64 and one string parameter after kind and
 * id) and bumps the generation: -ENOENT when no row changed. */
static int
entity_write(struct md_conn *c, enum st id, enum md_entity kind, int64_t entity_id, struct str v)
{
    struct stmt *s = get(c, id);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, kind) | bind_i64(s, 2, entity_id) | bind_str(s, 3, v))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && changes(c) == 0)
        rc = -ENOENT;
    if (rc == 0)
        rc = md_policy_gen_bump(c);
    return rc;
}

/* ---- groups --------------------------------------------------------------- */

int
md_group_create(struct md_conn *c, struct md_group *g)
{
    struct stmt *s = get(c, ST_GRP_INSERT);
    struct str path = g->path.n > 0 ? g->path : STR_LIT("/");
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (g->name.n == 0 || g->uid.n == 0)
        return -EINVAL;
    if (bind_i64(s, 1, g->account_id) | bind_str(s, 2, g->name) | bind_str(s, 3, path) |
        bind_str(s, 4, g->uid) | bind_i64(s, 5, g->created_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0)
        g->id = last_id(c);
    return rc;
}

static void
row_group(struct stmt *s, struct arena *a, struct md_group *out)
{
    out->id = col_i64(s, 0);
    out->account_id = col_i64(s, 1);
    out->name = col_str(s, 2, a, false);
    out->path = col_str(s, 3, a, false);
    out->uid = col_str(s, 4, a, false);
    out->created_ms = col_i64(s, 5);
}

static int
group_one(struct md_conn *c, struct stmt *s, struct arena *a, struct md_group *out)
{
    int rc = step(c, s);

    if (rc > 0)
        row_group(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

static int
group_rows(struct md_conn *c, struct stmt *s, struct arena *a, struct md_group **out, size_t *n)
{
    struct md_group *arr = NULL;
    size_t cap = 0;
    int rc;

    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_group(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_group_get(struct md_conn *c, int64_t id, struct arena *a, struct md_group *out)
{
    struct stmt *s = get(c, ST_GRP_GET);

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, id))
        return bind_fail(c, s);
    return group_one(c, s, a, out);
}

int
md_group_get_by_name(struct md_conn *c, int64_t account_id, struct str name, struct arena *a,
                     struct md_group *out)
{
    struct stmt *s = get(c, ST_GRP_GET_NAME);

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id) | bind_str(s, 2, name))
        return bind_fail(c, s);
    return group_one(c, s, a, out);
}

int
md_group_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_group **out,
              size_t *n)
{
    struct stmt *s = get(c, ST_GRP_LIST);

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id))
        return bind_fail(c, s);
    return group_rows(c, s, a, out, n);
}

int
md_group_delete(struct md_conn *c, int64_t id)
{
    int rc = exists(c, ST_GRP_HAS_MEMBERS, id);

    if (rc == 0)
        rc = has_policies(c, MD_ENT_GROUP, id);
    if (rc != 0)
        return rc > 0 ? -ENOTEMPTY : rc;
    return change_i64(c, ST_GRP_DELETE, id);
}

int
md_group_add_user(struct md_conn *c, int64_t group_id, int64_t user_id)
{
    /* Inserts only when both exist in one account: no row, -ENOENT. */
    int rc = change_i64_2(c, ST_GM_ADD, group_id, user_id);

    if (rc == 0)
        rc = md_policy_gen_bump(c);
    return rc;
}

int
md_group_remove_user(struct md_conn *c, int64_t group_id, int64_t user_id)
{
    int rc = change_i64_2(c, ST_GM_DEL, group_id, user_id);

    if (rc == 0)
        rc = md_policy_gen_bump(c);
    return rc;
}

int
md_group_members(struct md_conn *c, int64_t group_id, struct arena *a, struct md_user **out,
                 size_t *n)
{
    struct stmt *s = get(c, ST_GM_MEMBERS);
    struct md_user *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, group_id))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        struct md_user *u;

        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        u = &arr[(*n)++];
        u->id = col_i64(s, 0);
        u->account_id = col_i64(s, 1);
        u->name = col_str(s, 2, a, false);
        u->created_ms = col_i64(s, 3);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_user_groups(struct md_conn *c, int64_t user_id, struct arena *a, struct md_group **out,
               size_t *n)
{
    struct stmt *s = get(c, ST_GM_GROUPS);

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, user_id))
        return bind_fail(c, s);
    return group_rows(c, s, a, out, n);
}

/* ---- roles ---------------------------------------------------------------- */

int
md_role_create(struct md_conn *c, struct md_role *r)
{
    struct stmt *s = get(c, ST_ROLE_INSERT);
    struct str path = r->path.n > 0 ? r->path : STR_LIT("/");
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (r->name.n == 0 || r->uid.n == 0 || r->trust_policy.n == 0)
        return -EINVAL;
    if (r->max_session_s <= 0)
        r->max_session_s = 3600;
    if (bind_i64(s, 1, r->account_id) | bind_str(s, 2, r->name) | bind_str(s, 3, path) |
        bind_str(s, 4, r->uid) | bind_str(s, 5, r->trust_policy) | bind_str(s, 6, r->description) |
        bind_i64(s, 7, r->max_session_s) | bind_i64(s, 8, r->created_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0)
        r->id = last_id(c);
    /* A trust policy is a policy: a role of a deleted role's name must not
     * meet a cached one. */
    if (rc == 0)
        rc = md_policy_gen_bump(c);
    return rc;
}

static void
row_role(struct stmt *s, struct arena *a, struct md_role *out)
{
    out->id = col_i64(s, 0);
    out->account_id = col_i64(s, 1);
    out->name = col_str(s, 2, a, false);
    out->path = col_str(s, 3, a, false);
    out->uid = col_str(s, 4, a, false);
    out->trust_policy = col_str(s, 5, a, false);
    out->description = col_str(s, 6, a, false);
    out->max_session_s = col_int(s, 7);
    out->created_ms = col_i64(s, 8);
}

static int
role_one(struct md_conn *c, struct stmt *s, struct arena *a, struct md_role *out)
{
    int rc = step(c, s);

    if (rc > 0)
        row_role(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_role_get(struct md_conn *c, int64_t id, struct arena *a, struct md_role *out)
{
    struct stmt *s = get(c, ST_ROLE_GET);

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, id))
        return bind_fail(c, s);
    return role_one(c, s, a, out);
}

int
md_role_get_by_name(struct md_conn *c, int64_t account_id, struct str name, struct arena *a,
                    struct md_role *out)
{
    struct stmt *s = get(c, ST_ROLE_GET_NAME);

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id) | bind_str(s, 2, name))
        return bind_fail(c, s);
    return role_one(c, s, a, out);
}

int
md_role_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_role **out,
             size_t *n)
{
    struct stmt *s = get(c, ST_ROLE_LIST);
    struct md_role *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_role(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_role_delete(struct md_conn *c, int64_t id)
{
    int rc = has_policies(c, MD_ENT_ROLE, id);

    if (rc != 0)
        return rc > 0 ? -ENOTEMPTY : rc;
    rc = change_i64(c, ST_ROLE_DELETE, id);
    /* Its sessions stop working with it: their keys go in the same
     * transaction (ids are never reused, so none could pass for a later
     * role's). */
    if (rc == 0) {
        rc = change_i64(c, ST_ROLE_DEL_KEYS, id);
        if (rc == -ENOENT)
            rc = 0;
    }
    if (rc == 0)
        rc = md_policy_gen_bump(c);
    return rc;
}

int
md_role_set_trust(struct md_conn *c, int64_t id, struct str doc)
{
    struct stmt *s = get(c, ST_ROLE_SET_TRUST);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (doc.n == 0)
        return -EINVAL;
    if (bind_i64(s, 1, id) | bind_str(s, 2, doc))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && changes(c) == 0)
        rc = -ENOENT;
    if (rc == 0)
        rc = md_policy_gen_bump(c);
    return rc;
}

/* ---- inline policies ------------------------------------------------------ */

int
md_inline_put(struct md_conn *c, enum md_entity kind, int64_t entity_id, struct str name,
              struct str doc)
{
    struct stmt *s;
    int64_t account_id;
    int rc;

    if (name.n == 0 || doc.n == 0)
        return -EINVAL;
    rc = entity_account(c, kind, entity_id, &account_id);
    if (rc < 0)
        return rc;
    s = get(c, ST_INL_PUT);
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, kind) | bind_i64(s, 2, entity_id) | bind_str(s, 3, name) |
        bind_str(s, 4, doc))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0)
        rc = md_policy_gen_bump(c);
    return rc;
}

static void
row_inline(struct stmt *s, struct arena *a, struct md_inline_policy *out)
{
    out->name = col_str(s, 0, a, false);
    out->document = col_str(s, 1, a, false);
}

int
md_inline_get(struct md_conn *c, enum md_entity kind, int64_t entity_id, struct str name,
              struct arena *a, struct md_inline_policy *out)
{
    struct stmt *s = get(c, ST_INL_GET);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, kind) | bind_i64(s, 2, entity_id) | bind_str(s, 3, name))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        row_inline(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_inline_list(struct md_conn *c, enum md_entity kind, int64_t entity_id, struct arena *a,
               struct md_inline_policy **out, size_t *n)
{
    struct stmt *s = get(c, ST_INL_LIST);
    struct md_inline_policy *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, kind) | bind_i64(s, 2, entity_id))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_inline(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_inline_delete(struct md_conn *c, enum md_entity kind, int64_t entity_id, struct str name)
{
    return entity_write(c, ST_INL_DELETE, kind, entity_id, name);
}

/* ---- attachments ------------------------------------------------------------ */

int
md_attach(struct md_conn *c, enum md_entity kind, int64_t entity_id, struct str arn)
{
    struct stmt *s;
    int64_t account_id;
    int rc;

    if (arn.n == 0)
        return -EINVAL;
    rc = entity_account(c, kind, entity_id, &account_id);
    if (rc < 0)
        return rc;
    s = get(c, ST_ATT_ADD);
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, kind) | bind_i64(s, 2, entity_id) | bind_str(s, 3, arn) |
        bind_i64(s, 4, account_id))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0)
        rc = md_policy_gen_bump(c);
    return rc;
}

int
md_detach(struct md_conn *c, enum md_entity kind, int64_t entity_id, struct str arn)
{
    return entity_write(c, ST_ATT_DEL, kind, entity_id, arn);
}

int
md_attached_list(struct md_conn *c, enum md_entity kind, int64_t entity_id, struct arena *a,
                 struct str **out, size_t *n)
{
    struct stmt *s = get(c, ST_ATT_LIST);
    struct str *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, kind) | bind_i64(s, 2, entity_id))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        arr[(*n)++] = col_str(s, 0, a, false);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_policy_entities(struct md_conn *c, int64_t account_id, struct str arn, struct arena *a,
                   struct md_attachment **out, size_t *n)
{
    struct stmt *s = get(c, ST_ATT_ENTITIES);
    struct md_attachment *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id) | bind_str(s, 2, arn))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        struct md_attachment *e;

        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        e = &arr[(*n)++];
        e->kind = (enum md_entity)col_int(s, 0);
        e->entity_id = col_i64(s, 1);
        e->entity_name = col_str(s, 2, a, false);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_policy_attachment_count(struct md_conn *c, int64_t account_id, struct str arn, int64_t *n)
{
    struct stmt *s = get(c, ST_ATT_COUNT);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id) | bind_str(s, 2, arn))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        *n = col_i64(s, 0);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -EIO : rc;
}

/* ---- one principal's policies ------------------------------------------------ */

int
md_principal_policies(struct md_conn *c, enum md_entity kind, int64_t id, struct arena *a,
                      struct md_principal_policy **out, size_t *n)
{
    struct stmt *s = get(c, ST_PRINCIPAL_POLICIES);
    struct md_principal_policy *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (kind != MD_ENT_USER && kind != MD_ENT_GROUP && kind != MD_ENT_ROLE)
        return -EINVAL;
    /* One statement: the entity's inline policies, its groups' (users
     * only), its attachments and its groups', customer documents joined. */
    if (bind_i64(s, 1, kind) | bind_i64(s, 2, id))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        struct md_principal_policy *p;

        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        p = &arr[(*n)++];
        p->source_kind = (enum md_entity)col_int(s, 0);
        p->source_id = col_i64(s, 1);
        p->source_name = col_str(s, 2, a, false);
        p->is_inline = col_int(s, 3) != 0;
        p->name = col_str(s, 4, a, false);
        p->document = col_str(s, 5, a, true);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}
