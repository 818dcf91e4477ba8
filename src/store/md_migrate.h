/* md_migrate.h -- `coffer migrate`: an embedded (SQLite) store's metadata
 * copied into an empty PostgreSQL store, row for row with the same ids,
 * from one read snapshot of the source, in one PostgreSQL transaction.
 * Not used by cofferd.
 *
 * The steps, so that the caller can copy the data in between (data before
 * the metadata that names it, as everywhere in Coffer):
 *   md_migrate_begin()   checks both sides and opens the snapshot
 *   md_migrate_blobs()   walks the snapshot's blob references
 *   md_migrate_commit()  copies every table and commits
 *   md_migrate_end()     closes (always, after a successful begin) */
#ifndef COFFER_STORE_MD_MIGRATE_H
#define COFFER_STORE_MD_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/md.h"
#include "util/str.h"

#define MD_MIGRATE_TABLES_MAX 48
#define MD_MIGRATE_NAME_MAX 64

struct md_migrate; /* opaque */

struct md_migrate_stats {
    size_t n_tables;
    struct {
        char name[MD_MIGRATE_NAME_MAX];
        int64_t rows;
    } table[MD_MIGRATE_TABLES_MAX]; /* in the order they were copied */
    int64_t rows;                   /* all tables' */
};

/* Opens the PostgreSQL store pg_uri (creating the schema in an empty
 * database), checks that it is empty of Coffer rows and has src's tables and
 * columns, and starts a read snapshot of src, which must be an SQLite
 * store. 0, or -errno with the reason in err (cap bytes):
 *   -EINVAL        src is not SQLite
 *   -ENOTEMPTY     the PostgreSQL store holds rows already
 *   -EKEYREJECTED  it records another master key's check value
 *   -EPROTO        schema versions, tables or columns differ
 *   other          connection or database errors */
int md_migrate_begin(struct md *src, const char *pg_uri, struct md_migrate **out, char *err,
                     size_t cap);

/* Calls fn for every blob the snapshot references (md_backup_blobs()'s
 * order and arguments). 0, fn's negative value, or -EIO with err. */
int md_migrate_blobs(struct md_migrate *m, int (*fn)(void *arg, struct str id, int64_t upload),
                     void *arg, char *err, size_t cap);

/* Copies every table of the snapshot into the PostgreSQL store in one
 * transaction (foreign keys' order, ids kept, identity sequences moved past
 * them, the counters and the master key's check value as they are), leaving
 * out the in-progress uploads skip[0..n_skip) (whose parts were gone when
 * the data was copied). All or nothing: 0 with st filled, or -errno with
 * err (-ENOTEMPTY if rows appeared in the destination meanwhile). */
int md_migrate_commit(struct md_migrate *m, const int64_t *skip, size_t n_skip,
                      struct md_migrate_stats *st, char *err, size_t cap);

/* Ends the snapshot, closes the PostgreSQL connection, frees m. NULL ok. */
void md_migrate_end(struct md_migrate *m);

/* For tests: the tables names[0..n) (each MD_MIGRATE_NAME_MAX bytes) put in
 * an order where every table comes after those it references; edges is
 * "child>parent" pairs separated by commas (self-references ignored, names
 * not in the list too). Stable: among the tables free to go next, the
 * earliest in the given order goes. 0, or -ELOOP for a cycle. */
int md_migrate_order(char (*names)[MD_MIGRATE_NAME_MAX], size_t n, const char *edges);

/* For tests: appends v (n bytes) to out as one field of PostgreSQL's COPY
 * text format (backslash, tab, newline and carriage return escaped; bytea
 * as \\x and hex). out needs 2 * n + 4 bytes; returns the bytes written, or
 * -1 for text holding a NUL byte, which PostgreSQL text cannot. */
int64_t md_migrate_field(char *out, const void *v, size_t n, bool bytea);

#endif
