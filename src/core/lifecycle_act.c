/* lifecycle_act.c -- the lifecycle executor's actions, each one step of a
 * metadata transaction: the bucket's interlocks, the "still the row
 * evaluated" check, the change through object.c's and object_mpu.c's paths,
 * and the audit record. Deciding what is due is lifecycle.c's. */
#include "common.h"
#include "core/lifecycle_act.h"
#include "core/core_int.h"
#include "core/object.h"
#include "core/object_mpu.h"

#include <errno.h>

static const char *const result_names[] = {
#define LC_ACT_NAME(name, text) [LC_ACT_##name] = text,
    LIFECYCLE_ACT_RESULTS(LC_ACT_NAME)
#undef LC_ACT_NAME
};

const char *
lifecycle_act_result_name(enum lifecycle_act_result r)
{
    if ((size_t)r >= ARRAY_LEN(result_names))
        return "?";
    return result_names[r];
}

/* AWS: a transition's access-log operation names its target class
 * [spec lifecycle A5]. */
static const struct {
    const char *storage_class, *event;
} transition_events[] = {
    {"STANDARD_IA", "S3.TRANSITION_SIA.OBJECT"},
    {"ONEZONE_IA", "S3.TRANSITION_ZIA.OBJECT"},
    {"INTELLIGENT_TIERING", "S3.TRANSITION_INT.OBJECT"},
    {"GLACIER_IR", "S3.TRANSITION_GIR.OBJECT"},
    {"GLACIER", "S3.TRANSITION.OBJECT"},
    {"DEEP_ARCHIVE", "S3.TRANSITION_GDA.OBJECT"},
};

#define EV_EXPIRE "S3.EXPIRE.OBJECT"
#define EV_MARKER "S3.CREATE.DELETEMARKER"
#define EV_ABORT "S3.DELETE.UPLOAD"

static void
out_clear(struct lifecycle_act_out *out)
{
    out->result = LC_ACT_DONE;
    out->version_id = STR_NULL;
    out->made_marker = false;
    out->versioning = MD_VER_NONE;
}

/* The record S3 would put in its server access log; the requester is the
 * lifecycle itself and there is no remote address [A5 decision]. */
static enum core_err
audit(struct md_conn *c, const struct lifecycle_act_bucket *bk, const char *event, struct str key,
      struct str vid, struct str rule_id, struct arena *a)
{
    struct md_audit e = {
        .time_ms = bk->now_ms,
        .event = str_c(event),
        .principal = STR_LIT("lifecycle"),
        .bucket = bk->name,
        .key = key,
        .version_id = vid,
        .source = STR_LIT("-"),
        .detail = str_c(arena_printf(a, "rule-id=%.*s", (int)rule_id.n, rule_id.p ? rule_id.p : "")),
    };

    return core_store_err(md_audit_append(c, &e));
}

/* The interlocks, read in the acting transaction: the bucket (*b) still the
 * one evaluated, without MFA delete, with the configuration evaluated.
 * Leaves out->result LC_ACT_DONE when the action may go on. */
static enum core_err
gate(struct md_conn *c, const struct lifecycle_act_bucket *bk, struct arena *a,
     struct md_bucket *b, struct lifecycle_act_out *out)
{
    enum core_err err = object_bucket(c, bk->name, bk->id, a, b);

    if (err == CORE_E_NO_SUCH_BUCKET) {
        out->result = LC_ACT_NO_BUCKET;
        return CORE_E_OK;
    }
    if (err != CORE_E_OK)
        return err;
    out->versioning = b->versioning;
    /* AWS: lifecycle and MFA delete never run together [A3.9]. Enabling MFA
     * delete is refused on a bucket with a configuration, but the executor
     * does not rely on that: this read is in the deleting transaction. */
    if (b->mfa_delete == MD_MFA_ENABLED)
        out->result = LC_ACT_MFA_DELETE;
    /* AWS: a deleted or replaced configuration drops queued work [A3.3]. */
    else if (b->lifecycle.p == NULL || (bk->lifecycle.p && !str_eq(b->lifecycle, bk->lifecycle)))
        out->result = LC_ACT_NO_CONFIG;
    return CORE_E_OK;
}

/* The row now, from the same index scan the executor evaluated: index
 * only (no inline data is copied), and it says whether a latest marker is
 * still its key's only version. LC_ACT_STALE unless it is the row
 * evaluated. */
