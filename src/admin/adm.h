/* adm.h -- shared by the files of the admin CLI `coffer` (coffer.c holds
 * main() and the command table; adm_user.c the principals and the output
 * helpers; adm_mfa.c MFA devices and the audit log; adm_upload.c stale
 * multipart uploads). Not used by cofferd.
 * Every adm_ command returns the process exit status: 0 ok, ADM_EXIT_USER
 * for a user error, ADM_EXIT_INTERNAL for an internal one, after printing
 * the reason on stderr. */
#ifndef COFFER_ADMIN_ADM_H
#define COFFER_ADMIN_ADM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/blob.h"
#include "store/md.h"
#include "util/str.h"

struct arena;
struct json_t; /* jansson's json_t */

#define ADM_EXIT_USER 1
#define ADM_EXIT_INTERNAL 2
#define ADM_MAX_POS 8
#define ADM_IAM_NAME_MAX 64 /* IAM user names */

/* One run of `coffer`: the parsed command line and the open store. */
struct adm_cli {
    const char *data;
    const char *blobs; /* --blobs URL (store/blob.h); NULL: DIR/blobs */
    const char *meta;  /* --meta URL (store/md.h); NULL: DIR/meta.db */
    const char *master_key; /* --master-key FILE; NULL: DIR/master.key */
    const char *config;     /* --config FILE; NULL: DIR/cofferd.conf when there is one */
    struct md_url meta_url; /* meta parsed */
    /* Option values; NULL when not given. */
    const char *account, *user, *serial, *seed_b32, *code1, *code2, *since, *limit;
    const char *to; /* backup --to, migrate --to */
    const char *blobs_to, *from; /* migrate --blobs-to, --from */
    const char *bucket, *upload_id, *older_than, *action, *resource, *day, *newest, *event;
    const char *days; /* usage show --days */
    const char *config_id; /* lens export --config-id */
    const char *url;  /* dashboard --url */
    bool json, no_qr, invert, follow, dry_run, help;
    bool rotate; /* metrics token --rotate */
    unsigned opts_seen;
    const char *pos[ADM_MAX_POS]; /* noun, verb, then the command's arguments */
    size_t n_pos;
    const char *const *args; /* the command's arguments (after noun and verb) */
    struct md *md;
    struct arena *a; /* lives for the whole run */
};

/* A resolved principal: the account's root (user_id 0) or one IAM user. */
struct adm_principal {
    struct md_account account; /* strings in the cli arena */
    int64_t user_id;           /* 0 = root */
    struct str user_name;      /* STR_NULL for root */
    const char *label;         /* "account:A" or "account:A/user:U" (audit style), arena */
};

/* Opens the data backend --blobs names (coffer.c): 0, or an exit status
 * after printing why. */
struct blob;
int adm_open_blobs(const struct adm_cli *cli, struct blob **out);

/* ---- helpers (adm_user.c) ---------------------------------------------- */

/* "coffer: <message>" on stderr; returns ADM_EXIT_USER. */
int adm_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "coffer: <what>: <strerror(-rc)>" on stderr; returns ADM_EXIT_INTERNAL. */
int adm_internal(const char *what, int rc);
/* Prints j as one indented JSON document on stdout, taking ownership of j.
 * A NULL j (a failed build) is an internal error. */
int adm_print_json(struct json_t *j);
/* A new JSON string for s ("" when absent); bytes that are not valid UTF-8
 * become '?', so a stored name or key never makes a listing fail. */
struct json_t *adm_jstr(struct str s);
/* Account id as every output shows it: the 12-digit string of ARNs and MFA
 * serials ("000000000001"), never the bare row id. New reference. */
struct json_t *adm_jacct(int64_t id);
/* Writes s to fp with control characters escaped as \xNN (object keys and
 * the like are client-controlled and must not drive the terminal), "-" when
 * empty or absent, then spaces up to width bytes. */
void adm_put(FILE *fp, struct str s, int width);
/* "2006-02-03T16:45:09.000Z" into out; returns out. */
const char *adm_iso_time(int64_t ms, char out[32]);
/* IAM's name characters [A-Za-z0-9_+=,.@-], 1..max bytes. */
bool adm_iam_name_ok(const char *s, size_t max);
/* The audit principal label of (account, user), allocated in a. */
const char *adm_label(struct arena *a, struct str account, struct str user);
/* Looks up account (and user, when not NULL) through the reader. 0, or
 * prints why and returns ADM_EXIT_USER / ADM_EXIT_INTERNAL. */
