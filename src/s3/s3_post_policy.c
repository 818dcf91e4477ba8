/* s3_post_policy.c -- the fields of a browser POST upload and the policy
 * document that covers them [spec-authorization §8]: parsing (jansson) and
 * checking, pure functions of their inputs. Authentication and the upload
 * itself are s3_post.c's. */
#include "common.h"
#include "s3/s3_post.h"
#include "util/enc.h"
#include "util/tm.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

/* ---- fields -------------------------------------------------------------- */

int
s3_post_field_add(struct arena *a, struct s3_post_form *fm, struct str name, struct str value)
{
    for (size_t i = 0; i < fm->n; i++) {
        if (!str_ieq(fm->f[i].name, name))
            continue;
        /* AWS: a field sent twice has its values joined with commas [§8]. */
        struct str old = fm->f[i].value;
        char *j = arena_alloc(a, old.n + 1 + value.n + 1);
        memcpy(j, old.p, old.n);
        j[old.n] = ',';
        memcpy(j + old.n + 1, value.p, value.n);
        j[old.n + 1 + value.n] = '\0';
        fm->f[i].value = str_make(j, old.n + 1 + value.n);
        return 0;
    }
    if (fm->n >= S3_POST_MAX_FIELDS)
        return -E2BIG;
    fm->f[fm->n].name = name;
    fm->f[fm->n].value = value.p != NULL ? value : STR_LIT("");
    fm->n++;
    return 0;
}

struct str
s3_post_field(const struct s3_post_form *fm, const char *name)
{
    for (size_t i = 0; i < fm->n; i++)
        if (str_ieq_c(fm->f[i].name, name))
            return fm->f[i].value;
    return STR_NULL;
}

int
s3_post_expand_key(struct arena *a, struct str key, struct str filename, struct str *out_key)
{
    static const char var[] = "${filename}";
    const size_t vn = sizeof(var) - 1;
    struct str base = filename.p != NULL ? filename : STR_LIT("");
    size_t count = 0;
    char *out, *w;

    for (size_t i = base.n; i > 0; i--) {
        if (base.p[i - 1] == '/' || base.p[i - 1] == '\\') {
            base = str_make(base.p + i, base.n - i);
            break;
        }
    }
    for (size_t i = 0; i + vn <= key.n; i++)
        if (memcmp(key.p + i, var, vn) == 0)
            count++, i += vn - 1;
    *out_key = key;
    if (count == 0)
        return key.n > S3_MAX_KEY_BYTES ? -E2BIG : 0;
    /* Each ${filename} may stand for up to a whole field: the length is
     * checked before anything is allocated. */
    if (key.n - count * vn + count * base.n > S3_MAX_KEY_BYTES)
        return -E2BIG;
    out = arena_alloc(a, key.n - count * vn + count * base.n + 1);
    w = out;
    for (size_t i = 0; i < key.n;) {
        if (i + vn <= key.n && memcmp(key.p + i, var, vn) == 0) {
            memcpy(w, base.p, base.n);
            w += base.n;
            i += vn;
        } else {
            *w++ = key.p[i++];
        }
    }
    *w = '\0';
    *out_key = str_make(out, (size_t)(w - out));
    return 0;
}

/* ---- the policy document ------------------------------------------------- */

/* "2026-12-07T12:00:00Z" or with a fraction of a second, UTC only. */
static int
parse_expiration(const char *s, size_t n, int64_t *out)
{
    size_t i = 19;

    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[n - 1] != 'Z')
        return -EINVAL;
    if (s[i] == '.') {
        for (i++; i < n - 1; i++)
            if (s[i] < '0' || s[i] > '9')
                return -EINVAL;
        if (n == 21)
            return -EINVAL; /* "." alone */
    } else if (n != 20) {
        return -EINVAL;
    }
    return tm_parse_http(str_make(s, n), out);
}

static struct str
jstr(struct arena *a, const json_t *j)
{
    return arena_str(a, str_make(json_string_value(j), json_string_length(j)));
}

/* A content-length-range bound: a non-negative integer, or a string of
 * digits (some form builders quote numbers). */
static int
bound(const json_t *j, int64_t *out)
{
    unsigned long long v;

    if (json_is_integer(j) && json_integer_value(j) >= 0) {
        *out = (int64_t)json_integer_value(j);
        return 0;
    }
    if (json_is_string(j) &&
        str_to_u64(str_make(json_string_value(j), json_string_length(j)), &v) == 0 &&
        v <= INT64_MAX) {
        *out = (int64_t)v;
        return 0;
    }
    return -EINVAL;
}

