/* test_cors.c -- s3_cors_parse() on known configurations (valid ones and
 * one vector per refusal, with the code and message S3 answers), the
 * canonical document it writes back, and rule matching: origins with and
 * without a wildcard, methods, request headers without regard to case,
 * and rule order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "s3/s3_cors.h"
#include "util/arena.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define CORS(rules) "<CORSConfiguration " NS ">" rules "</CORSConfiguration>"
#define RULE(body) "<CORSRule>" body "</CORSRule>"
#define MIN "<AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>"

struct vec {
    const char *name;
    const char *body;
    enum s3_err err;
    const char *msg; /* NULL: none */
};

static void
run(const struct vec *v, size_t n)
{
    struct arena *a = arena_new();
    struct s3_cors c;
    const char *msg;

    for (size_t i = 0; i < n; i++) {
        enum s3_err err = s3_cors_parse(a, str_c(v[i].body), &c, &msg);
        if (err != v[i].err || (v[i].msg == NULL) != (msg == NULL) ||
            (v[i].msg != NULL && strcmp(v[i].msg, msg) != 0))
            fail_msg("%s: got %s \"%s\", want %s \"%s\"", v[i].name,
                     err ? s3_err_code(err) : "OK", msg ? msg : "-",
                     v[i].err ? s3_err_code(v[i].err) : "OK", v[i].msg ? v[i].msg : "-");
    }
    arena_free(a);
}

static void
test_valid(void **state)
{
    static const struct vec v[] = {
        {"minimal", CORS(RULE(MIN)), S3E_OK, NULL},
        {"no namespace", "<CORSConfiguration>" RULE(MIN) "</CORSConfiguration>", S3E_OK, NULL},
        {"everything",
         CORS(RULE("<ID>r1</ID><AllowedHeader>*</AllowedHeader><AllowedMethod>PUT</AllowedMethod>"
                   "<AllowedMethod>POST</AllowedMethod><AllowedMethod>DELETE</AllowedMethod>"
                   "<AllowedMethod>HEAD</AllowedMethod><AllowedOrigin>https://*.example.com"
                   "</AllowedOrigin><ExposeHeader>ETag</ExposeHeader>"
                   "<MaxAgeSeconds>3000</MaxAgeSeconds>")),
         S3E_OK, NULL},
        {"one wildcard each", CORS(RULE(MIN "<AllowedOrigin>http://*</AllowedOrigin>"
                                            "<AllowedHeader>x-amz-*</AllowedHeader>")),
         S3E_OK, NULL},
        {"white space", CORS("\n  " RULE("\n <AllowedMethod> GET </AllowedMethod>\n"
                                         " <AllowedOrigin>\thttp://a\n</AllowedOrigin>") "\n"),
         S3E_OK, NULL},
    };

    (void)state;
    run(v, ARRAY_LEN(v));
}

static void
test_malformed(void **state)
{
    static const struct vec v[] = {
        {"not xml", "<CORSConfiguration>", S3E_MALFORMED_XML, NULL},
        {"wrong root", "<CORSRules>" RULE(MIN) "</CORSRules>", S3E_MALFORMED_XML, NULL},
        {"no rule", CORS(""), S3E_MALFORMED_XML, NULL},
        {"stray element", CORS(RULE(MIN) "<Foo/>"), S3E_MALFORMED_XML, NULL},
        {"unknown rule element", CORS(RULE(MIN "<AllowedMethods>GET</AllowedMethods>")),
         S3E_MALFORMED_XML, NULL},
        {"no method", CORS(RULE("<AllowedOrigin>*</AllowedOrigin>")), S3E_MALFORMED_XML, NULL},
        {"no origin", CORS(RULE("<AllowedMethod>GET</AllowedMethod>")), S3E_MALFORMED_XML, NULL},
        {"two IDs", CORS(RULE("<ID>a</ID><ID>b</ID>" MIN)), S3E_MALFORMED_XML, NULL},
        {"max age not a number", CORS(RULE(MIN "<MaxAgeSeconds>ten</MaxAgeSeconds>")),
         S3E_MALFORMED_XML, NULL},
        {"max age past int", CORS(RULE(MIN "<MaxAgeSeconds>2147483648</MaxAgeSeconds>")),
         S3E_MALFORMED_XML, NULL},
        {"nested value", CORS(RULE(MIN "<AllowedHeader><X/></AllowedHeader>")),
         S3E_MALFORMED_XML, NULL},
        {"text in rule", CORS(RULE("text" MIN)), S3E_MALFORMED_XML, NULL},
        /* Schema before rules: the malformed second rule answers first. */
        {"schema first",
         CORS(RULE("<AllowedMethod>PATCH</AllowedMethod><AllowedOrigin>*</AllowedOrigin>")
                  RULE("<AllowedOrigin>*</AllowedOrigin>")),
         S3E_MALFORMED_XML, NULL},
    };

    (void)state;
    run(v, ARRAY_LEN(v));
}

