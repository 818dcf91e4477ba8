/* coffer.c -- the admin CLI: main(), the command table and argument
 * parsing, accounts, access keys and the bucket overview (IAM users are in
 * adm_user.c, MFA devices and the audit log in adm_mfa.c, multipart uploads
 * in adm_upload.c). It opens the server's data directory itself through
 * md.h (as LMDB's mdb_stat does; there is no admin port) and writes through
 * md_write(), so SQLite's locks serialize it with a running cofferd, which
 * sees the changes on its next read. Exit status: 0 ok, 1 user error, 2
 * internal error. */
#include "common.h"

#include "admin/adm.h"
#include "auth/keys.h"
#include "store/blob.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/str.h"
#include "util/tm.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#define DEFAULT_DATA_DIR "./data"
#define ACCOUNT_NAME_MAX 64
#define KEY_ID_MAX 128    /* longest id "key delete" will look up */
#define KEY_RETRIES 3     /* a random key id colliding even once is ~2^-93 */

/* Options; a command lists those it accepts and those it requires. */
#define OPT_JSON (1u << 0)
#define OPT_ACCOUNT (1u << 1)
#define OPT_USER (1u << 2)
#define OPT_SERIAL (1u << 3)
#define OPT_SEED (1u << 4)
#define OPT_CODE1 (1u << 5)
#define OPT_CODE2 (1u << 6)
#define OPT_NO_QR (1u << 7)
#define OPT_SINCE (1u << 8)
#define OPT_LIMIT (1u << 9)
#define OPT_BUCKET (1u << 10)
#define OPT_UPLOAD_ID (1u << 11)
#define OPT_OLDER_THAN (1u << 12)
#define OPT_ACTION (1u << 13)
#define OPT_RESOURCE (1u << 14)
#define OPT_DRY_RUN (1u << 15)
#define OPT_DAY (1u << 16)
#define OPT_TO (1u << 24)
#define OPT_INVERT (1u << 17)
#define OPT_FOLLOW (1u << 18)
#define OPT_NEWEST (1u << 19)
#define OPT_EVENT (1u << 20)
#define OPT_DAYS (1u << 27)
#define OPT_CONFIG_ID (1u << 28)
#define OPT_URL (1u << 30)
#define OPT_ROTATE (1u << 29)
#define OPT_BLOBS_TO (1u << 21)
#define OPT_FROM (1u << 22)
#define NO_VALUE SIZE_MAX

struct opt {
    const char *name;
    unsigned bit;
    size_t field; /* offsetof its value in struct adm_cli; NO_VALUE for flags */
};

static const struct opt opts[] = {
    {"--json", OPT_JSON, NO_VALUE},
    {"--no-qr", OPT_NO_QR, NO_VALUE},
    {"--invert", OPT_INVERT, NO_VALUE},
    {"--follow", OPT_FOLLOW, NO_VALUE},
    {"--dry-run", OPT_DRY_RUN, NO_VALUE},
    {"--rotate", OPT_ROTATE, NO_VALUE},
    {"--account", OPT_ACCOUNT, offsetof(struct adm_cli, account)},
    {"--user", OPT_USER, offsetof(struct adm_cli, user)},
    {"--serial", OPT_SERIAL, offsetof(struct adm_cli, serial)},
    {"--seed-base32", OPT_SEED, offsetof(struct adm_cli, seed_b32)},
    {"--code1", OPT_CODE1, offsetof(struct adm_cli, code1)},
    {"--code2", OPT_CODE2, offsetof(struct adm_cli, code2)},
    {"--since", OPT_SINCE, offsetof(struct adm_cli, since)},
    {"--limit", OPT_LIMIT, offsetof(struct adm_cli, limit)},
    {"--bucket", OPT_BUCKET, offsetof(struct adm_cli, bucket)},
    {"--upload-id", OPT_UPLOAD_ID, offsetof(struct adm_cli, upload_id)},
    {"--older-than", OPT_OLDER_THAN, offsetof(struct adm_cli, older_than)},
    {"--action", OPT_ACTION, offsetof(struct adm_cli, action)},
    {"--resource", OPT_RESOURCE, offsetof(struct adm_cli, resource)},
    {"--day", OPT_DAY, offsetof(struct adm_cli, day)},
    {"--to", OPT_TO, offsetof(struct adm_cli, to)},
    {"--newest", OPT_NEWEST, offsetof(struct adm_cli, newest)},
    {"--event", OPT_EVENT, offsetof(struct adm_cli, event)},
    {"--days", OPT_DAYS, offsetof(struct adm_cli, days)},
    {"--config-id", OPT_CONFIG_ID, offsetof(struct adm_cli, config_id)},
    {"--url", OPT_URL, offsetof(struct adm_cli, url)},
    {"--blobs-to", OPT_BLOBS_TO, offsetof(struct adm_cli, blobs_to)},
    {"--from", OPT_FROM, offsetof(struct adm_cli, from)},
};

struct cmd {
    const char *noun, *verb; /* verb NULL: the noun alone is the command */
    size_t n_args;           /* positionals after noun and verb */
    unsigned opts, req;      /* options accepted, options required */
    bool creates;            /* may create the data directory */
    int (*run)(struct adm_cli *cli);
    const char *usage, *help;
};

/* ---- helpers ------------------------------------------------------------ */

/* AWS-style names: 1-64 of [A-Za-z0-9_.@-]. */
static bool
account_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > ACCOUNT_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '@' || c == '-'))
            return false;
    }
    return true;
}

static const char *
versioning_name(enum md_versioning v)
{
    switch (v) {
    case MD_VER_ENABLED:
        return "Enabled";
    case MD_VER_SUSPENDED:
        return "Suspended";
    case MD_VER_NONE:
        break;
    }
    return "None";
}

static const char *
mfa_name(enum md_mfa m)
{
    switch (m) {
    case MD_MFA_ENABLED:
        return "Enabled";
    case MD_MFA_DISABLED:
        return "Disabled";
    case MD_MFA_UNSET:
        break;
    }
    return "None";
}

/* ---- writes (closures run in md's writer thread) ------------------------ */