static const char *
condition(struct arena *a, const json_t *j, struct s3_post_cond *c)
{
    const char *key;
    json_t *v;

    if (json_is_object(j)) {
        /* {"field": "value"} is ["eq", "$field", "value"]. */
        if (json_object_size(j) != 1)
            return "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have "
                   "exactly one property specified.";
        json_object_foreach((json_t *)j, key, v) {
            if (!json_is_string(v))
                return "Invalid Policy: Invalid Simple-Condition: value must be a string.";
            c->op = S3_POST_EQ;
            c->field = arena_str(a, str_c(key));
            c->value = jstr(a, v);
        }
        return NULL;
    }
    if (!json_is_array(j) || json_array_size(j) != 3 || !json_is_string(json_array_get(j, 0)))
        return "Invalid Policy: Invalid Condition: conditions must be objects or arrays of "
               "three elements.";
    struct str op = str_c(json_string_value(json_array_get(j, 0)));
    if (str_ieq_c(op, "content-length-range")) {
        c->op = S3_POST_RANGE;
        if (bound(json_array_get(j, 1), &c->min) < 0 || bound(json_array_get(j, 2), &c->max) < 0)
            return "Invalid Policy: Invalid content-length-range condition: bounds must be "
                   "non-negative integers.";
        return NULL;
    }
    if (str_ieq_c(op, "eq"))
        c->op = S3_POST_EQ;
    else if (str_ieq_c(op, "starts-with"))
        c->op = S3_POST_STARTS_WITH;
    else
        return "Invalid Policy: Invalid Condition: unknown operation.";
    const json_t *f = json_array_get(j, 1), *val = json_array_get(j, 2);
    if (!json_is_string(f) || json_string_length(f) < 2 || json_string_value(f)[0] != '$' ||
        !json_is_string(val))
        return "Invalid Policy: Invalid Condition: a field is named by a string starting "
               "with '$' and compared with a string.";
    c->field = arena_str(a, str_make(json_string_value(f) + 1, json_string_length(f) - 1));
    c->value = jstr(a, val);
    return NULL;
}

enum s3_err
s3_post_policy_parse(struct arena *a, struct str b64, struct s3_post_policy *out,
                     const char **msg)
{
    json_error_t jerr;
    json_t *doc = NULL, *exp, *conds;
    char *text;
    int n;
    enum s3_err err = S3E_INVALID_POLICY_DOCUMENT;

    *out = (struct s3_post_policy){0};
    *msg = "Invalid Policy: Invalid JSON.";
    if (b64.n > S3_POST_MAX_FIELD_BYTES)
        return err;
    text = arena_alloc(a, b64.n / 4 * 3 + 4);
    n = b64_decode(b64, text, b64.n / 4 * 3 + 3);
    if (n <= 0)
        return err;
    doc = json_loadb(text, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL || !json_is_object(doc))
        goto out;
    exp = json_object_get(doc, "expiration");
    if (exp == NULL) {
        *msg = "Invalid Policy: Policy missing expiration.";
        goto out;
    }
    if (!json_is_string(exp) ||
        parse_expiration(json_string_value(exp), json_string_length(exp), &out->expiration_s) <
            0) {
        *msg = "Invalid Policy: Invalid 'expiration' value: it must be an ISO 8601 UTC date.";
        goto out;
    }
    conds = json_object_get(doc, "conditions");
    if (conds == NULL || !json_is_array(conds)) {
        *msg = conds == NULL ? "Invalid Policy: Policy missing conditions."
                             : "Invalid Policy: 'conditions' must be a list.";
        goto out;
    }
    if (json_array_size(conds) > S3_POST_MAX_CONDITIONS) {
        *msg = "Invalid Policy: Too many conditions.";
        goto out;
    }
    out->c = arena_zalloc(a, (json_array_size(conds) + 1) * sizeof(*out->c));
    for (size_t i = 0; i < json_array_size(conds); i++) {
        struct s3_post_cond *c = &out->c[out->n];
        const char *why = condition(a, json_array_get(conds, i), c);
        if (why != NULL) {
            *msg = why;
            goto out;
        }
        /* AWS: bucket and success_action_status match exactly or not at all. */
        if (c->op == S3_POST_STARTS_WITH &&
            (str_ieq_c(c->field, "bucket") || str_ieq_c(c->field, "success_action_status"))) {
            *msg = arena_printf(a, "Invalid Policy: Invalid 'starts-with' condition: %.*s "
                                   "supports exact matching only.",
                                STR_FMT(c->field));
            goto out;
        }
        out->n++;
    }
    err = S3E_OK;
out:
    json_decref(doc);
    if (err != S3E_OK)
        *out = (struct s3_post_policy){0};
    return err;
}

