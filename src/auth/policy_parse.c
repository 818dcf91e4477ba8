/* policy_parse.c -- IAM policy documents: JSON (jansson) to the compiled
 * form of policy_int.h, validated as S3 (bucket policies) or IAM (identity
 * and trust policies) validate them, with their messages [spec-authorization
 * §2.1-2.7]. Everything evaluation needs is decided here: actions are
 * lower-cased, ARN patterns split, CIDRs, dates and numbers parsed, so
 * policy_eval() never looks at the JSON again. */
#include "common.h"
#include "auth/policy.h"
#include "auth/policy_int.h"

#include "util/enc.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MSG_JSON_FIRST "Policies must be valid JSON and the first byte must be '{'"
#define MSG_JSON "This policy contains invalid Json"
#define MSG_VERSION "The policy must contain a valid version string"
#define MSG_ACTION "Policy has invalid action"
#define MSG_RESOURCE "Policy has invalid resource"
#define MSG_PRINCIPAL "Invalid principal in policy"
#define MSG_APPLY "Action does not apply to any resource(s) in statement"
#define MSG_IAM_SYNTAX "Syntax errors in policy."
#define MSG_IAM_PRINCIPAL "Policy document should not specify a principal."
#define MSG_IAM_VENDOR "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."

enum scope { OBJ = 1, BKT = 2, OTHER = 4 };

static const struct {
    const char *name; /* without "s3:" */
    uint8_t scope;
} s3_actions[] = {
#define S3_ACTION(name, scope) {#name, scope},
#include "auth/policy_actions.def"
#undef S3_ACTION
};

struct pctx {
    struct policy *p;
    struct arena *a;
    const struct policy_opts *o;
    bool s3; /* S3's messages (bucket policy), else IAM's */
    char *msg;
    size_t msg_len;
};

/* Sets the message (S3's or IAM's; NULL iam: "Syntax errors in policy.")
 * and returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static int
fail(struct pctx *x, const char *iam, const char *s3fmt, ...)
{
    va_list ap;

    if (x->msg == NULL || x->msg_len == 0)
        return -EINVAL;
    if (!x->s3) {
        snprintf(x->msg, x->msg_len, "%s", iam != NULL ? iam : MSG_IAM_SYNTAX);
        return -EINVAL;
    }
    va_start(ap, s3fmt);
    vsnprintf(x->msg, x->msg_len, s3fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static struct str
jstr(const json_t *j)
{
    return str_make(json_string_value(j), json_string_length(j));
}

static int
lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool
is_digits(struct str s, size_t n)
{
    if (s.n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return true;
}

static bool
has_glob(struct str s)
{
    return memchr(s.p, '*', s.n) != NULL || memchr(s.p, '?', s.n) != NULL;
}

/* The element's strings: a string or a non-empty array of strings. Their
 * count, or -EINVAL. */
static int
list_n(const json_t *j, size_t *n)
{
    if (json_is_string(j)) {
        *n = 1;
        return 0;
    }
    if (!json_is_array(j) || json_array_size(j) == 0)
        return -EINVAL;
    for (size_t i = 0; i < json_array_size(j); i++)
        if (!json_is_string(json_array_get(j, i)))
            return -EINVAL;
    *n = json_array_size(j);
    return 0;
}

static struct str
list_at(const json_t *j, size_t i)
{
    return jstr(json_is_string(j) ? j : json_array_get(j, i));
}

/* ---- templates: literal text, globs and policy variables [§2.4] -------- */

static void
put_lit(struct pol_part *parts, size_t *n, const char *p, size_t len)
{
    if (len == 0)
        return;
    parts[*n] = (struct pol_part){.lit = str_make(p, len)};
    (*n)++;
}

/* Compiles s into t. glob: '*' and '?' stay wildcards and literal ones are
 * escaped. vars: ${...} are variables (2012-10-17) from offset from on
 * (Resource: after the fifth colon). -EINVAL on a malformed variable. */