static enum core_err
same_row(struct md_conn *c, const struct md_bucket *b, const struct lifecycle_act_version *v,
         struct arena *a, struct md_lc_version *row, struct lifecycle_act_out *out)
{
    struct md_lc_version *rows;
    size_t n;
    int rc = md_lc_scan(c, b->id, v->key, v->seq + 1, false, 1, a, &rows, &n);

    if (rc < 0)
        return core_store_err(rc);
    if (n == 0 || rows[0].seq != v->seq || !str_eq(rows[0].key, v->key) ||
        rows[0].is_latest != v->is_latest || rows[0].is_delete_marker != v->is_dm ||
        !str_eq(rows[0].etag, v->etag)) {
        out->result = LC_ACT_STALE;
        return CORE_E_OK;
    }
    *row = rows[0];
    return CORE_E_OK;
}

/* The Object Lock hook: whether lifecycle may delete version vid of key
 * for good at now_ms. AWS: lifecycle never deletes a version under
 * retention or legal hold (it may still add delete markers), and deletes it
 * at the first pass after the lock ends [A3.9 decision]; the caller reports
 * LC_ACT_LOCKED and the next pass retries. Coffer has no Object Lock yet,
 * so no version is locked; when it comes, this reads the version's
 * retention and legal hold here, in the deleting transaction. */
static bool
lifecycle_act_lock_permits_delete(struct md_conn *c, const struct md_bucket *b, struct str key,
                                  struct str vid, int64_t now_ms)
{
    (void)c, (void)b, (void)key, (void)vid, (void)now_ms;
    return true;
}

/* The actions proper, on a bucket b that gate() let through in this
 * transaction: a batch reads its bucket once for all its items (the same
 * transaction, so the same answer) instead of copying the configuration,
 * which may be large, once per action. */
static enum core_err
expire_current(struct md_conn *c, const struct lifecycle_act_bucket *bk, const struct md_bucket *b,
               const struct lifecycle_act_version *v, struct str rule_id, int64_t dm_ms,
               struct arena *a, struct lifecycle_act_out *out)
{
    struct md_lc_version row;
    struct md_version null_v;
    struct object_del del;
    bool had_null = false;
    enum core_err err;
    int rc;

    ASSERT(v->is_latest);
    err = same_row(c, b, v, a, &row, out);
    if (err != CORE_E_OK || out->result != LC_ACT_DONE)
        return err;
    /* AWS: a current delete marker is left alone; a marker with no other
     * version is ExpiredObjectDeleteMarker's business [A3.3, A3.5]. */
    if (row.is_delete_marker) {
        out->result = LC_ACT_NOOP;
        return CORE_E_OK;
    }
    /* What goes for good: the version itself when unversioned; on a
     * Suspended bucket the key's null version, whichever it is. */
    if (b->versioning == MD_VER_NONE) {
        had_null = true;
    } else if (b->versioning == MD_VER_SUSPENDED) {
        rc = md_version_get(c, b->id, v->key, STR_LIT("null"), a, &null_v);
        if (rc < 0 && rc != -ENOENT)
            return core_store_err(rc);
        had_null = rc == 0;
    }
    if (had_null && !lifecycle_act_lock_permits_delete(c, b, v->key, STR_LIT("null"), bk->now_ms)) {
        out->result = LC_ACT_LOCKED;
        return CORE_E_OK;
    }
    /* The simple DELETE of object.c: removal when unversioned, a marker
     * (a "null" one when Suspended) otherwise. The marker's Last-Modified
     * is the action day's midnight [A3.1]; the bucket owner owns it. */
    err = object_delete(c, b, v->key, STR_NULL, b->account_id, dm_ms, a, &del);
    if (err != CORE_E_OK)
        return err;
    if (had_null)
        err = audit(c, bk, EV_EXPIRE, v->key, STR_LIT("null"), rule_id, a);
    if (err == CORE_E_OK && del.delete_marker)
        err = audit(c, bk, EV_MARKER, v->key, del.version_id, rule_id, a);
    if (err != CORE_E_OK)
        return err;
    out->made_marker = del.delete_marker;
    out->version_id = del.delete_marker ? del.version_id : row.version_id;
    return CORE_E_OK;
}

static enum core_err
delete_version(struct md_conn *c, const struct lifecycle_act_bucket *bk, const struct md_bucket *b,
               const struct lifecycle_act_version *v, struct str rule_id, struct arena *a,
               struct lifecycle_act_out *out)
{
    struct md_lc_version row;
    struct object_del del;
    enum core_err err;

