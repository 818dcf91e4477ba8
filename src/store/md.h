/* md.h -- metadata store: accounts, access keys, buckets, object versions.
 * One SQLite database (WAL, synchronous=FULL) under the data directory,
 * behind a backend table (md_int.h) that a shared database can fill later;
 * callers never see SQL, sqlite3 types or which backend runs.
 *
 * Threads: each thread reads through its own connection (md_reader()).
 * All writes run in ONE writer thread: md_write() queues a closure, the
 * writer runs every queued closure inside one transaction (each in its own
 * SAVEPOINT, so one failing closure does not undo the others), commits once
 * (one fsync for the whole group: group commit), then wakes the callers.
 * The admin CLI opens the same file; the server sees its changes at once
 * because nothing here caches rows across calls. */
#ifndef COFFER_STORE_MD_H
#define COFFER_STORE_MD_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/str.h"

struct md;      /* opaque; one per process */
struct md_conn; /* opaque; one SQLite connection */
struct space;   /* store/space.h */

/* Opens (creating and migrating) DIR/meta.db and the secret-sealing key
 * DIR/master.key (created 0600 with 32 random bytes if missing). Starts the
 * writer thread. Returns 0 and an owned handle in *out, or -errno. */
int md_open(const char *dir, struct md **out);

/* Where the metadata lives, from --meta URL (md_url.c):
 *   NULL or ""        SQLite in DIR/meta.db
 *   sqlite:PATH       SQLite in the database file PATH (its directory must exist)
 *   postgresql://... or postgres://...
 *                     PostgreSQL, a libpq connection URI, passed on as given */
#define MD_URL_PATH_MAX 4096

struct md_url {
    char sqlite_path[MD_URL_PATH_MAX]; /* the SQLite database file; "" for PostgreSQL */
    char pg_uri[MD_URL_PATH_MAX];      /* the PostgreSQL URI; "" for SQLite */
};

/* Parses url for data directory dir: 0, or -EINVAL with the reason in err
 * (cap bytes, NUL-terminated). */
int md_url_parse(const char *url, const char *dir, struct md_url *out, char *err, size_t cap);

/* md_open() with the database of meta (md_url_parse(); NULL: DIR/meta.db)
 * and the master key in key_path (NULL: DIR/master.key; created there, 0600,
 * only for a store that holds no sealed secret and no key check value).
 * The store records HMAC-SHA256(key, "coffer master key check v1") when it
 * has none; an open with another key fails with -EKEYREJECTED (callers say
 * "the master key FILE " MD_KEY_MISMATCH). */
int md_open_at(const char *dir, const struct md_url *meta, const char *key_path, struct md **out);
#define MD_KEY_MISMATCH                                                                            \
    "is not this store's (its check value differs); every gateway and coffer command of a "       \
    "store must use the same --master-key"
void md_close(struct md *md); /* NULL ok; joins the writer thread */

/* true when other gateways may use the store at the same time (PostgreSQL):
 * nothing in it is known to be this process's alone. */
bool md_shared(const struct md *md);

/* Background work that runs on one gateway of a store at a time. */
enum md_lease {
    MD_LEASE_LIFECYCLE,
    MD_LEASE_REAPER,
    MD_LEASE_USAGE,
    MD_LEASE_LENS,
    MD_LEASE__COUNT
};

/* true while this process holds lease which: always for a store only one
 * cofferd opens (SQLite); in a shared store (PostgreSQL) a session advisory
 * lock taken on a connection of its own, kept while that connection lives,
 * so another gateway takes the work over when this one dies. Called before
 * each run of the work; cheap when held. */
bool md_lease(struct md *md, enum md_lease which);

/* The calling thread's read connection, opened on first use.
 * Borrowed: valid until md_close(). */
struct md_conn *md_reader(struct md *md);

/* A read snapshot on a reader connection: the reads between begin and end
 * see one state of the database and share one SQLite read transaction (one
 * WAL read lock instead of one per statement, the main cost of a small
 * request's lookups). Never hold one across md_write() (the
 * snapshot would not see the write) or a long transfer (it holds the WAL
 * back from checkpointing). begin returns 0, -EALREADY (a snapshot is
 * already open: it goes on) or -errno; end is a no-op without a snapshot;
 * c may be NULL in both. */
int md_snapshot_begin(struct md_conn *c);
void md_snapshot_end(struct md_conn *c);

/* Runs fn(c, arg) in the writer thread inside the group transaction.
 * fn returns 0 or a negative errno / its own negative code; on < 0 its
 * savepoint is rolled back and md_write returns that value without waiting
 * for the commit. On 0, md_write returns 0 only after the group commit is
 * durable, or else:
 *   -EBUSY   another process held the write lock longer than the lock wait
 *            (md_set_lock_wait()); nothing was written;
 *   -ENOSPC  the disk is full; nothing was written;
 *   -EIO     the commit failed; its outcome may stay unknown until the next
 *            open (a failed fsync of the log), so data the job references
 *            must be left for blob_gc() rather than removed.
 * fn must not block; it may write to memory owned by the caller (the caller
 * is blocked until fn has run). Statement errors inside fn are -ENOSPC for
 * a full disk as well.
 *
 * fn may run more than once: a backend whose transactions can conflict
 * (a database shared by several servers) rolls the group back and runs it
 * again. So until it returns 0, fn has no effect outside c and arg (no
 * logging, files, sockets, globals or counters), and a run must not depend
 * on what an earlier run left in arg: set every output on every path, and
 * never skip work because of a result an earlier run stored. What arg holds
 * after md_write() returns is what the last run left. */
typedef int (*md_write_fn)(struct md_conn *c, void *arg);
int md_write(struct md *md, md_write_fn fn, void *arg);