static int
tmpl_compile(struct arena *a, struct str s, bool glob, bool vars, size_t from, struct pol_tmpl *t)
{
    char *out = arena_alloc(a, 2 * s.n + 1), *start = out, *o = out;
    struct pol_part *parts = NULL;
    size_t n_parts = 0, max_parts = 0;

    if (vars)
        for (size_t i = from; i + 1 < s.n; i++)
            if (s.p[i] == '$' && s.p[i + 1] == '{')
                max_parts += 2;
    if (max_parts > 0)
        parts = arena_zalloc(a, (max_parts + 1) * sizeof(*parts));
    for (size_t i = 0; i < s.n; i++) {
        char ch = s.p[i];
        if (vars && i >= from && ch == '$' && i + 1 < s.n && s.p[i + 1] == '{') {
            const char *close = memchr(s.p + i + 2, '}', s.n - i - 2);
            struct str body, key, def = STR_NULL;
            bool has_def = false;
            if (close == NULL)
                return -EINVAL;
            body = str_make(s.p + i + 2, (size_t)(close - (s.p + i + 2)));
            i = (size_t)(close - s.p);
            if (body.n == 1 && (body.p[0] == '*' || body.p[0] == '?' || body.p[0] == '$')) {
                if (glob && body.p[0] != '$')
                    *o++ = '\\';
                *o++ = body.p[0];
                continue;
            }
            key = body;
            {
                const char *comma = memchr(body.p, ',', body.n);
                if (comma != NULL) {
                    struct str d;
                    key = str_trim(str_make(body.p, (size_t)(comma - body.p)));
                    d = str_trim(str_make(comma + 1, body.n - (size_t)(comma - body.p) - 1));
                    if (d.n < 2 || d.p[0] != '\'' || d.p[d.n - 1] != '\'')
                        return -EINVAL;
                    def = str_make(d.p + 1, d.n - 2);
                    has_def = true;
                }
            }
            key = str_trim(key);
            if (key.n == 0 || memchr(key.p, ':', key.n) == NULL)
                return -EINVAL;
            for (size_t k = 0; k < key.n; k++)
                if (key.p[k] == '$' || key.p[k] == '{' || key.p[k] == ' ')
                    return -EINVAL;
            put_lit(parts, &n_parts, start, (size_t)(o - start));
            parts[n_parts++] = (struct pol_part){
                .var = arena_str(a, key), .def = arena_str(a, def), .has_def = has_def};
            start = o;
            continue;
        }
        if (glob && ch == '\\')
            *o++ = '\\';
        *o++ = ch;
    }
    if (n_parts == 0) {
        t->s = str_make(out, (size_t)(o - out));
        t->parts = NULL;
        t->n_parts = 0;
        return 0;
    }
    put_lit(parts, &n_parts, start, (size_t)(o - start));
    t->s = STR_NULL;
    t->parts = parts;
    t->n_parts = n_parts;
    return 0;
}

/* Offset just past the fifth colon, or s.n. */
static size_t
sixth(struct str s)
{
    int colons = 0;

    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] == ':' && ++colons == 5)
            return i + 1;
    return s.n;
}

/* ---- Action ------------------------------------------------------------ */

/* s3:NAME (lower-case, glob) against the table: the union of the scopes of
 * the S3 actions it matches, 0 if none. */
static unsigned
s3_scope(struct str pat)
{
    char name[128];
    unsigned sc = 0;

    for (size_t i = 0; i < ARRAY_LEN(s3_actions); i++) {
        size_t n = strlen(s3_actions[i].name);
        if (n + 3 > sizeof(name))
            continue;
        memcpy(name, "s3:", 3);
        memcpy(name + 3, s3_actions[i].name, n);
        if (pol_glob(pat, str_make(name, n + 3), true))
            sc |= s3_actions[i].scope;
    }
    return sc;
}

