/* s3_cors.c -- a CORS configuration: the PutBucketCors body checked as S3
 * checks it, the canonical document the bucket row keeps, and rule
 * matching for preflights and actual requests. Pure: the handlers and the
 * response headers live in s3_cors_http.c. */
#include "common.h"
#include "s3/s3_cors.h"

#include "s3/s3_int.h"
#include "xml/xml_read.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* In the order AllowedMethod values are written back. */
static const struct {
    const char *name;
    unsigned bit;
} methods[] = {
    {"GET", S3_CORS_GET},   {"PUT", S3_CORS_PUT},       {"HEAD", S3_CORS_HEAD},
    {"POST", S3_CORS_POST}, {"DELETE", S3_CORS_DELETE},
};

unsigned
s3_cors_method_bit(struct str method)
{
    for (size_t i = 0; i < ARRAY_LEN(methods); i++)
        if (str_eq_c(method, methods[i].name))
            return methods[i].bit;
    return 0;
}

static size_t
count_char(struct str s, char c)
{
    size_t n = 0;

    for (size_t i = 0; i < s.n; i++)
        n += s.p[i] == c;
    return n;
}

/* Characters, not bytes: S3 counts an ID's length in Unicode. */
static size_t
utf8_len(struct str s)
{
    size_t n = 0;

    for (size_t i = 0; i < s.n; i++)
        n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n;
}

/* ---- parsing ----------------------------------------------------------- */

/* The values of every child named name, trimmed, into an arena array. */
static bool
values(struct arena *a, const struct xml_node *rule, const char *name, struct str **out,
       size_t *n_out)
{
    size_t n = 0, i = 0;

    for (const struct xml_node *c = xml_child(rule, name); c != NULL; c = xml_next(c, name))
        n++;
    *out = n > 0 ? arena_alloc(a, n * sizeof(**out)) : NULL;
    *n_out = n;
    for (const struct xml_node *c = xml_child(rule, name); c != NULL; c = xml_next(c, name)) {
        if (c->n_children != 0)
            return false;
        (*out)[i++] = xml_trim(c->text);
    }
    return true;
}

/* The schema of one CORSRule: only its own elements, ID and MaxAgeSeconds
 * at most once, every element simple, MaxAgeSeconds an xsd:int, and at
 * least one AllowedMethod and one AllowedOrigin. */
static bool
rule_shape(struct arena *a, const struct xml_node *n, struct s3_cors_rule *r,
           struct str **method_names, size_t *n_methods)
{
    static const char *const names[] = {"ID",           "AllowedMethod", "AllowedOrigin",
                                        "AllowedHeader", "ExposeHeader",  "MaxAgeSeconds"};
    const struct xml_node *id = xml_child(n, "ID"), *age = xml_child(n, "MaxAgeSeconds");
    long long v;

    if (!s3_is_blank(n->text))
        return false;
    for (const struct xml_node *c = n->child; c != NULL; c = c->next) {
        size_t i = 0;
        while (i < ARRAY_LEN(names) && !str_eq_c(c->name, names[i]))
            i++;
        if (i == ARRAY_LEN(names))
            return false;
    }
    *r = (struct s3_cors_rule){.id = STR_NULL};
    if (id != NULL) {
        if (id->n_children != 0 || xml_next(id, "ID") != NULL)
            return false;
        r->id = xml_trim(id->text);
    }
    if (age != NULL) {
        if (age->n_children != 0 || xml_next(age, "MaxAgeSeconds") != NULL ||
            str_to_i64(xml_trim(age->text), &v) < 0 || v < INT32_MIN || v > INT32_MAX)
            return false;
        r->has_max_age = true;
        r->max_age = v;
    }
    if (!values(a, n, "AllowedMethod", method_names, n_methods) ||
        !values(a, n, "AllowedOrigin", &r->origins, &r->n_origins) ||
        !values(a, n, "AllowedHeader", &r->headers, &r->n_headers) ||
        !values(a, n, "ExposeHeader", &r->expose, &r->n_expose))
        return false;
    return *n_methods > 0 && r->n_origins > 0;
}