/* The longest a group waits for another process's write lock before its
 * jobs fail with -EBUSY (with every job queued meanwhile). Default 30 s,
 * which suits the admin CLI waiting for the server's short group commits;
 * cofferd sets a few seconds so a held lock costs its clients that much at
 * most. Call before the first md_write() from other threads. */
void md_set_lock_wait(struct md *md, int ms);

/* Attaches the free-space guard (borrowed, NULL ok): the writer checks free
 * space before each group and releases the reserve when SQLite reports the
 * disk full, before waking anyone. */
void md_set_space(struct md *md, struct space *sp);

/* SQLite's last error text on c (for logs). Borrowed. */
const char *md_errmsg(struct md_conn *c);

/* ---- accounts ---------------------------------------------------------- */
/* Block Public Access settings of an account or a bucket. configured false:
 * none stored (the four flags are then false). */
struct md_pab {
    bool configured;
    bool block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets;
};

struct md_account {
    int64_t id;
    struct str name;
    struct str canonical_id; /* 64 lower-case hex chars, random at creation */
    int64_t created_ms;
    struct md_pab pab; /* account-level Block Public Access */
};
/* 0 and *id, -EEXIST if the name is taken. */
int md_account_create(struct md_conn *c, struct str name, int64_t now_ms, int64_t *id);
/* 0, -ENOENT. Strings copied into a. */
int md_account_get(struct md_conn *c, int64_t id, struct arena *a, struct md_account *out);
int md_account_get_by_name(struct md_conn *c, struct str name, struct arena *a,
                           struct md_account *out);
/* All accounts by id; *out is an arena array of *n entries. */
int md_account_list(struct md_conn *c, struct arena *a, struct md_account **out, size_t *n);
/* Deletes the account and its keys, users, MFA devices, groups, roles,
 * managed and inline policies and attachments; -ENOTEMPTY if it owns
 * buckets, -ENOENT. */
int md_account_delete(struct md_conn *c, int64_t id);
/* Stores p (p->configured false removes the configuration); bumps the
 * policy generation. 0, -ENOENT. */
int md_account_set_public_access_block(struct md_conn *c, int64_t account_id,
                                       const struct md_pab *p);

/* ---- IAM users --------------------------------------------------------- */
struct md_user {
    int64_t id; /* never reused */
    int64_t account_id;
    struct str name; /* unique within the account; IAM's [\w+=,.@-]{1,64} */
    int64_t created_ms;
};
int md_user_create(struct md_conn *c, int64_t account_id, struct str name, int64_t now_ms,
                   int64_t *id); /* 0, -EEXIST */
int md_user_get(struct md_conn *c, int64_t id, struct arena *a, struct md_user *out);
int md_user_get_by_name(struct md_conn *c, int64_t account_id, struct str name, struct arena *a,
                        struct md_user *out); /* 0, -ENOENT */
int md_user_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_user **out,
                 size_t *n);
/* Deletes the user, its keys, inline policies, attachments and group
 * memberships (bumping the policy generation); -ENOTEMPTY while an MFA
 * device is assigned to it (IAM's DeleteConflict), -ENOENT. IAM's other
 * DeleteConflict cases (policies, groups) are the caller's to check. */
int md_user_delete(struct md_conn *c, int64_t id);

/* ---- access keys ------------------------------------------------------- */
struct md_key {
    struct str access_key_id;
    int64_t account_id;
    int64_t user_id; /* 0 = the account's root principal; -1 = none (a role session) */
    struct str secret; /* plaintext after md_key_get; sealed at rest */
    int64_t created_ms;
    bool is_active;
    /* Temporary (STS session) credentials: expires_ms > 0. The token itself is
     * never stored, only its SHA-256 (hex); compare in constant time. */
    struct str session_token_sha256; /* empty for long-term keys */
    int64_t expires_ms;              /* 0 for long-term keys */
    int64_t mfa_auth_ms;             /* when the session was MFA-authenticated, 0 if not */
    /* Role sessions (STS AssumeRole): role_id > 0, user_id -1, account_id
     * the role's account. The strings are STR_NULL when not given. */
    int64_t role_id;                 /* 0 for every other key */
    struct str session_name;         /* RoleSessionName */
    struct str session_policy;       /* the Policy parameter, byte-exact */
    struct str session_policy_arns;  /* PolicyArns, one ARN a line */
    /* The session carries mfa_auth_ms as its MFA context (inherited from
     * MFA-bearing caller credentials); false: a role session has none,
     * whatever mfa_auth_ms records [spec-authorization §4.3 decision]. */
    bool mfa_inherited;
};
/* Seals secret with the master key and stores it. -EEXIST on duplicate id;
 * -EINVAL for inconsistent session fields (a role session must be a
 * session with user_id -1); -ENOENT when the user, or the role in that
 * account, does not exist. */
int md_key_create(struct md_conn *c, const struct md_key *k);
/* 0 with k filled (secret decrypted into a), -ENOENT, -EIO if unsealing fails. */
int md_key_get(struct md_conn *c, struct str access_key_id, struct arena *a, struct md_key *out);
/* Keys of one account (secrets left empty). */
int md_key_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_key **out,
                size_t *n);
int md_key_delete(struct md_conn *c, struct str access_key_id); /* 0, -ENOENT */