static int
action_compile(struct pctx *x, struct str s, struct pol_act *out, unsigned *scope)
{
    char *l = arena_alloc(x->a, s.n + 1);
    const char *colon;

    for (size_t i = 0; i < s.n; i++)
        l[i] = (char)lower((unsigned char)s.p[i]);
    l[s.n] = '\0';
    out->pat = str_make(l, s.n);
    out->literal = !has_glob(s);
    *scope = OBJ | BKT | OTHER;
    if (str_eq_c(out->pat, "*"))
        return 0;
    colon = memchr(l, ':', s.n);
    if (colon == NULL || colon == l || (size_t)(colon - l) + 1 == s.n)
        return fail(x, MSG_IAM_VENDOR, MSG_ACTION);
    for (const char *c = l; c < l + s.n; c++) {
        bool svc = c < colon;
        if (c == colon)
            continue;
        if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || (*c == '-' && svc) ||
            (!svc && (*c == '*' || *c == '?' || *c == '_' || *c == '-')))
            continue;
        return fail(x, NULL, MSG_ACTION);
    }
    if (!x->s3)
        return 0;
    /* AWS: a bucket policy names S3 actions only, and only real ones; a
     * wildcard must match at least one [§2.7]. */
    if (colon - l != 2 || memcmp(l, "s3", 2) != 0)
        return fail(x, NULL, MSG_ACTION);
    *scope = s3_scope(out->pat);
    if (*scope == 0)
        return fail(x, NULL, MSG_ACTION);
    return 0;
}

/* ---- Resource ---------------------------------------------------------- */

static int
resource_compile(struct pctx *x, struct str s, struct pol_tmpl *t, struct pol_arn *arn,
                 unsigned *kind)
{
    *kind = 0;
    if (x->s3) {
        /* AWS: this bucket or objects in it, nothing else, "*" neither [§2.7]. */
        struct str b = x->o->bucket;
        if (!str_has_prefix(s, "arn:aws:s3:::") || b.n == 0 || s.n < 13 + b.n ||
            memcmp(s.p + 13, b.p, b.n) != 0 || (s.n > 13 + b.n && s.p[13 + b.n] != '/'))
            return fail(x, NULL, MSG_RESOURCE);
        *kind = s.n == 13 + b.n ? BKT : OBJ;
    } else if (!str_eq_c(s, "*") && (!str_has_prefix(s, "arn:") || sixth(s) == s.n)) {
        if (x->msg != NULL && x->msg_len > 0)
            snprintf(x->msg, x->msg_len, "Resource %.*s must be in ARN format or \"*\".",
                     (int)(s.n > 200 ? 200 : s.n), s.p);
        return -EINVAL;
    }
    if (tmpl_compile(x->a, s, true, x->p->vars, sixth(s), t) < 0)
        return fail(x, NULL, MSG_RESOURCE);
    if (t->n_parts == 0)
        pol_arn_split(t->s, arn);
    return 0;
}

/* ---- Principal [§2.2] -------------------------------------------------- */

static bool
principal_exists(struct pctx *x, struct str arn)
{
    return x->o->principal_exists == NULL || x->o->principal_exists(x->o->arg, arn);
}

