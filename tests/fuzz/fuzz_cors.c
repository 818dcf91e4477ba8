/* fuzz_cors.c -- the CORS configuration parser and validator (s3_cors.c) on
 * arbitrary bodies, then what the server does with an accepted one: the
 * canonical document it stores must parse again to the same document (a
 * stored configuration that no longer parses would silently drop every
 * CORS header), and rule matching is run against a fixed set of browser
 * requests, each answer checked against the rule's own lists. A refusal
 * must be MalformedXML without a message or InvalidRequest with one.
 *
 * Input: a PutBucketCors body (at most S3_MAX_XML_BODY bytes). */
#include "bounds.h"
#include "common.h"
#include "s3/s3_cors.h"
#include "util/arena.h"
#include "util/buf.h"

#include <stdint.h>
#include <string.h>

static void
trap_unless(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static const struct {
    const char *origin, *method, *headers;
} reqs[] = {
    {"http://127.0.0.1:8000", "PUT", "content-type, x-amz-date"},
    {"http://127.0.0.1:8000", "GET", NULL},
    {"https://www.example.com", "DELETE", ""},
    {"null", "POST", "X-Amz-Meta-A,,authorization"},
    {"", "HEAD", " , "},
    {"*", "PATCH", NULL},
};

static void
check_matches(const struct s3_cors *c)
{
    for (size_t i = 0; i < ARRAY_LEN(reqs); i++) {
        struct str origin = str_c(reqs[i].origin), method = str_c(reqs[i].method);
        struct str hdrs = reqs[i].headers ? str_c(reqs[i].headers) : STR_NULL;
        const struct s3_cors_rule *r = s3_cors_match(c, origin, method, hdrs);
        const struct s3_cors_rule *actual = s3_cors_match(c, origin, method, STR_NULL);
        bool origin_ok = false;

        /* Asking for no headers can only widen the choice. */
        trap_unless(r == NULL || actual != NULL);
        if (r == NULL)
            continue;
        trap_unless(r >= c->rules && r < c->rules + c->n_rules);
        trap_unless((r->methods & s3_cors_method_bit(method)) != 0);
        for (size_t o = 0; o < r->n_origins; o++)
            origin_ok |= s3_cors_wildcard(r->origins[o], origin, false);
        trap_unless(origin_ok);
        (void)s3_cors_any_origin(r, origin);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct str body = str_make((const char *)data, size);
    struct arena *a;
    struct s3_cors c, again;
    const char *msg;
    struct buf b, b2;
    enum s3_err err;

    if (size > S3_MAX_XML_BODY)
        return 0;
    a = arena_new();
    err = s3_cors_parse(a, body, &c, &msg);
    if (err != S3E_OK) {
        trap_unless((err == S3E_MALFORMED_XML && msg == NULL) ||
                    (err == S3E_INVALID_REQUEST && msg != NULL && msg[0] != '\0'));
        arena_free(a);
        return 0;
    }
    trap_unless(c.n_rules >= 1 && c.n_rules <= S3_CORS_MAX_RULES);
    for (size_t i = 0; i < c.n_rules; i++)
        trap_unless(c.rules[i].methods != 0 && c.rules[i].n_origins > 0);
    check_matches(&c);

    buf_init(&b, 6 * size + 256); /* the handler's bound */
    trap_unless(s3_cors_write(&c, &b) == 0);
    trap_unless(s3_cors_parse(a, str_make(b.p, b.n), &again, &msg) == S3E_OK);
    trap_unless(again.n_rules == c.n_rules);
    buf_init(&b2, 6 * size + 256);
    trap_unless(s3_cors_write(&again, &b2) == 0);
    trap_unless(b2.n == b.n && memcmp(b2.p, b.p, b.n) == 0);
    check_matches(&again);
    buf_free(&b);
    buf_free(&b2);
    arena_free(a);
    return 0;
}