/* ---- MFA devices ------------------------------------------------------- */
struct md_mfa_device {
    int64_t id;
    int64_t account_id;
    int64_t user_id;   /* principal it is assigned to while enabled: 0 = root; -1 = unassigned */
    int64_t owner_id;  /* who may manage it: the creator until enabled, then the principal it
                        * was last assigned to (0 = root); md_mfa_create sets it to user_id
                        * when created enabled */
    struct str serial; /* virtual: arn:aws:iam::<12-digit account>:mfa/<path><name>; hardware: vendor serial */
    struct str name;   /* virtual device name (empty for hardware) */
    struct str path;   /* "/" default */
    bool is_virtual;
    bool is_enabled;
    struct str seed;   /* raw TOTP key bytes; plaintext only after md_mfa_get; sealed at rest */
    int64_t created_ms, enabled_ms;
    /* TOTP state, updated through md_mfa_set_state under md_write. */
    int64_t last_step;    /* highest accepted time step (replay protection), 0 = none */
    int64_t offset_steps; /* drift found by resync */
    int64_t fail_start_s; /* start of the current failure window */
    int fail_count;       /* failed checks in that window */
};
#define MD_MFA_SEED_MAX 64 /* bytes of TOTP key; longer seeds are refused */
/* Seals d->seed and stores the device; sets d->id. -EEXIST if the serial exists,
 * -E2BIG if the seed is longer than MD_MFA_SEED_MAX, -EINVAL if it is empty. */
int md_mfa_create(struct md_conn *c, struct md_mfa_device *d);
/* By serial (exact match): 0 with the seed unsealed into a, -ENOENT, -EIO. */
int md_mfa_get(struct md_conn *c, struct str serial, struct arena *a, struct md_mfa_device *out);
/* Devices of an account (user_id -1: all; 0: root's; >0: that user's),
 * ordered by serial; seeds left empty. */
int md_mfa_list(struct md_conn *c, int64_t account_id, int64_t user_id, struct arena *a,
                struct md_mfa_device **out, size_t *n);
int md_mfa_set_state(struct md_conn *c, int64_t id, int64_t last_step, int64_t offset_steps,
                     int64_t fail_start_s, int fail_count);
/* Assigns (enabled = true, to user_id) or unassigns the device (user_id -1). */
int md_mfa_set_enabled(struct md_conn *c, int64_t id, bool enabled, int64_t user_id,
                       int64_t now_ms);
int md_mfa_delete(struct md_conn *c, int64_t id); /* 0, -ENOENT */

/* ---- IAM groups, roles, policies (md_iam.c, md_iam_pol.c) ---------------
 * Rows only: names, paths, ARNs and unique ids are made and checked by the
 * caller (IAM's limits too, except the five versions of a managed policy).
 * Names of groups, roles, managed and inline policies are unique per
 * account (per entity for inline policies) regardless of ASCII case, like
 * user names. Every write here that changes what a principal may do bumps
 * the policy generation (md_policy_gen()) in the same transaction. */
enum md_entity { MD_ENT_USER = 1, MD_ENT_GROUP = 2, MD_ENT_ROLE = 3 };

struct md_group {
    int64_t id; /* never reused */
    int64_t account_id;
    struct str name, path;
    struct str uid; /* the caller's random unique id ("AGPA...") */
    int64_t created_ms;
};
/* Inserts g; sets g->id. -EEXIST if the name (or uid) is taken. */
int md_group_create(struct md_conn *c, struct md_group *g);
/* 0 with *out (strings copied into a), -ENOENT. */
int md_group_get(struct md_conn *c, int64_t id, struct arena *a, struct md_group *out);
int md_group_get_by_name(struct md_conn *c, int64_t account_id, struct str name, struct arena *a,
                         struct md_group *out);
/* Groups of an account by name. */
int md_group_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_group **out,
                  size_t *n);
/* -ENOTEMPTY while the group has members, inline policies or attached
 * policies (IAM's DeleteConflict), -ENOENT. */
int md_group_delete(struct md_conn *c, int64_t id);
/* Membership. add: -EEXIST if already a member, -ENOENT if the group or the
 * user is missing or they are of different accounts. remove: -ENOENT if
 * not a member. Both bump the policy generation. */
int md_group_add_user(struct md_conn *c, int64_t group_id, int64_t user_id);
int md_group_remove_user(struct md_conn *c, int64_t group_id, int64_t user_id);
/* Members of a group; groups of a user (no particular order). */
int md_group_members(struct md_conn *c, int64_t group_id, struct arena *a, struct md_user **out,
                     size_t *n);
int md_user_groups(struct md_conn *c, int64_t user_id, struct arena *a, struct md_group **out,
                   size_t *n);

struct md_role {
    int64_t id; /* never reused */
    int64_t account_id;
    struct str name, path;
    struct str uid;          /* "AROA..." */
    struct str trust_policy; /* the AssumeRolePolicyDocument, byte-exact */
    struct str description;  /* empty when none */
    int max_session_s;       /* 3600 unless set */
    int64_t created_ms;
};
/* Inserts r (max_session_s <= 0 stores 3600); sets r->id. -EEXIST. */
int md_role_create(struct md_conn *c, struct md_role *r);
int md_role_get(struct md_conn *c, int64_t id, struct arena *a, struct md_role *out);
int md_role_get_by_name(struct md_conn *c, int64_t account_id, struct str name, struct arena *a,
                        struct md_role *out);
/* Roles of an account by name. */
int md_role_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_role **out,
                 size_t *n);
/* -ENOTEMPTY while the role has inline or attached policies, -ENOENT.
 * Its sessions' keys go with it. */
int md_role_delete(struct md_conn *c, int64_t id);
/* Replaces the trust policy; bumps the policy generation. 0, -ENOENT. */
int md_role_set_trust(struct md_conn *c, int64_t id, struct str doc);

/* Customer managed policies. Versions are numbered 1, 2, ... ("v1", "v2"
 * on the wire) and a number is never reused within a policy. */