    /* A current object is expired with a marker, never deleted from here. */
    ASSERT(!v->is_latest || v->is_dm);
    err = same_row(c, b, v, a, &row, out);
    if (err != CORE_E_OK || out->result != LC_ACT_DONE)
        return err;
    /* A latest marker goes only while it is alone: deleting it otherwise
     * would promote an older version, making a deleted object reappear. */
    if (row.is_latest && !row.is_sole_dm) {
        out->result = LC_ACT_STALE;
        return CORE_E_OK;
    }
    if (!lifecycle_act_lock_permits_delete(c, b, row.key, row.version_id, bk->now_ms)) {
        out->result = LC_ACT_LOCKED;
        return CORE_E_OK;
    }
    err = object_delete(c, b, row.key, row.version_id, b->account_id, bk->now_ms, a, &del);
    if (err == CORE_E_OK && !del.removed)
        out->result = LC_ACT_STALE; /* not reached: same_row saw it */
    else if (err == CORE_E_OK)
        err = audit(c, bk, EV_EXPIRE, row.key, row.version_id, rule_id, a);
    if (err == CORE_E_OK && out->result == LC_ACT_DONE)
        out->version_id = row.version_id;
    return err;
}

static enum core_err
transition(struct md_conn *c, const struct lifecycle_act_bucket *bk, const struct md_bucket *b,
           const struct lifecycle_act_version *v, struct str rule_id, struct str storage_class,
           struct arena *a, struct lifecycle_act_out *out)
{
    struct md_lc_version row;
    const char *event = NULL;
    enum core_err err;

    ASSERT(!v->is_dm);
    for (size_t i = 0; i < ARRAY_LEN(transition_events); i++)
        if (str_eq_c(storage_class, transition_events[i].storage_class))
            event = transition_events[i].event;
    err = same_row(c, b, v, a, &row, out);
    if (err != CORE_E_OK || out->result != LC_ACT_DONE)
        return err;
    if (event == NULL) {
        out->result = LC_ACT_BAD_CLASS;
        return CORE_E_OK;
    }
    if (str_eq(row.storage_class, storage_class)) {
        out->result = LC_ACT_NOOP;
        return CORE_E_OK;
    }
    err = core_store_err(md_version_set_storage_class(c, row.seq, storage_class));
    if (err == CORE_E_OK)
        err = audit(c, bk, event, row.key, row.version_id, rule_id, a);
    if (err == CORE_E_OK)
        out->version_id = row.version_id;
    return err;
}

static enum core_err
abort_upload(struct md_conn *c, const struct lifecycle_act_bucket *bk, struct str key,
             struct str upload_id, struct str rule_id, struct arena *a,
             struct lifecycle_act_out *out)
{
    struct md_bucket b;
    enum core_err err;

    /* AbortMultipartUpload's own step: it reads the bucket again (a point
     * lookup; uploads are few) and finds the upload of this bucket and key,
     * or none. */
    err = object_mpu_abort(c, bk->name, bk->id, key, upload_id, a, &b);
    if (err == CORE_E_NO_SUCH_UPLOAD) {
        out->result = LC_ACT_STALE;
        return CORE_E_OK;
    }
    if (err == CORE_E_OK)
        err = audit(c, bk, EV_ABORT, key, STR_NULL, rule_id, a);
    return err;
}

static enum core_err
act_item(struct md_conn *c, const struct lifecycle_act_bucket *bk, const struct md_bucket *b,
         struct lifecycle_act_item *it, struct arena *a)
{
    switch (it->kind) {
    case LC_ACT_EXPIRE_CURRENT:
        return expire_current(c, bk, b, &it->v, it->rule_id, it->dm_ms, a, &it->out);
    case LC_ACT_DELETE_VERSION:
        return delete_version(c, bk, b, &it->v, it->rule_id, a, &it->out);
    case LC_ACT_TRANSITION:
        return transition(c, bk, b, &it->v, it->rule_id, it->storage_class, a, &it->out);
    case LC_ACT_ABORT_UPLOAD:
        return abort_upload(c, bk, it->v.key, it->upload_id, it->rule_id, a, &it->out);
    }
    ASSERT(!"unknown lifecycle action");
    return CORE_E_INTERNAL;
}

/* One action in its own step: the interlocks, then the item. */
static enum core_err
act_one(struct md_conn *c, const struct lifecycle_act_bucket *bk, struct lifecycle_act_item *it,
        struct arena *a, struct lifecycle_act_out *out)
{
    struct md_bucket b;
    enum core_err err;

