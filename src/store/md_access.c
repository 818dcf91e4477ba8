/* md_access.c -- the columns of buckets, accounts and object versions that
 * are set on their own: access control (bucket policy, Object Ownership,
 * Block Public Access, ACLs), tags and a bucket's CORS configuration, with
 * the text codecs of stored ACL grants and tag sets. Rows only: what a
 * setting means for a request is auth/'s, core/'s and s3/'s. Access-control
 * changes of buckets and accounts bump the policy generation; an object's
 * ACL is read with its row, so it does not, and neither do tags or CORS. */
#include "common.h"
#include "store/md.h"
#include "store/md_int.h"

#include <errno.h>
#include <string.h>

/* Runs the update id (?1 the row id, ?2 v as an int or, when is_str, a
 * string or NULL) and, when bump, the generation. */
static int
set_col(struct md_conn *c, enum st id, int64_t row, bool is_str, int64_t v, struct str sv,
        bool bump)
{
    struct stmt *s = get(c, id);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (!is_str)
        rc = bind_i64(s, 2, v);
    else
        rc = sv.p != NULL ? bind_str(s, 2, sv) : bind_null(s, 2);
    if (rc | bind_i64(s, 1, row))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && changes(c) == 0)
        rc = -ENOENT;
    if (rc == 0 && bump)
        rc = md_policy_gen_bump(c);
    return rc;
}

int
md_bucket_set_policy(struct md_conn *c, int64_t bucket_id, struct str doc)
{
    return set_col(c, ST_BKT_SET_POLICY, bucket_id, true, 0, doc, true);
}

int
md_bucket_set_ownership(struct md_conn *c, int64_t bucket_id, enum md_ownership o)
{
    if (o < MD_OWN_NONE || o > MD_OWN_WRITER)
        return -EINVAL;
    return set_col(c, ST_BKT_SET_OWN, bucket_id, false, o, STR_NULL, true);
}

int
md_bucket_set_public_access_block(struct md_conn *c, int64_t bucket_id, const struct md_pab *p)
{
    return set_col(c, ST_BKT_SET_PAB, bucket_id, false, md_pab_bits(p), STR_NULL, true);
}

int
md_bucket_set_acl(struct md_conn *c, int64_t bucket_id, struct str acl)
{
    return set_col(c, ST_BKT_SET_ACL, bucket_id, true, 0, acl, true);
}

int
md_account_set_public_access_block(struct md_conn *c, int64_t account_id, const struct md_pab *p)
{
    return set_col(c, ST_ACCT_SET_PAB, account_id, false, md_pab_bits(p), STR_NULL, true);
}

int
md_version_set_acl(struct md_conn *c, int64_t seq, struct str acl)
{
    return set_col(c, ST_V_SET_ACL, seq, true, 0, acl, false);
}

int
md_version_set_tags(struct md_conn *c, int64_t seq, struct str tags)
{
    return set_col(c, ST_V_SET_TAGS, seq, true, 0, tags.n > 0 ? tags : STR_NULL, false);
}

int
md_bucket_set_tags(struct md_conn *c, int64_t bucket_id, struct str tags)
{
    return set_col(c, ST_BKT_SET_TAGS, bucket_id, true, 0, tags.n > 0 ? tags : STR_NULL, false);
}

int
md_bucket_set_cors(struct md_conn *c, int64_t bucket_id, struct str cors)
{
    return set_col(c, ST_BKT_SET_CORS, bucket_id, true, 0, cors, false);
}

/* ---- the grant codec ------------------------------------------------------ */

static const char *const kinds[] = {
    [MD_GRANTEE_ID] = "id", [MD_GRANTEE_URI] = "uri", [MD_GRANTEE_EMAIL] = "email"};
static const char *const perms[] = {[MD_PERM_READ] = "READ",
                                    [MD_PERM_WRITE] = "WRITE",
                                    [MD_PERM_READ_ACP] = "READ_ACP",
                                    [MD_PERM_WRITE_ACP] = "WRITE_ACP",
                                    [MD_PERM_FULL_CONTROL] = "FULL_CONTROL"};