#define MD_POLICY_VERSIONS_MAX 5
struct md_policy {
    int64_t id; /* never reused */
    int64_t account_id;
    struct str name, path;
    struct str uid; /* "ANPA..." */
    struct str arn; /* arn:aws:iam::ACCOUNT:policy/PATH/NAME, unique */
    struct str description;
    int default_version;
    int64_t created_ms, updated_ms;
    int64_t attachment_count; /* entities of its account it is attached to */
};
struct md_policy_version {
    int version;
    struct str document; /* empty in md_policy_version_list() */
    bool is_default;
    int64_t created_ms;
};
/* Inserts p with doc as version 1, the default; sets p->id, p->default_version.
 * -EEXIST if the name, uid or ARN is taken. */
int md_policy_create(struct md_conn *c, struct md_policy *p, struct str doc);
int md_policy_get(struct md_conn *c, int64_t id, struct arena *a, struct md_policy *out);
int md_policy_get_by_arn(struct md_conn *c, struct str arn, struct arena *a,
                         struct md_policy *out); /* exact ARN: 0, -ENOENT */
/* Policies of an account by name. */
int md_policy_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_policy **out,
                   size_t *n);
/* Deletes the policy and all its versions. -ENOTEMPTY while it is attached
 * to any entity, -ENOENT. (IAM also refuses while non-default versions
 * exist: the caller's check.) */
int md_policy_delete(struct md_conn *c, int64_t id);
/* Adds doc as the next version (made the default when set_default), stamps
 * updated_ms; *version gets its number. -EMLINK when MD_POLICY_VERSIONS_MAX
 * versions exist, -ENOENT. */
int md_policy_version_add(struct md_conn *c, int64_t policy_id, struct str doc, bool set_default,
                          int64_t now_ms, int *version);
/* 0 with *out (document copied into a), -ENOENT. */
int md_policy_version_get(struct md_conn *c, int64_t policy_id, int version, struct arena *a,
                          struct md_policy_version *out);
/* Versions, newest first, with documents when with_docs. */
int md_policy_version_list(struct md_conn *c, int64_t policy_id, bool with_docs, struct arena *a,
                           struct md_policy_version **out, size_t *n);
/* -EBUSY for the default version, -ENOENT. */
int md_policy_version_delete(struct md_conn *c, int64_t policy_id, int version);
/* Makes version the default, stamps updated_ms. 0, -ENOENT. */
int md_policy_set_default(struct md_conn *c, int64_t policy_id, int version, int64_t now_ms);

/* Inline policies of users, groups and roles. */
struct md_inline_policy {
    struct str name;
    struct str document;
};
/* Creates or replaces (names compare regardless of case; the new spelling
 * is kept) entity's policy name. -ENOENT if the entity does not exist. */
int md_inline_put(struct md_conn *c, enum md_entity kind, int64_t entity_id, struct str name,
                  struct str doc);
int md_inline_get(struct md_conn *c, enum md_entity kind, int64_t entity_id, struct str name,
                  struct arena *a, struct md_inline_policy *out); /* 0, -ENOENT */
/* An entity's inline policies by name, with their documents. */
int md_inline_list(struct md_conn *c, enum md_entity kind, int64_t entity_id, struct arena *a,
                   struct md_inline_policy **out, size_t *n);
int md_inline_delete(struct md_conn *c, enum md_entity kind, int64_t entity_id,
                     struct str name); /* 0, -ENOENT */

/* Managed policy attachments, by policy ARN (customer or AWS managed; the
 * store does not check that the ARN names anything). attach: -EEXIST if
 * attached already, -ENOENT if the entity does not exist. detach: -ENOENT
 * if not attached. Both bump the policy generation. */
int md_attach(struct md_conn *c, enum md_entity kind, int64_t entity_id, struct str arn);
int md_detach(struct md_conn *c, enum md_entity kind, int64_t entity_id, struct str arn);
/* ARNs attached to an entity, ascending: *out an arena array of *n. */
int md_attached_list(struct md_conn *c, enum md_entity kind, int64_t entity_id, struct arena *a,
                     struct str **out, size_t *n);
/* Entities of an account a policy is attached to, by kind then id. */
struct md_attachment {
    enum md_entity kind;
    int64_t entity_id;
    struct str entity_name;
};
int md_policy_entities(struct md_conn *c, int64_t account_id, struct str arn, struct arena *a,
                       struct md_attachment **out, size_t *n);
/* How many entities of the account have arn attached (cheap). */
int md_policy_attachment_count(struct md_conn *c, int64_t account_id, struct str arn,
                               int64_t *n);

/* Everything policy evaluation needs for one principal, in two queries:
 * for a user, its inline and attached policies and those of each of its
 * groups; for a role, the role's (a group: the group's own). Call it in a
 * snapshot (md_snapshot_begin()) to see one state. */
struct md_principal_policy {
    enum md_entity source_kind; /* MD_ENT_GROUP for a group's, else the principal's kind */
    int64_t source_id;
    struct str source_name;     /* that entity's name */
    bool is_inline;
    struct str name; /* inline: the policy name; attached: the policy ARN */
    /* inline: its document; attached customer managed: the default
     * version's document; STR_NULL for an ARN that names no stored policy
     * (AWS managed ones: policy_aws_managed()). */
    struct str document;
};
/* *out an arena array of *n rows, in no particular order. */
int md_principal_policies(struct md_conn *c, enum md_entity kind, int64_t id, struct arena *a,
                          struct md_principal_policy **out, size_t *n);

/* The policy generation: a counter that every change to a policy, an
 * attachment, a group membership, a role's trust policy, a bucket's
 * policy, ACL, ownership or Block Public Access, or an account's Block
 * Public Access bumps in its own transaction (the admin CLI's included).
 * On PostgreSQL every change to accounts, keys and buckets bumps it too
 * (md_pg_schema.h's triggers: the backend's row cache relies on them).
 * Caches of parsed policies compare it before use. One point lookup, free
 * in a PostgreSQL read snapshot that already read it. */
