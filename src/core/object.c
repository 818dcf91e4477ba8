/* object.c -- versioning semantics of writes and deletes. */
#include "common.h"
#include "core/object.h"

#include <errno.h>

/* A store result as core/ reports it (s3_err_from_errno()'s classes). */
static enum core_err
store_err(int rc)
{
    switch (rc) {
    case 0:
        return CORE_E_OK;
    case -ENOSPC:
    case -EDQUOT:
        return CORE_E_STORAGE_FULL;
    case -EBUSY: /* meta.db write-locked by another process past the wait */
        return CORE_E_SLOW_DOWN;
    case -E2BIG:
        return CORE_E_ENTITY_TOO_LARGE;
    default:
        return CORE_E_INTERNAL;
    }
}

enum core_err
object_bucket(struct md_conn *c, struct str name, int64_t account_id, struct arena *a,
              struct md_bucket *b)
{
    int rc = md_bucket_get(c, name, a, b);

    if (rc == -ENOENT)
        return CORE_E_NO_SUCH_BUCKET;
    if (rc < 0)
        return store_err(rc);
    if (b->account_id != account_id)
        return CORE_E_ACCESS_DENIED;
    return CORE_E_OK;
}

/* Removes version v; its data file, if it has one, goes to the trash in
 * the same transaction (a multipart version's extents go there inside
 * md_version_delete()): the reaper unlinks it after the grace period, so a
 * reader that saw the row can still read it (store/trash.h). */
static int
drop_version(struct md_conn *c, const struct md_version *v)
{
    int rc = md_version_delete(c, v->seq);

    if (rc == 0 && v->blob_id.n > 0)
        rc = md_trash_add(c, v->blob_id);
    return rc;
}

/* Removes the key's null version if there is one. */
static enum core_err
drop_null(struct md_conn *c, int64_t bucket_id, struct str key, struct arena *a, struct str *blob)
{
    struct md_version old;
    int rc = md_version_get(c, bucket_id, key, STR_LIT("null"), a, &old);

    *blob = STR_NULL;
    if (rc == -ENOENT)
        return CORE_E_OK;
    if (rc == 0)
        rc = drop_version(c, &old);
    if (rc < 0)
        return store_err(rc);
    if (old.blob_id.n > 0)
        *blob = old.blob_id;
    return CORE_E_OK;
}

enum core_err
object_put(struct md_conn *c, const struct md_bucket *b, struct md_version *v, struct arena *a,
           struct str *replaced_blob)
{
    enum core_err err;

    *replaced_blob = STR_NULL;
    v->bucket_id = b->id;
    if (b->versioning == MD_VER_ENABLED) {
        /* AWS: every write on an Enabled bucket is a new version [spec §4.3]. */
        v->version_id = STR_NULL;
    } else {
        /* AWS: unversioned and Suspended writes replace the null version in
         * place; other versions are untouched [spec §4.3]. */
        err = drop_null(c, b->id, v->key, a, replaced_blob);
        if (err != CORE_E_OK)
            return err;
        v->version_id = STR_LIT("null");
    }
    return store_err(md_version_insert(c, v, a));
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
        /* AWS: DELETE ?versionId removes that version for good, a marker
         * included; the response says which it was [spec §4.4]. */
        rc = md_version_get(c, b->id, key, vid, a, &v);
        out->version_id = vid;
        if (rc == -ENOENT)
            return CORE_E_OK;
        if (rc == 0)
            rc = drop_version(c, &v);
        if (rc < 0)
            return store_err(rc);
        out->removed = true;
        out->delete_marker = v.is_delete_marker;
        if (v.blob_id.n > 0)
            out->blob_id = v.blob_id;
        return CORE_E_OK;
    }
    if (b->versioning == MD_VER_NONE)
        return drop_null(c, b->id, key, a, &out->blob_id);
    if (b->versioning == MD_VER_SUSPENDED) {
        /* AWS: Suspended: the null version goes and a null marker takes
         * its place [spec §4.4]. */
        err = drop_null(c, b->id, key, a, &out->blob_id);
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
        return store_err(rc);
    out->version_id = v.version_id;
    out->delete_marker = true;
    return CORE_E_OK;
}
