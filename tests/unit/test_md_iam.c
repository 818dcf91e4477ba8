/* test_md_iam.c -- schema 9 of the metadata store on temp directories: IAM
 * groups and membership, roles, customer managed policies and their
 * versions (five at most, numbers never reused, the default kept), inline
 * policies, attachments by ARN, one principal's policies in one query, the
 * policy generation, bucket/account/version access control and the ACL
 * codec, cascades on user and account deletion, the migration from
 * schema 8 (AmazonS3FullAccess attached to every existing user, audited),
 * and schema 11's role-session keys (deleted with their role). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "store/md.h"
#include "store/md_int.h"
#include "store/md_schema.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#define S3FULL "arn:aws:iam::aws:policy/AmazonS3FullAccess"

/* ---- fixture ---------------------------------------------------------------- */

struct fx {
    char dir[64];
    struct md *md;
    struct md_conn *r;
    struct arena *a;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void
fx_open(struct fx *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-mdiam-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(md_open(f->dir, &f->md), 0);
    f->r = md_reader(f->md);
    f->a = arena_new();
}

static void
fx_close(struct fx *f)
{
    md_close(f->md);
    arena_free(f->a);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* One store call in md_write(), chosen by op. */
enum op {
    OP_ACCT,
    OP_ACCT_DEL,
    OP_USER,
    OP_USER_DEL,
    OP_BUCKET,
    OP_GROUP,
    OP_GROUP_DEL,
    OP_MEMBER_ADD,
    OP_MEMBER_DEL,
    OP_ROLE,
    OP_ROLE_DEL,
    OP_ROLE_TRUST,
    OP_POLICY,
    OP_POLICY_DEL,
    OP_VERSION_ADD,
    OP_VERSION_DEL,
    OP_SET_DEFAULT,
    OP_INLINE_PUT,
    OP_INLINE_DEL,
    OP_ATTACH,
    OP_DETACH,
    OP_BKT_POLICY,
    OP_BKT_OWN,
    OP_BKT_PAB,
    OP_BKT_ACL,
    OP_ACCT_PAB,
    OP_VERSION,
    OP_VERSION_ACL,
    OP_KEY,
};

struct opx {
    enum op op;
    int64_t id, id2, account_id;
    enum md_entity kind;
    struct str name, s;
    int n;
    bool flag;
    struct md_group g;
    struct md_role role;
    struct md_policy p;
    struct md_pab pab;
    struct md_version v;
    struct md_key k;
    struct arena *a;
};

static int
w_op(struct md_conn *c, void *arg)
{
    struct opx *x = arg;

    switch (x->op) {
    case OP_ACCT:
        return md_account_create(c, x->name, 10, &x->id);
    case OP_ACCT_DEL:
        return md_account_delete(c, x->id);
    case OP_USER:
        return md_user_create(c, x->account_id, x->name, 20, &x->id);
    case OP_USER_DEL:
        return md_user_delete(c, x->id);
    case OP_BUCKET:
        return md_bucket_create(c, x->name, x->account_id, STR_LIT("us-east-1"), 30, &x->id);
    case OP_GROUP:
        return md_group_create(c, &x->g);
    case OP_GROUP_DEL:
        return md_group_delete(c, x->id);
    case OP_MEMBER_ADD:
        return md_group_add_user(c, x->id, x->id2);
    case OP_MEMBER_DEL:
        return md_group_remove_user(c, x->id, x->id2);
    case OP_ROLE:
        return md_role_create(c, &x->role);
    case OP_ROLE_DEL:
        return md_role_delete(c, x->id);
    case OP_ROLE_TRUST:
        return md_role_set_trust(c, x->id, x->s);
    case OP_POLICY:
        return md_policy_create(c, &x->p, x->s);
    case OP_POLICY_DEL:
        return md_policy_delete(c, x->id);
    case OP_VERSION_ADD:
        return md_policy_version_add(c, x->id, x->s, x->flag, 500, &x->n);
    case OP_VERSION_DEL:
        return md_policy_version_delete(c, x->id, x->n);
    case OP_SET_DEFAULT:
        return md_policy_set_default(c, x->id, x->n, 600);
    case OP_INLINE_PUT:
        return md_inline_put(c, x->kind, x->id, x->name, x->s);
    case OP_INLINE_DEL:
        return md_inline_delete(c, x->kind, x->id, x->name);
    case OP_ATTACH:
        return md_attach(c, x->kind, x->id, x->s);
    case OP_DETACH:
        return md_detach(c, x->kind, x->id, x->s);
    case OP_BKT_POLICY:
        return md_bucket_set_policy(c, x->id, x->s);
    case OP_BKT_OWN:
        return md_bucket_set_ownership(c, x->id, (enum md_ownership)x->n);
    case OP_BKT_PAB:
        return md_bucket_set_public_access_block(c, x->id, &x->pab);
    case OP_BKT_ACL:
        return md_bucket_set_acl(c, x->id, x->s);
    case OP_ACCT_PAB:
        return md_account_set_public_access_block(c, x->id, &x->pab);
    case OP_VERSION:
        return md_version_insert(c, &x->v, x->a);
    case OP_VERSION_ACL:
        return md_version_set_acl(c, x->id, x->s);
    case OP_KEY:
        return md_key_create(c, &x->k);
    }
    return -EINVAL;
}

static int
op(struct fx *f, struct opx *x)
{
    x->a = f->a;
    return md_write(f->md, w_op, x);
}

static int64_t
mk_account(struct fx *f, const char *name)
{
    struct opx x = {.op = OP_ACCT, .name = str_c(name)};

    assert_int_equal(op(f, &x), 0);
    return x.id;
}

static int64_t
mk_user(struct fx *f, int64_t acct, const char *name)
{
    struct opx x = {.op = OP_USER, .account_id = acct, .name = str_c(name)};

    assert_int_equal(op(f, &x), 0);
    return x.id;
}

static int
mk_group(struct fx *f, int64_t acct, const char *name, const char *uid, int64_t *id)
{
    struct opx x = {.op = OP_GROUP};
    int rc;

    x.g.account_id = acct;
    x.g.name = str_c(name);
    x.g.uid = str_c(uid);
    x.g.created_ms = 40;
    rc = op(f, &x);
    if (rc == 0 && id != NULL)
        *id = x.g.id;
    return rc;
}

static int
mk_policy(struct fx *f, int64_t acct, const char *name, const char *arn, const char *doc,
          int64_t *id)
{
    struct opx x = {.op = OP_POLICY, .s = str_c(doc)};
    int rc;

    x.p.account_id = acct;
    x.p.name = str_c(name);
    x.p.uid = str_c(arena_printf(f->a, "ANPA%s", name));
    x.p.arn = str_c(arn);
    x.p.created_ms = 100;
    rc = op(f, &x);
    if (rc == 0 && id != NULL)
        *id = x.p.id;
    return rc;
}

static int
call2(struct fx *f, enum op o, int64_t id, int64_t id2)
{
    struct opx x = {.op = o, .id = id, .id2 = id2};

    return op(f, &x);
}

static int
ent(struct fx *f, enum op o, enum md_entity kind, int64_t id, const char *name, const char *s)
{
    struct opx x = {.op = o, .kind = kind, .id = id};

    x.name = name ? str_c(name) : STR_NULL;
    x.s = s ? str_c(s) : STR_NULL;
    return op(f, &x);
}

static int
ver(struct fx *f, enum op o, int64_t policy, int n, const char *doc, bool set_default)
{
    struct opx x = {.op = o, .id = policy, .n = n, .flag = set_default};
    int rc;

    x.s = doc ? str_c(doc) : STR_NULL;
    rc = op(f, &x);
    return rc == 0 && o == OP_VERSION_ADD ? x.n : rc;
}

static int64_t
gen(struct fx *f)
{
    int64_t g = -1;

    assert_int_equal(md_policy_gen(f->r, &g), 0);
    return g;
}

/* ---- groups ------------------------------------------------------------------ */

static void
test_groups(void **state)
{
    struct fx f;
    struct md_group g, *gs;
    struct md_user *us;
    int64_t acct, other, alice, bob, eve, dev, ops, g0;
    size_t n;

    (void)state;
    fx_open(&f);
    acct = mk_account(&f, "acme");
    other = mk_account(&f, "other");
    alice = mk_user(&f, acct, "alice");
    bob = mk_user(&f, acct, "bob");
    eve = mk_user(&f, other, "eve");
    assert_int_equal(mk_group(&f, acct, "Dev", "AGPA1", &dev), 0);
    assert_int_equal(mk_group(&f, acct, "DEV", "AGPA2", NULL), -EEXIST); /* any case */
    assert_int_equal(mk_group(&f, acct, "ops", "AGPA1", NULL), -EEXIST); /* uid */
    assert_int_equal(mk_group(&f, acct, "ops", "AGPA3", &ops), 0);
    assert_int_equal(mk_group(&f, other, "dev", "AGPA4", NULL), 0); /* other account */
    assert_int_equal(mk_group(&f, acct, "", "AGPA5", NULL), -EINVAL);

    assert_int_equal(md_group_get_by_name(f.r, acct, STR_LIT("dEv"), f.a, &g), 0);
    assert_int_equal(g.id, dev);
    assert_true(str_eq_c(g.name, "Dev"));
    assert_true(str_eq_c(g.path, "/"));
    assert_true(str_eq_c(g.uid, "AGPA1"));
    assert_int_equal(g.created_ms, 40);
    assert_int_equal(md_group_get(f.r, ops, f.a, &g), 0);
    assert_true(str_eq_c(g.name, "ops"));
    assert_int_equal(md_group_get(f.r, 999, f.a, &g), -ENOENT);
    assert_int_equal(md_group_list(f.r, acct, f.a, &gs, &n), 0);
    assert_int_equal(n, 2);
    assert_true(str_eq_c(gs[0].name, "Dev"));
    assert_true(str_eq_c(gs[1].name, "ops"));

    /* Membership bumps the generation; within one account only. */
    g0 = gen(&f);
    assert_int_equal(call2(&f, OP_MEMBER_ADD, dev, alice), 0);
    assert_int_equal(gen(&f), g0 + 1);
    assert_int_equal(call2(&f, OP_MEMBER_ADD, dev, alice), -EEXIST);
    assert_int_equal(call2(&f, OP_MEMBER_ADD, dev, eve), -ENOENT);
    assert_int_equal(call2(&f, OP_MEMBER_ADD, 999, bob), -ENOENT);
    assert_int_equal(call2(&f, OP_MEMBER_ADD, dev, bob), 0);
    assert_int_equal(call2(&f, OP_MEMBER_ADD, ops, bob), 0);
    assert_int_equal(gen(&f), g0 + 3);
    assert_int_equal(md_group_members(f.r, dev, f.a, &us, &n), 0);
    assert_int_equal(n, 2);
    assert_true(us[0].id + us[1].id == alice + bob);
    assert_int_equal(md_user_groups(f.r, bob, f.a, &gs, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(md_user_groups(f.r, eve, f.a, &gs, &n), 0);
    assert_int_equal(n, 0);

    /* A group with members, inline or attached policies is not deleted. */
    assert_int_equal(call2(&f, OP_GROUP_DEL, dev, 0), -ENOTEMPTY);
    assert_int_equal(call2(&f, OP_MEMBER_DEL, dev, alice), 0);
    assert_int_equal(call2(&f, OP_MEMBER_DEL, dev, alice), -ENOENT);
    assert_int_equal(call2(&f, OP_MEMBER_DEL, dev, bob), 0);
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_GROUP, dev, "p", "{}"), 0);
    assert_int_equal(call2(&f, OP_GROUP_DEL, dev, 0), -ENOTEMPTY);
    assert_int_equal(ent(&f, OP_INLINE_DEL, MD_ENT_GROUP, dev, "P", NULL), 0);
    assert_int_equal(ent(&f, OP_ATTACH, MD_ENT_GROUP, dev, NULL, S3FULL), 0);
    assert_int_equal(call2(&f, OP_GROUP_DEL, dev, 0), -ENOTEMPTY);
    assert_int_equal(ent(&f, OP_DETACH, MD_ENT_GROUP, dev, NULL, S3FULL), 0);
    assert_int_equal(call2(&f, OP_GROUP_DEL, dev, 0), 0);
    assert_int_equal(call2(&f, OP_GROUP_DEL, dev, 0), -ENOENT);
    assert_int_equal(md_group_get(f.r, dev, f.a, &g), -ENOENT);
    /* The name is free again. */
    assert_int_equal(mk_group(&f, acct, "dev", "AGPA6", NULL), 0);
    fx_close(&f);
}

/* ---- roles -------------------------------------------------------------------- */

static void
test_roles(void **state)
{
    struct fx f;
    struct opx x = {.op = OP_ROLE};
    struct md_role r, *rs;
    int64_t acct, g0;
    size_t n;

    (void)state;
    fx_open(&f);
    acct = mk_account(&f, "acme");
    x.role.account_id = acct;
    x.role.name = STR_LIT("Deployer");
    x.role.path = STR_LIT("/ci/");
    x.role.uid = STR_LIT("AROA1");
    x.role.trust_policy = STR_LIT("{\"trust\":1}");
    x.role.created_ms = 70;
    g0 = gen(&f);
    assert_int_equal(op(&f, &x), 0);
    assert_int_equal(gen(&f), g0 + 1);
    assert_int_equal(x.role.max_session_s, 3600);
    x.role.name = STR_LIT("deployer");
    x.role.uid = STR_LIT("AROA2");
    assert_int_equal(op(&f, &x), -EEXIST);
    x.role.name = STR_LIT("reader");
    x.role.max_session_s = 7200;
    x.role.description = STR_LIT("reads");
    x.role.path = STR_NULL;
    assert_int_equal(op(&f, &x), 0);

    assert_int_equal(md_role_get_by_name(f.r, acct, STR_LIT("DEPLOYER"), f.a, &r), 0);
    assert_true(str_eq_c(r.name, "Deployer"));
    assert_true(str_eq_c(r.path, "/ci/"));
    assert_true(str_eq_c(r.uid, "AROA1"));
    assert_true(str_eq_c(r.trust_policy, "{\"trust\":1}"));
    assert_int_equal(r.description.n, 0);
    assert_int_equal(r.max_session_s, 3600);
    assert_int_equal(md_role_get(f.r, x.role.id, f.a, &r), 0);
    assert_true(str_eq_c(r.path, "/"));
    assert_true(str_eq_c(r.description, "reads"));
    assert_int_equal(r.max_session_s, 7200);
    assert_int_equal(md_role_list(f.r, acct, f.a, &rs, &n), 0);
    assert_int_equal(n, 2);
    assert_true(str_eq_c(rs[0].name, "Deployer"));

    g0 = gen(&f);
    x.op = OP_ROLE_TRUST;
    x.id = r.id;
    x.s = STR_LIT("{\"trust\":2}");
    assert_int_equal(op(&f, &x), 0);
    assert_int_equal(gen(&f), g0 + 1);
    assert_int_equal(md_role_get(f.r, r.id, f.a, &r), 0);
    assert_true(str_eq_c(r.trust_policy, "{\"trust\":2}"));
    x.id = 999;
    assert_int_equal(op(&f, &x), -ENOENT);

    assert_int_equal(ent(&f, OP_ATTACH, MD_ENT_ROLE, r.id, NULL, S3FULL), 0);
    assert_int_equal(call2(&f, OP_ROLE_DEL, r.id, 0), -ENOTEMPTY);
    assert_int_equal(ent(&f, OP_DETACH, MD_ENT_ROLE, r.id, NULL, S3FULL), 0);
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_ROLE, r.id, "p", "{}"), 0);
    assert_int_equal(call2(&f, OP_ROLE_DEL, r.id, 0), -ENOTEMPTY);
    assert_int_equal(ent(&f, OP_INLINE_DEL, MD_ENT_ROLE, r.id, "p", NULL), 0);
    assert_int_equal(call2(&f, OP_ROLE_DEL, r.id, 0), 0);
    assert_int_equal(md_role_get(f.r, r.id, f.a, &r), -ENOENT);
    fx_close(&f);
}

