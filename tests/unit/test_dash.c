/* test_dash.c -- the web dashboard: its markup with known answers (HTML
 * escaping, byte and percentage texts, the SVG line, bars and split for
 * given figures, a whole page with hostile names), and its store
 * (store/md_dash.h) on a temp directory: token shape and keys, login links
 * that work once, expire and refuse a wrong verifier without being spent,
 * sessions, pruning, and which audit entries count as an account's MFA
 * events. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "s3/s3_dash_page.h"
#include "store/md.h"
#include "store/md_dash.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/enc.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- markup ------------------------------------------------------------------ */

static const char *
esc(struct buf *b, const char *s, size_t n)
{
    buf_reset(b);
    assert_int_equal(s3_dash_escape(b, str_make(s, n)), 0);
    return b->p ? b->p : "";
}

static void
test_escape(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    assert_string_equal(esc(&b, "<a href='x'>&\"", 14),
                        "&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
    assert_string_equal(esc(&b, "plain-bucket.name", 17), "plain-bucket.name");
    /* Control characters and invalid UTF-8 become U+FFFD; valid UTF-8 stays. */
    assert_string_equal(esc(&b, "a\x01" "b", 3), "a\xef\xbf\xbd" "b");
    assert_string_equal(esc(&b, "caf\xc3\xa9", 5), "caf\xc3\xa9");
    assert_string_equal(esc(&b, "x\xff", 2), "x\xef\xbf\xbd");
    assert_string_equal(esc(&b, "", 0), "");
    buf_free(&b);
}

static void
test_numbers(void **state)
{
    char s[32], p[16];

    (void)state;
    s3_dash_bytes(0, s);
    assert_string_equal(s, "0 B");
    s3_dash_bytes(1023, s);
    assert_string_equal(s, "1023 B");
    s3_dash_bytes(1024, s);
    assert_string_equal(s, "1.00 KB");
    s3_dash_bytes(1536, s);
    assert_string_equal(s, "1.50 KB");
    s3_dash_bytes(3LL << 30, s); /* 1 GB = 2^30 bytes [B4] */
    assert_string_equal(s, "3.00 GB");
    s3_dash_pct(1, 3, p);
    assert_string_equal(p, "33.3%");
    s3_dash_pct(2, 3, p);
    assert_string_equal(p, "66.7%");
    s3_dash_pct(1, 1, p);
    assert_string_equal(p, "100.0%");
    s3_dash_pct(0, 0, p);
    assert_string_equal(p, "0.0%");
}

static void
test_svg_line(void **state)
{
    const int64_t v[] = {0, 50, 100}, one[] = {7}, zeros[] = {0, 0};
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 20);
    assert_int_equal(s3_dash_svg_line(&b, "T<1>", v, 3, "100 B", "d1", "d3"), 0);
    /* x 50, 320, 590; the largest value at y 10, 0 at y 130. */
    assert_non_null(strstr(b.p, "<path class=\"line\" d=\"M50,130 L320,70 L590,10\"/>"));
    assert_non_null(strstr(b.p, "<circle class=\"dot\" cx=\"590\" cy=\"10\" r=\"3\"/>"));
    assert_non_null(strstr(b.p, "aria-label=\"T&lt;1&gt;\""));
    assert_non_null(strstr(b.p, ">100 B</text>"));
    buf_reset(&b);
    assert_int_equal(s3_dash_svg_line(&b, "t", one, 1, "7", "d", "d"), 0);
    assert_non_null(strstr(b.p, "d=\"M50,10\""));
    buf_reset(&b);
    assert_int_equal(s3_dash_svg_line(&b, "t", zeros, 2, "0", "d", "d"), 0);
    assert_non_null(strstr(b.p, "d=\"M50,130 L590,130\""));
    buf_free(&b);
}

