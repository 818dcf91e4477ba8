/* coffer.c -- the admin CLI: accounts, access keys and a bucket overview.
 * It opens the server's data directory itself through md.h (as LMDB's
 * mdb_stat does; there is no admin port) and writes through md_write(), so
 * SQLite's locks serialize it with a running cofferd, which sees the changes
 * on its next read. Exit status: 0 ok, 1 user error, 2 internal error. */
#include "common.h"

#include "store/md.h"
#include "util/arena.h"
#include "util/log.h"
#include "util/str.h"
#include "util/tm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#define EXIT_USER 1
#define EXIT_INTERNAL 2

#define DEFAULT_DATA_DIR "./data"
#define ACCOUNT_NAME_MAX 64
#define KEY_ID_LEN 20     /* "CK" + 18 of [A-Z0-9], shaped like AWS's "AKIA..." */
#define KEY_SECRET_LEN 40 /* [A-Za-z0-9/+], like AWS secrets */
#define KEY_ID_MAX 128    /* longest id "key delete" will look up */
#define MAX_POS 8
#define KEY_RETRIES 3 /* a random key id colliding even once is ~2^-93 */

/* Options a command accepts. */
#define OPT_JSON 1u
#define OPT_ACCOUNT 2u

struct cli {
    const char *data;
    const char *account; /* --account */
    bool json;
    bool help;
    unsigned opts_seen;
    const char *pos[MAX_POS];
    size_t n_pos;
    struct md *md;
    struct arena *a;
};

struct cmd {
    const char *noun, *verb;
    size_t n_args; /* positionals after noun and verb */
    unsigned opts;
    bool creates; /* may create the data directory */
    int (*run)(struct cli *cli);
    const char *usage, *help;
};

/* ---- helpers ------------------------------------------------------------ */

