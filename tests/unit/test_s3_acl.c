/* test_s3_acl.c -- the ACL model of s3/s3_acl.c on known answers: canned ACLs to grants
 * [spec-authorization §6.3], x-amz-grant-* headers and the AccessControlPolicy document
 * [§6.2], what a grant allows [§6.4, §7], and the document rendered back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "s3/s3_acl.h"
#include "util/arena.h"
#include "util/buf.h"

#include <string.h>

#define OWNER "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define BOWNER "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define OTHER "1111111111111111111111111111111111111111111111111111111111111111"

struct want {
    enum md_grantee kind;
    enum md_perm perm;
    const char *who;
};

static void
check_grants(const struct md_grant *g, size_t n, const struct want *w, size_t nw)
{
    assert_int_equal(n, nw);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(g[i].kind, w[i].kind);
        assert_int_equal(g[i].perm, w[i].perm);
        assert_true(str_eq_c(g[i].grantee, w[i].who));
    }
}

static void
canned(struct arena *a, const char *name, bool object, const struct want *w, size_t nw)
{
    struct s3_acl_hdrs h = {.canned = str_c(name)};
    struct s3_acl_req r;
    struct md_grant *g;
    const char *msg, *arg;
    size_t n;

    assert_int_equal(s3_acl_parse_headers(a, &h, &r, &msg, &arg), S3E_OK);
    assert_true(r.present);
    s3_acl_resolve(a, &r, object, STR_LIT(OWNER), STR_LIT(BOWNER), &g, &n);
    check_grants(g, n, w, nw);
}

static void
test_canned(void **state)
{
    struct arena *a = arena_new();
    const struct want fc = {MD_GRANTEE_ID, MD_PERM_FULL_CONTROL, OWNER};
    const struct want pr[] = {fc, {MD_GRANTEE_URI, MD_PERM_READ, S3_ACL_ALL_USERS}};
    const struct want prw[] = {fc, {MD_GRANTEE_URI, MD_PERM_READ, S3_ACL_ALL_USERS},
                               {MD_GRANTEE_URI, MD_PERM_WRITE, S3_ACL_ALL_USERS}};
    const struct want ar[] = {fc, {MD_GRANTEE_URI, MD_PERM_READ, S3_ACL_AUTH_USERS}};
    const struct want bor[] = {fc, {MD_GRANTEE_ID, MD_PERM_READ, BOWNER}};
    const struct want bofc[] = {fc, {MD_GRANTEE_ID, MD_PERM_FULL_CONTROL, BOWNER}};
    const struct want ldw[] = {fc, {MD_GRANTEE_URI, MD_PERM_WRITE, S3_ACL_LOG_DELIVERY},
                               {MD_GRANTEE_URI, MD_PERM_READ_ACP, S3_ACL_LOG_DELIVERY}};

    (void)state;
    canned(a, "private", true, &fc, 1);
    canned(a, "aws-exec-read", true, &fc, 1);
    canned(a, "public-read", true, pr, ARRAY_LEN(pr));
    canned(a, "public-read-write", false, prw, ARRAY_LEN(prw));
    canned(a, "authenticated-read", true, ar, ARRAY_LEN(ar));
    canned(a, "bucket-owner-read", true, bor, ARRAY_LEN(bor));
    canned(a, "bucket-owner-full-control", true, bofc, ARRAY_LEN(bofc));
    /* on a bucket the two bucket-owner ACLs mean private */
    canned(a, "bucket-owner-read", false, &fc, 1);
    canned(a, "bucket-owner-full-control", false, &fc, 1);
    canned(a, "log-delivery-write", false, ldw, ARRAY_LEN(ldw));
    arena_free(a);
}