/* ---- role sessions (schema 11) ---------------------------------------------- */

#define TOKEN_HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int
mk_key(struct fx *f, const struct md_key *k)
{
    struct opx x = {.op = OP_KEY, .k = *k};

    return op(f, &x);
}

static void
test_role_sessions(void **state)
{
    struct fx f;
    struct opx x = {.op = OP_ROLE};
    struct md_key k, got, lt;
    int64_t acct, other, role, other_role, user;

    (void)state;
    fx_open(&f);
    acct = mk_account(&f, "acme");
    other = mk_account(&f, "other");
    user = mk_user(&f, acct, "alice");
    x.role = (struct md_role){.account_id = acct, .name = STR_LIT("R"), .uid = STR_LIT("AROA1"),
                              .trust_policy = STR_LIT("{}")};
    assert_int_equal(op(&f, &x), 0);
    role = x.role.id;
    x.role = (struct md_role){.account_id = other, .name = STR_LIT("R"), .uid = STR_LIT("AROA2"),
                              .trust_policy = STR_LIT("{}")};
    assert_int_equal(op(&f, &x), 0);
    other_role = x.role.id;

    k = (struct md_key){
        .access_key_id = STR_LIT("CSROLE1"),
        .account_id = acct,
        .user_id = -1,
        .secret = STR_LIT("secret"),
        .created_ms = 100,
        .is_active = true,
        .session_token_sha256 = STR_LIT(TOKEN_HEX),
        .expires_ms = 1000000,
        .mfa_auth_ms = 90,
        .role_id = role,
        .session_name = STR_LIT("s1"),
        .session_policy = STR_LIT("{\"Statement\":[]}"),
        .session_policy_arns = STR_LIT("arn:a\narn:b"),
        .mfa_inherited = true,
    };
    assert_int_equal(mk_key(&f, &k), 0);
    assert_int_equal(md_key_get(f.r, STR_LIT("CSROLE1"), f.a, &got), 0);
    assert_int_equal(got.role_id, role);
    assert_int_equal(got.user_id, -1);
    assert_int_equal(got.account_id, acct);
    assert_true(str_eq_c(got.secret, "secret"));
    assert_true(str_eq_c(got.session_name, "s1"));
    assert_true(str_eq_c(got.session_policy, "{\"Statement\":[]}"));
    assert_true(str_eq_c(got.session_policy_arns, "arn:a\narn:b"));
    assert_true(got.mfa_inherited);
    assert_int_equal(got.mfa_auth_ms, 90);

    /* Without a session policy: STR_NULL, not empty. */
    k.access_key_id = STR_LIT("CSROLE2");
    k.session_policy = STR_NULL;
    k.session_policy_arns = STR_NULL;
    k.mfa_inherited = false;
    assert_int_equal(mk_key(&f, &k), 0);
    assert_int_equal(md_key_get(f.r, STR_LIT("CSROLE2"), f.a, &got), 0);
    assert_null(got.session_policy.p);
    assert_null(got.session_policy_arns.p);
    assert_false(got.mfa_inherited);

    /* A role session is a session of no user, of a role of its account. */
    k.access_key_id = STR_LIT("CSBAD");
    k.user_id = 0;
    assert_int_equal(mk_key(&f, &k), -EINVAL);
    k.user_id = user;
    assert_int_equal(mk_key(&f, &k), -EINVAL);
    k.user_id = -1;
    k.expires_ms = 0;
    k.session_token_sha256 = STR_NULL;
    assert_int_equal(mk_key(&f, &k), -EINVAL);
    k.expires_ms = 1000000;
    k.session_token_sha256 = STR_LIT(TOKEN_HEX);
    k.session_name = STR_NULL;
    assert_int_equal(mk_key(&f, &k), -EINVAL);
    k.session_name = STR_LIT("s1");
    k.role_id = other_role;
    assert_int_equal(mk_key(&f, &k), -ENOENT);
    k.role_id = 999;
    assert_int_equal(mk_key(&f, &k), -ENOENT);
    k.role_id = 0;
    assert_int_equal(mk_key(&f, &k), -EINVAL); /* user -1, no role */
    k.user_id = user;
    assert_int_equal(mk_key(&f, &k), -EINVAL); /* session fields without a role */
    k.session_name = STR_NULL;
    assert_int_equal(mk_key(&f, &k), 0);       /* a plain GetSessionToken session */

    /* Long-term keys: no role, nothing of a session. */
    lt = (struct md_key){.access_key_id = STR_LIT("CKLONG"), .account_id = acct,
                         .user_id = user, .secret = STR_LIT("s"), .created_ms = 1,
                         .is_active = true};
    assert_int_equal(mk_key(&f, &lt), 0);
    assert_int_equal(md_key_get(f.r, STR_LIT("CKLONG"), f.a, &got), 0);
    assert_int_equal(got.role_id, 0);
    assert_null(got.session_name.p);
    assert_false(got.mfa_inherited);

    /* Deleting the role takes its sessions, nothing else. */
    assert_int_equal(call2(&f, OP_ROLE_DEL, role, 0), 0);
    assert_int_equal(md_key_get(f.r, STR_LIT("CSROLE1"), f.a, &got), -ENOENT);
    assert_int_equal(md_key_get(f.r, STR_LIT("CSROLE2"), f.a, &got), -ENOENT);
    assert_int_equal(md_key_get(f.r, STR_LIT("CSBAD"), f.a, &got), 0);
    assert_int_equal(md_key_get(f.r, STR_LIT("CKLONG"), f.a, &got), 0);
    fx_close(&f);
}

