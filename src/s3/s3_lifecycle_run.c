/* s3_lifecycle_run.c -- the lifecycle executor: see s3_lifecycle_run.h. */
#include "common.h"
#include "s3/s3_lifecycle_run.h"
#include "bounds.h"
#include "core/lifecycle.h"
#include "core/lifecycle_act.h"
#include "s3/s3_admin.h"
#include "s3/s3_lifecycle.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/log.h"
#include "util/ticker.h"
#include "util/tm.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* One bucket's pass: its configuration, clock, progress and the page of
 * actions being built. */
struct pass {
    struct md *md;
    const struct s3_lc_opts *o;
    struct s3_lc_stats *st;
    const struct md_bucket *b;
    struct lc_config cfg;
    bool with_tags;        /* a rule filters on tags: the scan reads them */
    int64_t now_ms;
    int64_t paced_from_ms; /* start of the rate window */
    int64_t paced_done;    /* actions in it */
    struct md_lc_state state;
    char cursor[S3_MAX_KEY_BYTES + 1]; /* state.cursor_key's bytes across pages */
    /* The row as stored, as far as this pass knows (bucket_id 0: none): a
     * batch commits only over this one. */
    struct md_lc_state stored;
    char stored_cursor[S3_MAX_KEY_BYTES + 1];
    struct lifecycle_act_item items[S3_LC_PAGE];
    size_t n;
};

static bool
stopping(const struct s3_lc_opts *o)
{
    return o->stop != NULL && atomic_load(o->stop);
}

