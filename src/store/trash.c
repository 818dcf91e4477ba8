/* trash.c -- see trash.h. */
#include "common.h"
#include "store/trash.h"
#include "store/blob.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

void
trash_unlink(struct blob *b, const struct str *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = blob_unlink(b, ids[i]);
        if (rc < 0 && rc != -ENOENT)
            log_warn("trash: cannot unlink blob %.*s: %s", STR_FMT(ids[i]), strerror(-rc));
    }
}

struct take {
    struct arena *a;
    struct str *ids;
    size_t n;
};

static int
take_txn(struct md_conn *c, void *arg)
{
    struct take *t = arg;

    return md_trash_take(c, TRASH_BATCH, t->a, &t->ids, &t->n);
}

int
trash_reap(struct md *md, struct blob *b)
{
    for (;;) {
        struct take t = {0};
        int rc = md_trash_pending(md_reader(md));

        if (rc <= 0)
            return rc;
        t.a = arena_new();
        rc = md_write(md, take_txn, &t);
        if (rc == 0)
            trash_unlink(b, t.ids, t.n);
        arena_free(t.a);
        if (rc < 0 || t.n < TRASH_BATCH)
            return rc < 0 ? rc : 0;
    }
}
