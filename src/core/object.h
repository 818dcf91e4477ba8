/* object.h -- S3 object semantics on the versioned data model: what a PUT
 * or DELETE does to the version rows of a key under each versioning state
 * [spec-mfa-delete §4.3, §4.4]. No HTTP, no XML. Every function runs
 * inside an md_write() closure, on the writer's connection, so the bucket
 * state it reads and the rows it writes are one atomic step. */
#ifndef COFFER_CORE_OBJECT_H
#define COFFER_CORE_OBJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core_err.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/str.h"

/* Re-reads the bucket on c and checks the owner: CORE_E_NO_SUCH_BUCKET,
 * CORE_E_ACCESS_DENIED. Every function here reports a failed store call as
 * CORE_E_STORAGE_FULL, CORE_E_SLOW_DOWN, CORE_E_ENTITY_TOO_LARGE or
 * CORE_E_INTERNAL (see core_err.h). */
enum core_err object_bucket(struct md_conn *c, struct str name, int64_t account_id, struct arena *a,
                            struct md_bucket *b);

/* Stores v (key, data fields filled by the caller) as the new current
 * version: a fresh version id on an Enabled bucket, the "null" version
 * (replacing any previous one) otherwise. *replaced_blob gets the data file
 * of a replaced null version, or STR_NULL; it is already in the trash (the
 * reaper unlinks it, store/trash.h): callers never unlink it. */
enum core_err object_put(struct md_conn *c, const struct md_bucket *b, struct md_version *v,
                         struct arena *a, struct str *replaced_blob);

struct object_del {
    struct str version_id; /* the version removed or the marker created; STR_NULL if none */
    bool delete_marker;    /* x-amz-delete-marker: true */
    struct str blob_id;    /* the removed version's data file (already in the trash), or STR_NULL */
    bool removed;          /* versioned delete: the named version existed and is gone */
};

/* vid.p == NULL: simple delete (marker on Enabled, null marker on Suspended,
 * plain removal when unversioned); otherwise removes exactly that version
 * (a missing one is not an error, as on S3). A removed version's data goes
 * to the trash in the same transaction. */
enum core_err object_delete(struct md_conn *c, const struct md_bucket *b, struct str key,
                            struct str vid, int64_t owner_id, int64_t now_ms, struct arena *a,
                            struct object_del *out);

#endif