/* Sleeps what keeps the pass under o->max_rate actions a second. */
static void
pace(struct pass *p, size_t acted)
{
    int64_t now = tm_now_ms(), owed;

    if (p->o->max_rate <= 0 || acted == 0)
        return;
    p->paced_done += (int64_t)acted;
    owed = p->paced_from_ms + p->paced_done * 1000 / p->o->max_rate - now;
    if (owed > 0 && !stopping(p->o)) {
        struct timespec ts = {owed / 1000, (long)(owed % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (now - p->paced_from_ms > 10000) { /* a fresh window now and then */
        p->paced_from_ms = now;
        p->paced_done = 0;
    }
}

static void
report(struct pass *p, const struct lifecycle_act_item *it, const char *action, const char *result)
{
    struct s3_lc_event e = {
        .bucket = p->b->name,
        .key = it->v.key,
        .version_id = it->out.version_id,
        .upload_id = it->upload_id,
        .rule_id = it->rule_id,
        .action = action,
        .storage_class = it->storage_class,
        .result = result,
    };

    s3_metrics_lifecycle(action, result);
    if (p->o->report != NULL)
        p->o->report(p->o->report_arg, &e);
}

/* Notes st as the stored row, its cursor key copied. */
static void
set_stored(struct pass *p, const struct md_lc_state *st)
{
    ASSERT(st->cursor_key.n <= S3_MAX_KEY_BYTES);
    p->stored = *st;
    if (st->cursor_key.p != NULL) {
        memcpy(p->stored_cursor, st->cursor_key.p, st->cursor_key.n);
        p->stored.cursor_key = str_make(p->stored_cursor, st->cursor_key.n);
    }
}

/* Commits the page's actions with the progress row that covers them (or,
 * in a dry run, reports them). 0 or -errno. */
static int
flush(struct pass *p, const char *const *actions, struct arena *a)
{
    struct lifecycle_act_batch x = {
        .bucket = {.name = p->b->name, .id = p->b->id, .lifecycle = p->b->lifecycle,
                   .now_ms = p->now_ms},
        .items = p->items,
        .n = p->n,
        .state = &p->state,
        .prev = &p->stored,
        .a = a,
    };
    size_t done = 0;
    int rc = 0;

    p->st->due += (int64_t)p->n;
    /* A page without actions is not worth a commit: a pass resumed behind
     * it only reads it again. */
    if (p->n == 0)
        return 0;
    if (p->o->dry_run) {
        for (size_t i = 0; i < p->n; i++)
            report(p, &p->items[i], actions[i], "due");
        p->n = 0;
        return 0;
    }
    p->state.n_actions += (int64_t)p->n;
    p->state.updated_ms = tm_now_ms();
    rc = md_write(p->md, lifecycle_act_batch_fn, &x);
    if (rc < 0) {
        p->state.n_actions -= (int64_t)p->n;
        p->n = 0;
        return rc;
    }
    for (size_t i = 0; i < p->n; i++) {
        const struct lifecycle_act_item *it = &p->items[i];
        if (it->out.result == LC_ACT_DONE)
            done++;
        report(p, it, actions[i], lifecycle_act_result_name(it->out.result));
    }
    p->st->done += (int64_t)done;
    pace(p, p->n);
    /* The batch refused as a whole (the bucket went, MFA delete came on, the
     * configuration changed, the progress row is not the one this pass
     * follows): nothing was done and the progress row did not move, so this
     * bucket's pass ends here; the next one starts from the stored row. */
    switch (p->items[0].out.result) {
    case LC_ACT_MOVED:
        log_warn("lifecycle: the progress row of bucket %.*s is not the one this pass read "
                 "or wrote (another pass, or a read behind the writer); the pass ends here",
                 STR_FMT(p->b->name));
        /* fall through */
    case LC_ACT_NO_BUCKET:
    case LC_ACT_NO_CONFIG:
    case LC_ACT_MFA_DELETE:
        p->n = 0;
        return -ECANCELED;
    default:
        break;
    }
    set_stored(p, &p->state);
    p->n = 0;
    return 0;
}

/* Copies the cursor key out of the page arena before the next page resets
 * it (a key is at most S3_MAX_KEY_BYTES). */
static void
keep_cursor(struct pass *p)
{
    struct str k = p->state.cursor_key;

    if (k.p == NULL || k.p == p->cursor)
        return;
    ASSERT(k.n <= S3_MAX_KEY_BYTES);
    memcpy(p->cursor, k.p, k.n);
    p->state.cursor_key = str_make(p->cursor, k.n);
}

/* The versions phase: pages of md_lc_scan() from the stored cursor. A
 * noncurrent version's rank (1 = newest) counts down its key's versions,
 * across pages and, through the stored cursor_noncurrent, across a resume
 * in the middle of a key. */
static int
versions(struct pass *p, struct arena *page)
{
    const char *actions[S3_LC_PAGE];
    int64_t rank = p->state.cursor_noncurrent;
    int rc;

    for (;;) {
        struct md_lc_version *rows;
        struct str prev;
        size_t nr;

        if (stopping(p->o))
            return -EINTR;
        keep_cursor(p);
        arena_reset(page);
        prev = p->state.cursor_key;
        rc = md_lc_scan(md_reader(p->md), p->b->id, p->state.cursor_key, p->state.cursor_seq,
                        p->with_tags, S3_LC_PAGE, page, &rows, &nr);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < nr; i++) {
            const struct md_lc_version *r = &rows[i];
            struct lc_decision d;
            struct lc_object ob;

            if (prev.p == NULL || !str_eq(prev, r->key))
                rank = 0;
            prev = r->key;
            if (!r->is_latest)
                rank++;
            lc_object_of(r, r->is_latest ? 0 : rank, &ob);
            p->st->versions++;
            if (lc_evaluate(&p->cfg, &ob, p->now_ms, p->o->day_s, &d)) {
                struct lifecycle_act_item *it = &p->items[p->n];
                *it = (struct lifecycle_act_item){
                    .v = {.key = r->key, .seq = r->seq, .is_latest = r->is_latest,
                          .is_dm = r->is_delete_marker, .etag = r->etag},
                    .rule_id = d.rule->id,
                    .storage_class = d.storage_class,
                    .dm_ms = lc_floor_day(p->now_ms, p->o->day_s),
                };
                if (d.action == LC_EXPIRE_CURRENT)
                    it->kind = LC_ACT_EXPIRE_CURRENT;
                else if (d.action == LC_TRANSITION_CURRENT || d.action == LC_TRANSITION_NONCURRENT)
                    it->kind = LC_ACT_TRANSITION;
                else
                    it->kind = LC_ACT_DELETE_VERSION;
                /* A dry run's report names the version evaluated. */
                it->out.version_id = r->version_id;
                actions[p->n++] = lc_action_name(d.action);
            }
            p->state.cursor_key = r->key;
            p->state.cursor_seq = r->seq;
            p->state.cursor_noncurrent = r->is_latest ? 0 : rank;
        }
        if (nr < S3_LC_PAGE) {
            /* The versions are done: the uploads next, in the same commit. */
            p->state.phase = MD_LC_UPLOADS;
            p->state.cursor_key = STR_NULL;
            p->state.cursor_seq = 0;
            p->state.cursor_noncurrent = 0;
        }
        rc = flush(p, actions, page);
        if (rc < 0 || nr < S3_LC_PAGE)
            return rc;
    }
}

/* The uploads phase: AbortIncompleteMultipartUpload. */
static int
uploads(struct pass *p, struct arena *page)
{
    const char *actions[S3_LC_PAGE];
    int rc;

    for (;;) {
        struct md_upload *ups;
        size_t nu;

        if (stopping(p->o))
            return -EINTR;
        keep_cursor(p);
        arena_reset(page);
        rc = md_upload_list(md_reader(p->md), p->b->id, STR_NULL, p->state.cursor_key, false,
                            p->state.cursor_seq, S3_LC_PAGE, page, &ups, &nu);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < nu; i++) {
            const struct lc_rule *rule;
            int64_t due;

            p->st->uploads++;
            if (lc_abort_date(&p->cfg, ups[i].key, ups[i].initiated_ms, p->o->day_s, &rule,
                              &due) &&
                due <= p->now_ms) {
                p->items[p->n] = (struct lifecycle_act_item){
                    .kind = LC_ACT_ABORT_UPLOAD,
                    .v = {.key = ups[i].key},
                    .upload_id = ups[i].upload_id,
                    .rule_id = rule->id,
                };
                actions[p->n++] = "abort-upload";
            }
            p->state.cursor_key = ups[i].key;
            p->state.cursor_seq = ups[i].id;
        }
        rc = flush(p, actions, page);
        if (rc < 0 || nu < S3_LC_PAGE)
            return rc;
    }
}

/* Ends the pass: clears the progress row if it is still the one the pass
 * stored last (or none), as a batch would check. */
static int
state_clear_fn(struct md_conn *c, void *arg)
{
    const struct md_lc_state *stored = arg;
    struct md_lc_state cur;
    struct arena *a = arena_new();
    int rc = md_lc_state_get(c, stored->bucket_id, a, &cur);

    if (rc == 0 && md_lc_state_eq(&cur, stored))
        rc = md_lc_state_clear(c, stored->bucket_id);
    arena_free(a);
    return rc == -ENOENT ? 0 : rc;
}

/* One bucket: its unfinished pass resumed, or a new one. */
static int
bucket_pass(struct md *md, const struct s3_lc_opts *o, struct s3_lc_stats *st,
            const struct md_bucket *b, int64_t now_ms, struct arena *a, struct arena *page)
{
    struct pass *p;
    int rc;

    if (b->lifecycle.p == NULL || b->mfa_delete == MD_MFA_ENABLED)
        return 0;
    p = xcalloc(1, sizeof(*p));
    *p = (struct pass){.md = md, .o = o, .st = st, .b = b, .now_ms = now_ms,
                       .paced_from_ms = tm_now_ms()};
    if (s3_lifecycle_parse(a, b->lifecycle, &p->cfg) != S3E_OK) {
        log_warn("lifecycle: the configuration of bucket %.*s does not parse; skipped",
                 STR_FMT(b->name));
        free(p);
        return 0;
    }
    p->with_tags = lc_config_uses_tags(&p->cfg);
    st->buckets++;
    rc = md_lc_state_get(md_reader(md), b->id, a, &p->state);
    if (rc == 0)
        set_stored(p, &p->state);
    if (rc == -ENOENT || o->dry_run)
        p->state = (struct md_lc_state){.bucket_id = b->id, .pass_started_ms = now_ms,
                                        .phase = MD_LC_VERSIONS};
    else if (rc < 0)
        goto out;
    rc = 0;
    if (p->state.phase == MD_LC_VERSIONS)
        rc = versions(p, page);
    if (rc == 0)
        rc = uploads(p, page);
    if (rc == 0 && !o->dry_run)
        rc = md_write(md, state_clear_fn, &p->stored);
    if (rc == -ECANCELED)
        rc = 0;
out:
    free(p);
    return rc;
}

int
s3_lc_pass(struct md *md, const struct s3_lc_opts *o, struct s3_lc_stats *st)
{
    struct s3_lc_stats tmp;
    struct arena *a = arena_new(), *page = arena_new(), *cfg = arena_new();
    struct md_bucket *bs;
    size_t n;
    int64_t now_ms = o->now_ms > 0 ? o->now_ms : tm_now_ms();
    int rc;

    if (st == NULL)
        st = &tmp;
    *st = (struct s3_lc_stats){0};
    rc = md_bucket_list(md_reader(md), 0, a, &bs, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (o->bucket.p != NULL && !str_eq(o->bucket, bs[i].name))
            continue;
        arena_reset(cfg);
        rc = bucket_pass(md, o, st, &bs[i], now_ms, cfg, page);
    }
    arena_free(a);
    arena_free(page);
    arena_free(cfg);
    return rc;
}

/* ---- cofferd's thread ------------------------------------------------------ */

struct s3_lc_runner {
    struct md *md;
    int64_t day_s, interval_s;
    struct ticker *t;
};

/* The pass after now: interval_s later, or just after the next day
 * boundary if that comes first (an action due at midnight runs then). */
static int64_t
next_wake_ms(const struct s3_lc_runner *r, int64_t now_ms)
{
    int64_t next = now_ms + r->interval_s * 1000;
    int64_t boundary = lc_floor_day(now_ms, r->day_s) + r->day_s * 1000 + 1000;

    return boundary < next ? boundary : next;
}

/* One pass, on the ticker's thread; returns when the next one runs. */
static int64_t
tick(void *arg, atomic_bool *stop)
{
    struct s3_lc_runner *r = arg;
    /* 10,000 actions a second: twice the floor, and 4 KiB GETs kept
     * ~95 % of their rate during a pass, where 20,000/s left them at ~81 %
     * (bench/results/2026-12-07-lifecycle-b0aa612.md). */
    struct s3_lc_opts o = {.day_s = r->day_s, .max_rate = 10000, .stop = stop};
    struct s3_lc_stats st;
    int64_t t0 = tm_now_ms();
    int rc;

    /* In a shared store one gateway runs the passes (md_lease()). */
    if (!md_lease(r->md, MD_LEASE_LIFECYCLE))
        return next_wake_ms(r, tm_now_ms());
    rc = s3_lc_pass(r->md, &o, &st);

    if (rc < 0 && rc != -EINTR)
        log_warn("lifecycle: pass failed: %s (resumes at the next pass)", strerror(-rc));
    else if (st.due > 0)
        log_info("lifecycle: %lld of %lld due actions done in %lld buckets (%lld versions, "
                 "%lld uploads) in %lld ms",
                 (long long)st.done, (long long)st.due, (long long)st.buckets,
                 (long long)st.versions, (long long)st.uploads, (long long)(tm_now_ms() - t0));
    return next_wake_ms(r, tm_now_ms());
}

int
s3_lc_runner_start(struct md *md, int64_t day_s, int64_t interval_s, struct s3_lc_runner **out)
{
    struct s3_lc_runner *r = xcalloc(1, sizeof(*r));
    int rc;

    ASSERT(day_s > 0 && interval_s > 0);
    r->md = md;
    r->day_s = day_s;
    r->interval_s = interval_s;
    rc = ticker_start(tick, r, &r->t);
    if (rc < 0) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void
s3_lc_runner_stop(struct s3_lc_runner *r)
{
    if (r == NULL)
        return;
    ticker_stop(r->t);
    free(r);
}
