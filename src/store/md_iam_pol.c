/* md_iam_pol.c -- customer managed policies and their versions. Rows only:
 * the caller makes the ARN and the unique id and validates documents; the
 * store keeps version numbers increasing, at most MD_POLICY_VERSIONS_MAX
 * versions per policy, and the default version present. Attachments (by
 * ARN) are in md_iam.c. */
#include "common.h"
#include "store/md.h"
#include "store/md_int.h"

#include <errno.h>
#include <string.h>

static int
version_insert(struct md_conn *c, int64_t policy_id, int version, struct str doc, int64_t now_ms)
{
    struct stmt *s = get(c, ST_PV_INSERT);

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, policy_id) | bind_i64(s, 2, version) | bind_str(s, 3, doc) |
        bind_i64(s, 4, now_ms))
        return bind_fail(c, s);
    return exec(c, s);
}

int
md_policy_create(struct md_conn *c, struct md_policy *p, struct str doc)
{
    struct stmt *s = get(c, ST_POL_INSERT);
    struct str path = p->path.n > 0 ? p->path : STR_LIT("/");
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (p->name.n == 0 || p->uid.n == 0 || p->arn.n == 0 || doc.n == 0)
        return -EINVAL;
    if (bind_i64(s, 1, p->account_id) | bind_str(s, 2, p->name) | bind_str(s, 3, path) |
        bind_str(s, 4, p->uid) | bind_str(s, 5, p->arn) | bind_str(s, 6, p->description) |
        bind_i64(s, 7, p->created_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc < 0)
        return rc;
    p->id = last_id(c);
    p->default_version = 1;
    p->updated_ms = p->created_ms;
    p->attachment_count = 0;
    rc = version_insert(c, p->id, 1, doc, p->created_ms);
    /* A policy of a deleted one's ARN may be attached already (attachments
     * outlive nothing, but caches keyed by ARN might). */
    if (rc == 0)
        rc = md_policy_gen_bump(c);
    return rc;
}

static void
row_policy(struct stmt *s, struct arena *a, struct md_policy *out)
{
    out->id = col_i64(s, 0);
    out->account_id = col_i64(s, 1);
    out->name = col_str(s, 2, a, false);
    out->path = col_str(s, 3, a, false);
    out->uid = col_str(s, 4, a, false);
    out->arn = col_str(s, 5, a, false);
    out->description = col_str(s, 6, a, false);
    out->default_version = col_int(s, 7);
    out->created_ms = col_i64(s, 8);
    out->updated_ms = col_i64(s, 9);
    out->attachment_count = col_i64(s, 10);
}

static int
policy_one(struct md_conn *c, struct stmt *s, struct arena *a, struct md_policy *out)
{
    int rc = step(c, s);

    if (rc > 0)
        row_policy(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_policy_get(struct md_conn *c, int64_t id, struct arena *a, struct md_policy *out)
{
    struct stmt *s = get(c, ST_POL_GET);

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, id))
        return bind_fail(c, s);
    return policy_one(c, s, a, out);
}

int
md_policy_get_by_arn(struct md_conn *c, struct str arn, struct arena *a, struct md_policy *out)
{
    struct stmt *s = get(c, ST_POL_GET_ARN);

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, arn))
        return bind_fail(c, s);
    return policy_one(c, s, a, out);
}

int
md_policy_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_policy **out,
               size_t *n)
{
    struct stmt *s = get(c, ST_POL_LIST);
    struct md_policy *arr = NULL;
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
        row_policy(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_policy_delete(struct md_conn *c, int64_t id)
{
    int rc = exists(c, ST_POL_ATTACHED, id);

    if (rc != 0)
        return rc > 0 ? -ENOTEMPTY : rc;
    /* Versions first (foreign key). */
    rc = change_i64(c, ST_PV_DEL_ALL, id);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    rc = change_i64(c, ST_POL_DELETE, id);
    if (rc == 0)
        rc = md_policy_gen_bump(c);
    return rc;
}

/* The policy's last version number, default version and version count. */
static int
version_state(struct md_conn *c, int64_t policy_id, int *last, int *def, int *count)
{
    struct stmt *s = get(c, ST_POL_VER_STATE);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, policy_id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0) {
        *last = col_int(s, 0);
        *def = col_int(s, 1);
        *count = col_int(s, 2);
    }
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_policy_version_add(struct md_conn *c, int64_t policy_id, struct str doc, bool set_default,
                      int64_t now_ms, int *version)
{
    struct stmt *s;
    int last, def, count, rc;

    if (doc.n == 0)
        return -EINVAL;
    rc = version_state(c, policy_id, &last, &def, &count);
    if (rc < 0)
        return rc;
    if (count >= MD_POLICY_VERSIONS_MAX)
        return -EMLINK;
    /* Numbers are never reused within a policy, as IAM's version ids. */
    s = get(c, ST_POL_NEXT_VER);
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, policy_id) | bind_i64(s, 2, last + 1) | bind_i64(s, 3, now_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0)
        rc = version_insert(c, policy_id, last + 1, doc, now_ms);
    if (rc == 0 && set_default)
        rc = md_policy_set_default(c, policy_id, last + 1, now_ms);
    if (rc == 0)
        *version = last + 1;
    return rc;
}

static void
row_version(struct stmt *s, struct arena *a, struct md_policy_version *out)
{
    out->version = col_int(s, 0);
    out->document = col_str(s, 1, a, false);
    out->is_default = col_int(s, 2) != 0;
    out->created_ms = col_i64(s, 3);
}

int
md_policy_version_get(struct md_conn *c, int64_t policy_id, int version, struct arena *a,
                      struct md_policy_version *out)
{
    struct stmt *s = get(c, ST_PV_GET);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, policy_id) | bind_i64(s, 2, version))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        row_version(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_policy_version_list(struct md_conn *c, int64_t policy_id, bool with_docs, struct arena *a,
                       struct md_policy_version **out, size_t *n)
{
    struct stmt *s = get(c, ST_PV_LIST);
    struct md_policy_version *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, policy_id) | bind_i64(s, 2, with_docs))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_version(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_policy_version_delete(struct md_conn *c, int64_t policy_id, int version)
{
    int last, def, count, rc;

    rc = version_state(c, policy_id, &last, &def, &count);
    if (rc < 0)
        return rc;
    if (version == def)
        return -EBUSY;
    rc = change_i64_2(c, ST_PV_DELETE, policy_id, version);
    if (rc == 0)
        rc = md_policy_gen_bump(c);
    return rc;
}

int
md_policy_set_default(struct md_conn *c, int64_t policy_id, int version, int64_t now_ms)
{
    struct stmt *s = get(c, ST_POL_SET_DEFAULT);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, policy_id) | bind_i64(s, 2, version) | bind_i64(s, 3, now_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && changes(c) == 0)
        rc = -ENOENT;
    if (rc == 0)
        rc = md_policy_gen_bump(c);
    return rc;
}