static void
test_svg_bars_split(void **state)
{
    const struct str labels[] = {STR_LIT("a<b"), STR_LIT("bb"), STR_LIT("c")};
    const int64_t v[] = {100, 25, 0}, tiny[] = {1000000, 1}, parts[] = {1, 1, 2}, none[] = {0, 0};
    const char *const text[] = {"100 B", "25 B", "0 B"};
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 20);
    assert_int_equal(s3_dash_svg_bars(&b, "t", labels, v, text, 3), 0);
    assert_non_null(strstr(b.p, "viewBox=\"0 0 600 70\""));
    assert_non_null(strstr(b.p, "<text x=\"0\" y=\"15\">a&lt;b</text><rect class=\"bar\" x=\"180\" "
                                "y=\"3\" width=\"300\" height=\"16\"/><text x=\"486\" y=\"15\">"
                                "100 B</text>"));
    assert_non_null(strstr(b.p, "y=\"25\" width=\"75\" height=\"16\"/><text x=\"261\" y=\"37\">"));
    assert_non_null(strstr(b.p, "y=\"47\" width=\"0\""));
    buf_reset(&b);
    /* A value too small to show still gets a sliver. */
    assert_int_equal(s3_dash_svg_bars(&b, "t", labels, tiny, NULL, 2), 0);
    assert_non_null(strstr(b.p, "y=\"25\" width=\"1\""));
    buf_reset(&b);
    assert_int_equal(s3_dash_svg_split(&b, "t", parts, 3), 0);
    assert_non_null(strstr(b.p, "<rect class=\"s0\" x=\"0\" y=\"0\" width=\"150\" height=\"24\"/>"
                                "<rect class=\"s1\" x=\"150\" y=\"0\" width=\"150\" height=\"24\"/>"
                                "<rect class=\"s2\" x=\"300\" y=\"0\" width=\"300\" height=\"24\"/>"));
    buf_reset(&b);
    assert_int_equal(s3_dash_svg_split(&b, "t", none, 2), 0);
    assert_null(strstr(b.p, "<rect"));
    buf_free(&b);
}

static void
test_page(void **state)
{
    struct md_bucket bk[3] = {0};
    struct md_usage_row rows[1] = {0};
    struct md_usage_sum daily[2] = {0};
    struct md_audit ev[1] = {0};
    struct s3_dash_view v = {0};
    struct buf b;

    (void)state;
    bk[0] = (struct md_bucket){.id = 1, .name = STR_LIT("<script>x</script>"),
                               .versioning = MD_VER_ENABLED, .mfa_delete = MD_MFA_ENABLED};
    bk[1] = (struct md_bucket){.id = 2, .name = STR_LIT("logs"), .versioning = MD_VER_ENABLED,
                               .lifecycle = STR_LIT("<LifecycleConfiguration><Rule><ID>a</ID>"
                                                    "</Rule><Rule></Rule></LifecycleConfiguration>"),
                               .pab = {.configured = true, .block_public_acls = true}};
    bk[2] = (struct md_bucket){.id = 3, .name = STR_LIT("open"),
                               .pab = {.configured = true, .block_public_acls = true,
                                       .ignore_public_acls = true, .block_public_policy = true,
                                       .restrict_public_buckets = true}};
    rows[0] = (struct md_usage_row){.bucket_id = 2, .bucket = STR_LIT("logs"),
                                    .f = {.current_count = 3, .current_bytes = 3072,
                                          .noncurrent_count = 1, .noncurrent_bytes = 1024}};
    daily[0].day = 20000;
    daily[1].day = 20001;
    daily[1].f = rows[0].f;
    ev[0] = (struct md_audit){.time_ms = 1, .event = STR_LIT("mfa.check_failed"),
                              .principal = STR_LIT("account:a&b"), .bucket = STR_LIT("logs"),
                              .source = STR_LIT("127.0.0.1"), .detail = STR_LIT("bad \"code\"")};
    v = (struct s3_dash_view){.account_id = 7, .account_name = STR_LIT("a&b"), .now_ms = 1,
                              .total = {.buckets = 1, .f = rows[0].f, .refreshed_ms = 1},
                              .daily = daily, .n_daily = 2, .rows = rows, .n_rows = 1,
                              .buckets = bk, .n_buckets = 3, .events = ev, .n_events = 1};
    buf_init(&b, 1 << 22);
    assert_int_equal(s3_dash_page(&b, &v), 0);
    /* The template and CSS are filled in; no marker is left. */
    assert_non_null(strstr(b.p, "<!DOCTYPE html>"));
    assert_non_null(strstr(b.p, ":root {"));
    assert_null(strstr(b.p, "@BODY@"));
    assert_null(strstr(b.p, "<script"));
    assert_non_null(strstr(b.p, "&lt;script&gt;x&lt;/script&gt;"));
    assert_non_null(strstr(b.p, "<span id=\"account-name\">a&amp;b</span>"));
    assert_non_null(strstr(b.p, "000000000007"));
    assert_non_null(strstr(b.p, "Versioning-enabled buckets: 2 of 3 (66.7%)"));
    assert_non_null(strstr(b.p, "MFA delete-enabled buckets: 1 of 3 (33.3%)"));
    assert_non_null(strstr(b.p, "<td class=\"lifecycle on\">2 rules</td>"));
    assert_non_null(strstr(b.p, "<td class=\"public warn\">Partly blocked</td>"));
    assert_non_null(strstr(b.p, "<td class=\"public on\">Blocked</td>"));
    assert_non_null(strstr(b.p, "<td class=\"public warn\">Not blocked</td>"));
    /* logs: 4 KB in 4 objects; current 75 % of the bytes. */
    assert_non_null(strstr(b.p, "<td class=\"bucket\">logs</td><td class=\"num\">4.00 KB</td>"
                                "<td class=\"num\">4</td>"));
    assert_non_null(strstr(b.p, "3.00 KB</td><td class=\"num\">75.0%</td>"));
    assert_non_null(strstr(b.p, "bad &quot;code&quot;"));
    assert_non_null(strstr(b.p, "d=\"M50,130 L590,10\""));
    buf_reset(&b);
    assert_int_equal(s3_dash_message(&b, "Sign <in>", "<p>x</p>"), 0);
    assert_non_null(strstr(b.p, "<h1>Sign &lt;in&gt;</h1><p>x</p>"));
    assert_null(strstr(b.p, "Sign out"));
    buf_free(&b);
}