/* The condition as AWS quotes it: ["eq", "$key", "v"]. */
static const char *
cond_failed(struct arena *a, const struct s3_post_cond *c)
{
    struct str v = c->value;
    char *e = arena_alloc(a, v.n * 2 + 1), *w = e;

    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] == '"' || v.p[i] == '\\')
            *w++ = '\\';
        *w++ = v.p[i];
    }
    return arena_printf(a,
                        "Invalid according to Policy: Policy Condition failed: [\"%s\", "
                        "\"$%.*s\", \"%.*s\"]",
                        c->op == S3_POST_EQ ? "eq" : "starts-with", STR_FMT(c->field),
                        (int)(w - e), e);
}

static bool
starts_with(struct str s, struct str prefix)
{
    return s.n >= prefix.n && memcmp(s.p, prefix.p, prefix.n) == 0;
}

static bool
cond_holds(const struct s3_post_cond *c, struct str v)
{
    if (c->op == S3_POST_EQ)
        return str_eq(v, c->value);
    if (!str_ieq_c(c->field, "content-type"))
        return starts_with(v, c->value);
    /* AWS: each of several comma-separated Content-Types must match. */
    struct str rest = v, item;
    while (rest.p != NULL) {
        str_split(rest, ',', &item, &rest);
        if (!starts_with(str_trim(item), c->value))
            return false;
    }
    return true;
}

static bool
exempt(struct str name, bool sigv2)
{
    return str_ieq_c(name, "policy") || str_ieq_c(name, "file") ||
           str_ieq_c(name, "x-amz-signature") || str_ieq_c(name, "signature") ||
           (sigv2 && str_ieq_c(name, "AWSAccessKeyId")) ||
           (name.n >= 9 && strncasecmp(name.p, "x-ignore-", 9) == 0);
}

enum s3_err
s3_post_policy_check(struct arena *a, const struct s3_post_policy *p,
                     const struct s3_post_form *fm, struct str bucket, bool sigv2, int64_t now_s,
                     const char **msg)
{
    if (now_s >= p->expiration_s) {
        *msg = "Invalid according to Policy: Policy expired.";
        return S3E_ACCESS_DENIED;
    }
    for (size_t i = 0; i < p->n; i++) {
        const struct s3_post_cond *c = &p->c[i];
        struct str v;
        if (c->op == S3_POST_RANGE)
            continue;
        v = str_ieq_c(c->field, "bucket") ? bucket
                                          : s3_post_field(fm, arena_cstr(a, c->field));
        if (v.p == NULL)
            v = STR_LIT("");
        if (!cond_holds(c, v)) {
            *msg = cond_failed(a, c);
            return S3E_ACCESS_DENIED;
        }
    }
    for (size_t i = 0; i < fm->n; i++) {
        bool covered = exempt(fm->f[i].name, sigv2);
        for (size_t k = 0; k < p->n && !covered; k++)
            covered = p->c[k].op != S3_POST_RANGE && str_ieq(p->c[k].field, fm->f[i].name);
        if (!covered) {
            *msg = arena_printf(a, "Invalid according to Policy: Extra input fields: %.*s",
                                STR_FMT(fm->f[i].name));
            return S3E_ACCESS_DENIED;
        }
    }
    return S3E_OK;
}

enum s3_err
s3_post_size_check(const struct s3_post_policy *p, int64_t size)
{
    for (size_t i = 0; p != NULL && i < p->n; i++) {
        if (p->c[i].op != S3_POST_RANGE)
            continue;
        if (size < p->c[i].min)
            return S3E_ENTITY_TOO_SMALL;
        if (size > p->c[i].max)
            return S3E_ENTITY_TOO_LARGE;
    }
    return S3E_OK;
}

int64_t
s3_post_policy_max(const struct s3_post_policy *p)
{
    int64_t max = INT64_MAX;

    for (size_t i = 0; p != NULL && i < p->n; i++)
        if (p->c[i].op == S3_POST_RANGE && p->c[i].max < max)
            max = p->c[i].max;
    return max;
}