/* One {"AWS": v} value. */
static int
aws_principal(struct pctx *x, struct str v, struct pol_stmt *st, struct pol_pr *pr, bool *skip)
{
    struct str rest, acct, res;

    *skip = false;
    if (str_eq_c(v, "*")) {
        st->star = true;
        *skip = true;
        return 0;
    }
    if (is_digits(v, 12)) {
        *pr = (struct pol_pr){.kind = PR_ACCOUNT, .v = arena_str(x->a, v)};
        return 0;
    }
    if (str_has_prefix(v, "arn:aws:iam::"))
        rest = str_make(v.p + 13, v.n - 13);
    else if (str_has_prefix(v, "arn:aws:sts::"))
        rest = str_make(v.p + 13, v.n - 13);
    else
        return -EINVAL;
    if (rest.n < 14 || rest.p[12] != ':')
        return -EINVAL;
    acct = str_make(rest.p, 12);
    res = str_make(rest.p + 13, rest.n - 13);
    if (!is_digits(acct, 12) || has_glob(res) || memchr(res.p, ':', res.n) != NULL)
        return -EINVAL;
    if (v.p[8] == 'i') {
        if (str_eq_c(res, "root")) {
            *pr = (struct pol_pr){.kind = PR_ACCOUNT, .v = arena_str(x->a, acct)};
            return 0;
        }
        if (str_has_prefix(res, "user/") && res.n > 5 && res.p[res.n - 1] != '/')
            *pr = (struct pol_pr){.kind = PR_ARN};
        else if (str_has_prefix(res, "role/") && res.n > 5 && res.p[res.n - 1] != '/')
            *pr = (struct pol_pr){.kind = PR_ARN, .is_role = true};
        else
            return -EINVAL;
    } else {
        const char *slash;
        if (str_has_prefix(res, "assumed-role/")) {
            struct str rs = str_make(res.p + 13, res.n - 13);
            slash = memchr(rs.p, '/', rs.n);
            if (slash == NULL || slash == rs.p || slash == rs.p + rs.n - 1)
                return -EINVAL;
        } else if (!str_has_prefix(res, "federated-user/") || res.n == 15) {
            return -EINVAL;
        }
        *pr = (struct pol_pr){.kind = PR_ARN};
    }
    if (!principal_exists(x, v))
        return -EINVAL;
    pr->v = arena_str(x->a, v);
    return 0;
}

static int
principal_compile(struct pctx *x, const json_t *j, struct pol_stmt *st)
{
    const char *k;
    const json_t *v;
    size_t n = 0, total = 0;
    struct pol_pr *prs;
    struct str bad = STR_NULL;

    if (json_is_string(j)) {
        if (!str_eq_c(jstr(j), "*"))
            goto bad;
        st->star = true;
        return 0;
    }
    if (!json_is_object(j) || json_object_size(j) == 0)
        goto bad;
    json_object_foreach((json_t *)j, k, v)
    {
        size_t m;
        if (list_n(v, &m) < 0)
            goto bad;
        total += m;
    }
    prs = arena_zalloc(x->a, (total + 1) * sizeof(*prs));
    json_object_foreach((json_t *)j, k, v)
    {
        size_t m = 0;
        (void)list_n(v, &m);
        for (size_t i = 0; i < m; i++) {
            struct str s = list_at(v, i);
            bool skip = false;
            bad = s;
            if (strcmp(k, "AWS") == 0) {
                if (aws_principal(x, s, st, &prs[n], &skip) < 0)
                    goto bad_named;
            } else if (strcmp(k, "CanonicalUser") == 0 && x->p->kind == POLICY_BUCKET) {
                bool hex = s.n == 64;
                for (size_t c = 0; hex && c < s.n; c++)
                    hex = hex_digit((unsigned char)s.p[c]) >= 0;
                if (!hex)
                    goto bad_named;
                prs[n] = (struct pol_pr){.kind = PR_CANONICAL, .v = arena_str(x->a, s)};
            } else if (strcmp(k, "Service") == 0 || strcmp(k, "Federated") == 0) {
                if (s.n == 0 || memchr(s.p, ' ', s.n) != NULL || str_eq_c(s, "*"))
                    goto bad_named;
                prs[n] = (struct pol_pr){.kind = k[0] == 'S' ? PR_SERVICE : PR_FEDERATED,
                                         .v = arena_str(x->a, s)};
            } else {
                bad = STR_NULL;
                goto bad;
            }
            if (!skip)
                n++;
        }
    }
    st->prs = prs;
    st->n_prs = n;
    return 0;
bad_named:
    if (!x->s3 && x->msg != NULL && x->msg_len > 0) {
        snprintf(x->msg, x->msg_len, "Invalid principal in policy: \"%s\":\"%.*s\"", k,
                 (int)(bad.n > 200 ? 200 : bad.n), bad.p);
        return -EINVAL;
    }
bad:
    return fail(x, MSG_PRINCIPAL, MSG_PRINCIPAL);
}