__attribute__((format(printf, 1, 2))) static int
user_err(const char *fmt, ...)
{
    va_list ap;

    fputs("coffer: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USER;
}

static int
internal_err(const char *what, int rc)
{
    fprintf(stderr, "coffer: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
    return EXIT_INTERNAL;
}

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

/* n uniformly random characters of alphabet into out (n + 1 bytes).
 * Bytes >= the largest multiple of the alphabet size are dropped, so
 * there is no modulo bias. 0 or -EIO. */
static int
rand_chars(char *out, size_t n, const char *alphabet)
{
    size_t n_alpha = strlen(alphabet), i = 0;
    unsigned limit = 256 - 256 % (unsigned)n_alpha;
    unsigned char r[64];
    int rc = 0;

    ASSERT(n_alpha > 0 && n_alpha <= 256);
    while (i < n) {
        if (RAND_bytes(r, sizeof(r)) != 1) {
            rc = -EIO;
            goto out;
        }
        for (size_t j = 0; j < sizeof(r) && i < n; j++) {
            if (r[j] < limit)
                out[i++] = alphabet[r[j] % n_alpha];
        }
    }
    out[n] = '\0';
out:
    OPENSSL_cleanse(r, sizeof(r));
    return rc;
}

static int
new_key(char id[KEY_ID_LEN + 1], char secret[KEY_SECRET_LEN + 1])
{
    int rc;

    id[0] = 'C';
    id[1] = 'K';
    rc = rand_chars(id + 2, KEY_ID_LEN - 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    if (rc < 0)
        return rc;
    return rand_chars(secret, KEY_SECRET_LEN,
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+");
}

static const char *
iso_time(int64_t ms, char out[32])
{
    tm_iso8601(ms, out);
    return out;
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

/* Prints j (taking ownership) as one JSON document on stdout. */
static int
print_json(json_t *j)
{
    int rc;

    if (j == NULL)
        return internal_err("building JSON", -ENOMEM);
    rc = json_dumpf(j, stdout, JSON_INDENT(2));
    json_decref(j);
    if (rc < 0 || fputc('\n', stdout) == EOF)
        return internal_err("writing JSON", -EIO);
    return 0;
}

/* A new JSON string for s (absent as ""); NULL on invalid UTF-8, which
 * json_pack's "o" then reports as a failure of the whole object. */
static json_t *
jstr(struct str s)
{
    return json_stringn(s.p != NULL ? s.p : "", s.n);
}

/* ---- writes (closures run in md's writer thread) ------------------------ */

enum stage { STAGE_ACCOUNT, STAGE_KEY };

struct key_job {
    struct str account_name;
    bool create_account; /* false: the account must exist */
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
    j->failed_at = STAGE_KEY;
    j->key.account_id = j->account_id;
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

/* Creates a root key for an account (creating the account first when asked),
 * retrying on the astronomically unlikely key id collision. */
static int
create_key(struct cli *cli, const char *name, bool create_account)
{
    char id[KEY_ID_LEN + 1], secret[KEY_SECRET_LEN + 1], created[32];
    struct key_job j = {0};
    struct md_account acct;
    int rc = 0, ret;

    for (int i = 0; i < KEY_RETRIES; i++) {
        rc = new_key(id, secret);
        if (rc < 0) {
            ret = internal_err("RAND_bytes", rc);
            goto out;
        }
        memset(&j, 0, sizeof(j));
        j.account_name = str_c(name);
        j.create_account = create_account;
        j.now_ms = tm_now_ms();
        j.a = cli->a;
        j.key.access_key_id = str_make(id, KEY_ID_LEN);
        j.key.secret = str_make(secret, KEY_SECRET_LEN);
        j.key.user_id = 0;
        j.key.created_ms = j.now_ms;
        j.key.is_active = true;
        rc = md_write(cli->md, key_job_run, &j);
        if (!(rc == -EEXIST && j.failed_at == STAGE_KEY))
            break;
    }
    if (rc == -EEXIST && j.failed_at == STAGE_ACCOUNT) {
        ret = user_err("account '%s' already exists", name);
        goto out;
    }
    if (rc == -ENOENT && j.failed_at == STAGE_ACCOUNT) {
        ret = user_err("no such account '%s'", name);
        goto out;
    }
    if (rc < 0) {
        ret = internal_err(create_account ? "creating account" : "creating key", rc);
        goto out;
    }
    rc = md_account_get(md_reader(cli->md), j.account_id, cli->a, &acct);
    if (rc < 0) {
        ret = internal_err("reading the account back", rc);
        goto out;
    }
    iso_time(j.key.created_ms, created);
    if (cli->json) {
        ret = print_json(json_pack("{s:I, s:o, s:o, s:s, s:s, s:s}", "account_id",
                                   (json_int_t)acct.id, "name", jstr(acct.name), "canonical_id",
                                   jstr(acct.canonical_id), "access_key_id", id,
                                   "secret_access_key", secret, "created", created));
        goto out;
    }
    printf("account_id:        %lld\n"
           "name:              %.*s\n"
           "canonical_id:      %.*s\n"
           "access_key_id:     %s\n"
           "secret_access_key: %s\n",
           (long long)acct.id, STR_FMT(acct.name), STR_FMT(acct.canonical_id), id, secret);
    ret = 0;
out:
    OPENSSL_cleanse(secret, sizeof(secret));
    return ret;
}

/* ---- commands ----------------------------------------------------------- */

static int
cmd_account_create(struct cli *cli)
{
    const char *name = cli->pos[2];

    if (!account_name_ok(name))
        return user_err("invalid account name '%s': use 1-%d characters of A-Z a-z 0-9 _ . @ -",
                        name, ACCOUNT_NAME_MAX);
    return create_key(cli, name, true);
}

static int
cmd_account_list(struct cli *cli)
{
    struct md_account *accts;
    char created[32];
    size_t n;
    json_t *arr;
    int rc;

    rc = md_account_list(md_reader(cli->md), cli->a, &accts, &n);
    if (rc < 0)
        return internal_err("listing accounts", rc);
    if (cli->json) {
        arr = json_array();
        for (size_t i = 0; arr != NULL && i < n; i++) {
            json_t *o =
                json_pack("{s:I, s:o, s:o, s:s}", "account_id", (json_int_t)accts[i].id, "name",
                          jstr(accts[i].name), "canonical_id", jstr(accts[i].canonical_id),
                          "created", iso_time(accts[i].created_ms, created));
            if (json_array_append_new(arr, o) < 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        return print_json(arr);
    }
    printf("%-6s %-24s %-64s %s\n", "ID", "NAME", "CANONICAL_ID", "CREATED");
    for (size_t i = 0; i < n; i++)
        printf("%-6lld %-24.*s %-64.*s %s\n", (long long)accts[i].id, STR_FMT(accts[i].name),
               STR_FMT(accts[i].canonical_id), iso_time(accts[i].created_ms, created));
    return 0;
}

static int
cmd_account_delete(struct cli *cli)
{
    struct del_job j = {.name = str_c(cli->pos[2]), .a = cli->a};
    struct md_bucket *bkts;
    size_t n = 0;
    int rc;

    rc = md_write(cli->md, account_delete_run, &j);
    if (rc == -ENOENT)
        return user_err("no such account '%s'", cli->pos[2]);
    if (rc == -ENOTEMPTY) {
        /* Name the buckets so the operator knows what to empty first. */
        if (md_bucket_list(md_reader(cli->md), j.account_id, cli->a, &bkts, &n) < 0)
            n = 0;
        fprintf(stderr,
                "coffer: account '%s' still owns %zu bucket(s); delete them first:", cli->pos[2],
                n);
        for (size_t i = 0; i < n && i < 10; i++)
            fprintf(stderr, " %.*s", STR_FMT(bkts[i].name));
        fputs(n > 10 ? " ...\n" : "\n", stderr);
        return EXIT_USER;
    }
    if (rc < 0)
        return internal_err("deleting account", rc);
    printf("deleted account '%s' and its access keys\n", cli->pos[2]);
    return 0;
}

static int
cmd_key_create(struct cli *cli)
{
    if (!account_name_ok(cli->account))
        return user_err("no such account '%s'", cli->account);
    return create_key(cli, cli->account, false);
}

static int
cmd_key_list(struct cli *cli)
{
    struct md_conn *c = md_reader(cli->md);
    struct md_account acct;
    struct md_key *keys;
    char created[32];
    size_t n;
    json_t *arr;
    int rc;

    if (!account_name_ok(cli->account))
        return user_err("no such account '%s'", cli->account);
    rc = md_account_get_by_name(c, str_c(cli->account), cli->a, &acct);
    if (rc == -ENOENT)
        return user_err("no such account '%s'", cli->account);
    if (rc < 0)
        return internal_err("reading account", rc);
    rc = md_key_list(c, acct.id, cli->a, &keys, &n);
    if (rc < 0)
        return internal_err("listing keys", rc);
    /* Secrets are never printed here, whatever md_key_list filled in. */
    if (cli->json) {
        arr = json_array();
        for (size_t i = 0; arr != NULL && i < n; i++) {
            json_t *o =
                json_pack("{s:o, s:I, s:o, s:s, s:s}", "access_key_id", jstr(keys[i].access_key_id),
                          "account_id", (json_int_t)keys[i].account_id, "name", jstr(acct.name),
                          "status", keys[i].is_active ? "Active" : "Inactive", "created",
                          iso_time(keys[i].created_ms, created));
            if (json_array_append_new(arr, o) < 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        return print_json(arr);
    }
    printf("%-20s %-8s %s\n", "ACCESS_KEY_ID", "STATUS", "CREATED");
    for (size_t i = 0; i < n; i++)
        printf("%-20.*s %-8s %s\n", STR_FMT(keys[i].access_key_id),
               keys[i].is_active ? "Active" : "Inactive", iso_time(keys[i].created_ms, created));
    return 0;
}

static int
cmd_key_delete(struct cli *cli)
{
    struct del_job j = {.name = str_c(cli->pos[2]), .a = cli->a};
    int rc;

    if (j.name.n == 0 || j.name.n > KEY_ID_MAX)
        return user_err("no such access key '%s'", cli->pos[2]);
    rc = md_write(cli->md, key_delete_run, &j);
    if (rc == -ENOENT)
        return user_err("no such access key '%s'", cli->pos[2]);
    if (rc < 0)
        return internal_err("deleting key", rc);
    printf("deleted access key %s\n", cli->pos[2]);
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
cmd_bucket_list(struct cli *cli)
{
    struct md_conn *c = md_reader(cli->md);
    struct md_account *accts;
    struct md_bucket *bkts;
    size_t n_accts, n;
    char created[32];
    json_t *arr;
    int rc;

    rc = md_account_list(c, cli->a, &accts, &n_accts);
    if (rc < 0)
        return internal_err("listing accounts", rc);
    rc = md_bucket_list(c, 0, cli->a, &bkts, &n);
    if (rc < 0)
        return internal_err("listing buckets", rc);
    if (cli->json) {
        arr = json_array();
        for (size_t i = 0; arr != NULL && i < n; i++) {
            struct str owner = owner_name(accts, n_accts, bkts[i].account_id);
            json_t *o = json_pack("{s:o, s:o, s:I, s:o, s:s, s:s, s:s}", "name", jstr(bkts[i].name),
                                  "owner", jstr(owner), "owner_account_id",
                                  (json_int_t)bkts[i].account_id, "region", jstr(bkts[i].region),
                                  "created", iso_time(bkts[i].created_ms, created), "versioning",
                                  versioning_name(bkts[i].versioning), "mfa_delete",
                                  mfa_name(bkts[i].mfa_delete));
            if (json_array_append_new(arr, o) < 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        return print_json(arr);
    }
    printf("%-40s %-24s %-24s %-10s %s\n", "NAME", "OWNER", "CREATED", "VERSIONING", "MFA_DELETE");
    for (size_t i = 0; i < n; i++) {
        struct str owner = owner_name(accts, n_accts, bkts[i].account_id);
        printf("%-40.*s %-24.*s %-24s %-10s %s\n", STR_FMT(bkts[i].name),
               owner.p ? (int)owner.n : 1, owner.p ? owner.p : "?",
               iso_time(bkts[i].created_ms, created), versioning_name(bkts[i].versioning),
               mfa_name(bkts[i].mfa_delete));
    }
    return 0;
}

static const struct cmd cmds[] = {
    {"account", "create", 1, OPT_JSON, true, cmd_account_create, "account create NAME [--json]",
     "Creates account NAME (1-64 of A-Z a-z 0-9 _ . @ -) and a root access key;\n"
     "prints the account id, the key id and the secret (shown only here)."},
    {"account", "list", 0, OPT_JSON, false, cmd_account_list, "account list [--json]",
     "Lists accounts: id, name, canonical id, creation time."},
    {"account", "delete", 1, 0, false, cmd_account_delete, "account delete NAME",
     "Deletes account NAME and its access keys; refused while it owns buckets."},
    {"key", "create", 0, OPT_JSON | OPT_ACCOUNT, false, cmd_key_create,
     "key create --account NAME [--json]",
     "Creates another root access key for account NAME and prints its secret."},
    {"key", "list", 0, OPT_JSON | OPT_ACCOUNT, false, cmd_key_list,
     "key list --account NAME [--json]",
     "Lists the access keys of account NAME (ids and status, never secrets)."},
    {"key", "delete", 1, 0, false, cmd_key_delete, "key delete ACCESS_KEY_ID",
     "Deletes an access key; requests signed with it fail from then on."},
    {"bucket", "list", 0, OPT_JSON, false, cmd_bucket_list, "bucket list [--json]",
     "Lists every bucket: name, owner, creation time, versioning and MFA delete state."},
};

/* ---- argument handling -------------------------------------------------- */

static void
usage(FILE *fp, const char *noun)
{
    fprintf(fp, "usage: coffer [--data DIR] COMMAND ...\n\n"
                "  --data DIR   the server's data directory (default " DEFAULT_DATA_DIR ")\n"
                "  --help, -h   help for coffer or for one command\n\ncommands:\n");
    for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
        if (noun == NULL || strcmp(noun, cmds[i].noun) == 0)
            fprintf(fp, "  coffer %s\n", cmds[i].usage);
    }
}

static void
cmd_usage(FILE *fp, const struct cmd *cmd)
{
    fprintf(fp, "usage: coffer [--data DIR] %s\n\n%s\n", cmd->usage, cmd->help);
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

static int
parse_args(struct cli *cli, int argc, char **argv)
{
    bool opts_done = false;
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (opts_done || arg[0] != '-' || arg[1] == '\0') {
            if (cli->n_pos == MAX_POS)
                return user_err("too many arguments (try --help)");
            cli->pos[cli->n_pos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            opts_done = true;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli->help = true;
            continue;
        }
        if (strcmp(arg, "--json") == 0) {
            cli->json = true;
            cli->opts_seen |= OPT_JSON;
            continue;
        }
        rc = opt_value(argc, argv, &i, "--data", &cli->data);
        if (rc == 0) {
            rc = opt_value(argc, argv, &i, "--account", &cli->account);
            if (rc > 0)
                cli->opts_seen |= OPT_ACCOUNT;
        }
        if (rc < 0)
            return user_err("%s needs a value", arg);
        if (rc == 0)
            return user_err("unknown option '%s' (try --help)", arg);
    }
    return 0;
}

/* Opens the data directory. Commands that create things may create it
 * (the first "account create" usually comes before the server ever ran);
 * the others report a mistyped --data instead of creating an empty store. */
static int
open_store(struct cli *cli, const struct cmd *cmd)
{
    struct stat st;
    int rc;

    if (stat(cli->data, &st) < 0) {
        if (errno != ENOENT || !cmd->creates)
            return user_err("data directory '%s': %s", cli->data, strerror(errno));
        if (mkdir(cli->data, 0700) < 0)
            return user_err("creating data directory '%s': %s", cli->data, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        return user_err("data directory '%s' is not a directory", cli->data);
    }
    rc = md_open(cli->data, &cli->md);
    if (rc < 0) {
        fprintf(stderr, "coffer: opening the store in '%s': %s\n", cli->data, strerror(-rc));
        return EXIT_INTERNAL;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct cli cli = {.data = DEFAULT_DATA_DIR};
    const struct cmd *cmd = NULL;
    bool noun_ok = false;
    int ret;

    ret = parse_args(&cli, argc, argv);
    if (ret != 0)
        return ret;
    if (cli.n_pos == 0) {
        usage(cli.help ? stdout : stderr, NULL);
        return cli.help ? 0 : EXIT_USER;
    }
    for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
        if (strcmp(cli.pos[0], cmds[i].noun) != 0)
            continue;
        noun_ok = true;
        if (cli.n_pos > 1 && strcmp(cli.pos[1], cmds[i].verb) == 0)
            cmd = &cmds[i];
    }
    if (!noun_ok) {
        user_err("unknown command '%s'", cli.pos[0]);
        usage(stderr, NULL);
        return EXIT_USER;
    }
    if (cmd == NULL) {
        if (cli.n_pos > 1)
            user_err("unknown command '%s %s'", cli.pos[0], cli.pos[1]);
        usage(cli.help && cli.n_pos == 1 ? stdout : stderr, cli.pos[0]);
        return cli.help && cli.n_pos == 1 ? 0 : EXIT_USER;
    }
    if (cli.help) {
        cmd_usage(stdout, cmd);
        return 0;
    }
    if (cli.n_pos != 2 + cmd->n_args || (cli.opts_seen & ~cmd->opts) != 0 ||
        ((cmd->opts & OPT_ACCOUNT) && cli.account == NULL)) {
        cmd_usage(stderr, cmd);
        return EXIT_USER;
    }
    if (cli.data[0] == '\0')
        return user_err("--data needs a directory");

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