/* ---- managed policies ------------------------------------------------------- */

static void
test_policies(void **state)
{
    static const char arn[] = "arn:aws:iam::000000000001:policy/team/ReadAll";
    struct fx f;
    struct md_policy p, *ps;
    struct md_policy_version v, *vs;
    struct md_attachment *es;
    int64_t acct, alice, pid, g0, cnt;
    size_t n;

    (void)state;
    fx_open(&f);
    acct = mk_account(&f, "acme");
    alice = mk_user(&f, acct, "alice");
    g0 = gen(&f);
    assert_int_equal(mk_policy(&f, acct, "ReadAll", arn, "{\"v\":1}", &pid), 0);
    assert_int_equal(gen(&f), g0 + 1);
    assert_int_equal(mk_policy(&f, acct, "readall", "arn:x", "{}", NULL), -EEXIST);
    assert_int_equal(mk_policy(&f, acct, "Other", arn, "{}", NULL), -EEXIST);
    assert_int_equal(mk_policy(&f, acct, "Empty", "arn:y", "", NULL), -EINVAL);
    assert_int_equal(md_policy_get_by_arn(f.r, str_c(arn), f.a, &p), 0);
    assert_int_equal(p.id, pid);
    assert_true(str_eq_c(p.name, "ReadAll"));
    assert_true(str_eq_c(p.uid, "ANPAReadAll"));
    assert_int_equal(p.default_version, 1);
    assert_int_equal(p.created_ms, 100);
    assert_int_equal(p.updated_ms, 100);
    assert_int_equal(p.attachment_count, 0);
    assert_int_equal(md_policy_get_by_arn(f.r, STR_LIT("arn:nope"), f.a, &p), -ENOENT);
    assert_int_equal(md_policy_list(f.r, acct, f.a, &ps, &n), 0);
    assert_int_equal(n, 1);

    /* Five versions at most; numbers increase and are never reused. */
    assert_int_equal(ver(&f, OP_VERSION_ADD, pid, 0, "{\"v\":2}", false), 2);
    assert_int_equal(ver(&f, OP_VERSION_ADD, pid, 0, "{\"v\":3}", true), 3);
    assert_int_equal(ver(&f, OP_VERSION_ADD, pid, 0, "{\"v\":4}", false), 4);
    assert_int_equal(ver(&f, OP_VERSION_ADD, pid, 0, "{\"v\":5}", false), 5);
    assert_int_equal(ver(&f, OP_VERSION_ADD, pid, 0, "{\"v\":6}", false), -EMLINK);
    assert_int_equal(ver(&f, OP_VERSION_ADD, 999, 0, "{}", false), -ENOENT);
    assert_int_equal(md_policy_get(f.r, pid, f.a, &p), 0);
    assert_int_equal(p.default_version, 3);
    assert_int_equal(p.updated_ms, 500);
    assert_int_equal(md_policy_version_get(f.r, pid, 3, f.a, &v), 0);
    assert_true(v.is_default);
    assert_true(str_eq_c(v.document, "{\"v\":3}"));
    assert_int_equal(md_policy_version_get(f.r, pid, 1, f.a, &v), 0);
    assert_false(v.is_default);
    assert_int_equal(md_policy_version_get(f.r, pid, 9, f.a, &v), -ENOENT);
    assert_int_equal(md_policy_version_list(f.r, pid, false, f.a, &vs, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(vs[0].version, 5);
    assert_int_equal(vs[4].version, 1);
    assert_int_equal(vs[0].document.n, 0);
    assert_true(vs[2].is_default);
    assert_int_equal(md_policy_version_list(f.r, pid, true, f.a, &vs, &n), 0);
    assert_true(str_eq_c(vs[4].document, "{\"v\":1}"));

    assert_int_equal(ver(&f, OP_VERSION_DEL, pid, 3, NULL, false), -EBUSY);
    g0 = gen(&f);
    assert_int_equal(ver(&f, OP_VERSION_DEL, pid, 5, NULL, false), 0);
    assert_int_equal(gen(&f), g0 + 1);
    assert_int_equal(ver(&f, OP_VERSION_DEL, pid, 5, NULL, false), -ENOENT);
    assert_int_equal(ver(&f, OP_VERSION_ADD, pid, 0, "{\"v\":6}", false), 6);
    assert_int_equal(ver(&f, OP_SET_DEFAULT, pid, 6, NULL, false), 0);
    assert_int_equal(gen(&f), g0 + 2);
    assert_int_equal(ver(&f, OP_SET_DEFAULT, pid, 5, NULL, false), -ENOENT);
    assert_int_equal(md_policy_get(f.r, pid, f.a, &p), 0);
    assert_int_equal(p.default_version, 6);
    assert_int_equal(p.updated_ms, 600);

    /* Attached: not deleted; counted; listed. */
    assert_int_equal(ent(&f, OP_ATTACH, MD_ENT_USER, alice, NULL, arn), 0);
    assert_int_equal(ent(&f, OP_ATTACH, MD_ENT_USER, alice, NULL, arn), -EEXIST);
    assert_int_equal(ent(&f, OP_ATTACH, MD_ENT_USER, 999, NULL, arn), -ENOENT);
    assert_int_equal(md_policy_get(f.r, pid, f.a, &p), 0);
    assert_int_equal(p.attachment_count, 1);
    assert_int_equal(md_policy_attachment_count(f.r, acct, str_c(arn), &cnt), 0);
    assert_int_equal(cnt, 1);
    assert_int_equal(md_policy_entities(f.r, acct, str_c(arn), f.a, &es, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(es[0].kind, MD_ENT_USER);
    assert_int_equal(es[0].entity_id, alice);
    assert_true(str_eq_c(es[0].entity_name, "alice"));
    assert_int_equal(call2(&f, OP_POLICY_DEL, pid, 0), -ENOTEMPTY);
    assert_int_equal(ent(&f, OP_DETACH, MD_ENT_USER, alice, NULL, arn), 0);
    assert_int_equal(ent(&f, OP_DETACH, MD_ENT_USER, alice, NULL, arn), -ENOENT);
    g0 = gen(&f);
    assert_int_equal(call2(&f, OP_POLICY_DEL, pid, 0), 0);
    assert_int_equal(gen(&f), g0 + 1);
    assert_int_equal(md_policy_get(f.r, pid, f.a, &p), -ENOENT);
    assert_int_equal(md_policy_version_list(f.r, pid, false, f.a, &vs, &n), 0);
    assert_int_equal(n, 0);
    fx_close(&f);
}

/* ---- inline policies, attachments, one principal's policies ----------------- */

static void
test_inline(void **state)
{
    struct fx f;
    struct md_inline_policy ip, *ips;
    int64_t acct, alice, g0;
    size_t n;

    (void)state;
    fx_open(&f);
    acct = mk_account(&f, "acme");
    alice = mk_user(&f, acct, "alice");
    g0 = gen(&f);
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_USER, alice, "Read", "{\"a\":1}"), 0);
    assert_int_equal(gen(&f), g0 + 1);
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_USER, alice, "Write", "{\"b\":1}"), 0);
    /* Same name in another case: replaced, new spelling kept. */
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_USER, alice, "READ", "{\"a\":2}"), 0);
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_USER, 999, "x", "{}"), -ENOENT);
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_GROUP, alice, "x", "{}"), -ENOENT);
    assert_int_equal(ent(&f, OP_INLINE_PUT, (enum md_entity)7, alice, "x", "{}"), -EINVAL);
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_USER, alice, "x", ""), -EINVAL);
    assert_int_equal(md_inline_get(f.r, MD_ENT_USER, alice, STR_LIT("read"), f.a, &ip), 0);
    assert_true(str_eq_c(ip.name, "READ"));
    assert_true(str_eq_c(ip.document, "{\"a\":2}"));
    assert_int_equal(md_inline_get(f.r, MD_ENT_USER, alice, STR_LIT("nope"), f.a, &ip), -ENOENT);
    assert_int_equal(md_inline_list(f.r, MD_ENT_USER, alice, f.a, &ips, &n), 0);
    assert_int_equal(n, 2);
    assert_true(str_eq_c(ips[0].name, "READ"));
    assert_true(str_eq_c(ips[1].name, "Write"));
    assert_true(str_eq_c(ips[1].document, "{\"b\":1}"));
    g0 = gen(&f);
    assert_int_equal(ent(&f, OP_INLINE_DEL, MD_ENT_USER, alice, "write", NULL), 0);
    assert_int_equal(gen(&f), g0 + 1);
    assert_int_equal(ent(&f, OP_INLINE_DEL, MD_ENT_USER, alice, "write", NULL), -ENOENT);
    assert_int_equal(gen(&f), g0 + 1);
    fx_close(&f);
}

