/* lifecycle_act.h -- the lifecycle executor's actions on the store: expire
 * a current version, delete a version for good, relabel its storage class,
 * abort a multipart upload [spec lifecycle A3.3, A5]. Which action is due
 * is core/lifecycle.h's; scanning buckets and pacing is the executor's.
 * No HTTP, no XML.
 *
 * Every function runs inside an md_write() closure (on the writer's
 * connection) and, in that same transaction: re-reads the bucket and
 * refuses when it is gone or re-created, when MFA delete is enabled (the
 * executor never acts on such a bucket [A3.9]: checked under the
 * transaction that deletes, so enabling MFA delete while a pass runs stops
 * it) or when the bucket has no lifecycle configuration, or not the one
 * evaluated; then acts only if the version (or upload) is still the one
 * evaluated (same seq, key, latest/marker state and ETag), otherwise does
 * nothing and says so (LC_ACT_STALE); deletes through object_delete() and
 * object_mpu_abort(), the paths of client deletes, so data goes to the
 * trash in the same transaction (the reaper unlinks it after the grace
 * period); and appends one audit record per effect, principal
 * "lifecycle", source "-", event as S3's server access log names it [A5],
 * detail "rule-id=<id>".
 *
 * Retry rule (md.h): each sets every output on every path at the start, and
 * is idempotent against the store: a run after a committed one finds the
 * row changed and answers LC_ACT_STALE or LC_ACT_NOOP, never acts twice.
 *
 * Errors: the enum core_err is CORE_E_OK or a store failure
 * (CORE_E_STORAGE_FULL, CORE_E_SLOW_DOWN, CORE_E_INTERNAL): the closure
 * should then return < 0 so its savepoint is rolled back. What happened is
 * out->result. */
#ifndef COFFER_CORE_LIFECYCLE_ACT_H
#define COFFER_CORE_LIFECYCLE_ACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core_err.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/str.h"

/*      suffix      name for logs and `coffer lifecycle run` */
#define LIFECYCLE_ACT_RESULTS(X)                                                                   \
    X(DONE, "done")                 /* acted (and audited) */                                      \
    X(STALE, "stale")               /* not the row or upload evaluated any more */                 \
    X(NOOP, "noop")                 /* nothing to do: current is a marker, class already set */    \
    X(NO_BUCKET, "no-bucket")       /* bucket gone, or deleted and made again */                   \
    X(NO_CONFIG, "no-configuration") /* no lifecycle configuration, or another one */              \
    X(MFA_DELETE, "mfa-delete")     /* MFA delete enabled: the bucket is never acted on */         \
    X(LOCKED, "locked")             /* Object Lock retention or legal hold (none today) */         \
    X(BAD_CLASS, "unknown-class")   /* a transition to a class with no access-log event */         \
    X(MOVED, "progress-moved")      /* the stored progress row is not the one the batch follows */

enum lifecycle_act_result {
#define LC_ACT_ENUM(name, text) LC_ACT_##name,
    LIFECYCLE_ACT_RESULTS(LC_ACT_ENUM)
#undef LC_ACT_ENUM
};
/* "done", "stale", ...: static text. */
const char *lifecycle_act_result_name(enum lifecycle_act_result r);

/* The bucket as the executor evaluated it. Borrowed for the call. */
struct lifecycle_act_bucket {
    struct str name;
    int64_t id;
    struct str lifecycle; /* the configuration evaluated, byte-exact as stored
                           * (md_bucket.lifecycle); p == NULL: any configuration */
    int64_t now_ms;       /* wall clock: the audit records' time */
};

/* The version as evaluated (from md_lc_scan()). Borrowed for the call. */
struct lifecycle_act_version {
    struct str key;
    int64_t seq;
    bool is_latest, is_dm;
    struct str etag;
};

struct lifecycle_act_out {
    enum lifecycle_act_result result;
    /* The version acted on: removed, relabelled, or the new delete marker
     * (in a); STR_NULL unless result is LC_ACT_DONE. */
    struct str version_id;
    bool made_marker;              /* a delete marker was added */
    enum md_versioning versioning; /* the bucket's state, once read */
};

/* Expiration of the current version v (v->is_latest), by the bucket's state
 * [A3.3]: unversioned, the version is deleted for good (S3.EXPIRE.OBJECT);
 * Enabled, a delete marker is added with Last-Modified dm_ms (00:00 UTC of
 * the action day, the caller's day arithmetic), the version kept as
 * noncurrent (S3.CREATE.DELETEMARKER, the marker's id); Suspended, a "null"
 * marker, which deletes the key's null version for good if it has one
 * (S3.EXPIRE.OBJECT "null" too) and keeps any other as noncurrent. A
 * current marker: LC_ACT_NOOP. */