enum stage { STAGE_ACCOUNT, STAGE_USER, STAGE_KEY };

struct key_job {
    struct str account_name;
    struct str user_name; /* STR_NULL: a root key */
    bool create_account;  /* false: the account must exist */
    int64_t now_ms;
    struct arena *a;
    struct md_key key; /* access_key_id and secret filled by the caller */
    int64_t account_id;
    enum stage failed_at;
};

static int
key_job_run(struct md_conn *c, void *arg)
{
    struct key_job *j = arg;
    struct md_account acct;
    struct md_user u;
    int rc;

    j->failed_at = STAGE_ACCOUNT;
    if (j->create_account) {
        rc = md_account_create(c, j->account_name, j->now_ms, &j->account_id);
    } else {
        rc = md_account_get_by_name(c, j->account_name, j->a, &acct);
        if (rc == 0)
            j->account_id = acct.id;
    }
    if (rc < 0)
        return rc;
    j->key.account_id = j->account_id;
    j->key.user_id = 0;
    if (j->user_name.p != NULL) {
        /* Looked up here, not before the write, so a user deleted meanwhile
         * cannot end up with a key. */
        j->failed_at = STAGE_USER;
        rc = md_user_get_by_name(c, j->account_id, j->user_name, j->a, &u);
        if (rc < 0)
            return rc;
        j->key.user_id = u.id;
    }
    j->failed_at = STAGE_KEY;
    return md_key_create(c, &j->key);
}

struct del_job {
    struct str name; /* account name or access key id */
    struct arena *a;
    int64_t account_id;
};

static int
account_delete_run(struct md_conn *c, void *arg)
{
    struct del_job *j = arg;
    struct md_account acct;
    int rc;

    rc = md_account_get_by_name(c, j->name, j->a, &acct);
    if (rc < 0)
        return rc;
    j->account_id = acct.id;
    return md_account_delete(c, acct.id);
}

static int
key_delete_run(struct md_conn *c, void *arg)
{
    struct del_job *j = arg;

    return md_key_delete(c, j->name);
}

/* Creates an access key for an account's root or one of its users
 * (creating the account first when asked), retrying on the astronomically
 * unlikely key id collision. */
static int
create_key(struct adm_cli *cli, const char *name, const char *user, bool create_account)
{
    char id[AUTH_KEY_ID_LEN + 1], secret[AUTH_SECRET_LEN + 1], created[32];
    struct key_job j = {0};
    struct md_account acct;
    int rc = 0, ret;

    for (int i = 0; i < KEY_RETRIES; i++) {
        rc = auth_key_new("CK", id, secret);
        if (rc < 0) {
            ret = adm_internal("RAND_bytes", rc);
            goto out;
        }
        memset(&j, 0, sizeof(j));
        j.account_name = str_c(name);
        j.user_name = user != NULL ? str_c(user) : STR_NULL;
        j.create_account = create_account;
        j.now_ms = tm_now_ms();
        j.a = cli->a;
        j.key.access_key_id = str_make(id, AUTH_KEY_ID_LEN);
        j.key.secret = str_make(secret, AUTH_SECRET_LEN);
        j.key.created_ms = j.now_ms;
        j.key.is_active = true;
        rc = md_write(cli->md, key_job_run, &j);
        if (!(rc == -EEXIST && j.failed_at == STAGE_KEY))
            break;
    }
    if (rc == -EEXIST && j.failed_at == STAGE_ACCOUNT) {
        ret = adm_fail("account '%s' already exists", name);
        goto out;
    }
    if (rc == -ENOENT && j.failed_at == STAGE_ACCOUNT) {
        ret = adm_fail("no such account '%s'", name);
        goto out;
    }
    if (rc == -ENOENT && j.failed_at == STAGE_USER) {
        ret = adm_fail("no such user '%s' in account '%s'", user, name);
        goto out;
    }
    if (rc < 0) {
        ret = adm_internal(create_account ? "creating account" : "creating key", rc);
        goto out;
    }
    rc = md_account_get(md_reader(cli->md), j.account_id, cli->a, &acct);
    if (rc < 0) {
        ret = adm_internal("reading the account back", rc);
        goto out;
    }
    adm_iso_time(j.key.created_ms, created);
    if (cli->json) {
        ret = adm_print_json(
            json_pack("{s:o, s:o, s:o, s:o, s:s, s:s, s:s}", "account_id", adm_jacct(acct.id),
                      "name", adm_jstr(acct.name), "canonical_id", adm_jstr(acct.canonical_id),
                      "user", user != NULL ? json_string(user) : json_null(), "access_key_id", id,
                      "secret_access_key", secret, "created", created));
        goto out;
    }
    printf("account_id:        %012lld\n"
           "name:              %.*s\n"
           "canonical_id:      %.*s\n",
           (long long)acct.id, STR_FMT(acct.name), STR_FMT(acct.canonical_id));
    if (user != NULL)
        printf("user:              %s\n", user);
    printf("access_key_id:     %s\n"
           "secret_access_key: %s\n",
           id, secret);
    ret = 0;
out:
    OPENSSL_cleanse(secret, sizeof(secret));
    return ret;
}

/* ---- commands ----------------------------------------------------------- */

static int
cmd_account_create(struct adm_cli *cli)
{
    const char *name = cli->args[0];

    if (!account_name_ok(name))
        return adm_fail("invalid account name '%s': use 1-%d characters of A-Z a-z 0-9 _ . @ -",
                        name, ACCOUNT_NAME_MAX);
    return create_key(cli, name, NULL, true);
}

