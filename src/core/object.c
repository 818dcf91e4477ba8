/* object.c -- versioning semantics of writes and deletes, conditional
 * writes, and the transactions of PutObject, CopyObject, DeleteObject and
 * DeleteObjects. */
#include "common.h"
#include "core/object.h"
#include "core/core_int.h"

#include <errno.h>

enum core_err
object_bucket(struct md_conn *c, struct str name, int64_t bucket_id, struct arena *a,
              struct md_bucket *b)
{
    int rc = md_bucket_get(c, name, a, b);

    if (rc < 0 && rc != -ENOENT)
        return core_store_err(rc);
    /* Gone, or deleted and made again since the request was authorized. */
    if (rc == -ENOENT || b->id != bucket_id)
        return CORE_E_NO_SUCH_BUCKET;
    return CORE_E_OK;
}

/* Removes version v (alone: the key has no other version, as in a bucket
 * that was never versioned); its data file, if it has one, goes to the trash in
 * the same transaction (a multipart version's extents go there inside
 * md_version_delete()): the reaper unlinks it after the grace period, so a
 * reader that saw the row can still read it (store/trash.h). */
static int
drop_version(struct md_conn *c, const struct md_version *v, bool alone)
{
    int rc = md_version_drop(c, v, alone);

    if (rc == 0 && v->blob_id.n > 0)
        rc = md_trash_add(c, v->blob_id);
    return rc;
}

/* Removes the key's null version if there is one: *blob (unless NULL) its
 * data file (or STR_NULL), *trashed (unless NULL) whether any of its data,
 * a file or a multipart version's extents, went to the trash. */
static enum core_err
drop_null(struct md_conn *c, const struct md_bucket *b, struct str key, struct arena *a,
          struct str *blob, bool *trashed)
{
    struct md_version old;
    int rc = md_version_get(c, b->id, key, STR_LIT("null"), a, &old);

    if (blob != NULL)
        *blob = STR_NULL;
    if (trashed != NULL)
        *trashed = false;
    if (rc == -ENOENT)
        return CORE_E_OK;
    if (rc == 0)
        rc = drop_version(c, &old, b->versioning == MD_VER_NONE);
    if (rc < 0)
        return core_store_err(rc);
    if (blob != NULL && old.blob_id.n > 0)
        *blob = old.blob_id;
    if (trashed != NULL)
        *trashed = old.blob_id.n > 0 || old.parts_count > 0;
    return CORE_E_OK;
}

enum core_err
object_put(struct md_conn *c, const struct md_bucket *b, struct md_version *v, struct arena *a,
           bool *trashed)
{
    enum core_err err;

    *trashed = false;
    v->bucket_id = b->id;
    if (b->versioning == MD_VER_ENABLED) {
        /* AWS: every write on an Enabled bucket is a new version [spec §4.3]. */
        v->version_id = STR_NULL;
    } else {
        /* AWS: unversioned and Suspended writes replace the null version in
         * place; other versions are untouched [spec §4.3]. */
        err = drop_null(c, b, v->key, a, NULL, trashed);
        if (err != CORE_E_OK)
            return err;
        v->version_id = STR_LIT("null");
    }
    return core_store_err(md_version_insert(c, v, a));
}

enum core_err
object_delete(struct md_conn *c, const struct md_bucket *b, struct str key, struct str vid,
              int64_t owner_id, int64_t now_ms, struct arena *a, struct object_del *out)
{
    struct md_version v = {0};
    enum core_err err;
    int rc;

    out->version_id = STR_NULL;
    out->delete_marker = false;
    out->blob_id = STR_NULL;
    out->removed = false;
    if (vid.p != NULL) {
        int64_t seq;
        /* AWS: DELETE ?versionId removes that version for good, a marker
         * included; the response says which it was [spec §4.4]. */
        if (md_vid_parse(vid, &seq) < 0)
            return CORE_E_NO_SUCH_VERSION;
        rc = md_version_get(c, b->id, key, vid, a, &v);
        out->version_id = vid;
        if (rc == -ENOENT)
            return CORE_E_OK;
        if (rc == 0)
            rc = drop_version(c, &v, b->versioning == MD_VER_NONE);
        if (rc < 0)
            return core_store_err(rc);
        out->removed = true;
        out->delete_marker = v.is_delete_marker;
        if (v.blob_id.n > 0)
            out->blob_id = v.blob_id;
        return CORE_E_OK;
    }
    if (b->versioning == MD_VER_NONE)
        return drop_null(c, b, key, a, &out->blob_id, NULL);
    if (b->versioning == MD_VER_SUSPENDED) {
        /* AWS: Suspended: the null version goes and a null marker takes
         * its place [spec §4.4]. */
        err = drop_null(c, b, key, a, &out->blob_id, NULL);
        if (err != CORE_E_OK)
            return err;
        v.version_id = STR_LIT("null");
    }
    v.bucket_id = b->id;
    v.key = key;
    v.is_delete_marker = true;
    v.mtime_ms = now_ms;
    v.owner_id = owner_id;
    rc = md_version_insert(c, &v, a);
    if (rc < 0)
        return core_store_err(rc);
    out->version_id = v.version_id;
    out->delete_marker = true;
    return CORE_E_OK;
}