/* ---- Condition [§2.5] -------------------------------------------------- */

/* A condition value as text: JSON strings, numbers and booleans. */
static int
value_text(struct arena *a, const json_t *j, struct str *out)
{
    char tmp[64];

    if (json_is_string(j)) {
        *out = jstr(j);
        return 0;
    }
    if (json_is_true(j) || json_is_false(j)) {
        *out = str_c(json_is_true(j) ? "true" : "false");
        return 0;
    }
    if (json_is_integer(j))
        snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    else if (json_is_real(j))
        snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(j));
    else
        return -EINVAL;
    *out = str_c(arena_strndup(a, tmp, strlen(tmp)));
    return 0;
}

static int
value_compile(struct pctx *x, const struct pol_cond *k, struct str s, struct pol_val *v)
{
    bool vars = x->p->vars && (k->type == PT_STRING || k->type == PT_ARN || k->type == PT_BOOL);
    bool glob = k->cmp == PC_LIKE;

    if (tmpl_compile(x->a, s, glob, vars, 0, &v->t) < 0)
        return -EINVAL;
    switch (k->type) {
    case PT_STRING:
        return 0;
    case PT_ARN:
        if (v->t.n_parts > 0)
            return str_has_prefix(s, "arn:") || str_has_prefix(s, "${") ? 0 : -EINVAL;
        if (!str_has_prefix(s, "arn:") && !str_eq_c(s, "*"))
            return -EINVAL;
        pol_arn_split(v->t.s, &v->arn);
        return 0;
    case PT_BOOL:
    case PT_NULL:
        if (v->t.n_parts > 0)
            return 0;
        if (str_ieq_c(s, "true"))
            v->u.b = true;
        else if (str_ieq_c(s, "false"))
            v->u.b = false;
        else
            return -EINVAL;
        return 0;
    case PT_NUMERIC:
        return pol_num_parse(s, &v->u.num);
    case PT_DATE:
        return pol_date_parse(s, &v->u.ms);
    case PT_IP:
        return pol_ip_parse(s, &v->u.ip, true);
    case PT_BINARY: {
        char *bin = arena_alloc(x->a, s.n + 1);
        int n = b64_decode(s, bin, s.n);
        if (n < 0 || s.n == 0)
            return -EINVAL;
        v->u.bin = str_make(bin, (size_t)n);
        return 0;
    }
    }
    return -EINVAL;
}

static bool
valid_key(struct str key)
{
    const char *colon = memchr(key.p, ':', key.n);

    if (colon == NULL || colon == key.p || colon == key.p + key.n - 1)
        return false;
    for (size_t i = 0; i < key.n; i++)
        if ((unsigned char)key.p[i] <= ' ' || key.p[i] == '*' || key.p[i] == '?')
            return false;
    return true;
}