enum core_err lifecycle_act_expire_current(struct md_conn *c, const struct lifecycle_act_bucket *bk,
                                           const struct lifecycle_act_version *v,
                                           struct str rule_id, int64_t dm_ms, struct arena *a,
                                           struct lifecycle_act_out *out);

/* Deletes version v for good: a noncurrent version or marker
 * (NoncurrentVersionExpiration), or an expired object delete marker (v
 * latest and a marker: still the only version of its key, else
 * LC_ACT_STALE, so no older version is ever promoted by lifecycle).
 * S3.EXPIRE.OBJECT. v must not be a current non-marker version. */
enum core_err lifecycle_act_delete_version(struct md_conn *c, const struct lifecycle_act_bucket *bk,
                                           const struct lifecycle_act_version *v,
                                           struct str rule_id, struct arena *a,
                                           struct lifecycle_act_out *out);

/* Transition: relabels version v (not a marker) to storage_class; no data
 * moves [A3.9 decision]. S3.TRANSITION_SIA.OBJECT, _ZIA, _INT, _GIR,
 * S3.TRANSITION.OBJECT (GLACIER), _GDA; another class is LC_ACT_BAD_CLASS;
 * the class the version has already, LC_ACT_NOOP. */
enum core_err lifecycle_act_transition(struct md_conn *c, const struct lifecycle_act_bucket *bk,
                                       const struct lifecycle_act_version *v, struct str rule_id,
                                       struct str storage_class, struct arena *a,
                                       struct lifecycle_act_out *out);

/* AbortIncompleteMultipartUpload: upload_id of key, as AbortMultipartUpload
 * does (object_mpu_abort(): rows deleted, parts to the trash); gone
 * already: LC_ACT_STALE. S3.DELETE.UPLOAD, version_id left STR_NULL. */
enum core_err lifecycle_act_abort_upload(struct md_conn *c, const struct lifecycle_act_bucket *bk,
                                         struct str key, struct str upload_id, struct str rule_id,
                                         struct arena *a, struct lifecycle_act_out *out);

/* ---- batches --------------------------------------------------------------
 * One md_write() per action would cost a commit (an fsync) each; the
 * executor hands a batch of one bucket's actions and its advanced progress
 * row to one closure, so the actions and the cursor that says they are done
 * commit together (resumable after kill -9: nothing twice, nothing lost). */
enum lifecycle_act_kind {
    LC_ACT_EXPIRE_CURRENT,
    LC_ACT_DELETE_VERSION,
    LC_ACT_TRANSITION,
    LC_ACT_ABORT_UPLOAD,
};

struct lifecycle_act_item {
    /* in */
    enum lifecycle_act_kind kind;
    struct lifecycle_act_version v; /* uploads: v.key only */
    struct str upload_id;           /* LC_ACT_ABORT_UPLOAD */
    struct str rule_id;
    struct str storage_class;       /* LC_ACT_TRANSITION */
    int64_t dm_ms;                  /* LC_ACT_EXPIRE_CURRENT */
    /* out */
    struct lifecycle_act_out out;
};

struct lifecycle_act_batch {
    struct lifecycle_act_bucket bucket;  /* in */
    struct lifecycle_act_item *items;    /* in/out */
    size_t n;
    const struct md_lc_state *state;     /* in: stored after the items; NULL: none */
    const struct md_lc_state *prev;      /* in, with state: the row it follows (bucket_id 0:
                                          * none stored) */
    struct arena *a;                     /* in: outputs' strings */
    enum core_err err;                   /* out: the first store failure, or CORE_E_OK */
};

/* md_write_fn over a struct lifecycle_act_batch: reads the bucket once
 * (the interlocks hold for every item: one transaction), runs the items in
 * order, then md_lc_state_put(state). When the bucket refuses
 * (LC_ACT_NO_BUCKET, LC_ACT_MFA_DELETE, LC_ACT_NO_CONFIG) that is every
 * item's result, nothing is done and the progress row is not moved: the
 * executor should end the bucket's pass. So too when the stored progress
 * row is not *prev (LC_ACT_MOVED): another pass moved it (`coffer lifecycle
 * run` beside cofferd), or the executor read it through a connection whose
 * view is behind the writer's; writing state over it would count actions,
 * and skip keys, that this transaction cannot see. A store failure rolls the whole
 * batch back (returns < 0, with err set); an item's own refusal (stale,
 * locked, ...) does not. */
int lifecycle_act_batch_fn(struct md_conn *c, void *arg);

#endif