/* ---- store ------------------------------------------------------------------- */

struct fx {
    char dir[64];
    struct md *md;
    struct arena *a;
    int64_t alice, bob, alicex, bucket, bob_bucket;
};

enum kind { K_ACCT, K_BUCKET, K_LINK, K_USE, K_END, K_AUDIT };

struct job {
    enum kind kind;
    const char *name;
    int64_t owner, id, now, exp;
    struct md_dash_key k, sk;
    struct md_audit e;
};

static int
run(struct md_conn *c, void *arg)
{
    struct job *j = arg;

    switch (j->kind) {
    case K_ACCT:
        return md_account_create(c, str_c(j->name), 1, &j->id);
    case K_BUCKET:
        return md_bucket_create(c, str_c(j->name), j->owner, STR_LIT("us-east-1"), 2, &j->id);
    case K_LINK:
        return md_dash_login_add(c, &j->k, j->owner, j->now, j->exp);
    case K_USE:
        return md_dash_login_use(c, &j->k, j->now, &j->sk, j->exp, &j->id);
    case K_END:
        return md_dash_session_end(c, &j->k);
    case K_AUDIT:
        return md_audit_append(c, &j->e);
    }
    return -EINVAL;
}

static int64_t
mk(struct fx *f, enum kind kind, const char *name, int64_t owner)
{
    struct job j = {.kind = kind, .name = name, .owner = owner};

    assert_int_equal(md_write(f->md, run, &j), 0);
    return j.id;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void
fx_open(struct fx *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-dash-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(md_open(f->dir, &f->md), 0);
    f->a = arena_new();
    f->alice = mk(f, K_ACCT, "alice", 0);
    f->bob = mk(f, K_ACCT, "bob", 0);
    f->alicex = mk(f, K_ACCT, "alicex", 0);
    f->bucket = mk(f, K_BUCKET, "alices-bucket", f->alice);
    f->bob_bucket = mk(f, K_BUCKET, "bobs-bucket", f->bob);
}

static void
fx_close(struct fx *f)
{
    md_close(f->md);
    arena_free(f->a);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
link_add(struct fx *f, const struct md_dash_key *k, int64_t acct, int64_t now, int64_t exp)
{
    struct job j = {.kind = K_LINK, .k = *k, .owner = acct, .now = now, .exp = exp};

    return md_write(f->md, run, &j);
}

static int
link_use(struct fx *f, const struct md_dash_key *k, int64_t now, const struct md_dash_key *sk,
         int64_t *acct)
{
    struct job j = {.kind = K_USE, .k = *k, .sk = *sk, .now = now, .exp = now + 1000};
    int rc = md_write(f->md, run, &j);

    *acct = j.id;
    return rc;
}

static void
test_tokens(void **state)
{
    char t[MD_DASH_TOKEN_LEN + 1], t2[MD_DASH_TOKEN_LEN + 1], hex[65];
    struct md_dash_key k, k2;

    (void)state;
    assert_int_equal(md_dash_token_new(t, &k), 0);
    assert_int_equal(strlen(t), MD_DASH_TOKEN_LEN);
    assert_int_equal(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
                     MD_DASH_TOKEN_LEN);
    assert_memory_equal(k.sel, t, MD_DASH_SEL_LEN);
    assert_int_equal(md_dash_token_key(str_c(t), &k2), 0);
    assert_memory_equal(k.hash, k2.hash, 32);
    assert_int_equal(md_dash_token_new(t2, &k2), 0);
    assert_string_not_equal(t, t2);
    assert_memory_not_equal(k.hash, k2.hash, 32);
    /* The hash is the verifier's SHA-256: a known answer. */
    assert_int_equal(md_dash_token_key(STR_LIT("AAAAAAAAAAAA" "abc" "00000000000000000000000000000"),
                                       &k), 0);
    assert_string_equal(k.sel, "AAAAAAAAAAAA");
    hex_encode(k.hash, 32, hex);
    assert_string_equal(hex, "1431596a7a2e3971b8a0d224026f43a52f62aa4189af377e4b5c29b28b830964");
    assert_int_equal(md_dash_token_key(STR_LIT("short"), &k), -EINVAL);
    t[20] = '-';
    assert_int_equal(md_dash_token_key(str_c(t), &k), -EINVAL);
    t[20] = '\0';
    assert_int_equal(md_dash_token_key(str_make(t, MD_DASH_TOKEN_LEN), &k), -EINVAL);
}

static void
test_login_and_session(void **state)
{
    char t[MD_DASH_TOKEN_LEN + 1], st[MD_DASH_TOKEN_LEN + 1];
    struct md_dash_key k, sk, bad, sbad, k2, k3, unknown;
    struct md_conn *c;
    int64_t acct;
    struct fx f;

    (void)state;
    fx_open(&f);
    c = md_reader(f.md);
    assert_int_equal(md_dash_token_new(t, &k), 0);
    assert_int_equal(md_dash_token_new(st, &sk), 0);
    assert_int_equal(link_add(&f, &k, f.alice, 1000, 1000 + MD_DASH_LOGIN_TTL_MS), 0);
    /* Same selector, another verifier: refused as unknown, and not spent. */
    bad = k;
    bad.hash[0] ^= 1;
    assert_int_equal(link_use(&f, &bad, 2000, &sk, &acct), -ENOENT);
    assert_int_equal(md_dash_session_get(c, &sk, 2000, &acct), -ENOENT);
    assert_int_equal(link_use(&f, &k, 2000, &sk, &acct), 0);
    assert_int_equal(acct, f.alice);
    /* Once only. */
    assert_int_equal(link_use(&f, &k, 2001, &sk, &acct), -EALREADY);
    /* The session: found with its verifier, until it expires (now + 1000). */
    assert_int_equal(md_dash_session_get(c, &sk, 2500, &acct), 0);
    assert_int_equal(acct, f.alice);
    sbad = sk;
    sbad.hash[31] ^= 0x80;
    assert_int_equal(md_dash_session_get(c, &sbad, 2500, &acct), -ENOENT);
    assert_int_equal(md_dash_session_get(c, &sk, 3000, &acct), -ENOENT);
    /* Ending it needs the verifier too. */
    {
        struct job j = {.kind = K_END, .k = sbad};

        assert_int_equal(md_write(f.md, run, &j), -ENOENT);
        assert_int_equal(md_dash_session_get(c, &sk, 2500, &acct), 0);
        j.k = sk;
        assert_int_equal(md_write(f.md, run, &j), 0);
        assert_int_equal(md_dash_session_get(c, &sk, 2500, &acct), -ENOENT);
        assert_int_equal(md_write(f.md, run, &j), -ENOENT);
    }
    /* Expiry: valid before expires_ms, refused from it on. */
    assert_int_equal(md_dash_token_new(t, &k2), 0);
    assert_int_equal(link_add(&f, &k2, f.bob, 10000, 15000), 0);
    assert_int_equal(md_dash_token_new(st, &sk), 0);
    assert_int_equal(link_use(&f, &k2, 15000, &sk, &acct), -ETIMEDOUT);
    assert_int_equal(md_dash_session_get(c, &sk, 15000, &acct), -ENOENT);
    assert_int_equal(link_use(&f, &k2, 14999, &sk, &acct), 0);
    assert_int_equal(acct, f.bob);
    /* Unknown. */
    assert_int_equal(md_dash_token_new(t, &unknown), 0);
    assert_int_equal(link_use(&f, &unknown, 14999, &sk, &acct), -ENOENT);
    /* The next link prunes what expired: the spent one is gone. */
    assert_int_equal(md_dash_token_new(t, &k3), 0);
    assert_int_equal(link_add(&f, &k3, f.bob, 20000, 30000), 0);
    assert_int_equal(link_use(&f, &k2, 1, &sk, &acct), -ENOENT);
    /* A selector in use is -EEXIST. */
    assert_int_equal(link_add(&f, &k3, f.bob, 20000, 30000), -EEXIST);
    fx_close(&f);
}

static void
audit(struct fx *f, const char *event, const char *principal, const char *bucket)
{
    struct job j = {.kind = K_AUDIT};

    j.e = (struct md_audit){.time_ms = 5, .event = str_c(event), .principal = str_c(principal),
                            .bucket = bucket ? str_c(bucket) : STR_NULL, .key = STR_NULL,
                            .version_id = STR_NULL, .source = STR_LIT("cli"),
                            .detail = STR_LIT("d")};
    assert_int_equal(md_write(f->md, run, &j), 0);
}

static void
test_mfa_events(void **state)
{
    struct md_audit *ev;
    struct fx f;
    size_t n;

    (void)state;
    fx_open(&f);
    audit(&f, "mfa.enrolled", "account:alice", NULL);
    audit(&f, "mfa.check_failed", "account:alice/user:u1", "bobs-bucket");
    audit(&f, "bucket.versioning", "account:alice", "alices-bucket");  /* not about MFA */
    audit(&f, "mfa.enrolled", "account:alicex", NULL);                 /* another account */
    audit(&f, "bucket.mfa_delete", "account:bob", "alices-bucket");    /* on alice's bucket */
    audit(&f, "mfa.enrolled", "account:bob", NULL);
    assert_int_equal(md_dash_mfa_events(md_reader(f.md), f.alice, STR_LIT("alice"), 10, f.a, &ev,
                                        &n), 0);
    assert_int_equal(n, 3);
    assert_true(str_eq_c(ev[0].event, "bucket.mfa_delete"));
    assert_true(str_eq_c(ev[1].event, "mfa.check_failed"));
    assert_true(str_eq_c(ev[1].principal, "account:alice/user:u1"));
    assert_true(str_eq_c(ev[2].event, "mfa.enrolled"));
    assert_true(ev[0].id > ev[1].id && ev[1].id > ev[2].id);
    assert_int_equal(md_dash_mfa_events(md_reader(f.md), f.alice, STR_LIT("alice"), 2, f.a, &ev,
                                        &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(md_dash_mfa_events(md_reader(f.md), f.alicex, STR_LIT("alicex"), 10, f.a,
                                        &ev, &n), 0);
    assert_int_equal(n, 1);
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),          cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_svg_line),        cmocka_unit_test(test_svg_bars_split),
        cmocka_unit_test(test_page),            cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_login_and_session), cmocka_unit_test(test_mfa_events),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