static void
test_headers(void **state)
{
    struct arena *a = arena_new();
    struct s3_acl_hdrs h = {0};
    struct s3_acl_req r;
    struct md_grant *g;
    const char *msg, *arg;
    size_t n;
    char many[100 * 80];

    (void)state;
    assert_int_equal(s3_acl_parse_headers(a, &h, &r, &msg, &arg), S3E_OK);
    assert_false(r.present);

    /* quoted and bare values, upper-case hex lower-cased, duplicates dropped */
    h.grant[MD_PERM_READ] = STR_LIT("id=\"" OTHER "\", uri=" S3_ACL_ALL_USERS);
    h.grant[MD_PERM_WRITE_ACP] = STR_LIT("ID=FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA"
                                         "9876543210");
    h.grant[MD_PERM_FULL_CONTROL] = STR_LIT("id=" OWNER);
    assert_int_equal(s3_acl_parse_headers(a, &h, &r, &msg, &arg), S3E_OK);
    assert_int_equal(r.n, 4);
    s3_acl_resolve(a, &r, true, STR_LIT(OWNER), STR_LIT(BOWNER), &g, &n);
    {
        const struct want w[] = {{MD_GRANTEE_ID, MD_PERM_FULL_CONTROL, OWNER},
                                 {MD_GRANTEE_ID, MD_PERM_READ, OTHER},
                                 {MD_GRANTEE_URI, MD_PERM_READ, S3_ACL_ALL_USERS},
                                 {MD_GRANTEE_ID, MD_PERM_WRITE_ACP, BOWNER}};
        check_grants(g, n, w, ARRAY_LEN(w));
    }
    assert_true(s3_acl_is_public(g, n));
    assert_false(s3_acl_owner_only(g, n, STR_LIT(OWNER)));
    assert_true(s3_acl_owner_only(g, 1, STR_LIT(OWNER)));

    /* the refusals */
    h = (struct s3_acl_hdrs){.canned = STR_LIT("private"), .grant[0] = STR_LIT("id=" OWNER)};
    assert_int_equal(s3_acl_parse_headers(a, &h, &r, &msg, &arg), S3E_INVALID_REQUEST);
    h = (struct s3_acl_hdrs){.canned = STR_LIT("public")};
    assert_int_equal(s3_acl_parse_headers(a, &h, &r, &msg, &arg), S3E_INVALID_ARGUMENT);
    assert_string_equal(arg, "x-amz-acl");
    static const char *const bad[] = {
        "id=abc", "uri=http://acs.amazonaws.com/groups/global/Everyone", "user=" OWNER, "",
        "id=" OWNER ",", "noequals",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        h = (struct s3_acl_hdrs){.grant[MD_PERM_READ] = str_c(bad[i])};
        assert_int_equal(s3_acl_parse_headers(a, &h, &r, &msg, &arg), S3E_INVALID_ARGUMENT);
        assert_string_equal(arg, "x-amz-grant-read");
    }
    h = (struct s3_acl_hdrs){.grant[MD_PERM_WRITE] = STR_LIT("emailAddress=\"a@example.com\"")};
    assert_int_equal(s3_acl_parse_headers(a, &h, &r, &msg, &arg), S3E_METHOD_NOT_ALLOWED);

    /* 100 grants are fine, 101 are not */
    {
        static const char one[] = ",uri=" S3_ACL_AUTH_USERS;
        size_t off = 0;
        for (int i = 0; i < 100; i++) {
            memcpy(many + off, one + (i == 0), sizeof(one) - 1 - (i == 0));
            off += sizeof(one) - 1 - (i == 0);
        }
        h = (struct s3_acl_hdrs){.grant[MD_PERM_READ] = str_make(many, off)};
    }
    assert_int_equal(s3_acl_parse_headers(a, &h, &r, &msg, &arg), S3E_OK);
    assert_int_equal(r.n, 100);
    h.grant[MD_PERM_WRITE] = STR_LIT("uri=" S3_ACL_ALL_USERS);
    assert_int_equal(s3_acl_parse_headers(a, &h, &r, &msg, &arg), S3E_INVALID_ARGUMENT);
    arena_free(a);
}

