/* fuzz_acl.c -- the ACL model of s3/s3_acl.c on arbitrary bytes: the input is read as an
 * AccessControlPolicy document and, split at its first newline, as an x-amz-acl value and
 * the x-amz-grant-read header. Whatever parses is resolved for an owner, checked against
 * the 100-grant cap, evaluated for every permission and caller kind, stored and read back
 * with md_acl_encode()/md_acl_decode(), rendered, and the rendered document parsed again:
 * it must give back the same grants. ASan and UBSan do the rest.
 *
 * Input: an ACL document, or "canned\ngrant-header-value". */
#include "common.h"
#include "s3/s3_acl.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"

#include <stdint.h>
#include <string.h>

#define OWNER "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define BOWNER "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void
trap_unless(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static void
exercise(struct arena *a, const struct s3_acl_req *r)
{
    struct md_grant *g, *back;
    struct s3_acl_req again;
    struct str text;
    struct buf x;
    const char *msg;
    size_t n, nb;

    trap_unless(r->n <= S3_ACL_MAX_GRANTS);
    s3_acl_resolve(a, r, true, STR_LIT(OWNER), STR_LIT(BOWNER), &g, &n);
    trap_unless(n >= 1 && n <= r->n + 3);
    trap_unless(g[0].kind == MD_GRANTEE_ID && g[0].perm == MD_PERM_FULL_CONTROL);
    for (int p = MD_PERM_READ; p <= MD_PERM_FULL_CONTROL; p++) {
        trap_unless(s3_acl_allows(g, n, (enum md_perm)p, STR_LIT(OWNER), true, false));
        bool anon = s3_acl_allows(g, n, (enum md_perm)p, STR_NULL, false, false);
        trap_unless(!anon || s3_acl_is_public(g, n));
        trap_unless(!s3_acl_allows(g, n, (enum md_perm)p, STR_NULL, false, true));
    }
    trap_unless(md_acl_encode(g, n, a, &text) == 0);
    trap_unless(md_acl_decode(text, a, &back, &nb) == 0 && nb == n);
    buf_init(&x, 1024 * 1024);
    trap_unless(s3_acl_render(&x, STR_LIT(OWNER), STR_LIT("o"), back, NULL, nb, false) == 0);
    trap_unless(s3_acl_parse_xml(a, buf_str(&x), &again, &msg) == S3E_OK);
    trap_unless(again.n == n);
    for (size_t i = 0; i < n; i++)
        trap_unless(again.g[i].kind == g[i].kind && again.g[i].perm == g[i].perm &&
                    str_eq(again.g[i].grantee, g[i].grantee));
    buf_free(&x);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct str in = str_make((const char *)data, size), canned, grant;
    struct s3_acl_hdrs h = {0};
    struct s3_acl_req r;
    const char *msg = NULL, *arg = NULL;
    struct arena *a;
    enum s3_err err;

    if (size > 65536)
        return 0;
    a = arena_new();
    err = s3_acl_parse_xml(a, in, &r, &msg);
    if (err == S3E_OK)
        exercise(a, &r);
    else
        trap_unless(err == S3E_MALFORMED_XML || err == S3E_INVALID_ARGUMENT ||
                    err == S3E_METHOD_NOT_ALLOWED);
    if (!str_split(in, '\n', &canned, &grant))
        grant = STR_NULL;
    h.canned = canned.n > 0 ? canned : STR_NULL;
    h.grant[MD_PERM_READ] = grant;
    err = s3_acl_parse_headers(a, &h, &r, &msg, &arg);
    if (err == S3E_OK && r.present)
        exercise(a, &r);
    else if (err != S3E_OK)
        trap_unless(msg != NULL);
    arena_free(a);
    return 0;
}
