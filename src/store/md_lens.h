/* md_lens.h -- S3 Storage Lens configurations in the metadata store
 * (schema 15, table lens_configs): one row per account and configuration
 * id holding the configuration's canonical XML (s3/s3_lens_model.c makes
 * and reads it; the store never looks inside) and its tags. Row-level
 * calls on a connection, like md.h's: reads on md_reader(), writes inside
 * an md_write() closure. */
#ifndef COFFER_STORE_MD_LENS_H
#define COFFER_STORE_MD_LENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/md.h"
#include "util/arena.h"
#include "util/str.h"

/* One row. Strings are in the arena given to the reading call. */
struct md_lens {
    int64_t account_id;
    struct str id;     /* the configuration id */
    bool is_enabled;
    struct str config; /* canonical XML */
    struct str tags;   /* md_tags_encode() text; p == NULL when none */
    int64_t created_ms, updated_ms;
};

/* The row (account_id, id): 0 with *out, -ENOENT, or -errno. */
int md_lens_get(struct md_conn *c, int64_t account_id, struct str id, struct arena *a,
                struct md_lens *out);

/* Inserts or replaces l's row (created_ms kept on replace; l->created_ms
 * is both times of a new row). set_tags: l->tags (NULL: none) replaces
 * the stored tags; otherwise a replaced row keeps its tags and a new row
 * has none. 0 or -errno. */
int md_lens_put(struct md_conn *c, const struct md_lens *l, bool set_tags);

/* Inserts l's row unless (account_id, id) has one: 1 inserted, 0 there
 * already, or -errno. Tags are not written. */
int md_lens_add(struct md_conn *c, const struct md_lens *l);

/* Deletes the row, tags and all: 0, -ENOENT, or -errno. */
int md_lens_delete(struct md_conn *c, int64_t account_id, struct str id);

/* The account's number of rows (>= 0), or -errno. */
int md_lens_count(struct md_conn *c, int64_t account_id);

/* At most limit rows of the account with ids after `after` (STR_NULL or
 * "": from the first), in id (byte) order: *out an arena array of *n. 0 or
 * -errno. */
int md_lens_list(struct md_conn *c, int64_t account_id, struct str after, size_t limit,
                 struct arena *a, struct md_lens **out, size_t *n);

/* Replaces the row's tags (tags.p == NULL: none) and its updated_ms: 0,
 * -ENOENT, or -errno. */
int md_lens_set_tags(struct md_conn *c, int64_t account_id, struct str id, struct str tags,
                     int64_t now_ms);

#endif