static void
test_refused(void **state)
{
    static const struct vec v[] = {
        {"method", CORS(RULE("<AllowedMethod>PATCH</AllowedMethod><AllowedOrigin>*</AllowedOrigin>")),
         S3E_INVALID_REQUEST,
         "Found unsupported HTTP method in CORS config. Unsupported method is PATCH"},
        {"method case", CORS(RULE("<AllowedMethod>get</AllowedMethod><AllowedOrigin>*</AllowedOrigin>")),
         S3E_INVALID_REQUEST,
         "Found unsupported HTTP method in CORS config. Unsupported method is get"},
        {"origin wildcards", CORS(RULE(MIN "<AllowedOrigin>*.example.*</AllowedOrigin>")),
         S3E_INVALID_REQUEST, "AllowedOrigin \"*.example.*\" can not have more than one wildcard."},
        {"header wildcards", CORS(RULE(MIN "<AllowedHeader>**</AllowedHeader>")),
         S3E_INVALID_REQUEST, "AllowedHeader \"**\" can not have more than one wildcard."},
        {"expose line break", CORS(RULE(MIN "<ExposeHeader>ETag&#13;&#10;X: y</ExposeHeader>")),
         S3E_INVALID_REQUEST, "ExposeHeader \"ETag\r\nX: y\" contains invalid character."},
        {"expose wildcard", CORS(RULE(MIN "<ExposeHeader>x-amz-*</ExposeHeader>")),
         S3E_INVALID_REQUEST,
         "ExposeHeader \"x-amz-*\" contains wildcard. We currently do not support wildcard for "
         "ExposeHeader."},
    };

    (void)state;
    run(v, ARRAY_LEN(v));
}

static char *
repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t lh = strlen(head), lu = strlen(unit), lt = strlen(tail);
    char *s = malloc(lh + lu * n + lt + 1), *p;

    assert_non_null(s);
    memcpy(s, head, lh);
    p = s + lh;
    for (size_t i = 0; i < n; i++, p += lu)
        memcpy(p, unit, lu);
    memcpy(p, tail, lt + 1);
    return s;
}

static void
test_limits(void **state)
{
    struct arena *a = arena_new();
    struct s3_cors c;
    const char *msg;
    char *doc, id[300];

    (void)state;
    doc = repeat("<CORSConfiguration>", RULE(MIN), 100, "</CORSConfiguration>");
    assert_int_equal(s3_cors_parse(a, str_c(doc), &c, &msg), S3E_OK);
    assert_int_equal(c.n_rules, 100);
    free(doc);
    doc = repeat("<CORSConfiguration>", RULE(MIN), 101, "</CORSConfiguration>");
    assert_int_equal(s3_cors_parse(a, str_c(doc), &c, &msg), S3E_INVALID_REQUEST);
    assert_string_equal(msg, "The number of CORS rules should not exceed allowed limit of 100 rules.");
    free(doc);
    /* 255 characters of ID are fine (two bytes each here), 256 are not. */
    doc = repeat("<CORSConfiguration><CORSRule><ID>", "\xc3\xa9", 255, "</ID>" MIN
                 "</CORSRule></CORSConfiguration>");
    assert_int_equal(s3_cors_parse(a, str_c(doc), &c, &msg), S3E_OK);
    free(doc);
    memset(id, 'x', 256);
    id[256] = '\0';
    doc = repeat("<CORSConfiguration><CORSRule><ID>", id, 1, "</ID>" MIN
                 "</CORSRule></CORSConfiguration>");
    assert_int_equal(s3_cors_parse(a, str_c(doc), &c, &msg), S3E_INVALID_REQUEST);
    assert_string_equal(msg, "ID length should not exceed allowed limit of 255");
    free(doc);
    arena_free(a);
}

/* The canonical document: S3's element order, methods once each in a
 * fixed order, values trimmed and escaped; it parses back to itself. */
