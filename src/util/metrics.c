/* metrics.c -- per-thread counter slabs, their sum, and the Prometheus text
 * format. See metrics.h for the model. */
#include "common.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MX_CELLS 512 /* per slab, a power of two */
#define MX_FILL (MX_CELLS * 3 / 4)

struct mx_cell {
    atomic_int used; /* 1 once f, l0, l1 and v are set (release) */
    const struct mx_family *f;
    const char *l0, *l1;
    _Atomic uint64_t *v; /* counter: v[0]; histogram: buckets, +Inf, then the sum */
};

struct mx_slab {
    struct mx_slab *next; /* the list of every slab, under mu */
    bool owned;           /* a live thread counts into it (under mu) */
    unsigned n_used;      /* owner only (the shared slab: under mu) */
    struct mx_cell cells[MX_CELLS];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct mx_slab *slabs;         /* under mu */
static struct mx_slab shared;         /* for threads whose slab is full; under mu */
static bool shared_linked;            /* under mu */
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static _Thread_local struct mx_slab *mine;

static void
slab_release(void *p)
{
    struct mx_slab *s = p;

    pthread_mutex_lock(&mu);
    s->owned = false;
    pthread_mutex_unlock(&mu);
}

static void
key_init(void)
{
    ASSERT(pthread_key_create(&key, slab_release) == 0);
}

/* The calling thread's slab: a left one if any, else a new one. */
static struct mx_slab *
my_slab(void)
{
    struct mx_slab *s;

    if (mine != NULL)
        return mine;
    pthread_once(&key_once, key_init);
    pthread_mutex_lock(&mu);
    for (s = slabs; s != NULL; s = s->next)
        if (s != &shared && !s->owned)
            break;
    if (s == NULL) {
        s = xcalloc(1, sizeof(*s));
        s->next = slabs;
        slabs = s;
    }
    s->owned = true;
    pthread_mutex_unlock(&mu);
    pthread_setspecific(key, s);
    mine = s;
    return s;
}

static size_t
n_values(const struct mx_family *f)
{
    return f->type == MX_HISTOGRAM ? (size_t)f->n_bounds + 2 : 1;
}

static unsigned
hash(const struct mx_family *f, const char *l0, const char *l1)
{
    uint64_t h = (uint64_t)(uintptr_t)f * 0x9E3779B97F4A7C15ULL;

    h ^= (uint64_t)(uintptr_t)l0 * 0xC2B2AE3D27D4EB4FULL;
    h ^= (uint64_t)(uintptr_t)l1 * 0x165667B19E3779F9ULL;
    return (unsigned)(h >> 40);
}

/* The series' values in s, made if missing; NULL when s is too full. */
static _Atomic uint64_t *
find(struct mx_slab *s, const struct mx_family *f, const char *l0, const char *l1)
{
    unsigned i = hash(f, l0, l1) & (MX_CELLS - 1);

    for (;; i = (i + 1) & (MX_CELLS - 1)) {
        struct mx_cell *c = &s->cells[i];
        if (!atomic_load_explicit(&c->used, memory_order_relaxed))
            break;
        if (c->f == f && c->l0 == l0 && c->l1 == l1)
            return c->v;
    }
    if (s->n_used >= MX_FILL)
        return NULL;
    struct mx_cell *c = &s->cells[i];
    c->f = f;
    c->l0 = l0;
    c->l1 = l1;
    c->v = xcalloc(n_values(f), sizeof(*c->v));
    s->n_used++;
    atomic_store_explicit(&c->used, 1, memory_order_release);
    return c->v;
}

static inline void
bump(_Atomic uint64_t *v, uint64_t n)
{
    atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* Adds n to value i of series (f, l0, l1): in the thread's slab, or in the
 * shared one when that is full. */
static void
count(const struct mx_family *f, const char *l0, const char *l1, size_t i, uint64_t n,
      size_t j, uint64_t m)
{
    _Atomic uint64_t *v = find(my_slab(), f, l0, l1);

    if (v != NULL) {
        bump(&v[i], n);
        if (m > 0)
            bump(&v[j], m);
        return;
    }
    pthread_mutex_lock(&mu);
    if (!shared_linked) {
        shared.next = slabs;
        slabs = &shared;
        shared_linked = true;
    }
    v = find(&shared, f, l0, l1);
    if (v != NULL) { /* else dropped: MX_FILL series in one thread and in the shared slab */
        bump(&v[i], n);
        if (m > 0)
            bump(&v[j], m);
    }
    pthread_mutex_unlock(&mu);
}

void
mx_add(const struct mx_family *f, const char *l0, const char *l1, uint64_t n)
{
    count(f, l0, l1, 0, n, 0, 0);
}

void
mx_observe(const struct mx_family *f, const char *l0, uint64_t v)
{
    unsigned i = 0;

    while (i < f->n_bounds && v > f->bounds[i])
        i++;
    count(f, l0, NULL, i, 1, (size_t)f->n_bounds + 1, v);
}

static char status_names[500][4];
static pthread_once_t status_once = PTHREAD_ONCE_INIT;

static void
status_init(void)
{
    for (int i = 0; i < 500; i++) {
        int v = i + 100;
        status_names[i][0] = (char)('0' + v / 100);
        status_names[i][1] = (char)('0' + v / 10 % 10);
        status_names[i][2] = (char)('0' + v % 10);
        status_names[i][3] = '\0';
    }
}

const char *
mx_status_label(int status)
{
    if (status < 100 || status > 599)
        return "other";
    pthread_once(&status_once, status_init);
    return status_names[status - 100];
}

/* ---- scrape ------------------------------------------------------------ */

struct mx_series {
    const struct mx_family *f;
    const char *l0, *l1;
    uint64_t *v;
};

struct mx_snap {
    struct mx_series *s;
    size_t n;
};

static int
strcmp_null(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int
cmp_series(const void *pa, const void *pb)
{
    const struct mx_series *a = pa, *b = pb;
    int c;

    if (a->f != b->f)
        return (uintptr_t)a->f < (uintptr_t)b->f ? -1 : 1;
    c = strcmp_null(a->l0, b->l0);
    return c != 0 ? c : strcmp_null(a->l1, b->l1);
}

struct mx_snap *
mx_snapshot(void)
{
    struct mx_snap *sn = xcalloc(1, sizeof(*sn));
    size_t cap = 0, out = 0;

    pthread_mutex_lock(&mu);
    for (struct mx_slab *s = slabs; s != NULL; s = s->next)
        for (size_t i = 0; i < MX_CELLS; i++) {
            struct mx_cell *c = &s->cells[i];
            size_t nv;
            if (!atomic_load_explicit(&c->used, memory_order_acquire))
                continue;
            if (sn->n == cap) {
                cap = cap ? cap * 2 : 256;
                sn->s = xrealloc(sn->s, cap * sizeof(*sn->s));
            }
            nv = n_values(c->f);
            sn->s[sn->n] = (struct mx_series){c->f, c->l0, c->l1, xmalloc(nv * sizeof(uint64_t))};
            for (size_t k = 0; k < nv; k++)
                sn->s[sn->n].v[k] = atomic_load_explicit(&c->v[k], memory_order_relaxed);
            sn->n++;
        }
    pthread_mutex_unlock(&mu);
    if (sn->n > 1)
        qsort(sn->s, sn->n, sizeof(*sn->s), cmp_series);
    /* Merge runs of equal series (other threads, or equal text at other
     * addresses). */
    for (size_t i = 0; i < sn->n; i++) {
        if (out > 0 && cmp_series(&sn->s[out - 1], &sn->s[i]) == 0) {
            size_t nv = n_values(sn->s[i].f);
            for (size_t k = 0; k < nv; k++)
                sn->s[out - 1].v[k] += sn->s[i].v[k];
            free(sn->s[i].v);
            continue;
        }
        sn->s[out++] = sn->s[i];
    }
    sn->n = out;
    return sn;
}

void
mx_snap_free(struct mx_snap *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->s[i].v);
    free(s->s);
    free(s);
}

/* v / 10^scale in decimal, exactly, without trailing zeros. */
static int
put_value(struct buf *b, uint64_t v, unsigned scale)
{
    uint64_t div = 1;
    char frac[24];
    int n;

    if (scale == 0)
        return buf_printf(b, "%" PRIu64, v);
    for (unsigned i = 0; i < scale && i < 19; i++)
        div *= 10;
    n = snprintf(frac, sizeof(frac), "%0*" PRIu64, (int)(scale < 19 ? scale : 19), v % div);
    while (n > 0 && frac[n - 1] == '0')
        frac[--n] = '\0';
    if (n == 0)
        return buf_printf(b, "%" PRIu64, v / div);
    return buf_printf(b, "%" PRIu64 ".%s", v / div, frac);
}

/* Escapes for a label value (\\, \", \n) or, quote false, for HELP (\\, \n). */
static int
put_escaped(struct buf *b, const char *s, bool quote)
{
    int rc = 0;

    for (const char *p = s; *p != '\0' && rc == 0; p++) {
        if (*p == '\\')
            rc = buf_append(b, "\\\\", 2);
        else if (*p == '\n')
            rc = buf_append(b, "\\n", 2);
        else if (*p == '"' && quote)
            rc = buf_append(b, "\\\"", 2);
        else
            rc = buf_append(b, p, 1);
    }
    return rc;
}

int
mx_header(struct buf *b, const char *name, const char *help, const char *type)
{
    int rc = buf_printf(b, "# HELP %s ", name);

    rc |= put_escaped(b, help, false);
    rc |= buf_printf(b, "\n# TYPE %s %s\n", name, type);
    return rc != 0 ? -E2BIG : 0;
}

/* name{labels,extra="x"} without the value. */
static int
put_series(struct buf *b, const char *name, const char *suffix, const char *const *lname,
           const char *const *lval, size_t n, const char *extra_name, const char *extra_val)
{
    int rc = buf_printf(b, "%s%s", name, suffix);
    bool any = false;

    for (size_t i = 0; i < n; i++) {
        if (lname[i] == NULL || lval[i] == NULL)
            continue;
        rc |= buf_printf(b, "%c%s=\"", any ? ',' : '{', lname[i]);
        rc |= put_escaped(b, lval[i], true);
        rc |= buf_append(b, "\"", 1);
        any = true;
    }
    if (extra_name != NULL) {
        rc |= buf_printf(b, "%c%s=\"%s\"", any ? ',' : '{', extra_name, extra_val);
        any = true;
    }
    if (any)
        rc |= buf_append(b, "}", 1);
    return rc != 0 ? -E2BIG : 0;
}

int
mx_sample(struct buf *b, const char *name, const char *const *lname, const char *const *lval,
          size_t n_labels, uint64_t v, unsigned scale)
{
    int rc = put_series(b, name, "", lname, lval, n_labels, NULL, NULL);

    rc |= buf_append(b, " ", 1);
    rc |= put_value(b, v, scale);
    rc |= buf_append(b, "\n", 1);
    return rc != 0 ? -E2BIG : 0;
}

static int
render_histogram(struct buf *b, const struct mx_family *f, const struct mx_series *s)
{
    const char *lval[2] = {s->l0, s->l1};
    uint64_t cum = 0;
    struct buf le;
    int rc = 0;

    buf_init(&le, 64);
    for (unsigned i = 0; i <= f->n_bounds && rc == 0; i++) {
        cum += s->v[i];
        buf_reset(&le);
        if (i < f->n_bounds)
            rc |= put_value(&le, f->bounds[i], f->scale);
        else
            rc |= buf_append_c(&le, "+Inf");
        rc |= put_series(b, f->name, "_bucket", f->label, lval, 2, "le", le.p);
        rc |= buf_printf(b, " %" PRIu64 "\n", cum);
    }
    buf_free(&le);
    rc |= put_series(b, f->name, "_sum", f->label, lval, 2, NULL, NULL);
    rc |= buf_append(b, " ", 1);
    rc |= put_value(b, s->v[f->n_bounds + 1], f->scale);
    rc |= buf_append(b, "\n", 1);
    rc |= put_series(b, f->name, "_count", f->label, lval, 2, NULL, NULL);
    rc |= buf_printf(b, " %" PRIu64 "\n", cum);
    return rc != 0 ? -E2BIG : 0;
}

int
mx_render(struct buf *b, const struct mx_snap *s, const struct mx_family *f)
{
    int rc = mx_header(b, f->name, f->help, f->type == MX_HISTOGRAM ? "histogram" : "counter");

    for (size_t i = 0; i < s->n && rc == 0; i++) {
        const struct mx_series *x = &s->s[i];
        const char *lval[2] = {x->l0, x->l1};
        if (x->f != f)
            continue;
        if (f->type == MX_HISTOGRAM)
            rc = render_histogram(b, f, x);
        else
            rc = mx_sample(b, f->name, f->label, lval, 2, x->v[0], 0);
    }
    return rc;
}