int
md_acl_encode(const struct md_grant *g, size_t n, struct arena *a, struct str *out)
{
    size_t len = 0, off = 0;
    char *p;

    for (size_t i = 0; i < n; i++) {
        if ((unsigned)g[i].kind >= ARRAY_LEN(kinds) || (unsigned)g[i].perm >= ARRAY_LEN(perms) ||
            g[i].grantee.n == 0 || memchr(g[i].grantee.p, '\n', g[i].grantee.n) != NULL)
            return -EINVAL;
        len += strlen(kinds[g[i].kind]) + strlen(perms[g[i].perm]) + g[i].grantee.n + 3;
    }
    p = arena_alloc(a, len + 1);
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(kinds[g[i].kind]), m = strlen(perms[g[i].perm]);

        memcpy(p + off, kinds[g[i].kind], k);
        p[off + k] = ' ';
        memcpy(p + off + k + 1, perms[g[i].perm], m);
        p[off + k + 1 + m] = ' ';
        memcpy(p + off + k + m + 2, g[i].grantee.p, g[i].grantee.n);
        off += k + m + 2 + g[i].grantee.n;
        p[off++] = '\n';
    }
    p[off] = '\0';
    *out = str_make(p, off);
    return 0;
}

/* Index of word w (w.n bytes) in names[0..n), or -1. */
static int
lookup(const char *const *names, size_t n, struct str w)
{
    for (size_t i = 0; i < n; i++)
        if (str_eq_c(w, names[i]))
            return (int)i;
    return -1;
}

int
md_acl_decode(struct str acl, struct arena *a, struct md_grant **out, size_t *n)
{
    struct str rest = acl, line;
    struct md_grant *arr = NULL;
    size_t cap = 0;

    *out = NULL;
    *n = 0;
    while (rest.p != NULL && rest.n > 0) {
        struct str kind, perm, who;
        int k, p;

        str_split(rest, '\n', &line, &rest);
        str_split(line, ' ', &kind, &line);
        str_split(line, ' ', &perm, &who);
        k = lookup(kinds, ARRAY_LEN(kinds), kind);
        p = lookup(perms, ARRAY_LEN(perms), perm);
        if (k < 0 || p < 0 || who.p == NULL || who.n == 0)
            return -EINVAL;
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        arr[*n].kind = (enum md_grantee)k;
        arr[*n].perm = (enum md_perm)p;
        arr[*n].grantee = who;
        (*n)++;
    }
    *out = arr;
    return 0;
}

/* ---- the tag-set codec ------------------------------------------------------ */

static bool
tag_text_ok(struct str s)
{
    return memchr(s.p, '\t', s.n) == NULL && memchr(s.p, '\n', s.n) == NULL;
}

int
md_tags_encode(const struct md_tag *t, size_t n, struct arena *a, struct str *out)
{
    size_t len = 0, off = 0;
    char *p;

    for (size_t i = 0; i < n; i++) {
        if (!tag_text_ok(t[i].key) || !tag_text_ok(t[i].value))
            return -EINVAL;
        len += t[i].key.n + t[i].value.n + 2;
    }
    p = arena_alloc(a, len + 1);
    for (size_t i = 0; i < n; i++) {
        memcpy(p + off, t[i].key.p, t[i].key.n);
        off += t[i].key.n;
        p[off++] = '\t';
        memcpy(p + off, t[i].value.p, t[i].value.n);
        off += t[i].value.n;
        p[off++] = '\n';
    }
    p[off] = '\0';
    *out = str_make(p, off);
    return 0;
}

int
md_tags_decode(struct str tags, struct arena *a, struct md_tag **out, size_t *n)
{
    struct str rest = tags, line;
    struct md_tag *arr = NULL;
    size_t cap = 0;

    *out = NULL;
    *n = 0;
    while (rest.p != NULL && rest.n > 0) {
        struct str k, v;

        str_split(rest, '\n', &line, &rest);
        if (!str_split(line, '\t', &k, &v) || !tag_text_ok(v))
            return -EINVAL;
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        arr[*n].key = k;
        arr[*n].value = v;
        (*n)++;
    }
    *out = arr;
    return 0;
}

size_t
md_tags_count(struct str tags)
{
    size_t n = 0;

    for (size_t i = 0; i < tags.n; i++)
        n += tags.p[i] == '\n';
    return n;
}