/* S3's checks beyond the schema, in the order it makes them. */
static enum s3_err
rule_rules(struct arena *a, struct s3_cors_rule *r, const struct str *m, size_t n_m,
           const char **msg)
{
    if (r->id.p != NULL && utf8_len(r->id) > S3_CORS_MAX_ID) {
        *msg = "ID length should not exceed allowed limit of 255";
        return S3E_INVALID_REQUEST;
    }
    for (size_t i = 0; i < n_m; i++) {
        unsigned bit = s3_cors_method_bit(m[i]);
        if (bit == 0) {
            /* AWS: names the first method it does not support. */
            *msg = arena_printf(a,
                                "Found unsupported HTTP method in CORS config. Unsupported "
                                "method is %.*s",
                                STR_FMT(m[i]));
            return S3E_INVALID_REQUEST;
        }
        r->methods |= bit;
    }
    for (size_t i = 0; i < r->n_origins; i++) {
        if (count_char(r->origins[i], '*') > 1) {
            *msg = arena_printf(a, "AllowedOrigin \"%.*s\" can not have more than one wildcard.",
                                STR_FMT(r->origins[i]));
            return S3E_INVALID_REQUEST;
        }
    }
    for (size_t i = 0; i < r->n_headers; i++) {
        if (count_char(r->headers[i], '*') > 1) {
            *msg = arena_printf(a, "AllowedHeader \"%.*s\" can not have more than one wildcard.",
                                STR_FMT(r->headers[i]));
            return S3E_INVALID_REQUEST;
        }
    }
    for (size_t i = 0; i < r->n_expose; i++) {
        /* Coffer decision: a line break (sent as &#10; or &#13;) could never
         * reach Access-Control-Expose-Headers, so it is refused rather than
         * stored and silently dropped from every answer. */
        if (count_char(r->expose[i], '\r') + count_char(r->expose[i], '\n') > 0) {
            *msg = arena_printf(a, "ExposeHeader \"%.*s\" contains invalid character.",
                                STR_FMT(r->expose[i]));
            return S3E_INVALID_REQUEST;
        }
        if (count_char(r->expose[i], '*') > 0) {
            *msg = arena_printf(a,
                                "ExposeHeader \"%.*s\" contains wildcard. We currently do not "
                                "support wildcard for ExposeHeader.",
                                STR_FMT(r->expose[i]));
            return S3E_INVALID_REQUEST;
        }
    }
    return S3E_OK;
}

/* Schema first, for the whole document, so a malformed rule anywhere is
 * answered MalformedXML before any rule-level refusal; then the count and
 * each rule in order. */
enum s3_err
s3_cors_parse(struct arena *a, struct str body, struct s3_cors *out, const char **msg)
{
    struct xml_node *root;
    struct str **names;
    size_t *n_names, i = 0;
    enum s3_err err;

    *msg = NULL;
    if (xml_parse(a, body, &root) < 0 || !str_eq_c(root->name, "CORSConfiguration") ||
        !s3_is_blank(root->text))
        return S3E_MALFORMED_XML;
    for (const struct xml_node *c = root->child; c != NULL; c = c->next)
        if (!str_eq_c(c->name, "CORSRule"))
            return S3E_MALFORMED_XML;
    if (root->n_children == 0)
        return S3E_MALFORMED_XML; /* AWS: CORSRule is required */
    out->n_rules = root->n_children;
    out->rules = arena_alloc(a, out->n_rules * sizeof(*out->rules));
    names = arena_alloc(a, out->n_rules * sizeof(*names));
    n_names = arena_alloc(a, out->n_rules * sizeof(*n_names));
    for (const struct xml_node *c = root->child; c != NULL; c = c->next, i++)
        if (!rule_shape(a, c, &out->rules[i], &names[i], &n_names[i]))
            return S3E_MALFORMED_XML;
    if (out->n_rules > S3_CORS_MAX_RULES) {
        *msg = "The number of CORS rules should not exceed allowed limit of 100 rules.";
        return S3E_INVALID_REQUEST;
    }
    for (i = 0; i < out->n_rules; i++) {
        err = rule_rules(a, &out->rules[i], names[i], n_names[i], msg);
        if (err != S3E_OK)
            return err;
    }
    return S3E_OK;
}