    out_clear(&it->out);
    err = gate(c, bk, a, &b, &it->out);
    if (err == CORE_E_OK && it->out.result == LC_ACT_DONE)
        err = act_item(c, bk, &b, it, a);
    *out = it->out;
    return err;
}

enum core_err
lifecycle_act_expire_current(struct md_conn *c, const struct lifecycle_act_bucket *bk,
                             const struct lifecycle_act_version *v, struct str rule_id,
                             int64_t dm_ms, struct arena *a, struct lifecycle_act_out *out)
{
    struct lifecycle_act_item it = {
        .kind = LC_ACT_EXPIRE_CURRENT, .v = *v, .rule_id = rule_id, .dm_ms = dm_ms};

    return act_one(c, bk, &it, a, out);
}

enum core_err
lifecycle_act_delete_version(struct md_conn *c, const struct lifecycle_act_bucket *bk,
                             const struct lifecycle_act_version *v, struct str rule_id,
                             struct arena *a, struct lifecycle_act_out *out)
{
    struct lifecycle_act_item it = {.kind = LC_ACT_DELETE_VERSION, .v = *v, .rule_id = rule_id};

    return act_one(c, bk, &it, a, out);
}

enum core_err
lifecycle_act_transition(struct md_conn *c, const struct lifecycle_act_bucket *bk,
                         const struct lifecycle_act_version *v, struct str rule_id,
                         struct str storage_class, struct arena *a,
                         struct lifecycle_act_out *out)
{
    struct lifecycle_act_item it = {
        .kind = LC_ACT_TRANSITION, .v = *v, .rule_id = rule_id, .storage_class = storage_class};

    return act_one(c, bk, &it, a, out);
}

enum core_err
lifecycle_act_abort_upload(struct md_conn *c, const struct lifecycle_act_bucket *bk,
                           struct str key, struct str upload_id, struct str rule_id,
                           struct arena *a, struct lifecycle_act_out *out)
{
    struct lifecycle_act_item it = {
        .kind = LC_ACT_ABORT_UPLOAD, .v = {.key = key}, .upload_id = upload_id, .rule_id = rule_id};

    return act_one(c, bk, &it, a, out);
}

/* A store failure as md_write() wants it back. */
static int
err_errno(enum core_err err)
{
    switch (err) {
    case CORE_E_STORAGE_FULL:
        return -ENOSPC;
    case CORE_E_SLOW_DOWN:
        return -EBUSY;
    default:
        return -EIO;
    }
}

/* Whether the stored progress row is still x->prev, read in the acting
 * transaction; LC_ACT_MOVED in *out when it is not. */
static enum core_err
progress_follows(struct md_conn *c, const struct lifecycle_act_batch *x,
                 struct lifecycle_act_out *out)
{
    struct md_lc_state cur;
    int rc;

    ASSERT(x->prev != NULL);
    rc = md_lc_state_get(c, x->bucket.id, x->a, &cur);
    if (rc < 0 && rc != -ENOENT)
        return core_store_err(rc);
    if (rc == -ENOENT ? x->prev->bucket_id != 0 : !md_lc_state_eq(&cur, x->prev))
        out->result = LC_ACT_MOVED;
    return CORE_E_OK;
}

int
lifecycle_act_batch_fn(struct md_conn *c, void *arg)
{
    struct lifecycle_act_batch *x = arg;
    struct lifecycle_act_out gated;
    struct md_bucket b;
    enum core_err err;
    int rc;

    /* Every output first: a run must not see what an earlier one left. */
    x->err = CORE_E_OK;
    for (size_t i = 0; i < x->n; i++)
        out_clear(&x->items[i].out);
    /* The interlocks once: every item is in this one transaction. A
     * refusal is every item's outcome, and the progress row stays put. */
    out_clear(&gated);
    err = gate(c, &x->bucket, x->a, &b, &gated);
    if (err == CORE_E_OK && gated.result == LC_ACT_DONE && x->state != NULL)
        err = progress_follows(c, x, &gated);
    for (size_t i = 0; i < x->n && err == CORE_E_OK; i++) {
        x->items[i].out = gated;
        if (gated.result == LC_ACT_DONE)
            err = act_item(c, &x->bucket, &b, &x->items[i], x->a);
    }
    if (err != CORE_E_OK) {
        x->err = err;
        return err_errno(err);
    }
    if (x->state != NULL && gated.result == LC_ACT_DONE) {
        rc = md_lc_state_put(c, x->state);
        if (rc < 0) {
            x->err = core_store_err(rc);
            return rc;
        }
    }
    return 0;
}