bool
object_etag_matches(struct str list, struct str etag)
{
    struct str rest = list, item;

    while (rest.p != NULL) {
        str_split(rest, ',', &item, &rest);
        item = str_trim(item);
        if (str_eq_c(item, "*"))
            return true;
        if (item.n >= 2 && item.p[0] == '"' && item.p[item.n - 1] == '"')
            item = str_make(item.p + 1, item.n - 2);
        if (str_eq(item, etag))
            return true;
    }
    return false;
}

enum core_err
object_check_cond(struct md_conn *c, int64_t bucket_id, struct str key,
                  const struct object_cond *cond, struct arena *a)
{
    struct md_version cur;
    bool exists;
    int rc;

    if (cond == NULL || (!cond->if_none_match && cond->if_match.p == NULL))
        return CORE_E_OK;
    rc = md_version_get(c, bucket_id, key, STR_NULL, a, &cur);
    if (rc < 0 && rc != -ENOENT)
        return core_store_err(rc);
    exists = rc == 0 && !cur.is_delete_marker;
    if (cond->if_none_match && exists)
        return CORE_E_PRECONDITION_FAILED;
    if (cond->if_match.p != NULL) {
        if (!exists)
            return CORE_E_NO_SUCH_KEY;
        if (!object_etag_matches(cond->if_match, cur.etag))
            return CORE_E_PRECONDITION_FAILED;
    }
    return CORE_E_OK;
}

enum core_err
object_write(struct md_conn *c, struct str bucket, int64_t bucket_id,
             const struct object_cond *cond, struct arena *a, struct md_bucket *b,
             struct md_version *v, bool *trashed)
{
    enum core_err err;

    *trashed = false;
    err = object_bucket(c, bucket, bucket_id, a, b);
    if (err == CORE_E_OK)
        err = object_check_cond(c, b->id, v->key, cond, a);
    if (err == CORE_E_OK)
        err = object_put(c, b, v, a, trashed);
    return err;
}

/* The bucket as it is now: MFA delete turned on after the request's check
 * would otherwise let a versioned delete through without a code. */
static enum core_err
mfa_gate(const struct md_bucket *b, bool names_version, bool mfa_verified)
{
    if (names_version && b->mfa_delete == MD_MFA_ENABLED && !mfa_verified)
        return CORE_E_MFA_REQUIRED;
    return CORE_E_OK;
}

static void
del_clear(struct object_del *out)
{
    out->version_id = STR_NULL;
    out->delete_marker = false;
    out->blob_id = STR_NULL;
    out->removed = false;
}

enum core_err
object_remove(struct md_conn *c, struct str bucket, int64_t bucket_id, int64_t account_id,
              struct str key, struct str vid, struct str if_match, bool mfa_verified,
              int64_t now_ms, struct arena *a, struct md_bucket *b, struct object_del *out)
{
    struct object_cond cond = {.if_match = if_match};
    enum core_err err;

    del_clear(out);
    err = object_bucket(c, bucket, bucket_id, a, b);
    if (err == CORE_E_OK)
        err = mfa_gate(b, vid.p != NULL, mfa_verified);
    /* In the deleting transaction, so a write racing the delete cannot slip
     * between the check and the delete. */
    if (err == CORE_E_OK)
        err = object_check_cond(c, b->id, key, &cond, a);
    if (err == CORE_E_OK)
        err = object_delete(c, b, key, vid, account_id, now_ms, a, out);
    return err;
}

enum core_err
object_delete_many(struct md_conn *c, struct str bucket, int64_t bucket_id, int64_t account_id,
                   struct object_del_item *items, size_t n, bool mfa_verified, int64_t now_ms,
                   struct arena *a, struct md_bucket *b)
{
    bool any_vid = false;
    enum core_err err;

    /* Every output first: a run must not see what an earlier one left
     * (an item's error would otherwise skip it when md_write() runs the
     * closure again). */
    for (size_t i = 0; i < n; i++) {
        items[i].err = CORE_E_OK;
        del_clear(&items[i].out);
        /* Even a version id that will not parse names a version. */
        any_vid = any_vid || items[i].vid.p != NULL;
    }
    err = object_bucket(c, bucket, bucket_id, a, b);
    if (err == CORE_E_OK)
        err = mfa_gate(b, any_vid, mfa_verified);
    if (err != CORE_E_OK)
        return err;
    for (size_t i = 0; i < n; i++) {
        struct object_del_item *it = &items[i];
        struct object_cond cond = {.if_match = it->if_match};
        if (it->skip)
            continue;
        it->err = object_check_cond(c, b->id, it->key, &cond, a);
        if (it->err == CORE_E_OK)
            it->err = object_delete(c, b, it->key, it->vid, account_id, now_ms, a, &it->out);
    }
    return CORE_E_OK;
}