/* ---- the canonical document -------------------------------------------- */

static int
write_list(struct buf *b, const char *tag, const struct str *v, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n; i++)
        rc |= xml_elem(b, tag, v[i]);
    return rc;
}

/* Elements in the order S3's GetBucketCors answers them; methods in a fixed
 * order, each once (a duplicate method means nothing more). */
int
s3_cors_write(const struct s3_cors *c, struct buf *b)
{
    int rc = xml_decl(b);

    rc |= xml_open_ns(b, "CORSConfiguration", S3_XMLNS);
    for (size_t i = 0; i < c->n_rules; i++) {
        const struct s3_cors_rule *r = &c->rules[i];
        rc |= xml_open(b, "CORSRule");
        if (r->id.p != NULL)
            rc |= xml_elem(b, "ID", r->id);
        rc |= write_list(b, "AllowedHeader", r->headers, r->n_headers);
        for (size_t m = 0; m < ARRAY_LEN(methods); m++)
            if (r->methods & methods[m].bit)
                rc |= xml_elem_c(b, "AllowedMethod", methods[m].name);
        rc |= write_list(b, "AllowedOrigin", r->origins, r->n_origins);
        rc |= write_list(b, "ExposeHeader", r->expose, r->n_expose);
        if (r->has_max_age)
            rc |= xml_elem_i64(b, "MaxAgeSeconds", r->max_age);
        rc |= xml_close(b, "CORSRule");
    }
    rc |= xml_close(b, "CORSConfiguration");
    return rc != 0 ? -E2BIG : 0;
}

/* ---- matching ---------------------------------------------------------- */

static bool
eq_n(const char *a, const char *b, size_t n, bool nocase)
{
    return nocase ? strncasecmp(a, b, n) == 0 : memcmp(a, b, n) == 0;
}

bool
s3_cors_wildcard(struct str pattern, struct str s, bool nocase)
{
    const char *star = pattern.n > 0 ? memchr(pattern.p, '*', pattern.n) : NULL;
    size_t pre, post;

    if (star == NULL)
        return s.n == pattern.n && (s.n == 0 || eq_n(pattern.p, s.p, s.n, nocase));
    pre = (size_t)(star - pattern.p);
    post = pattern.n - pre - 1;
    return s.n >= pre + post && eq_n(pattern.p, s.p, pre, nocase) &&
           eq_n(star + 1, s.p + s.n - post, post, nocase);
}

static bool
any_matches(const struct str *pats, size_t n, struct str s, bool nocase)
{
    for (size_t i = 0; i < n; i++)
        if (s3_cors_wildcard(pats[i], s, nocase))
            return true;
    return false;
}

/* Every header name asked for must match one of the rule's AllowedHeader
 * patterns; header names compare without regard to case. */
static bool
headers_allowed(const struct s3_cors_rule *r, struct str req_headers)
{
    struct str rest = req_headers, item;

    while (rest.p != NULL && rest.n > 0) {
        bool more = str_split(rest, ',', &item, &rest);
        item = str_trim(item);
        if (item.n > 0 && !any_matches(r->headers, r->n_headers, item, true))
            return false;
        if (!more)
            break;
    }
    return true;
}

const struct s3_cors_rule *
s3_cors_match(const struct s3_cors *c, struct str origin, struct str method,
              struct str req_headers)
{
    unsigned bit = s3_cors_method_bit(method);

    if (bit == 0 || origin.p == NULL)
        return NULL;
    for (size_t i = 0; i < c->n_rules; i++) {
        const struct s3_cors_rule *r = &c->rules[i];
        if ((r->methods & bit) && any_matches(r->origins, r->n_origins, origin, false) &&
            headers_allowed(r, req_headers))
            return r;
    }
    return NULL;
}

bool
s3_cors_any_origin(const struct s3_cors_rule *r, struct str origin)
{
    for (size_t i = 0; i < r->n_origins; i++)
        if (s3_cors_wildcard(r->origins[i], origin, false))
            return str_eq_c(r->origins[i], "*");
    return false;
}