int md_policy_gen(struct md_conn *c, int64_t *gen);

/* ---- audit log (append-only) ------------------------------------------- */
struct md_audit {
    int64_t id;          /* assigned, increasing */
    int64_t time_ms;
    struct str event;    /* e.g. "mfa.enrolled", "mfa.check_failed", "bucket.versioning" */
    struct str principal; /* "account:NAME" or "account:NAME/user:NAME" */
    struct str bucket, key, version_id;
    struct str source;   /* client address, or "cli" */
    struct str detail;   /* free text: outcome, reason; never a code or a seed */
};
int md_audit_append(struct md_conn *c, const struct md_audit *e);
/* md_audit_append() of an entry about no bucket or object (identities and
 * MFA devices): the strings are borrowed. */
int md_audit_add(struct md_conn *c, int64_t time_ms, const char *event, struct str principal,
                 struct str source, const char *detail);
/* Entries with id > after_id, oldest first, at most limit. */
int md_audit_list(struct md_conn *c, int64_t after_id, size_t limit, struct arena *a,
                  struct md_audit **out, size_t *n);

/* ---- buckets ----------------------------------------------------------- */
enum md_versioning { MD_VER_NONE = 0, MD_VER_ENABLED = 1, MD_VER_SUSPENDED = 2 };
enum md_mfa { MD_MFA_UNSET = 0, MD_MFA_ENABLED = 1, MD_MFA_DISABLED = 2 };

/* S3 Object Ownership; MD_OWN_NONE: never set (buckets from before
 * schema 9, or created without it). */
enum md_ownership {
    MD_OWN_NONE = 0,
    MD_OWN_ENFORCED = 1,  /* BucketOwnerEnforced */
    MD_OWN_PREFERRED = 2, /* BucketOwnerPreferred */
    MD_OWN_WRITER = 3,    /* ObjectWriter */
};

struct md_bucket {
    int64_t id;
    struct str name;
    int64_t account_id; /* owner */
    struct str region;
    int64_t created_ms;
    enum md_versioning versioning;
    enum md_mfa mfa_delete;
    struct str lifecycle; /* stored XML; p == NULL when none */
    struct str policy;    /* bucket policy, stored byte-exact; p == NULL when none */
    enum md_ownership ownership;
    struct md_pab pab;
    struct str acl; /* md_acl_encode() text; p == NULL when none */
    struct str tags; /* md_tags_encode() text; p == NULL when none (schema 12+) */
    struct str cors; /* the CORS configuration, canonical XML; p == NULL when none */
};
/* 0 and *id; -EEXIST if the name exists (any owner). The bucket starts
 * with no policy, ownership MD_OWN_NONE, no Block Public Access and no ACL:
 * the caller stores AWS's defaults for a new bucket with the setters below
 * in the same md_write() closure. */
int md_bucket_create(struct md_conn *c, struct str name, int64_t account_id, struct str region,
                     int64_t now_ms, int64_t *id);
int md_bucket_get(struct md_conn *c, struct str name, struct arena *a, struct md_bucket *out);
/* Buckets by name; account_id 0 = every account. */
int md_bucket_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_bucket **out,
                   size_t *n);
/* -ENOTEMPTY while any version (marker included) remains, -ENOENT.
 * In-progress multipart uploads do not keep a bucket alive (as on AWS):
 * they are deleted with it, their part blobs sent to the trash. */
int md_bucket_delete(struct md_conn *c, int64_t bucket_id);
int md_bucket_set_versioning(struct md_conn *c, int64_t bucket_id, enum md_versioning v,
                             enum md_mfa mfa);
/* xml.p == NULL removes it. */
int md_bucket_set_lifecycle(struct md_conn *c, int64_t bucket_id, struct str xml);
/* Access control of a bucket (md_access.c). Each bumps the policy
 * generation; 0, -ENOENT. doc.p / acl.p == NULL removes the policy / ACL;
 * p->configured false removes the Block Public Access configuration. */
int md_bucket_set_policy(struct md_conn *c, int64_t bucket_id, struct str doc);
int md_bucket_set_ownership(struct md_conn *c, int64_t bucket_id, enum md_ownership o);
int md_bucket_set_public_access_block(struct md_conn *c, int64_t bucket_id,
                                      const struct md_pab *p);
int md_bucket_set_acl(struct md_conn *c, int64_t bucket_id, struct str acl);
/* A bucket's tag set and CORS configuration; p == NULL (for tags, an empty
 * set too) removes it. 0, -ENOENT. Neither touches the policy generation. */
int md_bucket_set_tags(struct md_conn *c, int64_t bucket_id, struct str tags);
int md_bucket_set_cors(struct md_conn *c, int64_t bucket_id, struct str cors);

/* ---- tag sets ---------------------------------------------------------------
 * An object's or a bucket's tags are stored as text, one tag a line:
 * "<key>\t<value>\n", in the order given. Neither may hold a tab or a
 * newline (S3's tag alphabet has neither); what else a tag may hold is the
 * caller's rule. */
struct md_tag {
    struct str key, value;
};
/* The text of n tags, in a (n == 0: an empty, non-NULL string). -EINVAL if
 * a key or value holds a tab or a newline. Pure. */
int md_tags_encode(const struct md_tag *t, size_t n, struct arena *a, struct str *out);
/* Parses md_tags_encode()'s text: *out an arena array of *n tags whose
 * strings point into text. tags.p == NULL or empty: none. -EINVAL on a
 * malformed line. Pure. */
int md_tags_decode(struct str tags, struct arena *a, struct md_tag **out, size_t *n);
/* How many tags the text holds (its lines). Pure. */
size_t md_tags_count(struct str tags);

