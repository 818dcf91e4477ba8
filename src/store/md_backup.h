/* md_backup.h -- an online copy of a data directory's metadata, for
 * `coffer backup`: SQLite's backup API takes a consistent snapshot of
 * meta.db while cofferd keeps writing, then the copy is walked for the data
 * blobs it references. Not used by cofferd; no server state involved. */
#ifndef COFFER_STORE_MD_BACKUP_H
#define COFFER_STORE_MD_BACKUP_H

#include <stdint.h>

#include "util/str.h"

/* Copies the SQLite database src_path (DIR/meta.db, or --meta's) to
 * dest_path (which must not exist) as one snapshot:
 * a single read transaction of the source, so the copy is a state some
 * commit left. Writers of the source are not blocked (WAL). 0, or -errno
 * (-EEXIST, -EIO with SQLite's text in err, errsz bytes). */
int md_backup_db(const char *src_path, const char *dest_path, char *err, size_t errsz);

/* Calls fn(arg, blob_id, upload) for every blob the metadata at db_path
 * references: the data of versions and of their multipart extents (upload
 * 0), then the parts of in-progress uploads (upload = that upload's row
 * id). fn returns 0 to go on or a negative value, which stops the walk and
 * is returned. 0, or -EIO with SQLite's text in err. */
int md_backup_blobs(const char *db_path, int (*fn)(void *arg, struct str id, int64_t upload),
                    void *arg, char *err, size_t errsz);

/* As md_backup_blobs(), on an open SQLite connection, in whatever
 * transaction it has open (`coffer migrate` walks its read snapshot). */
struct sqlite3;
int md_backup_blobs_db(struct sqlite3 *db, int (*fn)(void *arg, struct str id, int64_t upload),
                       void *arg, char *err, size_t errsz);

/* Removes in-progress upload `upload` (its parts too) from the copy at
 * db_path: one whose part data the server removed after the snapshot (the
 * upload was aborted or completed since). 0 or -EIO. */
int md_backup_drop_upload(const char *db_path, int64_t upload, char *err, size_t errsz);

#endif