static int
condition_compile(struct pctx *x, const json_t *j, struct pol_stmt *st)
{
    const char *opname, *key;
    const json_t *blk, *vals;
    size_t n = 0, total = 0;
    struct pol_cond *conds;

    if (!json_is_object(j))
        return fail(x, NULL, MSG_JSON);
    json_object_foreach((json_t *)j, opname, blk)
    {
        if (!json_is_object(blk))
            return fail(x, NULL, MSG_JSON);
        total += json_object_size(blk);
    }
    conds = arena_zalloc(x->a, (total + 1) * sizeof(*conds));
    json_object_foreach((json_t *)j, opname, blk)
    {
        struct pol_cond proto = {0};
        struct str op = str_c(opname);
        if (pol_op_parse(op, &proto) < 0)
            return fail(x, NULL, "Invalid Condition type : %.*s", (int)(op.n > 200 ? 200 : op.n),
                        op.p);
        proto.op = arena_str(x->a, op);
        json_object_foreach((json_t *)blk, key, vals)
        {
            struct pol_cond *k = &conds[n++];
            size_t m = json_is_array(vals) ? json_array_size(vals) : 1;
            struct pol_val *pv;
            *k = proto;
            k->key = arena_str(x->a, str_c(key));
            if (!valid_key(k->key))
                return fail(x, MSG_IAM_VENDOR, "Policy has an invalid condition key");
            if (m == 0)
                return fail(x, NULL, "Invalid Condition value : %s : %s (empty)", opname, key);
            pv = arena_zalloc(x->a, m * sizeof(*pv));
            for (size_t i = 0; i < m; i++) {
                const json_t *e = json_is_array(vals) ? json_array_get(vals, i) : vals;
                struct str s;
                if (value_text(x->a, e, &s) < 0)
                    return fail(x, NULL, MSG_JSON);
                if (value_compile(x, k, s, &pv[i]) < 0)
                    return fail(x, NULL, "Invalid Condition value : %s : %s : %.*s", opname, key,
                                (int)(s.n > 200 ? 200 : s.n), s.p);
            }
            k->vals = pv;
            k->n_vals = m;
        }
    }
    st->conds = conds;
    st->n_conds = n;
    return 0;
}

/* ---- Statement, document ----------------------------------------------- */