static void
test_canonical(void **state)
{
    static const char in[] =
        CORS(RULE("<MaxAgeSeconds> 60 </MaxAgeSeconds><AllowedOrigin>http://a&amp;b</AllowedOrigin>"
                  "<AllowedMethod>PUT</AllowedMethod><ExposeHeader>ETag</ExposeHeader>"
                  "<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>"
                  "<AllowedHeader>x-amz-*</AllowedHeader><ID> r1 </ID>")
                 RULE(MIN));
    static const char want[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<CORSConfiguration " NS "><CORSRule><ID>r1</ID><AllowedHeader>x-amz-*</AllowedHeader>"
        "<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>"
        "<AllowedOrigin>http://a&amp;b</AllowedOrigin><ExposeHeader>ETag</ExposeHeader>"
        "<MaxAgeSeconds>60</MaxAgeSeconds></CORSRule><CORSRule><AllowedMethod>GET</AllowedMethod>"
        "<AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>";
    struct arena *a = arena_new();
    struct s3_cors c;
    const char *msg;
    struct buf b, b2;

    (void)state;
    assert_int_equal(s3_cors_parse(a, str_c(in), &c, &msg), S3E_OK);
    buf_init(&b, 1 << 16);
    assert_int_equal(s3_cors_write(&c, &b), 0);
    assert_int_equal(b.n, strlen(want));
    assert_memory_equal(b.p, want, b.n);
    assert_int_equal(s3_cors_parse(a, str_make(b.p, b.n), &c, &msg), S3E_OK);
    buf_init(&b2, 1 << 16);
    assert_int_equal(s3_cors_write(&c, &b2), 0);
    assert_int_equal(b2.n, b.n);
    assert_memory_equal(b2.p, b.p, b.n);
    buf_free(&b);
    buf_free(&b2);
    arena_free(a);
}

static void
test_wildcard(void **state)
{
    static const struct {
        const char *pattern, *s;
        bool nocase, want;
    } v[] = {
        {"*", "", false, true},
        {"*", "http://a.example", false, true},
        {"http://a.example", "http://a.example", false, true},
        {"http://a.example", "http://a.example:8080", false, false},
        {"http://a.example", "HTTP://A.EXAMPLE", false, false},
        {"http://*.example.com", "http://www.example.com", false, true},
        {"http://*.example.com", "http://.example.com", false, true},
        {"http://*.example.com", "http://example.com", false, false},
        {"http://*.example.com", "https://www.example.com", false, false},
        {"http://127.0.0.1:*", "http://127.0.0.1:8123", false, true},
        {"x-amz-*", "X-Amz-Date", true, true},
        {"x-amz-*", "X-Amz-Date", false, false},
        {"Content-Type", "content-type", true, true},
        {"*-id", "x-request-id", true, true},
        {"ab*ba", "aba", false, false}, /* prefix and suffix may not overlap */
        {"", "", false, true},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++)
        if (s3_cors_wildcard(str_c(v[i].pattern), str_c(v[i].s), v[i].nocase) != v[i].want)
            fail_msg("%s ~ %s: want %d", v[i].pattern, v[i].s, v[i].want);
}

static void
test_match(void **state)
{
    static const char doc[] = CORS(
        RULE("<ID>exact</ID><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>"
             "<AllowedOrigin>http://127.0.0.1:8000</AllowedOrigin>"
             "<AllowedHeader>Content-Type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader>")
            RULE("<ID>sub</ID><AllowedMethod>GET</AllowedMethod>"
                 "<AllowedOrigin>https://*.example.com</AllowedOrigin>")
                RULE("<ID>any</ID><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD"
                     "</AllowedMethod><AllowedOrigin>*</AllowedOrigin>"));
    static const struct {
        const char *origin, *method, *headers;
        const char *want; /* rule ID, or NULL for no match */
        bool any;
    } v[] = {
        {"http://127.0.0.1:8000", "PUT", NULL, "exact", false},
        {"http://127.0.0.1:8000", "PUT", "content-type, X-Amz-Date", "exact", false},
        {"http://127.0.0.1:8000", "PUT", " CONTENT-TYPE ,, x-amz-meta-a ", "exact", false},
        {"http://127.0.0.1:8000", "PUT", "content-type, authorization", NULL, false},
        {"http://127.0.0.1:8000", "DELETE", NULL, NULL, false},
        {"http://localhost:8000", "PUT", NULL, NULL, false},
        /* The first rule allowing the request wins, in document order. */
        {"http://127.0.0.1:8000", "GET", NULL, "exact", false},
        {"http://127.0.0.1:8000", "HEAD", NULL, "any", true},
        {"https://www.example.com", "GET", NULL, "sub", false},
        {"https://www.example.com", "GET", "x-custom", NULL, false},
        {"https://example.com", "GET", NULL, "any", true},
        {"http://evil.test", "GET", "", "any", true},
        {"http://evil.test", "get", NULL, NULL, false},
        {"http://evil.test", "PATCH", NULL, NULL, false},
    };
    struct arena *a = arena_new();
    struct s3_cors c;
    const char *msg;

    (void)state;
    assert_int_equal(s3_cors_parse(a, str_c(doc), &c, &msg), S3E_OK);
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        struct str h = v[i].headers ? str_c(v[i].headers) : STR_NULL;
        const struct s3_cors_rule *r =
            s3_cors_match(&c, str_c(v[i].origin), str_c(v[i].method), h);
        if ((r == NULL) != (v[i].want == NULL) || (r != NULL && !str_eq_c(r->id, v[i].want)))
            fail_msg("%s %s [%s]: got %.*s, want %s", v[i].origin, v[i].method,
                     v[i].headers ? v[i].headers : "-", r ? (int)r->id.n : 1,
                     r ? r->id.p : "-", v[i].want ? v[i].want : "-");
        if (r != NULL && s3_cors_any_origin(r, str_c(v[i].origin)) != v[i].any)
            fail_msg("%s %s: any_origin", v[i].origin, v[i].method);
    }
    assert_null(s3_cors_match(&c, STR_NULL, str_c("GET"), STR_NULL));
    arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),    cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_refused),  cmocka_unit_test(test_limits),
        cmocka_unit_test(test_canonical), cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_match),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