static int
cmd_account_list(struct adm_cli *cli)
{
    struct md_account *accts;
    char created[32];
    size_t n;
    json_t *arr;
    int rc;

    rc = md_account_list(md_reader(cli->md), cli->a, &accts, &n);
    if (rc < 0)
        return adm_internal("listing accounts", rc);
    if (cli->json) {
        arr = json_array();
        for (size_t i = 0; arr != NULL && i < n; i++) {
            json_t *o =
                json_pack("{s:o, s:o, s:o, s:s}", "account_id", adm_jacct(accts[i].id), "name",
                          adm_jstr(accts[i].name), "canonical_id", adm_jstr(accts[i].canonical_id),
                          "created", adm_iso_time(accts[i].created_ms, created));
            if (json_array_append_new(arr, o) < 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        return adm_print_json(arr);
    }
    printf("%-12s %-24s %-64s %s\n", "ID", "NAME", "CANONICAL_ID", "CREATED");
    for (size_t i = 0; i < n; i++)
        printf("%012lld %-24.*s %-64.*s %s\n", (long long)accts[i].id, STR_FMT(accts[i].name),
               STR_FMT(accts[i].canonical_id), adm_iso_time(accts[i].created_ms, created));
    return 0;
}

static int
cmd_account_delete(struct adm_cli *cli)
{
    const char *name = cli->args[0];
    struct del_job j = {.name = str_c(name), .a = cli->a};
    struct md_bucket *bkts;
    size_t n = 0;
    int rc;

    rc = md_write(cli->md, account_delete_run, &j);
    if (rc == -ENOENT)
        return adm_fail("no such account '%s'", name);
    if (rc == -ENOTEMPTY) {
        /* Name the buckets so the operator knows what to empty first. */
        if (md_bucket_list(md_reader(cli->md), j.account_id, cli->a, &bkts, &n) < 0)
            n = 0;
        fprintf(stderr, "coffer: account '%s' still owns %zu bucket(s); delete them first:", name,
                n);
        for (size_t i = 0; i < n && i < 10; i++)
            fprintf(stderr, " %.*s", STR_FMT(bkts[i].name));
        fputs(n > 10 ? " ...\n" : "\n", stderr);
        return ADM_EXIT_USER;
    }
    if (rc < 0)
        return adm_internal("deleting account", rc);
    printf("deleted account '%s' and its access keys\n", name);
    return 0;
}

static int
cmd_key_create(struct adm_cli *cli)
{
    if (!account_name_ok(cli->account))
        return adm_fail("no such account '%s'", cli->account);
    if (cli->user != NULL && !adm_iam_name_ok(cli->user, ADM_IAM_NAME_MAX))
        return adm_fail("no such user '%s' in account '%s'", cli->user, cli->account);
    return create_key(cli, cli->account, cli->user, false);
}

/* The user's name from the account's user list (STR_NULL for root or a
 * user that vanished between the two reads). */
static struct str
user_name_of(const struct md_user *users, size_t n, int64_t id)
{
    for (size_t i = 0; id > 0 && i < n; i++) {
        if (users[i].id == id)
            return users[i].name;
    }
    return STR_NULL;
}

static int
cmd_key_list(struct adm_cli *cli)
{
    struct md_conn *c = md_reader(cli->md);
    struct adm_principal p;
    struct md_user *users;
    struct md_key *keys;
    char created[32], expires[32];
    size_t n, n_users;
    json_t *arr;
    int rc;

    rc = adm_principal_get(cli, cli->account, NULL, &p);
    if (rc != 0)
        return rc;
    rc = md_key_list(c, p.account.id, cli->a, &keys, &n);
    if (rc < 0)
        return adm_internal("listing keys", rc);
    rc = md_user_list(c, p.account.id, cli->a, &users, &n_users);
    if (rc < 0)
        return adm_internal("listing users", rc);
    /* Secrets are never printed here, whatever md_key_list filled in. */
    if (cli->json) {
        arr = json_array();
        for (size_t i = 0; arr != NULL && i < n; i++) {
            struct str user = user_name_of(users, n_users, keys[i].user_id);
            json_t *o = json_pack(
                "{s:o, s:o, s:o, s:I, s:o, s:s, s:s, s:o}", "access_key_id",
                adm_jstr(keys[i].access_key_id), "account_id", adm_jacct(keys[i].account_id),
                "name", adm_jstr(p.account.name), "user_id", (json_int_t)keys[i].user_id, "user",
                keys[i].user_id == 0 ? json_null() : adm_jstr(user), "status",
                keys[i].is_active ? "Active" : "Inactive", "created",
                adm_iso_time(keys[i].created_ms, created), "expires",
                keys[i].expires_ms > 0 ? json_string(adm_iso_time(keys[i].expires_ms, expires))
                                       : json_null());
            if (json_array_append_new(arr, o) < 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        return adm_print_json(arr);
    }
    printf("%-20s %-24s %-8s %-24s %s\n", "ACCESS_KEY_ID", "USER", "STATUS", "CREATED", "EXPIRES");
    for (size_t i = 0; i < n; i++) {
        adm_put(stdout, keys[i].access_key_id, 20);
        fputc(' ', stdout);
        if (keys[i].user_id == 0)
            printf("%-24s", "(root)");
        else
            adm_put(stdout, user_name_of(users, n_users, keys[i].user_id), 24);
        printf(" %-8s %-24s %s\n", keys[i].is_active ? "Active" : "Inactive",
               adm_iso_time(keys[i].created_ms, created),
               keys[i].expires_ms > 0 ? adm_iso_time(keys[i].expires_ms, expires) : "-");
    }
    return 0;
}

static int
cmd_key_delete(struct adm_cli *cli)
{
    const char *id = cli->args[0];
    struct del_job j = {.name = str_c(id), .a = cli->a};
    int rc;

    if (j.name.n == 0 || j.name.n > KEY_ID_MAX)
        return adm_fail("no such access key '%s'", id);
    rc = md_write(cli->md, key_delete_run, &j);
    if (rc == -ENOENT)
        return adm_fail("no such access key '%s'", id);
    if (rc < 0)
        return adm_internal("deleting key", rc);
    printf("deleted access key %s\n", id);
    return 0;
}

/* The owner's name, from the account list (NULL-p str if it vanished). */
static struct str
owner_name(const struct md_account *accts, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++) {
        if (accts[i].id == id)
            return accts[i].name;
    }
    return STR_NULL;
}

static int
cmd_bucket_list(struct adm_cli *cli)
{
    struct md_conn *c = md_reader(cli->md);
    struct md_account *accts;
    struct md_bucket *bkts;
    size_t n_accts, n, n_mfa = 0;
    char created[32];
    json_t *arr, *doc;
    int rc;

    rc = md_account_list(c, cli->a, &accts, &n_accts);
    if (rc < 0)
        return adm_internal("listing accounts", rc);
    rc = md_bucket_list(c, 0, cli->a, &bkts, &n);
    if (rc < 0)
        return adm_internal("listing buckets", rc);
    for (size_t i = 0; i < n; i++)
        n_mfa += bkts[i].mfa_delete == MD_MFA_ENABLED;
    if (cli->json) {
        arr = json_array();
        for (size_t i = 0; arr != NULL && i < n; i++) {
            struct str owner = owner_name(accts, n_accts, bkts[i].account_id);
            json_t *o = json_pack(
                "{s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:b}", "name", adm_jstr(bkts[i].name), "owner",
                adm_jstr(owner), "owner_account_id", adm_jacct(bkts[i].account_id), "region",
                adm_jstr(bkts[i].region), "created", adm_iso_time(bkts[i].created_ms, created),
                "versioning", versioning_name(bkts[i].versioning), "mfa_delete",
                mfa_name(bkts[i].mfa_delete), "has_lifecycle", bkts[i].lifecycle.p != NULL);
            if (json_array_append_new(arr, o) < 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        doc = arr == NULL
                  ? NULL
                  : json_pack("{s:o, s:I, s:I}", "buckets", arr, "mfa_delete_enabled_bucket_count",
                              (json_int_t)n_mfa, "distinct_number_of_buckets", (json_int_t)n);
        return adm_print_json(doc);
    }
    printf("%-40s %-24s %-24s %-10s %s\n", "NAME", "OWNER", "CREATED", "VERSIONING", "MFA_DELETE");
    for (size_t i = 0; i < n; i++) {
        struct str owner = owner_name(accts, n_accts, bkts[i].account_id);
        adm_put(stdout, bkts[i].name, 40);
        fputc(' ', stdout);
        adm_put(stdout, owner, 24);
        printf(" %-24s %-10s %s\n", adm_iso_time(bkts[i].created_ms, created),
               versioning_name(bkts[i].versioning), mfa_name(bkts[i].mfa_delete));
    }
    /* AWS: Storage Lens's MFADeleteEnabledBucketCount and the derived
     * "% MFA delete-enabled buckets" over DistinctNumberOfBuckets
     * [spec-mfa-delete §8]. Rounded to the nearest percent. */
    printf("MFADeleteEnabledBucketCount: %zu of DistinctNumberOfBuckets: %zu (%zu%%)\n", n_mfa, n,
           n == 0 ? (size_t)0 : (n_mfa * 100 + n / 2) / n);
    return 0;
}

static const struct cmd cmds[] = {
    {"account", "create", 1, OPT_JSON, 0, true, cmd_account_create, "account create NAME [--json]",
     "Creates account NAME (1-64 of A-Z a-z 0-9 _ . @ -) and a root access key;\n"
     "prints the account id, the key id and the secret (shown only here)."},
    {"account", "list", 0, OPT_JSON, 0, false, cmd_account_list, "account list [--json]",
     "Lists accounts: id, name, canonical id, creation time."},
    {"account", "delete", 1, 0, 0, false, cmd_account_delete, "account delete NAME",
     "Deletes account NAME and its access keys; refused while it owns buckets."},
    {"user", "create", 1, OPT_ACCOUNT | OPT_JSON, OPT_ACCOUNT, false, adm_user_create,
     "user create --account A NAME [--json]",
     "Creates IAM user NAME (1-64 of A-Z a-z 0-9 _ + = , . @ -) in account A. A user\n"
     "may call every S3 action on its account's buckets, except changing MFA delete,\n"
     "changing versioning on an MFA-delete bucket and deleting versions there, which\n"
     "only the account's root may do. Give it keys with 'coffer key create --user'."},
    {"user", "list", 0, OPT_ACCOUNT | OPT_JSON, OPT_ACCOUNT, false, adm_user_list,
     "user list --account A [--json]", "Lists the IAM users of account A."},
    {"user", "delete", 1, OPT_ACCOUNT, OPT_ACCOUNT, false, adm_user_delete,
     "user delete --account A NAME",
     "Deletes IAM user NAME of account A and its access keys; refused while an MFA\n"
     "device is assigned to it (deactivate the device first)."},
    {"key", "create", 0, OPT_ACCOUNT | OPT_USER | OPT_JSON, OPT_ACCOUNT, false, cmd_key_create,
     "key create --account A [--user U] [--json]",
     "Creates an access key and prints its secret (shown only here): for IAM user U\n"
     "of account A with --user, else another root key of account A."},
    {"key", "list", 0, OPT_ACCOUNT | OPT_JSON, OPT_ACCOUNT, false, cmd_key_list,
     "key list --account A [--json]",
     "Lists the access keys of account A with the principal they belong to (the\n"
     "root or an IAM user) and their status; never secrets."},
    {"key", "delete", 1, 0, 0, false, cmd_key_delete, "key delete ACCESS_KEY_ID",
     "Deletes an access key; requests signed with it fail from then on."},
    {"bucket", "list", 0, OPT_JSON, 0, false, cmd_bucket_list, "bucket list [--json]",
     "Lists every bucket: name, owner, creation time, versioning and MFA delete state,\n"
     "then the line 'MFADeleteEnabledBucketCount: X of DistinctNumberOfBuckets: Y (Z%)'\n"
     "(S3 Storage Lens's metric). --json prints {\"buckets\": [...],\n"
     "\"mfa_delete_enabled_bucket_count\": X, \"distinct_number_of_buckets\": Y}."},
    {"mfa", "enroll", 1, OPT_ACCOUNT | OPT_USER | OPT_SEED | OPT_NO_QR | OPT_INVERT, OPT_ACCOUNT,
     false, adm_mfa_enroll,
     "mfa enroll --account A [--user U] [--seed-base32 S] [--no-qr | --invert] NAME",
     "Creates virtual MFA device NAME (serial arn:aws:iam::<12-digit account id>:mfa/NAME)\n"
     "for the root of account A, or for its IAM user U. Prints the otpauth:// URI and\n"
     "its QR code (scan it with an authenticator app), then reads two consecutive\n"
     "codes from stdin (prompts 'Code 1: ' and 'Code 2: ' when stdin is a terminal,\n"
     "one code per line otherwise) and enables the device. If the codes are not two\n"
     "consecutive valid codes, nothing is stored and the command exits 1: run it again\n"
     "(a new seed, so scan the new QR code) with the same NAME.\n"
     "  --seed-base32 S  use this seed (base32, 16-64 bytes) instead of 20 random bytes\n"
     "                   (for scripted enrolment and tests); @FILE reads it from FILE\n"
     "  --no-qr          print the URI only\n"
     "  --invert         draw the QR code's light modules as blocks, for a dark terminal\n"
     "                   that shows it unreadable\n"
     "Both codes are used up once enrolled: it prints how many seconds until the app\n"
     "shows the next code, the first one x-amz-mfa can carry."},
    {"mfa", "add-hardware", 0,
     OPT_ACCOUNT | OPT_USER | OPT_SERIAL | OPT_SEED | OPT_CODE1 | OPT_CODE2,
     OPT_ACCOUNT | OPT_SERIAL | OPT_SEED, false, adm_mfa_add_hardware,
     "mfa add-hardware --account A [--user U] --serial SERIAL --seed-base32 SEED\n"
     "                         [--code1 C --code2 C]",
     "Registers a hardware TOTP token (RFC 6238, SHA-1, 30 s, 6 digits) for the root of\n"
     "account A or its IAM user U and enables it. SERIAL is the number printed on the\n"
     "token (1-256 of A-Z a-z 0-9 _ + = / : , . @ -, not starting with 'arn:'); SEED is\n"
     "the token's secret in base32 (16-64 bytes), as found in the vendor's seed file;\n"
     "@FILE reads it from FILE, which keeps it out of the process list.\n"
     "With --code1/--code2 (two consecutive codes shown by the token) the seed is\n"
     "checked first; without them the token is enabled unverified, so a wrong seed\n"
     "only shows at the first use (then 'coffer mfa delete' and add it again)."},
    {"mfa", "list", 0, OPT_ACCOUNT | OPT_JSON, 0, false, adm_mfa_list,
     "mfa list [--account A] [--json]",
     "Lists MFA devices (of account A, or of every account): serial, principal,\n"
     "virtual or hardware, enabled, enable date. Seeds are never shown."},
    {"mfa", "resync", 2, OPT_SERIAL, OPT_SERIAL, false, adm_mfa_resync,
     "mfa resync --serial SERIAL CODE1 CODE2",
     "Resynchronizes an enabled device whose clock drifted: CODE1 and CODE2 are two\n"
     "consecutive codes it shows now (searched within 24 hours either side)."},
    {"mfa", "deactivate", 0, OPT_SERIAL, OPT_SERIAL, false, adm_mfa_deactivate,
     "mfa deactivate --serial SERIAL",
     "Unassigns the device from its principal (e.g. a lost phone); its codes stop\n"
     "working at once. Warns when that leaves an account with MFA-delete buckets\n"
     "without an enabled root device."},
    {"mfa", "delete", 0, OPT_SERIAL, OPT_SERIAL, false, adm_mfa_delete,
     "mfa delete --serial SERIAL", "Deletes a deactivated device (and its seed) for good."},
    {"audit", NULL, 0,
     OPT_SINCE | OPT_LIMIT | OPT_NEWEST | OPT_BUCKET | OPT_EVENT | OPT_FOLLOW | OPT_JSON, 0, false,
     adm_audit,
     "audit [--since ID] [--limit N | --newest N] [--bucket B] [--event E] [--follow] [--json]",
     "Prints the audit log of MFA-relevant events, oldest first: id, time, event,\n"
     "principal, bucket, key, version, source (client address or 'cli'), detail.\n"
     "  --since ID   only entries after entry ID\n"
     "  --limit N    at most N entries\n"
     "  --newest N   only the N newest entries (that pass the filters)\n"
     "  --bucket B   only entries about bucket B\n"
     "  --event E    only event E, or the events under it ('mfa' for mfa.*)\n"
     "  --follow     then keep printing new entries as the server records them, until\n"
     "               interrupted (with --json: one JSON object per line)"},
    {"upload", "list", 0, OPT_BUCKET | OPT_OLDER_THAN | OPT_JSON, 0, false, adm_upload_list,
     "upload list [--bucket B] [--older-than DUR] [--json]",
     "Lists in-progress multipart uploads, oldest first: bucket, key, upload id,\n"
     "initiation time (UTC), age, owner account, number of parts and their bytes.\n"
     "--json prints an array of {\"bucket\", \"key\", \"upload_id\", \"initiated\",\n"
     "\"parts\", \"bytes\", \"account\"}.\n"
     "  --bucket B        only the uploads into bucket B\n"
     "  --older-than DUR  only uploads initiated at least DUR ago: N followed by s, m,\n"
     "                    h or d (30s, 90m, 12h, 7d); a plain N is seconds"},
    {"upload", "abort", 0, OPT_UPLOAD_ID | OPT_OLDER_THAN | OPT_BUCKET, 0, false, adm_upload_abort,
     "upload abort (--upload-id ID | --older-than DUR) [--bucket B]",
     "Aborts multipart uploads as S3 AbortMultipartUpload does: the upload and its\n"
     "parts are gone at once (also for a running server) and the part files are\n"
     "deleted. Prints how many uploads were aborted and the bytes freed.\n"
     "  --upload-id ID    the upload with this id\n"
     "  --older-than DUR  every upload initiated at least DUR ago (as in 'upload list')\n"
     "  --bucket B        only uploads into bucket B (with --upload-id: refuse an\n"
     "                    upload of another bucket)\n"
     "Give exactly one of --upload-id and --older-than."},
    {"metrics", "token", 0, OPT_ROTATE, 0, false, adm_metrics_token, "metrics token [--rotate]",
     "Prints the bearer token of cofferd's /metrics (on --admin-listen), kept in\n"
     "DIR/metrics.token (mode 0600, made on cofferd's first start, or here if missing).\n"
     "  --rotate  writes a new random token (temp file, then rename) and prints it;\n"
     "            a running cofferd takes it at the next scrape and refuses the old one"},
    {"dashboard", NULL, 0, OPT_ACCOUNT | OPT_URL, OPT_ACCOUNT, false, adm_dashboard,
     "dashboard --account A [--url BASE]",
     "Prints a one-time login link to the web dashboard of account A (its name or\n"
     "12-digit id) on cofferd's admin listener: BASE/login?token=... It is valid for 5\n"
     "minutes and works once; opening it starts a 12-hour browser session showing A's\n"
     "storage, trends, buckets, data protection and recent MFA events.\n"
     "  --url BASE  the admin listener as the browser reaches it (default: https://HOST:PORT\n"
     "              of 'admin-listen = HOST:PORT' in DIR/cofferd.conf if that file has\n"
     "              one, else https://127.0.0.1:9001)"},
    {"backup", NULL, 0, OPT_TO, OPT_TO, false, adm_backup, "backup --to DIR",
     "Copies the data directory into DIR (new or empty) while cofferd runs: a\n"
     "consistent snapshot of meta.db (SQLite's online backup), every data file that\n"
     "snapshot references, master.key (mode 0600) and tls/. To restore: stop cofferd,\n"
     "move DIR into place as the data directory, start cofferd. Fails, and says so,\n"
     "if a referenced data file was reclaimed before it was copied (a backup slower\n"
     "than cofferd's --reclaim-grace); uploads aborted meanwhile are left out."},
    {"migrate", NULL, 0, OPT_TO | OPT_BLOBS_TO | OPT_FROM | OPT_JSON, OPT_TO, false, adm_migrate,
     "migrate [--from sqlite:PATH] --to postgresql://... [--blobs-to URL] [--json]",
     "Moves an embedded store's metadata (DIR/meta.db, or --meta / --from\n"
     "sqlite:PATH) into PostgreSQL, for many gateways on one store: every table row\n"
     "for row with the same ids, the counters and the master key's check value (the\n"
     "same --master-key opens the copy), in one PostgreSQL transaction: all or\n"
     "nothing. The database must hold no Coffer rows yet (a new one, or one only a\n"
     "cofferd without clients opened); otherwise nothing is done (exit 1).\n"
     "  --blobs-to URL  also copy the object data to that data store (file:PATH or\n"
     "                  rados://...), before the metadata; then start cofferd with\n"
     "                  --blobs URL. Without it, the new store's metadata names the\n"
     "                  data where it is (--blobs), for gateways that all reach it.\n"
     "The source is read in one snapshot, so it may run while cofferd runs, but\n"
     "writes after the snapshot are not copied: stop cofferd first for a cut-over.\n"
     "Prints the rows copied per table, the data copied and the time taken."},
    {"lifecycle", "run", 0, OPT_BUCKET | OPT_DRY_RUN | OPT_DAY | OPT_JSON, 0, false,
     adm_lifecycle_run, "lifecycle run [--bucket B] [--dry-run] [--day SECONDS] [--json]",
     "Runs one lifecycle pass now, as cofferd's executor does (also while it runs):\n"
     "every bucket with a lifecycle configuration, or bucket B, resuming a pass a\n"
     "crash interrupted. Prints each action: bucket, key, version, action, rule, and\n"
     "what came of it (done; stale: the object changed since it was read; ...).\n"
     "  --dry-run      print the actions due, change nothing\n"
     "  --day SECONDS  the length of a lifecycle day (default 86400), as cofferd's\n"
     "                 --lifecycle-day\n"
     "--json prints {\"actions\": [...], \"buckets\", \"versions\", \"uploads\",\n"
     "\"due\", \"done\"}. Data of deleted versions is removed by cofferd's reaper\n"
     "after its grace period."},
    {"lens", "export", 0, OPT_ACCOUNT | OPT_CONFIG_ID | OPT_DAY | OPT_JSON,
     OPT_ACCOUNT | OPT_CONFIG_ID, false, adm_lens_export,
     "lens export --account A --config-id ID [--day YYYY-MM-DD] [--json]",
     "Writes one S3 Storage Lens metrics export of configuration ID of account A (its\n"
     "name or 12-digit id) now: the CSV report, then manifest.json, as objects in the\n"
     "configuration's destination bucket under PREFIX/StorageLens/ACCOUNT/ID/V_1/\n"
     "(reports|manifests)/dt=DAY/. Figures are usage accounting's as of DAY (its latest\n"
     "refresh on or before it; 'coffer usage refresh' makes one now): ACCOUNT and BUCKET\n"
     "records of the free metrics. A day already delivered is not written again.\n"
     "  --day YYYY-MM-DD  the report day (default: yesterday, UTC)"},
    {"usage", "refresh", 0, OPT_BUCKET | OPT_JSON, 0, false, adm_usage_refresh,
     "usage refresh [--bucket B] [--json]",
     "Refreshes usage accounting now, as cofferd does at start and every\n"
     "--usage-interval seconds (also while it runs): reads every bucket's versions and\n"
     "incomplete multipart uploads (or only bucket B's) and stores today's (UTC)\n"
     "figures. A full refresh also closes the history of deleted buckets and prunes\n"
     "rows older than 15 months."},
    {"usage", "show", 0, OPT_ACCOUNT | OPT_DAYS | OPT_JSON, 0, false, adm_usage_show,
     "usage show [--account A] [--days N] [--json]",
     "Prints each bucket's figures as of the latest refresh (of account A, or of every\n"
     "account): versioning and MFA delete state, current and noncurrent versions and\n"
     "bytes, delete markers, incomplete multipart uploads and the bytes of their parts,\n"
     "then the totals (buckets, versioning-enabled and MFA-delete-enabled buckets,\n"
     "ObjectCount, StorageBytes as S3 Storage Lens counts them).\n"
     "  --days N  also the daily totals of the last N days (1-457), today last\n"
     "--json prints {\"buckets\": [...], \"total\": {...}, \"daily\": [...]} with the\n"
     "figures under Storage Lens's metric names."},
    {"policy", "simulate", 0, OPT_ACCOUNT | OPT_USER | OPT_ACTION | OPT_RESOURCE | OPT_JSON,
     OPT_ACCOUNT | OPT_ACTION | OPT_RESOURCE, false, adm_policy_simulate,
     "policy simulate --account A [--user U] --action ACTION --resource ARN [--json]",
     "Says whether account A's root (or its IAM user U) may perform ACTION\n"
     "(s3:GetObject, iam:CreateUser, ...) on the resource ARN\n"
     "(arn:aws:s3:::bucket/key, arn:aws:iam::ACCOUNT:user/NAME, \"*\"), from the same\n"
     "policies a request would meet: the user's inline and attached policies and its\n"
     "groups', and the bucket policy of the bucket the ARN names. Prints the decision\n"
     "(allowed, explicitDeny, implicitDeny) and the statement that made it. Condition\n"
     "keys are absent in a simulation: statements that need one are listed."},
};

/* ---- argument handling -------------------------------------------------- */

/* The config file's values, kept for the life of the process. */
static char *conf_values[3];

static int
conf_line(void *arg, const char *name, const char *val)
{
    static const char *const names[] = {"blobs", "meta", "master-key"};
    struct adm_cli *cli = arg;
    const char **field[] = {&cli->blobs, &cli->meta, &cli->master_key};

    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        if (strcmp(name, names[i]) != 0)
            continue;
        if (conf_values[i] == NULL) {
            conf_values[i] = xstrdup(val);
            if (*field[i] == NULL) /* an option given wins */
                *field[i] = conf_values[i];
        }
    }
    return 0; /* cofferd's other settings are not the CLI's business */
}

/* Where the store is, from cofferd's config file: --config FILE, or
 * DIR/cofferd.conf if it exists; 0 or an exit status. */
static int
store_conf(struct adm_cli *cli)
{
    char path[4096];
    int rc;

    if (cli->config == NULL) {
        if ((size_t)snprintf(path, sizeof(path), "%s/cofferd.conf", cli->data) >= sizeof(path))
            return adm_fail("--data: path too long");
        if (access(path, F_OK) != 0)
            return 0;
    } else {
        snprintf(path, sizeof(path), "%s", cli->config);
    }
    rc = conf_each(path, conf_line, cli);
    if (rc < 0)
        return adm_fail("%s: %s", path, strerror(-rc));
    if (rc > 0)
        return adm_fail("%s:%d: not a 'name = value' line", path, rc);
    return 0;
}

static void
usage(FILE *fp, const char *noun)
{
    fprintf(fp, "usage: coffer [--data DIR] [--config FILE] [--blobs URL] [--meta URL] "
                "[--master-key FILE] COMMAND ...\n\n"
                "  --data DIR   the server's data directory (default " DEFAULT_DATA_DIR ")\n"
                "  --blobs URL  where cofferd keeps object data, as its --blobs: file:PATH\n"
                "               (default DIR/blobs) or rados://POOL?conf=CEPH_CONF[&id=CLIENT]\n"
                "  --meta URL   where cofferd keeps metadata, as its --meta: sqlite:PATH\n"
                "               (default DIR/meta.db) or postgresql://...\n"
                "  --master-key FILE  the store's master key, as cofferd's (default\n"
                "               DIR/master.key)\n"
                "  --config FILE  cofferd's config file: its blobs, meta and master-key\n"
                "               lines apply unless given as options (default\n"
                "               DIR/cofferd.conf when it exists)\n"
                "  --help, -h   help for coffer or for one command\n"
                "  --version    print the version and exit\n\ncommands:\n");
    for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
        if (noun == NULL || strcmp(noun, cmds[i].noun) == 0)
            fprintf(fp, "  coffer %s\n", cmds[i].usage);
    }
}

static void
cmd_usage(FILE *fp, const struct cmd *cmd)
{
    fprintf(fp, "usage: coffer [--data DIR] [--config FILE] [--blobs URL] [--meta URL] "
                "[--master-key FILE] %s\n\n%s\n",
            cmd->usage, cmd->help);
}

/* Option with a value, as "--opt VALUE" or "--opt=VALUE". Returns 1 if
 * argv[*i] is opt (value in *val, *i advanced), 0 if not, -1 if the value
 * is missing. */
static int
opt_value(int argc, char **argv, int *i, const char *opt, const char **val)
{
    size_t n = strlen(opt);

    if (strncmp(argv[*i], opt, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

/* One option at argv[*i]: 1 if recognized, or an exit status. */
static int
parse_opt(struct adm_cli *cli, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    int rc;

    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        cli->help = true;
        return 1;
    }
    rc = opt_value(argc, argv, i, "--data", &cli->data);
    if (rc != 0)
        return rc > 0 ? 1 : adm_fail("%s needs a value", arg);
    rc = opt_value(argc, argv, i, "--blobs", &cli->blobs);
    if (rc != 0)
        return rc > 0 ? 1 : adm_fail("%s needs a value", arg);
    rc = opt_value(argc, argv, i, "--meta", &cli->meta);
    if (rc != 0)
        return rc > 0 ? 1 : adm_fail("%s needs a value", arg);
    rc = opt_value(argc, argv, i, "--master-key", &cli->master_key);
    if (rc != 0)
        return rc > 0 ? 1 : adm_fail("%s needs a value", arg);
    rc = opt_value(argc, argv, i, "--config", &cli->config);
    if (rc != 0)
        return rc > 0 ? 1 : adm_fail("%s needs a value", arg);
    for (size_t k = 0; k < ARRAY_LEN(opts); k++) {
        const struct opt *o = &opts[k];
        if (o->field == NO_VALUE) {
            if (strcmp(arg, o->name) != 0)
                continue;
            if (o->bit == OPT_JSON)
                cli->json = true;
            else if (o->bit == OPT_DRY_RUN)
                cli->dry_run = true;
            else if (o->bit == OPT_INVERT)
                cli->invert = true;
            else if (o->bit == OPT_FOLLOW)
                cli->follow = true;
            else if (o->bit == OPT_ROTATE)
                cli->rotate = true;
            else
                cli->no_qr = true;
            cli->opts_seen |= o->bit;
            return 1;
        }
        rc = opt_value(argc, argv, i, o->name, (const char **)((char *)cli + o->field));
        if (rc < 0)
            return adm_fail("%s needs a value", arg);
        if (rc > 0) {
            cli->opts_seen |= o->bit;
            return 1;
        }
    }
    return adm_fail("unknown option '%s' (try --help)", arg);
}

static int
parse_args(struct adm_cli *cli, int argc, char **argv)
{
    bool opts_done = false;
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (opts_done || arg[0] != '-' || arg[1] == '\0') {
            if (cli->n_pos == ADM_MAX_POS)
                return adm_fail("too many arguments (try --help)");
            cli->pos[cli->n_pos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            opts_done = true;
            continue;
        }
        rc = parse_opt(cli, argc, argv, &i);
        if (rc != 1)
            return rc;
    }
    return 0;
}

/* Opens the data directory. Commands that create things may create it
 * (the first "account create" usually comes before the server ever ran);
 * the others report a mistyped --data instead of creating an empty store. */
static int
open_store(struct adm_cli *cli, const struct cmd *cmd)
{
    struct stat st;
    int rc;

    if (stat(cli->data, &st) < 0) {
        if (errno != ENOENT || !cmd->creates)
            return adm_fail("data directory '%s': %s", cli->data, strerror(errno));
        if (mkdir(cli->data, 0700) < 0)
            return adm_fail("creating data directory '%s': %s", cli->data, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        return adm_fail("data directory '%s' is not a directory", cli->data);
    }
    rc = md_open_at(cli->data, &cli->meta_url, cli->master_key, &cli->md);
    if (rc == -EKEYREJECTED) /* md_open_at() said why */
        return ADM_EXIT_USER;
    if (rc < 0) {
        fprintf(stderr, "coffer: opening the store in '%s': %s\n", cli->data, strerror(-rc));
        return ADM_EXIT_INTERNAL;
    }
    return 0;
}

int
adm_open_blobs(const struct adm_cli *cli, struct blob **out)
{
    char err[512];
    int rc = blob_open_url(cli->blobs, cli->data, out, err, sizeof(err));

    if (rc == -EINVAL && err[0] != '\0')
        return adm_fail("%s", err);
    if (rc < 0) {
        fprintf(stderr, "coffer: %s\n", err[0] != '\0' ? err : strerror(-rc));
        return ADM_EXIT_INTERNAL;
    }
    return 0;
}

/* The command named by the positionals, or NULL after printing why. */
static const struct cmd *
find_cmd(const struct adm_cli *cli, int *ret)
{
    const struct cmd *cmd = NULL;
    bool noun_ok = false, has_verbs = false;

    for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
        if (strcmp(cli->pos[0], cmds[i].noun) != 0)
            continue;
        noun_ok = true;
        if (cmds[i].verb == NULL)
            return &cmds[i];
        has_verbs = true;
        if (cli->n_pos > 1 && strcmp(cli->pos[1], cmds[i].verb) == 0)
            cmd = &cmds[i];
    }
    if (cmd != NULL)
        return cmd;
    if (!noun_ok) {
        *ret = adm_fail("unknown command '%s'", cli->pos[0]);
        usage(stderr, NULL);
        return NULL;
    }
    ASSERT(has_verbs);
    if (cli->n_pos > 1)
        adm_fail("unknown command '%s %s'", cli->pos[0], cli->pos[1]);
    /* "coffer mfa --help" lists the mfa commands. */
    usage(cli->help && cli->n_pos == 1 ? stdout : stderr, cli->pos[0]);
    *ret = cli->help && cli->n_pos == 1 ? 0 : ADM_EXIT_USER;
    return NULL;
}

int
main(int argc, char **argv)
{
    struct adm_cli cli = {.data = DEFAULT_DATA_DIR};
    const struct cmd *cmd;
    size_t n_words;
    int ret;

    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("coffer %s\n", COFFER_VERSION);
        return 0;
    }
    ret = parse_args(&cli, argc, argv);
    if (ret != 0)
        return ret;
    if (cli.n_pos == 0) {
        usage(cli.help ? stdout : stderr, NULL);
        return cli.help ? 0 : ADM_EXIT_USER;
    }
    cmd = find_cmd(&cli, &ret);
    if (cmd == NULL)
        return ret;
    if (cli.help) {
        cmd_usage(stdout, cmd);
        return 0;
    }
    n_words = cmd->verb != NULL ? 2 : 1;
    if (cli.n_pos != n_words + cmd->n_args || (cli.opts_seen & ~cmd->opts) != 0 ||
        (cli.opts_seen & cmd->req) != cmd->req) {
        cmd_usage(stderr, cmd);
        return ADM_EXIT_USER;
    }
    cli.args = cli.pos + n_words;
    if (cli.data[0] == '\0')
        return adm_fail("--data needs a directory");
    if (cli.from != NULL) { /* migrate --from: the source, as --meta */
        if (cli.meta != NULL)
            return adm_fail("give the source as --from or as --meta, not both");
        if (strncmp(cli.from, "sqlite:", 7) != 0)
            return adm_fail("--from must be sqlite:PATH: migrate moves an embedded store");
        cli.meta = cli.from;
    }
    ret = store_conf(&cli);
    if (ret != 0)
        return ret;
    if (cli.blobs != NULL) {
        struct blob_url *u = calloc(1, sizeof(*u));
        char err[512];

        /* A mistyped URL fails before anything is opened. */
        ret = u == NULL ? -ENOMEM : blob_url_parse(cli.blobs, cli.data, u, err, sizeof(err));
        free(u);
        if (ret < 0)
            return ret == -EINVAL ? adm_fail("%s", err) : adm_internal("--blobs", ret);
    }

    {
        char err[512];

        if (md_url_parse(cli.meta, cli.data, &cli.meta_url, err, sizeof(err)) < 0)
            return adm_fail("%s", err);
        if (cli.master_key != NULL && cli.master_key[0] == '\0')
            return adm_fail("--master-key needs a file");
    }
    log_set_level(LOG_WARN);
    ret = open_store(&cli, cmd);
    if (ret != 0)
        goto out;
    cli.a = arena_new();
    ret = cmd->run(&cli);
out:
    arena_free(cli.a);
    md_close(cli.md);
    return ret;
}