static bool
sid_ok_iam(struct str s)
{
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

static int
actions_compile(struct pctx *x, const json_t *j, struct pol_stmt *st, unsigned **scopes)
{
    struct pol_act *acts;
    unsigned *sc;
    int rc;

    if (list_n(j, &st->n_acts) < 0)
        return fail(x, NULL, MSG_ACTION);
    acts = arena_zalloc(x->a, st->n_acts * sizeof(*acts));
    sc = arena_zalloc(x->a, st->n_acts * sizeof(*sc));
    for (size_t i = 0; i < st->n_acts; i++) {
        rc = action_compile(x, list_at(j, i), &acts[i], &sc[i]);
        if (rc < 0)
            return rc;
    }
    st->acts = acts;
    *scopes = sc;
    return 0;
}

static int
resources_compile(struct pctx *x, const json_t *j, struct pol_stmt *st, unsigned *kinds)
{
    struct pol_tmpl *res;
    struct pol_arn *arn;
    int rc;

    *kinds = 0;
    if (list_n(j, &st->n_res) < 0)
        return fail(x, NULL, MSG_RESOURCE);
    res = arena_zalloc(x->a, st->n_res * sizeof(*res));
    arn = arena_zalloc(x->a, st->n_res * sizeof(*arn));
    for (size_t i = 0; i < st->n_res; i++) {
        unsigned kind;
        rc = resource_compile(x, list_at(j, i), &res[i], &arn[i], &kind);
        if (rc < 0)
            return rc;
        *kinds |= kind;
    }
    st->res = res;
    st->res_arn = arn;
    return 0;
}

static int
statement_compile(struct pctx *x, const json_t *j, struct pol_stmt *st)
{
    const json_t *eff, *pr, *npr, *act, *nact, *res, *nres, *cond, *sid;
    const char *k;
    const json_t *v;
    unsigned *scopes = NULL, kinds = 0;
    int rc;

    if (!json_is_object(j))
        return fail(x, NULL, MSG_JSON);
    json_object_foreach((json_t *)j, k, v)
    {
        static const char *const known[] = {"Sid",          "Effect",      "Principal",
                                            "NotPrincipal", "Action",      "NotAction",
                                            "Resource",     "NotResource", "Condition"};
        bool ok = false;
        for (size_t i = 0; i < ARRAY_LEN(known) && !ok; i++)
            ok = strcmp(k, known[i]) == 0;
        if (!ok)
            return fail(x, NULL, "Unknown field %.200s", k);
    }
    sid = json_object_get(j, "Sid");
    if (sid != NULL) {
        if (!json_is_string(sid))
            return fail(x, NULL, MSG_JSON);
        if (!x->s3 && !sid_ok_iam(jstr(sid)))
            return fail(x,
                        "Statement IDs (SID) must be alpha-numeric. Check that your input "
                        "satisfies the regular expression [0-9A-Za-z]*",
                        MSG_JSON);
        st->sid = arena_str(x->a, jstr(sid));
    }
    eff = json_object_get(j, "Effect");
    if (eff == NULL)
        return fail(x, NULL, "Missing required field Effect");
    if (!json_is_string(eff) || (!str_eq_c(jstr(eff), "Allow") && !str_eq_c(jstr(eff), "Deny")))
        return fail(x, NULL, "Invalid effect: %.200s",
                    json_is_string(eff) ? json_string_value(eff) : "");
    st->deny = str_eq_c(jstr(eff), "Deny");

    pr = json_object_get(j, "Principal");
    npr = json_object_get(j, "NotPrincipal");
    if (x->p->kind == POLICY_IDENTITY && (pr != NULL || npr != NULL))
        return fail(x, MSG_IAM_PRINCIPAL, MSG_PRINCIPAL);
    if (x->p->kind != POLICY_IDENTITY) {
        if (pr == NULL && npr == NULL)
            return fail(x, NULL, "Missing required field Principal");
        if ((pr != NULL && npr != NULL) || (npr != NULL && x->p->kind == POLICY_TRUST))
            return fail(x, NULL, MSG_PRINCIPAL);
        st->has_principal = true;
        st->not_principal = npr != NULL;
        rc = principal_compile(x, pr != NULL ? pr : npr, st);
        if (rc < 0)
            return rc;
    }

    act = json_object_get(j, "Action");
    nact = json_object_get(j, "NotAction");
    if (act == NULL && nact == NULL)
        return fail(x, "Policy statement must contain actions.", "Missing required field Action");
    if (act != NULL && nact != NULL)
        return fail(x, NULL, MSG_ACTION);
    st->not_action = nact != NULL;
    rc = actions_compile(x, act != NULL ? act : nact, st, &scopes);
    if (rc < 0)
        return rc;

    res = json_object_get(j, "Resource");
    nres = json_object_get(j, "NotResource");
    if (x->p->kind == POLICY_TRUST) {
        if (res != NULL || nres != NULL)
            return fail(x, "Has prohibited field Resource.", MSG_RESOURCE);
    } else {
        if (res == NULL && nres == NULL)
            return fail(x, "Policy statement must contain resources.",
                        "Missing required field Resource");
        if (res != NULL && nres != NULL)
            return fail(x, NULL, MSG_RESOURCE);
        st->not_resource = nres != NULL;
        rc = resources_compile(x, res != NULL ? res : nres, st, &kinds);
        if (rc < 0)
            return rc;
    }
    /* AWS: each action must reach one of the statement's resources: object
     * actions an object ARN, bucket actions the bucket ARN [§2.7]. */
    if (x->s3 && !st->not_action && !st->not_resource)
        for (size_t i = 0; i < st->n_acts; i++)
            if ((scopes[i] & kinds) == 0)
                return fail(x, NULL, MSG_APPLY);

    cond = json_object_get(j, "Condition");
    if (cond != NULL) {
        rc = condition_compile(x, cond, st);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
document_compile(struct pctx *x, const json_t *root)
{
    const json_t *ver, *stj, *id;
    const char *k;
    const json_t *v;
    struct pol_stmt *st;
    size_t n;
    int rc;

    json_object_foreach((json_t *)root, k, v)
    {
        if (strcmp(k, "Version") != 0 && strcmp(k, "Id") != 0 && strcmp(k, "Statement") != 0)
            return fail(x, NULL, "Unknown field %.200s", k);
    }
    ver = json_object_get(root, "Version");
    if (ver != NULL) {
        if (!json_is_string(ver) ||
            (!str_eq_c(jstr(ver), "2012-10-17") && !str_eq_c(jstr(ver), "2008-10-17")))
            return fail(x, "The policy failed legacy parsing", MSG_VERSION);
        /* AWS: only 2012-10-17 knows policy variables [§2.4]. */
        x->p->vars = str_eq_c(jstr(ver), "2012-10-17");
    }
    id = json_object_get(root, "Id");
    if (id != NULL && !json_is_string(id))
        return fail(x, NULL, MSG_JSON);
    stj = json_object_get(root, "Statement");
    if (stj == NULL)
        return fail(x, NULL, "Missing required field Statement");
    if (json_is_object(stj)) {
        n = 1;
    } else if (json_is_array(stj)) {
        n = json_array_size(stj);
        if (n == 0)
            return fail(x, NULL, "Could not parse the policy: Statement is empty!");
    } else {
        return fail(x, NULL, MSG_JSON);
    }
    st = arena_zalloc(x->a, n * sizeof(*st));
    for (size_t i = 0; i < n; i++) {
        rc = statement_compile(x, json_is_object(stj) ? stj : json_array_get(stj, i), &st[i]);
        if (rc < 0)
            return rc;
        /* IAM: Sids are unique within a policy [§2.1]. */
        for (size_t k2 = 0; !x->s3 && st[i].sid.n > 0 && k2 < i; k2++)
            if (str_eq(st[k2].sid, st[i].sid))
                return fail(x, "Statement IDs (SID) in a single policy must be unique.", MSG_JSON);
    }
    x->p->st = st;
    x->p->n_st = n;
    return 0;
}

/* AWS: IAM documents hold TAB, LF, CR and U+0020-U+00FF only [§2.6]. */
static bool
iam_chars_ok(struct str doc)
{
    for (size_t i = 0; i < doc.n; i++) {
        unsigned char c = (unsigned char)doc.p[i];
        if (c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c < 0x80))
            continue;
        /* U+0080-U+00FF is C2 or C3 and one continuation byte in UTF-8. */
        if ((c == 0xc2 || c == 0xc3) && i + 1 < doc.n &&
            ((unsigned char)doc.p[i + 1] & 0xc0) == 0x80) {
            i++;
            continue;
        }
        return false;
    }
    return true;
}

int
policy_parse(struct str doc, const struct policy_opts *o, struct policy **out, char *msg,
             size_t msg_len)
{
    struct pctx x = {.o = o, .s3 = o->kind == POLICY_BUCKET, .msg = msg, .msg_len = msg_len};
    json_error_t jerr;
    json_t *root = NULL;
    size_t i = 0;
    int rc;

    *out = NULL;
    if (msg != NULL && msg_len > 0)
        msg[0] = '\0';
    while (i < doc.n &&
           (doc.p[i] == ' ' || doc.p[i] == '\t' || doc.p[i] == '\n' || doc.p[i] == '\r'))
        i++;
    /* Decision: JSON whitespace before the '{' is tolerated (files written
     * by editors and heredocs start with a newline); anything else is
     * S3's "first byte" fault [§2.7]. */
    if (i == doc.n || doc.p[i] != '{')
        return fail(&x, NULL, MSG_JSON_FIRST);
    if (!x.s3 && !iam_chars_ok(doc))
        return fail(&x, NULL, MSG_JSON);
    root = json_loadb(doc.p, doc.n, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        return fail(&x, NULL, MSG_JSON);
    }
    x.a = arena_new();
    x.p = arena_zalloc(x.a, sizeof(*x.p));
    x.p->arena = x.a;
    x.p->kind = o->kind;
    rc = document_compile(&x, root);
    json_decref(root);
    if (rc < 0) {
        arena_free(x.a);
        return rc;
    }
    *out = x.p;
    return 0;
}

void
policy_free(struct policy *p)
{
    if (p != NULL)
        arena_free(p->arena);
}

size_t
policy_size(struct str doc)
{
    size_t n = 0;
    bool in = false, esc = false;

    for (size_t i = 0; i < doc.n; i++) {
        char c = doc.p[i];
        if (in) {
            n++;
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in = false;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        n++;
        if (c == '"')
            in = true;
    }
    return n;
}