/* ---- ACL grants ------------------------------------------------------------
 * A bucket's or an object version's ACL is stored as text, one grant a line:
 * "<kind> <permission> <grantee>\n", kind "id" (a canonical user id), "uri"
 * (a group URI) or "email"; permission READ, WRITE, READ_ACP, WRITE_ACP or
 * FULL_CONTROL; the grantee runs to the end of the line. Grant order is
 * kept. The store never interprets it beyond this codec. */
enum md_grantee { MD_GRANTEE_ID = 0, MD_GRANTEE_URI = 1, MD_GRANTEE_EMAIL = 2 };
enum md_perm {
    MD_PERM_READ = 0,
    MD_PERM_WRITE = 1,
    MD_PERM_READ_ACP = 2,
    MD_PERM_WRITE_ACP = 3,
    MD_PERM_FULL_CONTROL = 4,
};
struct md_grant {
    enum md_grantee kind;
    enum md_perm perm;
    struct str grantee; /* no newline */
};
/* The text of n grants, in a. -EINVAL if a grantee is empty or holds a
 * newline or the kind or permission is out of range. Pure. */
int md_acl_encode(const struct md_grant *g, size_t n, struct arena *a, struct str *out);
/* Parses md_acl_encode()'s text: *out an arena array of *n grants whose
 * strings point into text. acl.p == NULL or empty: no grants. -EINVAL on a
 * malformed line. Pure. */
int md_acl_decode(struct str acl, struct arena *a, struct md_grant **out, size_t *n);

/* ---- object versions ----------------------------------------------------
 * One row per version. seq orders versions: larger = newer (also across keys).
 * Exactly one row per (bucket, key) has is_latest (the newest). */
#define MD_VID_LEN 32 /* generated version ids: 32 chars of [A-Za-z0-9._] */

struct md_version {
    int64_t seq;
    int64_t bucket_id;
    struct str key;
    struct str version_id; /* "null" for the null version */
    bool is_latest;
    bool is_delete_marker;
    int64_t size;
    int64_t mtime_ms;
    int64_t owner_id;       /* account id of the writer */
    struct str etag;        /* without quotes: 32 hex, or hex-N for multipart */
    struct str content_type;
    struct str meta;        /* stored response headers, "name: value\n" lines */
    struct str checksum_algo;  /* "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256" or empty */
    struct str checksum_value; /* base64 */
    struct str blob_id;     /* data file; empty when inline or a marker */
    struct str inline_data; /* data stored in the row; only filled by md_version_get */
    int parts_count;        /* 0 unless multipart */
    struct str acl; /* md_acl_encode() text, p == NULL when none; only filled by
                     * md_version_get, stored by md_version_set_acl (never by
                     * md_version_insert) */
    /* Schema 12+. The storage class as S3 names it; empty (or p == NULL)
     * means STANDARD. Filled by every read, listings included. */
    struct str storage_class;
    /* md_tags_encode() text, p == NULL when none (an empty set is stored
     * as none); stored by md_version_insert and md_version_set_tags, only
     * filled by md_version_get. */
    struct str tags;
};

/* version_id.p == NULL: the latest row of key (which may be a marker).
 * 0 with *out filled (strings and inline data copied into a), -ENOENT. */
int md_version_get(struct md_conn *c, int64_t bucket_id, struct str key, struct str version_id,
                   struct arena *a, struct md_version *out);
/* Hints that md_version_get() of key (and version_id, or the latest) in
 * bucket_id is coming on c: in a read snapshot before its first read, or
 * in a write job (md_write()) before its next statement. On PostgreSQL the
 * read is then sent in the same round trip as that statement, and answers
 * only the same read in the same snapshot, or in the same job with no
 * statement in between; a wrong guess wastes a lookup, never answers. No
 * effect elsewhere. */
void md_version_prefetch(struct md_conn *c, int64_t bucket_id, struct str key,
                         struct str version_id);
/* The same right after md_snapshot_begin() for the bucket named bucket,
 * when a reader keeps its row (PostgreSQL's row cache: whatever generation
 * it was read under), so that a GET of an object costs one round trip. */
void md_version_prefetch_named(struct md_conn *c, struct str bucket, struct str key,
                               struct str version_id);
/* The version with sequence number seq, as md_version_get. 0, -ENOENT. */
int md_version_get_seq(struct md_conn *c, int64_t seq, struct arena *a, struct md_version *out);
/* Inserts v as the newest version of its key: assigns v->seq, and, when
 * v->version_id.p == NULL, a fresh version id (MD_VID_LEN chars, copied into
 * a and stored in v->version_id). Clears is_latest on the previous newest row.
 * A given version_id must not be taken in the caller's transaction (the
 * null version it just removed or found absent): on SQLite -EEXIST if it
 * is; on PostgreSQL the insert is not waited for, and a row already there
 * fails the whole group, which runs again (exec_nowait()). */
int md_version_insert(struct md_conn *c, struct md_version *v, struct arena *a);
/* Stores the ACL of version seq (acl.p == NULL removes it). 0, -ENOENT. */
int md_version_set_acl(struct md_conn *c, int64_t seq, struct str acl);
/* Stores the tags of version seq (tags.p == NULL or an empty set removes
 * them). 0, -ENOENT. */
int md_version_set_tags(struct md_conn *c, int64_t seq, struct str tags);
/* Removes the row; if it was the latest, the next newest becomes latest.
 * A multipart version's extents go with it, their blobs to the trash
 * (md_trash_take()). 0, -ENOENT. */
int md_version_delete(struct md_conn *c, int64_t seq);
/* md_version_delete() of a row v read in this transaction: only the steps
 * its is_latest and parts_count call for (none to promote another version
 * when the caller knows the key has no other: alone), and (PostgreSQL) the
 * deletion not waited for. 0 or -errno. */