static void
test_document(void **state)
{
    static const char doc[] =
        "<AccessControlPolicy xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Owner><ID>" OWNER "</ID><DisplayName>a</DisplayName></Owner><AccessControlList>"
        "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        "xsi:type=\"CanonicalUser\"><ID>" OTHER "</ID></Grantee>"
        "<Permission>WRITE_ACP</Permission></Grant>"
        "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        "xsi:type=\"Group\"><URI>" S3_ACL_AUTH_USERS "</URI></Grantee>"
        "<Permission>READ</Permission></Grant>"
        "</AccessControlList></AccessControlPolicy>";
    static const struct {
        const char *body;
        enum s3_err err;
    } bad[] = {
        {"<AccessControlPolicy/>", S3E_MALFORMED_XML},
        {"<Acl><AccessControlList/></Acl>", S3E_MALFORMED_XML},
        {"<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>" OTHER
         "</ID></Grantee><Permission>ALL</Permission></Grant></AccessControlList>"
         "</AccessControlPolicy>",
         S3E_MALFORMED_XML},
        {"<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>" OTHER "</ID><URI>"
         S3_ACL_ALL_USERS "</URI></Grantee><Permission>READ</Permission></Grant>"
         "</AccessControlList></AccessControlPolicy>",
         S3E_MALFORMED_XML},
        {"<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>12</ID></Grantee>"
         "<Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>",
         S3E_INVALID_ARGUMENT},
        {"<AccessControlPolicy><AccessControlList><Grant><Grantee><EmailAddress>a@b"
         "</EmailAddress></Grantee><Permission>READ</Permission></Grant></AccessControlList>"
         "</AccessControlPolicy>",
         S3E_METHOD_NOT_ALLOWED},
        {"<AccessControlPolicy><AccessControlList/><Extra/></AccessControlPolicy>",
         S3E_MALFORMED_XML},
        {"not xml", S3E_MALFORMED_XML},
    };
    struct arena *a = arena_new();
    struct s3_acl_req r;
    struct md_grant *g;
    const char *msg;
    size_t n;

    (void)state;
    assert_int_equal(s3_acl_parse_xml(a, STR_LIT(doc), &r, &msg), S3E_OK);
    assert_true(str_eq_c(r.owner_id, OWNER));
    assert_int_equal(r.n, 2);
    s3_acl_resolve(a, &r, true, STR_LIT(OWNER), STR_LIT(BOWNER), &g, &n);
    {
        const struct want w[] = {{MD_GRANTEE_ID, MD_PERM_FULL_CONTROL, OWNER},
                                 {MD_GRANTEE_ID, MD_PERM_WRITE_ACP, OTHER},
                                 {MD_GRANTEE_URI, MD_PERM_READ, S3_ACL_AUTH_USERS}};
        check_grants(g, n, w, ARRAY_LEN(w));
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_int_equal(s3_acl_parse_xml(a, str_c(bad[i].body), &r, &msg), bad[i].err);
    /* an empty list: the owner alone */
    assert_int_equal(s3_acl_parse_xml(a, STR_LIT("<AccessControlPolicy><AccessControlList/>"
                                                 "</AccessControlPolicy>"),
                                      &r, &msg),
                     S3E_OK);
    s3_acl_resolve(a, &r, false, STR_LIT(OWNER), STR_LIT(OWNER), &g, &n);
    assert_int_equal(n, 1);
    arena_free(a);
}

static void
test_allows(void **state)
{
    const struct md_grant g[] = {
        {MD_GRANTEE_ID, MD_PERM_FULL_CONTROL, STR_LIT(OWNER)},
        {MD_GRANTEE_ID, MD_PERM_READ, STR_LIT(OTHER)},
        {MD_GRANTEE_URI, MD_PERM_READ_ACP, STR_LIT(S3_ACL_AUTH_USERS)},
        {MD_GRANTEE_URI, MD_PERM_WRITE, STR_LIT(S3_ACL_ALL_USERS)},
        {MD_GRANTEE_URI, MD_PERM_WRITE_ACP, STR_LIT(S3_ACL_LOG_DELIVERY)},
    };
    size_t n = ARRAY_LEN(g);

    (void)state;
    /* FULL_CONTROL holds every permission */
    for (int p = MD_PERM_READ; p <= MD_PERM_FULL_CONTROL; p++)
        assert_true(s3_acl_allows(g, n, (enum md_perm)p, STR_LIT(OWNER), true, false));
    assert_true(s3_acl_allows(g, n, MD_PERM_READ, STR_LIT(OTHER), true, false));
    assert_false(s3_acl_allows(g, n, MD_PERM_WRITE_ACP, STR_LIT(OTHER), true, false));
    /* AuthenticatedUsers: signed callers only; AllUsers: anyone */
    assert_true(s3_acl_allows(g, n, MD_PERM_READ_ACP, STR_NULL, true, false));
    assert_false(s3_acl_allows(g, n, MD_PERM_READ_ACP, STR_NULL, false, false));
    assert_true(s3_acl_allows(g, n, MD_PERM_WRITE, STR_NULL, false, false));
    /* IgnorePublicAcls drops both groups, not LogDelivery (which no caller is) */
    assert_false(s3_acl_allows(g, n, MD_PERM_WRITE, STR_NULL, false, true));
    assert_false(s3_acl_allows(g, n, MD_PERM_READ_ACP, STR_LIT(OTHER), true, true));
    assert_false(s3_acl_allows(g, n, MD_PERM_WRITE_ACP, STR_NULL, true, false));
    /* the canonical id compares without regard to case */
    assert_true(s3_acl_allows(g, n, MD_PERM_READ,
                              STR_LIT("1111111111111111111111111111111111111111111111111111111111"
                                      "111111"),
                              true, false));
}

static void
test_render_and_store(void **state)
{
    static const char want[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<AccessControlPolicy xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>" OWNER
        "</ID><DisplayName>alice</DisplayName></Owner><AccessControlList>"
        "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        "xsi:type=\"CanonicalUser\"><ID>" OWNER "</ID><DisplayName>alice</DisplayName>"
        "</Grantee><Permission>FULL_CONTROL</Permission></Grant>"
        "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        "xsi:type=\"Group\"><URI>" S3_ACL_LOG_DELIVERY "</URI></Grantee>"
        "<Permission>WRITE</Permission></Grant>"
        "</AccessControlList></AccessControlPolicy>";
    const struct md_grant g[] = {
        {MD_GRANTEE_ID, MD_PERM_FULL_CONTROL, STR_LIT(OWNER)},
        {MD_GRANTEE_URI, MD_PERM_READ, STR_LIT(S3_ACL_ALL_USERS)},
        {MD_GRANTEE_URI, MD_PERM_WRITE, STR_LIT(S3_ACL_LOG_DELIVERY)},
    };
    const struct str names[] = {STR_LIT("alice"), STR_LIT(""), STR_LIT("")};
    struct arena *a = arena_new();
    struct md_grant *back;
    struct str text;
    struct buf x;
    size_t n;

    (void)state;
    buf_init(&x, 64 * 1024);
    /* IgnorePublicAcls: the effective ACL, without the AllUsers grant */
    assert_int_equal(s3_acl_render(&x, STR_LIT(OWNER), STR_LIT("alice"), g, names, 3, true), 0);
    assert_int_equal(x.n, strlen(want));
    assert_memory_equal(x.p, want, x.n);
    buf_free(&x);
    /* stored text round trip; nothing stored means the owner alone */
    assert_int_equal(md_acl_encode(g, 3, a, &text), 0);
    s3_acl_load(a, text, STR_LIT(OTHER), &back, &n);
    assert_int_equal(n, 3);
    assert_true(str_eq_c(back[2].grantee, S3_ACL_LOG_DELIVERY));
    s3_acl_load(a, STR_NULL, STR_LIT(OTHER), &back, &n);
    assert_int_equal(n, 1);
    assert_true(str_eq_c(back[0].grantee, OTHER));
    assert_int_equal(back[0].perm, MD_PERM_FULL_CONTROL);
    arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canned),   cmocka_unit_test(test_headers),
        cmocka_unit_test(test_document), cmocka_unit_test(test_allows),
        cmocka_unit_test(test_render_and_store),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