/* Finds the row of pp with that source kind, inline flag and name. */
static const struct md_principal_policy *
find_pp(const struct md_principal_policy *pp, size_t n, enum md_entity kind, bool is_inline,
        const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (pp[i].source_kind == kind && pp[i].is_inline == is_inline && str_eq_c(pp[i].name, name))
            return &pp[i];
    return NULL;
}

static void
test_principal_policies(void **state)
{
    static const char carn[] = "arn:aws:iam::000000000001:policy/Cust";
    struct fx f;
    struct opx x = {.op = OP_ROLE};
    struct md_principal_policy *pp;
    const struct md_principal_policy *e;
    struct str *arns;
    int64_t acct, alice, bob, dev, ops, pid;
    size_t n;

    (void)state;
    fx_open(&f);
    acct = mk_account(&f, "acme");
    alice = mk_user(&f, acct, "alice");
    bob = mk_user(&f, acct, "bob");
    assert_int_equal(mk_group(&f, acct, "dev", "AGPA1", &dev), 0);
    assert_int_equal(mk_group(&f, acct, "ops", "AGPA2", &ops), 0);
    assert_int_equal(mk_policy(&f, acct, "Cust", carn, "{\"c\":1}", &pid), 0);
    assert_int_equal(ver(&f, OP_VERSION_ADD, pid, 0, "{\"c\":2}", true), 2);

    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_USER, alice, "own", "{\"u\":1}"), 0);
    assert_int_equal(ent(&f, OP_ATTACH, MD_ENT_USER, alice, NULL, S3FULL), 0);
    assert_int_equal(ent(&f, OP_ATTACH, MD_ENT_USER, alice, NULL, carn), 0);
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_GROUP, dev, "devp", "{\"g\":1}"), 0);
    assert_int_equal(ent(&f, OP_ATTACH, MD_ENT_GROUP, dev, NULL, carn), 0);
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_GROUP, ops, "opsp", "{\"g\":2}"), 0);
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_USER, bob, "bobs", "{\"b\":1}"), 0);
    assert_int_equal(call2(&f, OP_MEMBER_ADD, dev, alice), 0);
    assert_int_equal(call2(&f, OP_MEMBER_ADD, ops, alice), 0);
    assert_int_equal(call2(&f, OP_MEMBER_ADD, ops, bob), 0);

    assert_int_equal(md_attached_list(f.r, MD_ENT_USER, alice, f.a, &arns, &n), 0);
    assert_int_equal(n, 2);
    assert_true(str_eq_c(arns[0], carn) && str_eq_c(arns[1], S3FULL)); /* ascending */

    assert_int_equal(md_principal_policies(f.r, MD_ENT_USER, alice, f.a, &pp, &n), 0);
    assert_int_equal(n, 6);
    e = find_pp(pp, n, MD_ENT_USER, true, "own");
    assert_non_null(e);
    assert_true(str_eq_c(e->document, "{\"u\":1}"));
    assert_true(str_eq_c(e->source_name, "alice"));
    assert_int_equal(e->source_id, alice);
    e = find_pp(pp, n, MD_ENT_USER, false, S3FULL);
    assert_non_null(e);
    assert_null(e->document.p); /* AWS managed: not stored */
    e = find_pp(pp, n, MD_ENT_USER, false, carn);
    assert_non_null(e);
    assert_true(str_eq_c(e->document, "{\"c\":2}")); /* the default version */
    e = find_pp(pp, n, MD_ENT_GROUP, true, "devp");
    assert_non_null(e);
    assert_true(str_eq_c(e->source_name, "dev"));
    assert_int_equal(e->source_id, dev);
    assert_true(str_eq_c(e->document, "{\"g\":1}"));
    e = find_pp(pp, n, MD_ENT_GROUP, false, carn);
    assert_non_null(e);
    assert_true(str_eq_c(e->source_name, "dev"));
    assert_true(str_eq_c(e->document, "{\"c\":2}"));
    assert_non_null(find_pp(pp, n, MD_ENT_GROUP, true, "opsp"));

    assert_int_equal(md_principal_policies(f.r, MD_ENT_USER, bob, f.a, &pp, &n), 0);
    assert_int_equal(n, 2);
    assert_non_null(find_pp(pp, n, MD_ENT_USER, true, "bobs"));
    assert_non_null(find_pp(pp, n, MD_ENT_GROUP, true, "opsp"));

    /* A role: its own policies only. */
    x.role.account_id = acct;
    x.role.name = STR_LIT("r");
    x.role.uid = STR_LIT("AROA1");
    x.role.trust_policy = STR_LIT("{}");
    assert_int_equal(op(&f, &x), 0);
    assert_int_equal(ent(&f, OP_ATTACH, MD_ENT_ROLE, x.role.id, NULL, carn), 0);
    assert_int_equal(md_principal_policies(f.r, MD_ENT_ROLE, x.role.id, f.a, &pp, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(pp[0].source_kind, MD_ENT_ROLE);
    assert_true(str_eq_c(pp[0].source_name, "r"));
    assert_true(str_eq_c(pp[0].document, "{\"c\":2}"));
    /* A group: its own. */
    assert_int_equal(md_principal_policies(f.r, MD_ENT_GROUP, dev, f.a, &pp, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(md_principal_policies(f.r, MD_ENT_USER, 999, f.a, &pp, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(md_principal_policies(f.r, (enum md_entity)0, alice, f.a, &pp, &n), -EINVAL);

    /* Deleting a user takes its inline policies, attachments, memberships. */
    assert_int_equal(call2(&f, OP_USER_DEL, alice, 0), 0);
    assert_int_equal(md_principal_policies(f.r, MD_ENT_USER, alice, f.a, &pp, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(md_attached_list(f.r, MD_ENT_USER, alice, f.a, &arns, &n), 0);
    assert_int_equal(n, 0);
    fx_close(&f);
}

/* ---- bucket, account and version access control --------------------------- */

static void
test_access(void **state)
{
    struct fx f;
    struct opx x = {0};
    struct md_bucket b;
    struct md_account acc;
    struct md_version v;
    struct md_grant g[3] = {
        {MD_GRANTEE_ID, MD_PERM_FULL_CONTROL, STR_LIT("abcdef0123")},
        {MD_GRANTEE_URI, MD_PERM_READ, STR_LIT("http://acs.amazonaws.com/groups/global/AllUsers")},
        {MD_GRANTEE_EMAIL, MD_PERM_WRITE_ACP, STR_LIT("a b@example.com")},
    };
    struct md_grant *out;
    struct str acl;
    int64_t acct, bkt, g0;
    size_t n;

    (void)state;
    fx_open(&f);
    acct = mk_account(&f, "acme");
    x.op = OP_BUCKET;
    x.account_id = acct;
    x.name = STR_LIT("bkt");
    assert_int_equal(op(&f, &x), 0);
    bkt = x.id;
    /* A new bucket: nothing set. */
    assert_int_equal(md_bucket_get(f.r, STR_LIT("bkt"), f.a, &b), 0);
    assert_null(b.policy.p);
    assert_null(b.acl.p);
    assert_int_equal(b.ownership, MD_OWN_NONE);
    assert_false(b.pab.configured);

    /* The codec. */
    assert_int_equal(md_acl_encode(g, 3, f.a, &acl), 0);
    assert_true(str_eq_c(acl, "id FULL_CONTROL abcdef0123\n"
                              "uri READ http://acs.amazonaws.com/groups/global/AllUsers\n"
                              "email WRITE_ACP a b@example.com\n"));
    assert_int_equal(md_acl_decode(acl, f.a, &out, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(out[i].kind, g[i].kind);
        assert_int_equal(out[i].perm, g[i].perm);
        assert_true(str_eq(out[i].grantee, g[i].grantee));
    }
    assert_int_equal(md_acl_decode(STR_NULL, f.a, &out, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(md_acl_decode(STR_LIT("id READ\n"), f.a, &out, &n), -EINVAL);
    assert_int_equal(md_acl_decode(STR_LIT("who READ x\n"), f.a, &out, &n), -EINVAL);
    assert_int_equal(md_acl_decode(STR_LIT("id READS x\n"), f.a, &out, &n), -EINVAL);
    g[0].grantee = STR_LIT("a\nb");
    assert_int_equal(md_acl_encode(g, 1, f.a, &acl), -EINVAL);
    g[0].grantee = STR_LIT("abcdef0123");
    assert_int_equal(md_acl_encode(g, 2, f.a, &acl), 0);

    /* Each bucket setting bumps the generation. */
    g0 = gen(&f);
    x = (struct opx){.op = OP_BKT_POLICY, .id = bkt, .s = STR_LIT("{ \"Version\" : 1 }")};
    assert_int_equal(op(&f, &x), 0);
    x = (struct opx){.op = OP_BKT_OWN, .id = bkt, .n = MD_OWN_WRITER};
    assert_int_equal(op(&f, &x), 0);
    x = (struct opx){.op = OP_BKT_PAB, .id = bkt};
    x.pab = (struct md_pab){
        .configured = true, .ignore_public_acls = true, .restrict_public_buckets = true};
    assert_int_equal(op(&f, &x), 0);
    x = (struct opx){.op = OP_BKT_ACL, .id = bkt, .s = acl};
    assert_int_equal(op(&f, &x), 0);
    assert_int_equal(gen(&f), g0 + 4);
    x = (struct opx){.op = OP_BKT_OWN, .id = bkt, .n = 9};
    assert_int_equal(op(&f, &x), -EINVAL);
    x = (struct opx){.op = OP_BKT_POLICY, .id = 999, .s = STR_LIT("{}")};
    assert_int_equal(op(&f, &x), -ENOENT);
    assert_int_equal(md_bucket_get(f.r, STR_LIT("bkt"), f.a, &b), 0);
    assert_true(str_eq_c(b.policy, "{ \"Version\" : 1 }")); /* byte-exact */
    assert_int_equal(b.ownership, MD_OWN_WRITER);
    assert_true(b.pab.configured && b.pab.ignore_public_acls && b.pab.restrict_public_buckets);
    assert_false(b.pab.block_public_acls || b.pab.block_public_policy);
    assert_true(str_eq(b.acl, acl));
    /* Removal. */
    x = (struct opx){.op = OP_BKT_POLICY, .id = bkt, .s = STR_NULL};
    assert_int_equal(op(&f, &x), 0);
    x = (struct opx){.op = OP_BKT_PAB, .id = bkt};
    assert_int_equal(op(&f, &x), 0);
    x = (struct opx){.op = OP_BKT_ACL, .id = bkt, .s = STR_NULL};
    assert_int_equal(op(&f, &x), 0);
    assert_int_equal(md_bucket_get(f.r, STR_LIT("bkt"), f.a, &b), 0);
    assert_null(b.policy.p);
    assert_null(b.acl.p);
    assert_false(b.pab.configured);

    /* The account's Block Public Access. */
    assert_int_equal(md_account_get(f.r, acct, f.a, &acc), 0);
    assert_false(acc.pab.configured);
    x = (struct opx){.op = OP_ACCT_PAB, .id = acct};
    x.pab =
        (struct md_pab){.configured = true, .block_public_acls = true, .block_public_policy = true};
    g0 = gen(&f);
    assert_int_equal(op(&f, &x), 0);
    assert_int_equal(gen(&f), g0 + 1);
    assert_int_equal(md_account_get(f.r, acct, f.a, &acc), 0);
    assert_true(acc.pab.configured && acc.pab.block_public_acls && acc.pab.block_public_policy);
    assert_false(acc.pab.ignore_public_acls || acc.pab.restrict_public_buckets);

    /* A version's ACL: stored apart from the insert, read by md_version_get. */
    x = (struct opx){.op = OP_VERSION};
    x.v.bucket_id = bkt;
    x.v.key = STR_LIT("k");
    x.v.owner_id = acct;
    x.v.inline_data = STR_LIT("data");
    x.v.size = 4;
    assert_int_equal(op(&f, &x), 0);
    assert_int_equal(md_version_get(f.r, bkt, STR_LIT("k"), STR_NULL, f.a, &v), 0);
    assert_null(v.acl.p);
    g0 = gen(&f);
    x = (struct opx){.op = OP_VERSION_ACL, .id = v.seq, .s = acl};
    assert_int_equal(op(&f, &x), 0);
    assert_int_equal(gen(&f), g0); /* read with the row: no cache to invalidate */
    assert_int_equal(md_version_get(f.r, bkt, STR_LIT("k"), v.version_id, f.a, &v), 0);
    assert_true(str_eq(v.acl, acl));
    assert_int_equal(v.owner_id, acct);
    x = (struct opx){.op = OP_VERSION_ACL, .id = 999, .s = acl};
    assert_int_equal(op(&f, &x), -ENOENT);
    fx_close(&f);
}

/* ---- account deletion --------------------------------------------------------- */

static void
test_account_delete(void **state)
{
    struct fx f;
    struct opx x = {.op = OP_ROLE};
    struct md_group *gs;
    struct md_policy *ps;
    struct md_role *rs;
    struct md_attachment *es;
    int64_t acct, keep, alice, carol, dev, pid, cnt;
    size_t n;

    (void)state;
    fx_open(&f);
    acct = mk_account(&f, "gone");
    keep = mk_account(&f, "keep");
    alice = mk_user(&f, acct, "alice");
    carol = mk_user(&f, keep, "carol");
    assert_int_equal(mk_group(&f, acct, "dev", "AGPA1", &dev), 0);
    assert_int_equal(call2(&f, OP_MEMBER_ADD, dev, alice), 0);
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_GROUP, dev, "p", "{}"), 0);
    assert_int_equal(mk_policy(&f, acct, "P", "arn:p", "{}", &pid), 0);
    assert_int_equal(ver(&f, OP_VERSION_ADD, pid, 0, "{}", false), 2);
    assert_int_equal(ent(&f, OP_ATTACH, MD_ENT_USER, alice, NULL, "arn:p"), 0);
    assert_int_equal(ent(&f, OP_ATTACH, MD_ENT_USER, alice, NULL, S3FULL), 0);
    assert_int_equal(ent(&f, OP_ATTACH, MD_ENT_USER, carol, NULL, S3FULL), 0);
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_USER, alice, "q", "{}"), 0);
    x.role.account_id = acct;
    x.role.name = STR_LIT("r");
    x.role.uid = STR_LIT("AROA1");
    x.role.trust_policy = STR_LIT("{}");
    assert_int_equal(op(&f, &x), 0);
    assert_int_equal(ent(&f, OP_INLINE_PUT, MD_ENT_ROLE, x.role.id, "r", "{}"), 0);

    assert_int_equal(call2(&f, OP_ACCT_DEL, acct, 0), 0);
    assert_int_equal(md_group_list(f.r, acct, f.a, &gs, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(md_role_list(f.r, acct, f.a, &rs, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(md_policy_list(f.r, acct, f.a, &ps, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(md_policy_entities(f.r, acct, STR_LIT(S3FULL), f.a, &es, &n), 0);
    assert_int_equal(n, 0);
    /* The other account keeps its attachment. */
    assert_int_equal(md_policy_attachment_count(f.r, keep, STR_LIT(S3FULL), &cnt), 0);
    assert_int_equal(cnt, 1);
    fx_close(&f);
}

/* ---- migration from schema 8 ---------------------------------------------------- */

static void
test_migrate_v8(void **state)
{
    struct fx f;
    struct md_audit *es;
    struct md_principal_policy *pp;
    struct str *arns;
    char path[160];
    sqlite3 *db;
    int64_t g;
    size_t n, n_mig = 0;
    int fd;

    (void)state;
    snprintf(f.dir, sizeof(f.dir), "/tmp/coffer-mdiam-XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    f.a = arena_new();
    snprintf(path, sizeof(path), "%s/master.key", f.dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789abcdef0123456789abcdef", 32), 32);
    close(fd);
    /* A schema-8 database made by the first eight steps, with users. */
    snprintf(path, sizeof(path), "%s/meta.db", f.dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL), SQLITE_OK);
    for (int i = 0; i < MD_MIGRATION_IAM; i++)
        assert_int_equal(sqlite3_exec(db, md_migrations[i], NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO accounts (id, name, canonical_id, created_ms)"
                                  "  VALUES (1, 'acme', 'aaaa', 1), (2, 'beta', 'bbbb', 2);"
                                  "INSERT INTO users (account_id, name, created_ms)"
                                  "  VALUES (1, 'alice', 3), (1, 'bob', 4), (2, 'carol', 5);"
                                  "INSERT INTO buckets (name, account_id, region, created_ms)"
                                  "  VALUES ('old', 1, 'us-east-1', 6);"
                                  "PRAGMA user_version = 8;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(md_open(f.dir, &f.md), 0);
    f.r = md_reader(f.md);
    /* Every user has AmazonS3FullAccess, and nothing else. */
    for (int64_t u = 1; u <= 3; u++) {
        assert_int_equal(md_attached_list(f.r, MD_ENT_USER, u, f.a, &arns, &n), 0);
        assert_int_equal(n, 1);
        assert_true(str_eq_c(arns[0], S3FULL));
        assert_int_equal(md_principal_policies(f.r, MD_ENT_USER, u, f.a, &pp, &n), 0);
        assert_int_equal(n, 1);
        assert_false(pp[0].is_inline);
    }
    assert_int_equal(md_policy_attachment_count(f.r, 1, STR_LIT(S3FULL), &g), 0);
    assert_int_equal(g, 2);
    /* One audit row per user. */
    assert_int_equal(md_audit_list(f.r, 0, 100, f.a, &es, &n), 0);
    for (size_t i = 0; i < n; i++) {
        if (!str_eq_c(es[i].event, "iam.migration"))
            continue;
        n_mig++;
        assert_true(strstr(es[i].detail.p, S3FULL) != NULL);
        assert_true(es[i].time_ms > 0);
    }
    assert_int_equal(n_mig, 3);
    assert_true(str_eq_c(es[0].principal, "account:acme/user:alice"));
    assert_true(str_eq_c(es[2].principal, "account:beta/user:carol"));
    assert_int_equal(md_policy_gen(f.r, &g), 0);
    assert_int_equal(g, 1);
    md_close(f.md);

    /* Reopening runs nothing again. */
    assert_int_equal(md_open(f.dir, &f.md), 0);
    f.r = md_reader(f.md);
    assert_int_equal(md_audit_list(f.r, 0, 100, f.a, &es, &n), 0);
    assert_int_equal(n, 3);
    /* Users made after the migration get nothing. */
    g = mk_user(&f, 1, "dave");
    assert_int_equal(md_attached_list(f.r, MD_ENT_USER, g, f.a, &arns, &n), 0);
    assert_int_equal(n, 0);
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_role_sessions),
        cmocka_unit_test(test_policies),
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_principal_policies),
        cmocka_unit_test(test_access),
        cmocka_unit_test(test_account_delete),
        cmocka_unit_test(test_migrate_v8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