int md_version_drop(struct md_conn *c, const struct md_version *v, bool alone);
/* Checks a client-sent version id: 0 for "null" (*seq = 0) or a well-formed
 * generated id (*seq = its sequence number), -EINVAL otherwise. Pure. */
int md_vid_parse(struct str vid, int64_t *seq);

/* Listing, always by index range scans. Rows come without inline data.
 * Latest non-marker versions with key > after (or >= after when inclusive;
 * after.p == NULL: from the start), key starting with prefix, ascending, at
 * most limit rows. */
int md_list_objects(struct md_conn *c, int64_t bucket_id, struct str prefix, struct str after,
                    bool inclusive, size_t limit, struct arena *a, struct md_version **out,
                    size_t *n);
/* Every version and marker, keys ascending, newest first within a key,
 * starting strictly after (after_key, after_seq): after_seq == 0 means after
 * every version of after_key; after_key.p == NULL means from the start;
 * after_key_inclusive starts at after_key's newest version instead. Rows
 * carry what a listing shows: content_type, meta, checksum_value and
 * blob_id are empty. */
int md_list_versions(struct md_conn *c, int64_t bucket_id, struct str prefix, struct str after_key,
                     bool after_key_inclusive, int64_t after_seq, size_t limit, struct arena *a,
                     struct md_version **out, size_t *n);
/* 1 if a version row, an upload part or a multipart version's extent
 * references blob_id, 0 if none does (trash rows do not count), -errno
 * (for blob_gc). */
int md_blob_referenced(struct md_conn *c, struct str blob_id);
/* Number of version rows in the bucket (for admin views and tests). */
int md_bucket_count_versions(struct md_conn *c, int64_t bucket_id, int64_t *n);

/* ---- multipart uploads --------------------------------------------------
 * An upload owns its part rows; each part is one blob file. Completion
 * moves the chosen parts to the new version (md_version_part_add()) and
 * deletes the upload (md_upload_delete()): the parts stay where they are
 * on disk and become the object's extents. Blobs that lose their last
 * reference (a replaced part, an aborted upload, parts left out of a
 * completion, a deleted multipart version, a deleted bucket's uploads) are
 * recorded in the trash in the same transaction; md_trash_take() hands
 * them out for the reaper (store/trash.h), which unlinks them after the
 * commit once their grace period is over. */
#define MD_UPLOAD_ID_MAX 64 /* upload ids are caller-made: at most this many bytes */

struct md_upload {
    int64_t id; /* row id: never reused, increasing with creation */
    struct str upload_id;
    int64_t bucket_id;
    struct str key;
    int64_t initiated_ms;
    int64_t owner_id;
    struct str content_type;
    struct str meta;          /* as md_version.meta */
    struct str checksum_algo; /* "CRC32", ... or empty */
    struct str checksum_type; /* "COMPOSITE", "FULL_OBJECT" or empty */
    /* What CreateMultipartUpload asked for the object (schema 10+): the
     * account that will own it (0: owner_id) and its ACL, md_acl_encode()
     * text (p == NULL: none). */
    int64_t object_owner;
    struct str acl;
    /* Schema 12+: the object's tags (md_tags_encode() text, p == NULL:
     * none) and storage class (empty: STANDARD). */
    struct str tags;
    struct str storage_class;
};

/* One part of an upload, or one extent of a multipart version. */
struct md_part {
    int part_number;    /* 1..10000 */
    int64_t first_byte; /* versions only: offset of the part within the object */
    int64_t size;
    int64_t mtime_ms;
    struct str blob_id;
    struct str etag;     /* 32 hex, no quotes */
    struct str checksum; /* base64 in the upload's algorithm, or empty */
};

/* Inserts u; sets u->id. -EEXIST if upload_id exists, -ENOENT if the
 * bucket does not. */
int md_upload_create(struct md_conn *c, struct md_upload *u);
/* By upload id: 0 with *out (strings copied into a), -ENOENT. */
int md_upload_get(struct md_conn *c, struct str upload_id, struct arena *a, struct md_upload *out);
/* Uploads of a bucket in (key, id) order whose key starts with prefix,
 * starting after (after_key, after_id): after_key.p == NULL means from the
 * start; after_key_inclusive starts at after_key's first upload; otherwise
 * after_id > 0 continues with after_key's uploads newer than after_id and
 * after_id == 0 starts after every upload of after_key. At most limit. */
int md_upload_list(struct md_conn *c, int64_t bucket_id, struct str prefix, struct str after_key,
                   bool after_key_inclusive, int64_t after_id, size_t limit, struct arena *a,
                   struct md_upload **out, size_t *n);
/* Every upload of every bucket with id > after_id, by id (admin views). */
int md_upload_list_all(struct md_conn *c, int64_t after_id, size_t limit, struct arena *a,
                       struct md_upload **out, size_t *n);
/* Deletes the upload and its part rows; part blobs that no version
 * references go to the trash. 0, -ENOENT. */
int md_upload_delete(struct md_conn *c, int64_t id);
/* Completed uploads: which version (seq) of bucket_id upload_id became, so
 * a retried CompleteMultipartUpload can answer the same success. _add
 * records it (in the completing transaction) and forgets records older
 * than MD_UPLOAD_DONE_KEEP_MS; _get: 0 with *bucket_id and *seq, -ENOENT. */
#define MD_UPLOAD_DONE_KEEP_MS (7 * 24 * 3600 * 1000LL)
int md_upload_done_add(struct md_conn *c, struct str upload_id, int64_t bucket_id, int64_t seq,
                       int64_t now_ms);
int md_upload_done_get(struct md_conn *c, struct str upload_id, int64_t *bucket_id,
                       int64_t *seq);
