/* adm_migrate.c -- `coffer migrate --to postgresql://... [--blobs-to URL]`:
 * an embedded store's metadata moved into an empty PostgreSQL store (the
 * shared backend of many gateways), and with --blobs-to its object data into
 * another data store. The table copy is store/md_migrate.c's; the data copy
 * is `coffer backup`'s (adm_blob_walk_copy()). Order: the snapshot, then
 * the data it references, then the metadata in one PostgreSQL commit, so a
 * failure at any point leaves at most unreferenced data at the destination,
 * never metadata without its data. */
#include "common.h"

#include "admin/adm.h"
#include "store/blob.h"
#include "store/md_migrate.h"
#include "util/tm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static int
print_json(const struct md_migrate_stats *st, const struct adm_blob_walk *w, bool blobs,
           double secs)
{
    json_t *tables = json_object(), *o;

    for (size_t i = 0; tables != NULL && i < st->n_tables; i++) {
        if (json_object_set_new(tables, st->table[i].name,
                                json_integer((json_int_t)st->table[i].rows)) < 0) {
            json_decref(tables);
            tables = NULL;
        }
    }
    if (tables == NULL)
        return adm_print_json(NULL);
    o = json_pack("{s:o, s:I, s:o, s:o, s:I, s:f}", "tables", tables, "rows",
                  (json_int_t)st->rows, "blobs",
                  blobs ? json_integer((json_int_t)w->n_blobs) : json_null(), "blob_bytes",
                  blobs ? json_integer((json_int_t)w->n_bytes) : json_null(), "uploads_left_out",
                  (json_int_t)w->n_dropped, "seconds", secs);
    return adm_print_json(o);
}

int
adm_migrate(struct adm_cli *cli)
{
    struct md_migrate_stats st;
    struct adm_blob_walk w = {0};
    struct md_migrate *m = NULL;
    struct md_url to;
    char err[512] = "";
    int64_t t0 = tm_mono_ms();
    int ret = ADM_EXIT_INTERNAL, rc;
    double secs;

    if (cli->meta_url.sqlite_path[0] == '\0')
        return adm_fail("migrate moves an embedded (SQLite) store; this store's metadata is not "
                        "in SQLite (--meta, --from)");
    if (md_url_parse(cli->to, cli->data, &to, err, sizeof(err)) < 0)
        return adm_fail("--to: %s", err);
    if (to.pg_uri[0] == '\0')
        return adm_fail("--to must be a postgresql:// URI: migrate moves an embedded store's "
                        "metadata into PostgreSQL");
    if (cli->blobs_to != NULL && cli->blobs_to[0] == '\0')
        return adm_fail("--blobs-to needs a URL (file:PATH or rados://...)");

    rc = md_migrate_begin(cli->md, to.pg_uri, &m, err, sizeof(err));
    if (rc == -EINVAL || rc == -ENOTEMPTY || rc == -EKEYREJECTED || rc == -EPROTO)
        return adm_fail("migrate: %s", err);
    if (rc < 0) {
        fprintf(stderr, "coffer: migrate: %s\n", err[0] != '\0' ? err : strerror(-rc));
        return ADM_EXIT_INTERNAL;
    }
    if (cli->blobs_to != NULL) {
        ret = adm_open_blobs(cli, &w.src);
        if (ret != 0)
            goto out;
        ret = ADM_EXIT_INTERNAL;
        rc = blob_open_url(cli->blobs_to, cli->data, &w.dst, err, sizeof(err));
        if (rc < 0) {
            if (rc == -EINVAL && err[0] != '\0')
                ret = adm_fail("--blobs-to: %s", err);
            else
                fprintf(stderr, "coffer: migrate: --blobs-to: %s\n",
                        err[0] != '\0' ? err : strerror(-rc));
            goto out;
        }
        w.buf = malloc(ADM_COPY_CHUNK);
        if (w.buf == NULL) {
            ret = adm_internal("migrate", -ENOMEM);
            goto out;
        }
        rc = md_migrate_blobs(m, adm_blob_walk_copy, &w, err, sizeof(err));
        if (rc == -ENOENT) {
            fprintf(stderr,
                    "coffer: migrate failed: data file %s, referenced by the metadata snapshot, "
                    "was removed by cofferd before it could be copied (the copy took longer than "
                    "its --reclaim-grace); nothing was written to PostgreSQL. Stop cofferd and "
                    "run the migration again\n",
                    w.missing);
            goto out;
        }
        if (rc < 0) {
            fprintf(stderr, "coffer: migrate: copying data: %s\n",
                    err[0] != '\0' ? err : strerror(-rc));
            goto out;
        }
    }
    rc = md_migrate_commit(m, w.dropped, w.n_dropped, &st, err, sizeof(err));
    if (rc == -ENOTEMPTY) {
        ret = adm_fail("migrate: %s", err);
        goto out;
    }
    if (rc < 0) {
        fprintf(stderr, "coffer: migrate: %s; nothing was committed to PostgreSQL\n",
                err[0] != '\0' ? err : strerror(-rc));
        goto out;
    }
    secs = (double)(tm_mono_ms() - t0) / 1000.0;
    if (cli->json) {
        ret = print_json(&st, &w, cli->blobs_to != NULL, secs);
        goto out;
    }
    /* The URI is not printed: it may hold a password. */
    printf("migrated the metadata of %s (%s) to PostgreSQL in %.2f s:\n", cli->data,
           cli->meta_url.sqlite_path, secs);
    for (size_t i = 0; i < st.n_tables; i++)
        printf("  %-20s %12" PRId64 "\n", st.table[i].name, st.table[i].rows);
    printf("  %-20s %12" PRId64 " rows in %zu tables\n", "total", st.rows, st.n_tables);
    if (cli->blobs_to != NULL)
        printf("data: %" PRId64 " blob(s), %" PRId64 " bytes, copied to %s\n", w.n_blobs,
               w.n_bytes, cli->blobs_to);
    if (w.n_dropped > 0)
        printf("%zu multipart upload(s) aborted or completed during the copy left out\n",
               w.n_dropped);
    ret = 0;
out:
    md_migrate_end(m);
    free(w.buf);
    blob_close(w.dst);
    blob_close(w.src);
    return ret;
}