int adm_principal_get(struct adm_cli *cli, const char *account, const char *user,
                      struct adm_principal *out);

/* ---- commands ----------------------------------------------------------- */

int adm_user_create(struct adm_cli *cli); /* user create --account A NAME [--json] */
int adm_user_list(struct adm_cli *cli);   /* user list --account A [--json] */
int adm_user_delete(struct adm_cli *cli); /* user delete --account A NAME */

int adm_mfa_enroll(struct adm_cli *cli);       /* mfa enroll --account A [--user U] NAME */
int adm_mfa_add_hardware(struct adm_cli *cli); /* mfa add-hardware ... */
int adm_mfa_list(struct adm_cli *cli);         /* mfa list [--account A] [--json] */
int adm_mfa_resync(struct adm_cli *cli);       /* mfa resync --serial S CODE1 CODE2 */
int adm_mfa_deactivate(struct adm_cli *cli);   /* mfa deactivate --serial S */
int adm_mfa_delete(struct adm_cli *cli);       /* mfa delete --serial S */
int adm_audit(struct adm_cli *cli);            /* audit [--since ID] [--limit N] [--json] */

int adm_upload_list(struct adm_cli *cli);  /* upload list [--bucket B] [--older-than D] [--json] */
int adm_upload_abort(struct adm_cli *cli); /* upload abort (--upload-id ID | --older-than D) ... */

/* policy simulate --account A [--user U] --action ACTION --resource ARN [--json] */
int adm_policy_simulate(struct adm_cli *cli);

/* ---- metrics (adm_metrics.c) --------------------------------------------- */
int adm_metrics_token(struct adm_cli *cli); /* metrics token [--rotate] */
/* ---- backup (adm_backup.c) ----------------------------------------------- */
int adm_backup(struct adm_cli *cli); /* backup --to DIR */

/* Copying the data blobs a metadata snapshot references from one data store
 * to another (backup, migrate): md_backup_blobs()'s fn over this state. */
#define ADM_COPY_CHUNK (256 * 1024)
#define ADM_MAX_DROPPED 1024 /* in-progress uploads dropped from one copy */
struct adm_blob_walk {
    struct blob *src, *dst;
    char *buf; /* ADM_COPY_CHUNK bytes */
    int64_t n_blobs, n_bytes;
    int64_t dropped[ADM_MAX_DROPPED]; /* uploads whose parts were gone: leave them out */
    size_t n_dropped;
    char missing[BLOB_ID_LEN + 1]; /* a version's blob that is gone */
};
/* Copies blob id from w->src to w->dst under the same id (one already there
 * is kept: blobs are immutable); a missing part of in-progress upload
 * `upload` adds it to w->dropped; a missing blob of a version is -ENOENT
 * with its id in w->missing. 0 or -errno. */
int adm_blob_walk_copy(void *w, struct str id, int64_t upload);
/* ---- migrate (adm_migrate.c) ---------------------------------------------- */
int adm_migrate(struct adm_cli *cli); /* migrate --to postgresql://... [--blobs-to URL] */
/* ---- lifecycle (adm_lifecycle.c) ----------------------------------------- */

int adm_lifecycle_run(struct adm_cli *cli); /* lifecycle run [--bucket B] [--dry-run] ... */
/* ---- web dashboard (adm_dash.c) ------------------------------------------- */
int adm_dashboard(struct adm_cli *cli); /* dashboard --account A [--url BASE] */
/* ---- S3 Storage Lens (adm_lens.c) ------------------------------------------ */
int adm_lens_export(struct adm_cli *cli); /* lens export --account A --config-id ID [--day D] */
/* ---- usage accounting (adm_usage.c) ---------------------------------------- */
int adm_usage_refresh(struct adm_cli *cli); /* usage refresh [--bucket B] [--json] */
int adm_usage_show(struct adm_cli *cli);    /* usage show [--account A] [--days N] [--json] */

#endif