/* Stores part p of upload, replacing a part with the same number (whose
 * blob goes to the trash). -ENOENT if the upload no longer exists. */
int md_part_put(struct md_conn *c, int64_t upload, const struct md_part *p);
/* Parts of upload with part_number > after_part, ascending, at most limit
 * (first_byte is 0). */
int md_part_list(struct md_conn *c, int64_t upload, int after_part, size_t limit,
                 struct arena *a, struct md_part **out, size_t *n);

/* Adds extent p to the multipart version seq (its row must exist). */
int md_version_part_add(struct md_conn *c, int64_t seq, const struct md_part *p);
/* Extent part_number of version seq: 0, -ENOENT. */
int md_version_part_get(struct md_conn *c, int64_t seq, int part_number, struct arena *a,
                        struct md_part *out);
/* The extent holding byte off (the last one with first_byte <= off):
 * 0, -ENOENT (no extents: the version is gone or is not multipart). */
int md_version_part_at(struct md_conn *c, int64_t seq, int64_t off, struct arena *a,
                       struct md_part *out);
/* Extents of seq with part_number > after_part, ascending, at most limit. */
int md_version_part_list(struct md_conn *c, int64_t seq, int after_part, size_t limit,
                         struct arena *a, struct md_part **out, size_t *n);

/* Records blob_id, version data whose last reference this transaction
 * dropped, in the trash, stamped with the wall clock (ms): the reaper
 * waits out the grace period (store/trash.h). Blobs of an upload's parts
 * go there inside md_upload_delete() and md_part_put(), stamped 0 (due at
 * once: no reader opens them); a multipart version's extents inside
 * md_version_delete(), stamped now. */
int md_trash_add(struct md_conn *c, struct str blob_id);
/* Removes up to limit trash rows stamped at or before before_ms, oldest
 * first, and returns their blob ids (copied into a). Run inside md_write():
 * unlink the blobs only after md_write() returned 0. */
int md_trash_take(struct md_conn *c, size_t limit, int64_t before_ms, struct arena *a,
                  struct str **ids, size_t *n);
/* 1 if a trash row is stamped at or before before_ms, 0, -errno. Cheap: for
 * readers deciding whether an md_write() for md_trash_take() is worth it. */
int md_trash_pending(struct md_conn *c, int64_t before_ms);

/* ---- the lifecycle executor (md_lifecycle.c, schema 13) --------------------
 * A bounded, index-driven scan of a bucket's versions with what rule
 * evaluation needs, a storage-class change, and the executor's progress per
 * bucket. Which action is due is core/'s; uploads are scanned with
 * md_upload_list() (prefix STR_NULL; cursor (key, id); initiated_ms). */

/* One version as the executor sees it. Strings copied into the arena. */
struct md_lc_version {
    int64_t seq;
    struct str key, version_id;
    bool is_latest, is_delete_marker;
    bool is_sole_dm; /* a latest marker with no other version of its key */
    int64_t size, mtime_ms;
    int64_t noncurrent_ms; /* when a newer version replaced it as latest; 0 while latest */
    struct str etag;
    struct str storage_class; /* empty (or p == NULL): STANDARD */
    struct str tags;          /* md_tags_encode() text; STR_NULL when none or not asked for */
};
/* Every version of bucket_id in (key ascending, seq descending) order,
 * strictly after (after_key, after_seq): after_key.p == NULL starts at the
 * beginning; after_seq == 0 skips every version of after_key. At most limit
 * rows; fewer means the scan reached the end. with_tags reads each row's
 * tags too, at a table lookup per row (ask only when a rule filters on
 * tags). 0 with *out an arena array of *n, or -errno. */
int md_lc_scan(struct md_conn *c, int64_t bucket_id, struct str after_key, int64_t after_seq,
               bool with_tags, size_t limit, struct arena *a, struct md_lc_version **out,
               size_t *n);
/* Relabels version seq (nothing moves): class.p == NULL or empty is
 * STANDARD. 0, -ENOENT. */
int md_version_set_storage_class(struct md_conn *c, int64_t seq, struct str storage_class);

/* Where the executor's pass over a bucket stands. Written in the
 * transaction of the actions it covers (md_lc_state_put() inside the same
 * md_write() closure), so after a crash the pass resumes exactly behind
 * the last committed action. Deleted with its bucket. */
enum md_lc_phase {
    MD_LC_VERSIONS = 0, /* cursor: (key, seq) of md_lc_scan() */
    MD_LC_UPLOADS = 1,  /* cursor: (key, upload row id) of md_upload_list() */
};
struct md_lc_state {
    int64_t bucket_id;
    int64_t pass_started_ms;   /* the pass's start (wall clock) */
    enum md_lc_phase phase;
    struct str cursor_key;     /* STR_NULL: the phase has not started */
    int64_t cursor_seq;        /* the seq (versions) or upload id (uploads) last done */
    int64_t cursor_noncurrent; /* noncurrent versions of cursor_key up to the cursor:
                                * NewerNoncurrentVersions' rank resumes from it */
    int64_t n_actions;         /* actions of this pass so far */
    int64_t updated_ms;
};
/* 0 with *out (cursor_key copied into a), -ENOENT when no pass is under
 * way. */
int md_lc_state_get(struct md_conn *c, int64_t bucket_id, struct arena *a,
                    struct md_lc_state *out);
/* Stores st (insert or replace). -ENOENT if the bucket does not exist. */
int md_lc_state_put(struct md_conn *c, const struct md_lc_state *st);
/* Ends the pass: 0, -ENOENT if none was stored. */
int md_lc_state_clear(struct md_conn *c, int64_t bucket_id);
/* Whether a and b are the same progress row, field by field. */
bool md_lc_state_eq(const struct md_lc_state *a, const struct md_lc_state *b);

#endif
